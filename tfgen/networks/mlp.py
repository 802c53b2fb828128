"""Small fully connected networks (the Variational Homoencoder post's) and a conditional conv encoder.

GaussianMLP: Dense hidden ReLU, Dense 2 * dim -> (mean, log_var).
ConvConditionalEncoder: the seed VAE's two strided convolutions, then the
condition joined before the Dense layer -> (mean, log_var).
MLPDecoder: Dense hidden ReLU, Dense 784 -> 28x28x1 logits.
"""

import keras

from tfgen import _checks
from tfgen.networks.conv import IMAGE_SHAPE


@keras.saving.register_keras_serializable(package="tfgen")
class GaussianMLP(keras.Model):
    """One hidden ReLU layer from its (flattened, concatenated) inputs to a diagonal Gaussian.

    The networks of the post: Linear(inputs, 512), ReLU, Linear(512, dim),
    with the mean and the log-variance from one output layer of 2 * dim units.

    Args:
        output_dim: the size of the Gaussian.
        hidden_units: the width of the hidden layer (512 in the post).
        **kwargs: base model arguments.

    Call arguments:
        inputs: a tensor or a list of tensors with a leading batch axis.

    Returns:
        (mean, log_var), each (batch, output_dim).
    """

    def __init__(self, output_dim, hidden_units=512, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = _checks.positive_int("output_dim", output_dim)
        self.hidden_units = _checks.positive_int("hidden_units", hidden_units)
        self.hidden = keras.layers.Dense(hidden_units, activation="relu", name="hidden")
        self.out = keras.layers.Dense(2 * output_dim, name="out")

    def call(self, inputs):
        inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        flat = [keras.ops.reshape(tensor, (keras.ops.shape(tensor)[0], -1)) for tensor in inputs]
        outputs = self.out(self.hidden(keras.ops.concatenate(flat, axis=-1) if len(flat) > 1 else flat[0]))
        mean, log_var = keras.ops.split(outputs, 2, axis=-1)
        return mean, log_var

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "hidden_units": self.hidden_units}


@keras.saving.register_keras_serializable(package="tfgen")
class ConvConditionalEncoder(keras.Model):
    """The seed VAE's convolutional encoder with a conditioning vector joined before its last layer.

    Conv 32 3x3 s2 ReLU, Conv 64 3x3 s2 ReLU, Flatten, concatenate the
    condition, Dense 2 * output_dim split into (mean, log_var).

    Args:
        output_dim: the size of the Gaussian.
        **kwargs: base model arguments.

    Call arguments:
        inputs: `[images, condition]`, images (batch, 28, 28, 1) and
            condition (batch, dim).
    """

    def __init__(self, output_dim, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = _checks.positive_int("output_dim", output_dim)
        self.conv1 = keras.layers.Conv2D(32, 3, strides=2, activation="relu", name="conv1")
        self.conv2 = keras.layers.Conv2D(64, 3, strides=2, activation="relu", name="conv2")
        self.flatten = keras.layers.Flatten(name="flatten")
        self.dense = keras.layers.Dense(2 * output_dim, name="dense")

    def call(self, inputs):
        images, condition = inputs
        features = self.flatten(self.conv2(self.conv1(images)))
        mean, log_var = keras.ops.split(self.dense(keras.ops.concatenate([features, condition], axis=-1)), 2, axis=-1)
        return mean, log_var

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim}


@keras.saving.register_keras_serializable(package="tfgen")
class MLPDecoder(keras.Model):
    """Codes to 28x28x1 logits through one hidden ReLU layer (the post's decoder, before its sigmoid).

    Args:
        hidden_units: the width of the hidden layer.
        output_channels: the channels of the output (None: the image's
            channels); a likelihood with several parameters per sub-pixel
            asks for more (`tfgen.losses.likelihoods`).
        **kwargs: base model arguments.
    """

    def __init__(self, hidden_units=512, output_channels=None, **kwargs):
        super().__init__(**kwargs)
        self.hidden_units = _checks.positive_int("hidden_units", hidden_units)
        self.output_channels = _checks.positive_int("output_channels", output_channels, allow_none=True)
        channels = output_channels or IMAGE_SHAPE[-1]
        self.hidden = keras.layers.Dense(hidden_units, activation="relu", name="hidden")
        self.out = keras.layers.Dense(IMAGE_SHAPE[0] * IMAGE_SHAPE[1] * channels, name="out")
        self.reshape = keras.layers.Reshape((*IMAGE_SHAPE[:2], channels), name="reshape")

    def call(self, inputs):
        return self.reshape(self.out(self.hidden(inputs)))

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units, "output_channels": self.output_channels}
