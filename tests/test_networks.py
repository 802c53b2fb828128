"""The shared argument check and the fully connected networks of tfgen.networks."""

import re

import keras
import numpy as np
import pytest

from tfgen._checks import positive_int
from tfgen.networks import ConvConditionalEncoder, GaussianMLP, MLPDecoder


@pytest.mark.parametrize("value", [0, -3, 2.0, "4", True, None])
def test_positive_int_names_the_argument_and_the_value(value):
    with pytest.raises(ValueError, match=rf"hidden_units must be a positive integer. Received: hidden_units={value!r}"):
        positive_int("hidden_units", value)


def test_positive_int_returns_python_ints_and_lets_none_through_when_asked():
    assert positive_int("units", np.int64(7)) == 7
    assert type(positive_int("units", np.int64(7))) is int
    assert positive_int("steps", None, allow_none=True) is None


@pytest.mark.parametrize(
    "network, inputs",
    [
        (lambda: GaussianMLP(3, 8), lambda: np.ones((2, 28, 28, 1), "float32")),
        (lambda: ConvConditionalEncoder(3), lambda: [np.ones((2, 28, 28, 1), "float32"), np.ones((2, 4), "float32")]),
        (lambda: MLPDecoder(8), lambda: np.ones((2, 5), "float32")),
    ],
)
def test_configs_written_before_the_move_to_tfgen_networks_still_load(network, inputs):
    # These classes lived in tfgen.models.vhe until they moved to tfgen.networks.mlp; .keras files
    # written then name the old module, and Keras must find them by their registered name.
    original = network()
    expected = original(inputs())
    config = keras.saving.serialize_keras_object(original)
    assert config["module"] == "tfgen.networks.mlp"
    config["module"] = "tfgen.models.vhe"
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is type(original)
    restored(inputs())
    restored.set_weights(original.get_weights())
    for got, want in zip(keras.tree.flatten(restored(inputs())), keras.tree.flatten(expected)):
        np.testing.assert_allclose(got, want, rtol=1e-6)


# ---------------------------------------------------------------- sized from the image shape

from tfgen.networks import ConvDecoder, ConvEncoder, check_image_shape, upsampling_plan  # noqa: E402
from tfgen.networks.gan import DCGANDiscriminator, DCGANGenerator  # noqa: E402


@pytest.mark.parametrize("image_shape, plan", [
    ((28, 28, 1), (7, 7, 2)), ((32, 32, 3), (8, 8, 2)), ((48, 48, 3), (6, 6, 3)), ((64, 64, 3), (8, 8, 3)),
    ((96, 96, 1), (6, 6, 4)), ((128, 128, 4), (8, 8, 4)), ((16, 16, 2), (4, 4, 2)), ((40, 40, 3), (5, 5, 3)),
    ((32, 64, 3), (4, 8, 3)), ([28, 32, 1], (7, 8, 2)),
])
def test_upsampling_plan_is_the_one_rule(image_shape, plan):
    """H = s_h * 2**k and W = s_w * 2**k with 4 <= s <= 8, the same k >= 2 for both, the smallest that fits."""
    assert upsampling_plan(image_shape) == plan
    start_height, start_width, layers = plan
    assert (start_height * 2**layers, start_width * 2**layers) == tuple(image_shape[:2])
    assert check_image_shape(image_shape) == tuple(image_shape)


@pytest.mark.parametrize("image_shape", [(30, 30, 1), (17, 17, 3), (4, 4, 1), (20, 64, 3), (8, 8, 1), (36, 36, 3)])
def test_sizes_the_rule_cannot_build_get_one_clear_error(image_shape):
    message = (r"cannot build .* s \* 2\*\*k with a start size s in \[4, 8\] .*sizes that work: .*28x28.*64x64"
               rf".*Received: image_shape={re.escape(repr(image_shape))}")
    with pytest.raises(ValueError, match=message):
        upsampling_plan(image_shape)
    for network in (ConvEncoder, ConvDecoder, MLPDecoder, DCGANGenerator, DCGANDiscriminator):
        with pytest.raises(ValueError, match="image_shape"):
            network(image_shape=image_shape)


@pytest.mark.parametrize("image_shape, expected", [
    ((28, 28, 5), "1 to 4 channels"), ((28, 28, 0), "3 positive integers"), ((28, 28), "3 positive integers"),
    ((28.0, 28, 1), "3 positive integers"), ((28, 28, True), "3 positive integers"), ("28x28", "3 positive integers"),
])
def test_image_shapes_that_are_not_3_positive_sizes_with_1_to_4_channels_are_refused(image_shape, expected):
    with pytest.raises(ValueError, match=rf"{expected}.*Received: image_shape={re.escape(repr(image_shape))}"):
        check_image_shape(image_shape)


