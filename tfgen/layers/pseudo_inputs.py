"""The VampPrior's learned pseudo-inputs."""

import keras
import tensorflow as tf

from tfgen import _checks


@keras.saving.register_keras_serializable(package="tfgen")
class PseudoInputs(keras.layers.Layer):
    """K learned images u_1..u_K, the pseudo-inputs of the VampPrior.

    Tomczak and Welling, "VAE with a VampPrior", AISTATS 2018: the prior is
    the mixture of the encoder's posteriors at K learned inputs,

        p(z) = (1/K) sum_k q(z | u_k).

    As in the paper's code, the pixels are trainable values initialized from
    N(0.05, 0.01^2) and clipped to the image range [0, 1] when used (its
    "hardtanh"); a pixel pushed outside the range stops moving until the
    gradient of another draw brings it back.

    Args:
        num_pseudo_inputs: K.
        image_shape: (height, width, channels) of one pseudo-input.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: any tensor whose dtype the pseudo-inputs take (the batch of
            images beside which they are encoded); only its dtype is used, and
            the call builds the weight.

    Returns:
        The (K, *image_shape) pseudo-inputs, clipped to [0, 1].
    """

    def __init__(self, num_pseudo_inputs, image_shape, **kwargs):
        super().__init__(**kwargs)
        self.num_pseudo_inputs = _checks.positive_int("num_pseudo_inputs", num_pseudo_inputs)
        self.image_shape = tuple(_checks.positive_int("image_shape", int(size)) for size in image_shape)
        # An attribute, so `tfgen.random.seed_initializers` seeds it from the run's seed before the weight is made.
        self.initializer = keras.initializers.RandomNormal(mean=0.05, stddev=0.01)

    def build(self, input_shape=None):
        self.pseudo_inputs = self.add_weight(shape=(self.num_pseudo_inputs, *self.image_shape),
                                             initializer=self.initializer, name="pseudo_inputs")
        self.built = True

    def call(self, inputs=None):
        values = tf.clip_by_value(tf.convert_to_tensor(self.pseudo_inputs), 0.0, 1.0)
        return values if inputs is None else tf.cast(values, tf.convert_to_tensor(inputs).dtype)

    def compute_output_shape(self, input_shape=None):
        return (self.num_pseudo_inputs, *self.image_shape)

    def get_config(self):
        return {**super().get_config(), "num_pseudo_inputs": self.num_pseudo_inputs,
                "image_shape": list(self.image_shape)}
