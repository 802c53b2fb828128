"""tfgen's public layers through Keras's own layer test harness (`keras.src.testing.TestCase.run_layer_test`).

The harness is Keras's, not ours: it builds each layer from its config,
calls it eagerly and in a symbolic model, checks the output shape and dtype,
the weights and seed generators, serialization, a training step, and its
dtype-policy checks (the layer built with `dtype="mixed_float16"` computes in
float16, keeps float32 variables, and its output has the policy's compute
dtype, unless the layer declares it keeps float32: `GaussianSampling`, `VectorQuantizer`). A
layer that fails any check is not one a user can drop into their own Keras
model, mixed-precision ones included.
"""

import keras
import numpy as np
import pytest
from keras.src import testing

from tfgen.layers import (
    GaussianSampling,
    GumbelSoftmax,
    LabelPlanes,
    LabelProjection,
    PseudoInputs,
    SpectralNormalization,
    VectorQuantizer,
)


class TfgenLayersInKerasHarness(testing.TestCase):
    def test_gaussian_sampling(self):
        means = np.zeros((3, 4), "float32")
        self.run_layer_test(GaussianSampling, {"seed": 5}, input_data=(means, means - 1.0),
                            expected_output_shape=(3, 4), expected_num_trainable_weights=0,
                            expected_num_seed_generators=1)

    def test_gumbel_softmax_soft_and_hard(self):
        logits = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
        for hard in (False, True):
            self.run_layer_test(GumbelSoftmax, {"temperature": 0.5, "hard": hard, "seed": 2}, input_data=logits,
                                expected_output_shape=(3, 5), expected_num_trainable_weights=0,
                                expected_num_non_trainable_weights=1, expected_num_seed_generators=1)

    def test_label_planes(self):
        images = np.zeros((2, 6, 6, 1), "float32")
        one_hot = np.eye(4, dtype="float32")[[1, 3]]
        self.run_layer_test(LabelPlanes, {"num_classes": 4}, input_data=(images, one_hot),
                            expected_output_shape=(2, 6, 6, 5), expected_num_trainable_weights=0)

    def test_label_projection_add_and_concat(self):
        z = np.random.default_rng(1).normal(size=(2, 3)).astype("float32")
        one_hot = np.eye(4, dtype="float32")[[0, 2]]
        self.run_layer_test(LabelProjection, {"num_classes": 4, "mode": "add"}, input_data=(z, one_hot),
                            expected_output_shape=(2, 3), expected_num_trainable_weights=2)
        self.run_layer_test(LabelProjection, {"num_classes": 4, "mode": "concat"}, input_data=(z, one_hot),
                            expected_output_shape=(2, 7), expected_num_trainable_weights=0)

    def test_spectral_normalization(self):
        inputs = np.random.default_rng(2).normal(size=(3, 4)).astype("float32")
        self.run_layer_test(SpectralNormalization, {"layer": keras.layers.Dense(2)}, input_data=inputs,
                            expected_output_shape=(3, 2), expected_num_trainable_weights=2,
                            expected_num_non_trainable_weights=1)

    def test_vector_quantizer_trainable_and_ema_codebooks(self):
        vectors = np.random.default_rng(3).normal(size=(2, 3, 3, 4)).astype("float32")
        self.run_layer_test(VectorQuantizer, {"num_codes": 6, "code_dim": 4, "seed": 1}, input_data=vectors,
                            expected_output_shape=(2, 3, 3, 4), expected_num_trainable_weights=1,
                            expected_num_seed_generators=1)
        self.run_layer_test(VectorQuantizer, {"num_codes": 6, "code_dim": 4, "ema_decay": 0.9,
                                              "restart_threshold": 0.5, "seed": 1}, input_data=vectors,
                            expected_output_shape=(2, 3, 3, 4), expected_num_trainable_weights=0,
                            expected_num_non_trainable_weights=4, expected_num_seed_generators=1)

    def test_pseudo_inputs(self):
        self.run_layer_test(PseudoInputs, {"num_pseudo_inputs": 3, "image_shape": (4, 4, 1)},
                            input_data=np.zeros((2,), "float32"), expected_output_shape=(3, 4, 4, 1),
                            expected_num_trainable_weights=1)


@pytest.mark.parametrize("mode", ["add", "concat"])
def test_label_projection_inside_a_users_mixed_float16_model(mode):
    """The projection's Dense takes the layer's own dtype policy: under mixed_float16 the sum is of two float16
    tensors (it was a float16 code plus a float32 projection: AddV2 refused them)."""
    z = keras.Input((3,))
    labels = keras.Input((4,))
    layer = LabelProjection(4, mode=mode, dtype="mixed_float16")
    outputs = keras.layers.Dense(2, dtype="float32")(layer([z, labels]))
    model = keras.Model([z, labels], outputs)
    model.compile(optimizer="adam", loss="mse")
    x = [np.ones((8, 3), "float32"), np.eye(4, dtype="float32")[np.arange(8) % 4]]
    history = model.fit(x, np.zeros((8, 2), "float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert layer.compute_dtype == "float16" and layer([x[0], x[1]]).dtype == "float16"
    assert all(weight.dtype == "float32" for weight in layer.weights)
