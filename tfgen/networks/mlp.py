"""Small fully connected networks (the Variational Homoencoder post's, Burda et al.'s) and a conditional conv encoder.

GaussianMLP: Dense hidden ReLU (or several, of any activation), Dense 2 * dim -> (mean, log_var).
ConvConditionalEncoder: the seed VAE's strided convolutions (two at 28x28,
`tfgen.networks.shapes`), then the condition joined before the Dense layer
-> (mean, log_var).
MLPDecoder: Dense hidden ReLU (or several), Dense H*W*C -> (H, W, C) logits (784 -> 28x28x1).

`hidden_units` is one width (one hidden layer, the post's) or a sequence of
widths: Burda, Grosse and Salakhutdinov's one-stochastic-layer networks
("Importance Weighted Autoencoders", ICLR 2016) are `hidden_units=(200, 200),
activation="tanh"`. The first hidden layer is always named "hidden", so
checkpoints of one-layer networks keep loading.
"""

import math

import keras

from tfgen import _checks
from tfgen.layers.precision import float32_layer
from tfgen.networks.conv import add_convolutions, apply_convolutions, output_channels_of
from tfgen.networks.shapes import IMAGE_SHAPE, check_image_shape, upsampling_plan


def check_hidden_layers(hidden_units, activation):
    """(hidden_units, activation) checked as `add_hidden_layers` takes them (a ValueError naming the argument):
    one positive width (an int), or a non-empty sequence of them (a list); a Keras activation's name."""
    if isinstance(hidden_units, (list, tuple)):
        if not hidden_units:
            raise ValueError("hidden_units must be a positive int or a non-empty sequence of them. Received: []")
        checked = [_checks.positive_int("hidden_units", units) for units in hidden_units]
    else:
        checked = _checks.positive_int("hidden_units", hidden_units)
    try:
        keras.activations.get(activation)
    except (ValueError, TypeError):
        raise ValueError(f"activation must name a Keras activation such as 'relu' or 'tanh'. "
                         f"Received: activation={activation!r}") from None
    return checked, activation


def add_hidden_layers(model, hidden_units, activation):
    """Gives `model` its hidden Dense layers: `hidden`, then `hidden_2`, `hidden_3`, ...

    Args:
        model: the network being built.
        hidden_units: one width, or a non-empty sequence of widths.
        activation: a Keras activation name.

    Returns:
        (hidden_units, activation) as checked, for `get_config`: one width
        stays an int (the configs of one-layer networks are unchanged), a
        sequence becomes a list.
    """
    checked, activation = check_hidden_layers(hidden_units, activation)
    widths = checked if isinstance(checked, list) else [checked]
    for index, units in enumerate(widths):
        name = "hidden" if index == 0 else f"hidden_{index + 1}"
        setattr(model, name, keras.layers.Dense(units, activation=activation, name=name))
    model.num_hidden_layers = len(widths)
    return checked, activation


def apply_hidden_layers(model, inputs):
    """`inputs` through the layers `add_hidden_layers` gave `model`."""
    outputs = inputs
    for index in range(model.num_hidden_layers):
        outputs = getattr(model, "hidden" if index == 0 else f"hidden_{index + 1}")(outputs)
    return outputs