def _variables(network, inputs):
    network(inputs)
    return [(v.path.split("/", 1)[1], tuple(v.shape)) for v in network.weights]


_IMAGES = np.zeros((2, 28, 28, 1), "float32")
_CODES = np.zeros((2, 4), "float32")
_LABELS = np.zeros((2,), "int64")

#: The seed's networks (before they took image_shape), variable by variable in order: at 28x28x1 every
#: checkpoint, .keras file and export written then must find the same names and shapes.
SEED_VARIABLES = {
    "ConvEncoder": (lambda: ConvEncoder(4), _IMAGES, [
        ("conv1/kernel", (3, 3, 1, 32)), ("conv1/bias", (32,)), ("conv2/kernel", (3, 3, 32, 64)), ("conv2/bias", (64,)),
        ("dense/kernel", (2304, 8)), ("dense/bias", (8,))]),
    "ConvDecoder": (lambda: ConvDecoder(4), _CODES, [
        ("dense/kernel", (4, 1568)), ("dense/bias", (1568,)), ("deconv1/kernel", (3, 3, 64, 32)), ("deconv1/bias", (64,)),
        ("deconv2/kernel", (3, 3, 32, 64)), ("deconv2/bias", (32,)), ("deconv3/kernel", (3, 3, 1, 32)),
        ("deconv3/bias", (1,))]),
    "ConvConditionalEncoder": (lambda: ConvConditionalEncoder(3), [_IMAGES, np.zeros((2, 5), "float32")], [
        ("conv1/kernel", (3, 3, 1, 32)), ("conv1/bias", (32,)), ("conv2/kernel", (3, 3, 32, 64)), ("conv2/bias", (64,)),
        ("dense/kernel", (2309, 6)), ("dense/bias", (6,))]),
    "MLPDecoder": (lambda: MLPDecoder(8), _CODES, [
        ("hidden/kernel", (4, 8)), ("hidden/bias", (8,)), ("out/kernel", (8, 784)), ("out/bias", (784,))]),
    "DCGANGenerator": (lambda: DCGANGenerator(8, hidden_units=(16,)), _CODES, [
        ("dense0/kernel", (4, 16)), ("dense0_bn/gamma", (16,)), ("dense0_bn/beta", (16,)),
        ("dense0_bn/moving_mean", (16,)), ("dense0_bn/moving_variance", (16,)), ("project/kernel", (16, 784)),
        ("project_bn/gamma", (784,)), ("project_bn/beta", (784,)), ("project_bn/moving_mean", (784,)),
        ("project_bn/moving_variance", (784,)), ("deconv1/kernel", (4, 4, 8, 16)), ("deconv1_bn/gamma", (8,)),
        ("deconv1_bn/beta", (8,)), ("deconv1_bn/moving_mean", (8,)), ("deconv1_bn/moving_variance", (8,)),
        ("deconv2/kernel", (4, 4, 1, 8)), ("deconv2/bias", (1,))]),
    "DCGANDiscriminator": (lambda: DCGANDiscriminator(8), _IMAGES, [
        ("conv1/kernel", (4, 4, 1, 8)), ("conv1/bias", (8,)), ("conv2/kernel", (4, 4, 8, 16)), ("conv2_bn/gamma", (16,)),
        ("conv2_bn/beta", (16,)), ("conv2_bn/moving_mean", (16,)), ("conv2_bn/moving_variance", (16,)),
        ("logit/kernel", (784, 1)), ("logit/bias", (1,))]),
    "DCGANDiscriminator(planes, no batch norm)": (
        lambda: DCGANDiscriminator(8, batch_norm=False, label_input="planes"), [_IMAGES, _LABELS], [
            ("conv1/kernel", (4, 4, 11, 8)), ("conv1/bias", (8,)), ("conv2/kernel", (4, 4, 8, 16)), ("conv2/bias", (16,)),
            ("logit/kernel", (784, 1)), ("logit/bias", (1,))]),
}


@pytest.mark.parametrize("name", sorted(SEED_VARIABLES))
def test_at_28x28x1_every_network_is_the_seeds_variable_for_variable(name):
    network, inputs, expected = SEED_VARIABLES[name]
    assert _variables(network(), inputs) == expected


