"""Every registered model: one step trains, gives finite metrics, and runs the same eagerly and compiled."""

import numpy as np
import pytest
import tensorflow as tf

from conftest import MODEL_NAMES, built_model


def _weights(model):
    return [v.numpy().copy() for v in model.trainable_variables]


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_one_step_changes_weights_and_gives_finite_named_metrics(name, seed):
    model, batch = built_model(name)
    before = _weights(model)
    metrics = model.train_step(batch, seed)
    assert set(metrics) == set(model.metric_names)
    for key, value in metrics.items():
        assert np.isfinite(value.numpy()), f"{name}: metric {key} = {value.numpy()}"
    after = _weights(model)
    changed = [not np.array_equal(b, a) for b, a in zip(before, after)]
    assert all(changed), f"{name}: {changed.count(False)} of {len(changed)} variables did not change"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_eager_and_tf_function_steps_agree(name, seed):
    eager_model, batch = built_model(name, seed=3)
    graph_model, _ = built_model(name, seed=4)
    graph_model.set_weights(eager_model.get_weights())
    eager_metrics = eager_model.train_step(batch, seed)
    graph_metrics = tf.function(graph_model.train_step)(batch, seed)
    for key in eager_model.metric_names:
        np.testing.assert_allclose(graph_metrics[key].numpy(), eager_metrics[key].numpy(), rtol=1e-5, atol=1e-5)
    for eager_weight, graph_weight in zip(_weights(eager_model), _weights(graph_model)):
        np.testing.assert_allclose(graph_weight, eager_weight, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_same_seed_same_step_other_seed_other_step(name):
    model, batch = built_model(name)
    first = model.test_step(batch, tf.constant([1, 2], tf.int64))["loss"].numpy()
    again = model.test_step(batch, tf.constant([1, 2], tf.int64))["loss"].numpy()
    assert first == again


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_bad_image_batches_name_the_problem(name, seed):
    model, batch = built_model(name)
    with pytest.raises(ValueError, match=r"shape \(batch, 28, 28, 1\)"):
        model.train_step({**batch, "image": tf.zeros([4, 32, 32, 1])}, seed)
    with pytest.raises(TypeError, match="float"):
        model.train_step({**batch, "image": tf.zeros([4, 28, 28, 1], tf.int32)}, seed)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_sample_shape_and_range(name, seed):
    model, _ = built_model(name)
    images = model.sample(5, seed=seed).numpy()
    assert images.shape == (5, 28, 28, 1)
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, model.sample(5, seed=seed).numpy())