@keras.saving.register_keras_serializable(package="tfgen")
class GaussianMLP(keras.Model):
    """Hidden layers from its (flattened, concatenated) inputs to a diagonal Gaussian.

    The networks of the post: Linear(inputs, 512), ReLU, Linear(512, dim),
    with the mean and the log-variance from one output layer of 2 * dim units.

    Args:
        output_dim: the size of the Gaussian.
        hidden_units: the width of the hidden layer (512 in the post), or a
            sequence of widths, one hidden layer each.
        activation: the hidden layers' activation.
        **kwargs: base model arguments.

    Call arguments:
        inputs: a tensor or a list of tensors with a leading batch axis.

    Returns:
        (mean, log_var), each (batch, output_dim).
    """

    def __init__(self, output_dim, hidden_units=512, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.output_dim = _checks.positive_int("output_dim", output_dim)
        self.hidden_units, self.activation = add_hidden_layers(self, hidden_units, activation)
        self.out = float32_layer(keras.layers.Dense(2 * output_dim, name="out"))  # float32 under mixed precision

    def call(self, inputs):
        inputs = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        flat = [keras.ops.reshape(tensor, (keras.ops.shape(tensor)[0], -1)) for tensor in inputs]
        outputs = self.out(apply_hidden_layers(self, keras.ops.concatenate(flat, axis=-1) if len(flat) > 1 else flat[0]))
        mean, log_var = keras.ops.split(outputs, 2, axis=-1)
        return mean, log_var

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "hidden_units": self.hidden_units,
                "activation": self.activation}


@keras.saving.register_keras_serializable(package="tfgen")
class ConvConditionalEncoder(keras.Model):
    """The seed VAE's convolutional encoder with a conditioning vector joined before its last layer.

    Conv 32 3x3 s2 ReLU, Conv 64 3x3 s2 ReLU (and Conv 128, ... for larger
    images, as `ConvEncoder`), Flatten, concatenate the condition, Dense
    2 * output_dim split into (mean, log_var).

    Args:
        output_dim: the size of the Gaussian.
        image_shape: (height, width, channels) of the images.
        **kwargs: base model arguments.

    Call arguments:
        inputs: `[images, condition]`, images (batch, *image_shape) and
            condition (batch, dim).
    """

    def __init__(self, output_dim, image_shape=IMAGE_SHAPE, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = _checks.positive_int("output_dim", output_dim)
        self.image_shape = check_image_shape(image_shape)
        self.num_layers = upsampling_plan(self.image_shape)[2]
        add_convolutions(self, self.num_layers)
        self.flatten = keras.layers.Flatten(name="flatten")
        self.dense = float32_layer(keras.layers.Dense(2 * output_dim, name="dense"))  # float32 under mixed precision

    def call(self, inputs):
        images, condition = inputs
        features = self.flatten(apply_convolutions(self, images))
        mean, log_var = keras.ops.split(self.dense(keras.ops.concatenate([features, condition], axis=-1)), 2, axis=-1)
        return mean, log_var

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "image_shape": list(self.image_shape)}


@keras.saving.register_keras_serializable(package="tfgen")
class MLPDecoder(keras.Model):
    """Codes to image logits through hidden layers (the post's decoder, before its sigmoid).

    Dense hidden ReLU (one or more), Dense H*W*output_channels, Reshape (H, W, output_channels).

    Args:
        hidden_units: the width of the hidden layer, or a sequence of widths.
        activation: the hidden layers' activation.
        image_shape: (height, width, channels) of the images.
        output_channels: the channels of the output, None for the image's.
        **kwargs: base model arguments.

    Call arguments:
        inputs: codes (batch, dim).

    Returns:
        (batch, height, width, output_channels).
    """

    def __init__(self, hidden_units=512, image_shape=IMAGE_SHAPE, output_channels=None, activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.hidden_units, self.activation = add_hidden_layers(self, hidden_units, activation)
        self.image_shape = check_image_shape(image_shape)
        self.output_channels = None if output_channels is None else output_channels_of(output_channels, self.image_shape)
        output_shape = (*self.image_shape[:2], output_channels_of(output_channels, self.image_shape))
        # float32 under mixed precision: the likelihood's parameters (the reshape too, or it would cast them back).
        self.out = float32_layer(keras.layers.Dense(math.prod(output_shape), name="out"))
        self.reshape = float32_layer(keras.layers.Reshape(output_shape, name="reshape"))

    def call(self, inputs):
        return self.reshape(self.out(apply_hidden_layers(self, inputs)))

    def get_config(self):
        return {**super().get_config(), "hidden_units": self.hidden_units, "image_shape": list(self.image_shape),
                "output_channels": self.output_channels, "activation": self.activation}
