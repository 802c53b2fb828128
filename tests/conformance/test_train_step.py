"""Every registered model: one step trains and gives finite metrics (eager and compiled steps agree: test_checkpoint.py)."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import MODEL_NAMES, built_model, shared_built_model


def _weights(model):
    return [v.numpy().copy() for v in model.trainable_variables]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_one_step_changes_weights_and_gives_finite_named_metrics(name, seed):
    model, batch = built_model(name)
    before = _weights(model)
    metrics = model.train_step(batch, seed)
    # The step's metrics, and how many of its updates a non-finite loss or gradient skipped (none here).
    assert set(metrics) == {*model.metric_names, "skipped_updates"}
    assert float(metrics["skipped_updates"]) == 0.0
    for key, value in metrics.items():
        assert np.isfinite(value.numpy()), f"{name}: metric {key} = {value.numpy()}"
    after = _weights(model)
    changed = [not np.array_equal(b, a) for b, a in zip(before, after)]
    assert all(changed), f"{name}: {changed.count(False)} of {len(changed)} variables did not change"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_same_seed_same_step_other_seed_other_step(name):
    model, batch = shared_built_model(name)
    first = model.test_step(batch, tf.constant([1, 2], tf.int64))["loss"].numpy()
    again = model.test_step(batch, tf.constant([1, 2], tf.int64))["loss"].numpy()
    other = model.test_step(batch, tf.constant([1, 3], tf.int64))["loss"].numpy()
    assert np.isfinite(first)
    assert first == again, "the same seed gave another loss"
    assert other != first, "another seed gave the same loss: the step's draws ignore its seed"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bad_image_batches_name_the_problem(name, seed):
    model, batch = shared_built_model(name)
    with pytest.raises(ValueError, match=r"shape \(batch, 28, 28, 1\)"):
        model.train_step({**batch, "image": tf.zeros([4, 32, 32, 1])}, seed)
    with pytest.raises(TypeError, match="float"):
        model.train_step({**batch, "image": tf.zeros([4, 28, 28, 1], tf.int32)}, seed)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_sample_shape_and_range(name, seed):
    model, _ = shared_built_model(name)
    images = model.sample(5, seed=seed).numpy()
    assert images.shape == (5, 28, 28, 1)
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, model.sample(5, seed=seed).numpy())
