"""The convolutional encoder and decoder of the seed VAE (28x28x1 images).

Encoder: Conv 32 3x3 stride 2 ReLU, Conv 64 3x3 stride 2 ReLU, Flatten, Dense.
Decoder: Dense 7*7*32 ReLU, Reshape, ConvT 64 3x3 s2 ReLU, ConvT 32 3x3 s2 ReLU,
ConvT 1 3x3 s1 (logits, or an output activation).
"""

import keras

from tfgen import _checks

IMAGE_SHAPE = (28, 28, 1)


@keras.saving.register_keras_serializable(package="tfgen")
class ConvEncoder(keras.Model):
    """Maps images to a Gaussian posterior (z_mean, z_log_var) or a deterministic code.

    Args:
        latent_dim: size of the latent code.
        gaussian: if True, return `(z_mean, z_log_var)` from a Dense layer of
            `2 * latent_dim` units split in two; if False, return one code.
        **kwargs: base model arguments.

    Call arguments:
        inputs: images of shape (batch, 28, 28, 1).
    """

    def __init__(self, latent_dim=2, gaussian=True, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.gaussian = gaussian
        self.conv1 = keras.layers.Conv2D(32, 3, strides=2, activation="relu", name="conv1")
        self.conv2 = keras.layers.Conv2D(64, 3, strides=2, activation="relu", name="conv2")
        self.flatten = keras.layers.Flatten(name="flatten")
        self.dense = keras.layers.Dense(2 * latent_dim if gaussian else latent_dim, name="dense")

    def call(self, inputs):
        outputs = self.dense(self.flatten(self.conv2(self.conv1(inputs))))
        if self.gaussian:
            z_mean, z_log_var = keras.ops.split(outputs, 2, axis=-1)
            return z_mean, z_log_var
        return outputs

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "gaussian": self.gaussian}


@keras.saving.register_keras_serializable(package="tfgen")
class ConvDecoder(keras.Model):
    """Maps latent codes to 28x28x1 images (logits unless `output_activation` is set).

    Args:
        latent_dim: size of the latent code (checked against the input).
        output_activation: None for logits (pair with a sigmoid
            cross-entropy), or e.g. "sigmoid".
        output_channels: the channels of the output (None: the image's
            channels); a likelihood with several parameters per sub-pixel
            asks for more (`tfgen.losses.likelihoods`).
        **kwargs: base model arguments.

    Call arguments:
        inputs: codes of shape (batch, latent_dim).
    """

    def __init__(self, latent_dim=2, output_activation=None, output_channels=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.output_activation = output_activation
        self.output_channels = _checks.positive_int("output_channels", output_channels, allow_none=True)
        self.dense = keras.layers.Dense(7 * 7 * 32, activation="relu", name="dense")
        self.reshape = keras.layers.Reshape((7, 7, 32), name="reshape")
        self.deconv1 = keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu", name="deconv1")
        self.deconv2 = keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu", name="deconv2")
        self.deconv3 = keras.layers.Conv2DTranspose(
            output_channels or IMAGE_SHAPE[-1], 3, strides=1, padding="same", activation=output_activation,
            name="deconv3",
        )

    def call(self, inputs):
        return self.deconv3(self.deconv2(self.deconv1(self.reshape(self.dense(inputs)))))

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "output_activation": self.output_activation,
                "output_channels": self.output_channels}
