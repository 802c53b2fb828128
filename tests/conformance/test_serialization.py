"""Every registered model: its config round-trips, and a `.keras` file reloads with its weights."""

import keras
import numpy as np
import pytest

from conftest import MODEL_NAMES, built_model
from tfgen.models import MODELS


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_get_config_round_trip(name):
    model, _ = built_model(name)
    clone = MODELS[name].cls.from_config(model.get_config())
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
