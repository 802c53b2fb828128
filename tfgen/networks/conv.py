"""The convolutional encoder and decoder of the seed VAE, sized from the image shape.

At 28x28x1 (k = 2 stride-2 layers, `tfgen.networks.shapes`) they are the seed's:

Encoder: Conv 32 3x3 stride 2 ReLU, Conv 64 3x3 stride 2 ReLU, Flatten, Dense.
Decoder: Dense 7*7*32 ReLU, Reshape, ConvT 64 3x3 s2 ReLU, ConvT 32 3x3 s2 ReLU,
ConvT 1 3x3 s1 (logits, or an output activation).

For k > 2 the encoder adds stride-2 convolutions with doubled filters (128,
256, ...) and the decoder starts wider (..., 128, 64, 32 for its last
transposed convolutions); the decoder's start grid is the rule's s_h x s_w.
"""

import keras

from tfgen import _checks
from tfgen.layers.precision import float32_layer
from tfgen.networks.shapes import IMAGE_SHAPE, check_image_shape, upsampling_plan

#: The filters of the first encoder convolution and of the last decoder transposed convolution.
BASE_FILTERS = 32


def output_channels_of(output_channels, image_shape):
    """The channels a decoder outputs: `output_channels` (a positive int), or the image's when None."""
    if output_channels is None:
        return image_shape[-1]
    return _checks.positive_int("output_channels", output_channels)


def add_convolutions(owner, num_layers):
    """Gives `owner` the encoder's convolutions conv1 ... conv{num_layers} (32, 64, 128, ... filters).

    3x3, stride 2, valid padding, ReLU. One attribute per layer: Keras 3 does
    not put layers held in a Python list into TensorFlow checkpoints, and the
    names are the seed's at 28x28x1.
    """
    for index in range(1, num_layers + 1):
        setattr(owner, f"conv{index}", keras.layers.Conv2D(BASE_FILTERS * 2 ** (index - 1), 3, strides=2,
                                                            activation="relu", name=f"conv{index}"))


def apply_convolutions(owner, inputs):
    """`inputs` through `owner`'s conv1 ... conv{owner.num_layers} (`add_convolutions`)."""
    hidden = inputs
    for index in range(1, owner.num_layers + 1):
        hidden = getattr(owner, f"conv{index}")(hidden)
    return hidden


@keras.saving.register_keras_serializable(package="tfgen")
class ConvEncoder(keras.Model):
    """Maps images to a Gaussian posterior (z_mean, z_log_var) or a deterministic code.

    k stride-2 3x3 ReLU convolutions (valid padding) of 32, 64, 128, ...
    filters (k from `tfgen.networks.shapes.upsampling_plan`: 2 at 28x28,
    3 at 64x64), Flatten, Dense.

    Args:
        latent_dim: size of the latent code.
        gaussian: if True, return `(z_mean, z_log_var)` from a Dense layer of
            `2 * latent_dim` units split in two; if False, return one code.
        image_shape: (height, width, channels) of the images.
        **kwargs: base model arguments.

    Call arguments:
        inputs: images of shape (batch, *image_shape).
    """

    def __init__(self, latent_dim=2, gaussian=True, image_shape=IMAGE_SHAPE, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.gaussian = gaussian
        self.image_shape = check_image_shape(image_shape)
        self.num_layers = upsampling_plan(self.image_shape)[2]
        add_convolutions(self, self.num_layers)
        self.flatten = keras.layers.Flatten(name="flatten")
        # float32 under mixed precision: the posterior's parameters (or the logits of a classifier).
        self.dense = float32_layer(keras.layers.Dense(2 * latent_dim if gaussian else latent_dim, name="dense"))

    def call(self, inputs):
        outputs = self.dense(self.flatten(apply_convolutions(self, inputs)))
        if self.gaussian:
            z_mean, z_log_var = keras.ops.split(outputs, 2, axis=-1)
            return z_mean, z_log_var
        return outputs

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "gaussian": self.gaussian,
                "image_shape": list(self.image_shape)}


@keras.saving.register_keras_serializable(package="tfgen")
class ConvDecoder(keras.Model):
    """Maps latent codes to images (logits unless `output_activation` is set).

    Dense s_h*s_w*32 ReLU, Reshape (s_h, s_w, 32), k stride-2 3x3 ReLU
    transposed convolutions (deconv1 ... deconvk, filters 32 * 2**(k - i):
    ..., 128, 64, 32), then a stride-1 3x3 transposed convolution to
    `output_channels` (deconv{k+1}: deconv3 at 28x28, as in the seed).

    Args:
        latent_dim: size of the latent code (checked against the input).
        output_activation: None for logits (pair with a sigmoid
            cross-entropy), or e.g. "sigmoid".
        image_shape: (height, width, channels) of the images.
        output_channels: the channels of the output, None for the image's
            (more for a likelihood with several parameters per pixel).
        **kwargs: base model arguments.

    Call arguments:
        inputs: codes of shape (batch, latent_dim).

    Returns:
        (batch, height, width, output_channels).
    """

    def __init__(self, latent_dim=2, output_activation=None, image_shape=IMAGE_SHAPE, output_channels=None, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.output_activation = output_activation
        self.image_shape = check_image_shape(image_shape)
        self.output_channels = None if output_channels is None else output_channels_of(output_channels, self.image_shape)
        start_height, start_width, self.num_layers = upsampling_plan(self.image_shape)
        self.dense = keras.layers.Dense(start_height * start_width * BASE_FILTERS, activation="relu", name="dense")
        self.reshape = keras.layers.Reshape((start_height, start_width, BASE_FILTERS), name="reshape")
        for index in range(1, self.num_layers + 1):
            filters = BASE_FILTERS * 2 ** (self.num_layers - index)
            setattr(self, f"deconv{index}", keras.layers.Conv2DTranspose(
                filters, 3, strides=2, padding="same", activation="relu", name=f"deconv{index}"))
        last = f"deconv{self.num_layers + 1}"
        # float32 under mixed precision: the likelihood's parameters.
        setattr(self, last, float32_layer(keras.layers.Conv2DTranspose(
            output_channels_of(output_channels, self.image_shape), 3, strides=1, padding="same",
            activation=output_activation, name=last)))

    def call(self, inputs):
        hidden = self.reshape(self.dense(inputs))
        for index in range(1, self.num_layers + 2):
            hidden = getattr(self, f"deconv{index}")(hidden)
        return hidden

    def get_config(self):
        return {**super().get_config(), "latent_dim": self.latent_dim, "output_activation": self.output_activation,
                "image_shape": list(self.image_shape), "output_channels": self.output_channels}
