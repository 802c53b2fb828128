"""Every registered model: its config round-trips, and a `.keras` file reloads with its weights."""

import keras
import numpy as np
import pytest

from conftest import MODEL_NAMES, built_model
from tfgen.models import MODELS


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_get_config_round_trip(name):
    model, _ = built_model(name)
    clone = MODELS[name].from_config(model.get_config())
    assert clone.get_config() == model.get_config()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_keras_file_round_trip_restores_weights(name, tmp_path, seed):
    model, batch = built_model(name)
    model.train_step(batch, seed)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    weights = [v for v in model.weights if not v.path.endswith("seed_generator_state")]
    restored_weights = [v for v in restored.weights if not v.path.endswith("seed_generator_state")]
    assert len(restored_weights) == len(weights)
    for expected, actual in zip(weights, restored_weights):
        np.testing.assert_array_equal(actual.numpy(), expected.numpy())


def _optimizers(model):
    """The model's optimizers by attribute name (GANs: the generator's and the discriminator's)."""
    return {name: getattr(model, name) for name in ("optimizer", "d_optimizer") if getattr(model, name, None) is not None}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_keras_file_restores_the_compiled_optimizers_and_their_state(name, tmp_path, seed):
    model, batch = built_model(name, learning_rate=3e-4)
    if hasattr(model, "d_optimizer"):  # a GAN: give D a rate of its own, which a clone of G's would not have
        model.compile(optimizer=keras.optimizers.Adam(3e-4), d_optimizer=keras.optimizers.Adam(7e-5, beta_1=0.5))
        model.build_from_batch(batch)
    model.train_step(batch, seed)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert restored.compiled
    optimizers, restored_optimizers = _optimizers(model), _optimizers(restored)
    assert sorted(restored_optimizers) == sorted(optimizers)
    for attribute, optimizer in optimizers.items():
        other = restored_optimizers[attribute]
        assert other.get_config() == optimizer.get_config(), attribute
        assert int(other.iterations) == int(optimizer.iterations) > 0, attribute
        assert [v.path for v in other.variables] == [v.path for v in optimizer.variables], attribute
        for expected, actual in zip(optimizer.variables, other.variables):
            np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=f"{attribute}: {expected.path}")
