"""Reparameterized sampling layers."""

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random


@keras.saving.register_keras_serializable(package="tfgen")
class GaussianSampling(keras.layers.Layer):
    """Draws z = z_mean + exp(z_log_var / 2) * eps with eps ~ N(0, I).

    The reparameterization trick of Kingma and Welling, "Auto-Encoding
    Variational Bayes", ICLR 2014: the sample is a differentiable function of
    the mean and log-variance, so gradients flow into the encoder.

    Args:
        seed: an optional integer seed for the layer's own random stream.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a list `[z_mean, z_log_var]` of tensors of the same shape.
        seed: an optional stateless seed, an int tensor of shape (2,). When
            given, eps is `tf.random.stateless_normal(shape, seed)`: the output is a
            pure function of the inputs and the seed (what tfgen's training
            loop uses, so that runs resume exactly and replicas differ). When
            omitted, eps comes from the layer's `SeedGenerator`.
    """

    #: Computes in float32 under mixed precision (`tfgen.layers.precision`), unless given another `dtype`.
    keeps_float32 = True

    def __init__(self, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.seed = _checks.optional_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, seed=None):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"GaussianSampling expects inputs=[z_mean, z_log_var]. Received: {inputs!r}")
        z_mean, z_log_var = tf.convert_to_tensor(inputs[0]), tf.convert_to_tensor(inputs[1])
        for argument, tensor in (("z_mean", z_mean), ("z_log_var", z_log_var)):
            if not tensor.dtype.is_floating:
                raise TypeError(f"GaussianSampling expects float {argument}. Received: dtype={tensor.dtype.name}")
        _checks.same_shape("z_log_var", z_log_var, "z_mean", z_mean)
        eps = tfgen_random.normal(tf.shape(z_mean), seed, self.seed_generator, dtype=z_mean.dtype)
        return z_mean + keras.ops.exp(0.5 * z_log_var) * eps

    def compute_output_shape(self, input_shape):
        return input_shape[0]

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "seed": self.seed}
