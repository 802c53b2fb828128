"""The shared argument check and the fully connected networks of tfgen.networks."""

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