@pytest.mark.parametrize("image_shape", [(32, 32, 3), (64, 64, 3)])
def test_networks_built_for_other_shapes_map_to_and_from_those_images(image_shape):
    images = np.random.default_rng(0).uniform(size=(2, *image_shape)).astype("float32")
    layers = upsampling_plan(image_shape)[2]
    encoder = ConvEncoder(4, image_shape=image_shape)
    z_mean, z_log_var = encoder(images)
    assert z_mean.shape == z_log_var.shape == (2, 4)
    assert [v.path.split("/", 1)[1] for v in encoder.weights if v.path.endswith("kernel")] == [
        *(f"conv{index}/kernel" for index in range(1, layers + 1)), "dense/kernel"]
    assert encoder.weights[2 * layers - 2].shape[-1] == 32 * 2 ** (layers - 1)  # 32, 64, 128, ... filters
    mean, log_var = ConvConditionalEncoder(3, image_shape=image_shape)([images, np.ones((2, 5), "float32")])
    assert mean.shape == log_var.shape == (2, 3)
    decoder = ConvDecoder(4, image_shape=image_shape)
    assert decoder(_CODES).shape == (2, *image_shape)
    last = getattr(decoder, f"deconv{layers + 1}")  # the stride-1 layer to the image's channels
    assert [getattr(decoder, f"deconv{index}").filters for index in range(1, layers + 2)] == [
        *(32 * 2 ** (layers - index) for index in range(1, layers + 1)), image_shape[-1]] and last.strides == (1, 1)
    assert ConvDecoder(4, image_shape=image_shape, output_channels=6)(_CODES).shape == (2, *image_shape[:2], 6)
    assert MLPDecoder(8, image_shape=image_shape)(_CODES).shape == (2, *image_shape)
    assert MLPDecoder(8, image_shape=image_shape, output_channels=2)(_CODES).shape == (2, *image_shape[:2], 2)
    mean, _ = GaussianMLP(3, 8)(images)
    assert mean.shape == (2, 3)
    generator = DCGANGenerator(8, image_shape=image_shape)
    generated = generator(_CODES).numpy()
    assert generated.shape == (2, *image_shape) and np.abs(generated).max() <= 1.0
    assert generator.project.units == (image_shape[0] >> layers) * (image_shape[1] >> layers) * 8 * 2 ** (layers - 1)
    for label_input, inputs in ((None, images), ("planes", [images, _LABELS]), ("vector", [images, _LABELS])):
        discriminator = DCGANDiscriminator(8, label_input=label_input, image_shape=image_shape)
        logits, features = discriminator(inputs, return_features=True)
        assert logits.shape == (2, 1)
        # k stride-2 "same" convolutions of f, 2f, 4f, ...: the start grid with f * 2**(k-1) channels.
        assert features.shape == (2, (image_shape[0] >> layers) * (image_shape[1] >> layers) * 8 * 2 ** (layers - 1))
        assert [layer.name for layer in discriminator._flatten_layers(include_self=False)
                if layer.name.endswith("_bn")] == [f"conv{index}_bn" for index in range(2, layers + 1)]


@pytest.mark.parametrize("network, inputs", [
    (lambda: ConvEncoder(4, image_shape=(32, 32, 3)), lambda: np.ones((2, 32, 32, 3), "float32")),
    (lambda: ConvDecoder(4, image_shape=(32, 32, 3), output_channels=6), lambda: _CODES),
    (lambda: ConvConditionalEncoder(3, image_shape=(32, 32, 3)), lambda: [np.ones((2, 32, 32, 3), "float32"),
                                                                          np.ones((2, 5), "float32")]),
    (lambda: MLPDecoder(8, image_shape=(32, 32, 3)), lambda: _CODES),
    (lambda: DCGANGenerator(8, image_shape=(32, 32, 3)), lambda: _CODES),
    (lambda: DCGANDiscriminator(8, image_shape=(64, 64, 3)), lambda: np.ones((2, 64, 64, 3), "float32")),
])
def test_the_image_shape_is_in_the_config_and_a_config_without_it_is_28x28x1(network, inputs):
    original = network()
    config = keras.saving.serialize_keras_object(original)
    restored = keras.saving.deserialize_keras_object(config)
    assert restored.get_config() == original.get_config() and restored.image_shape == original.image_shape
    original(inputs())
    restored(inputs())
    assert [tuple(v.shape) for v in restored.weights] == [tuple(v.shape) for v in original.weights]
    del config["config"]["image_shape"]  # as written before the option existed
    assert keras.saving.deserialize_keras_object(config).image_shape == (28, 28, 1)


def test_output_channels_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="output_channels must be a positive integer. Received: output_channels=0"):
        ConvDecoder(4, output_channels=0)
    with pytest.raises(ValueError, match="output_channels must be a positive integer"):
        MLPDecoder(8, output_channels=2.0)
