"""GumbelSoftmax: shapes, simplex, straight-through gradients, temperature, seeding,
serialization and the annealing schedule (its reuse in a user's Keras model, fitted, saved
with an annealed temperature and reloaded in a fresh process: tests/test_keras_reuse.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen.layers import GumbelSoftmax, annealed_temperature

LOGITS = tf.constant(np.log([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]]), tf.float32)


def test_soft_samples_have_the_logits_shape_and_lie_on_the_simplex():
    samples = GumbelSoftmax(temperature=0.7, seed=1)(tf.tile(LOGITS, [50, 1])).numpy()
    assert samples.shape == (100, 3)
    assert samples.min() >= 0.0
    np.testing.assert_allclose(samples.sum(-1), 1.0, rtol=1e-5)
    assert np.mean(samples.max(-1) < 0.999) > 0.5  # soft, not one-hot


def test_argmax_frequencies_follow_the_categorical_probabilities():
    # The argmax of a Gumbel-softmax sample is an exact categorical sample (the Gumbel-max trick).
    samples = GumbelSoftmax(temperature=1.0)(tf.tile(LOGITS[:1], [20000, 1]), seed=tf.constant([3, 4], tf.int64))
    frequencies = np.bincount(np.argmax(samples.numpy(), -1), minlength=3) / 20000
    np.testing.assert_allclose(frequencies, [0.1, 0.2, 0.7], atol=0.015)


def test_hard_samples_are_one_hot_with_nonzero_relaxed_gradients():
    logits = tf.Variable(tf.tile(LOGITS, [4, 1]))
    layer = GumbelSoftmax(temperature=0.5, hard=True)
    weights = tf.constant([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        samples = layer(logits, seed=tf.constant([0, 1], tf.int64))
        objective = tf.reduce_sum(samples * weights)
    values = samples.numpy()
    np.testing.assert_array_equal(np.sort(values, -1), np.tile([0.0, 0.0, 1.0], (8, 1)))
    gradient = tape.gradient(objective, logits)
    assert gradient is not None and np.all(np.isfinite(gradient.numpy())) and np.any(gradient.numpy() != 0)


def test_soft_and_hard_samples_share_their_argmax():
    seed = tf.constant([5, 6], tf.int64)
    soft = GumbelSoftmax(temperature=0.8)(tf.tile(LOGITS, [10, 1]), seed=seed).numpy()
    hard = GumbelSoftmax(temperature=0.8, hard=True)(tf.tile(LOGITS, [10, 1]), seed=seed).numpy()
    np.testing.assert_array_equal(np.argmax(hard, -1), np.argmax(soft, -1))


def test_lower_temperature_gives_sharper_samples():
    seed = tf.constant([9, 9], tf.int64)
    logits = tf.tile(LOGITS, [500, 1])
    sharpness = [GumbelSoftmax(temperature=t)(logits, seed=seed).numpy().max(-1).mean() for t in (5.0, 1.0, 0.1)]
    assert sharpness[0] < sharpness[1] < sharpness[2]
    assert sharpness[2] > 0.95


def test_temperature_variable_changes_samples_inside_tf_function():
    layer = GumbelSoftmax(temperature=5.0)
    logits = tf.tile(LOGITS, [200, 1])
    seed = tf.constant([1, 1], tf.int64)

    @tf.function
    def anneal_and_sample(temperature):
        layer.set_temperature(temperature)
        return layer(logits, seed=seed)

    warm = anneal_and_sample(tf.constant(5.0)).numpy()
    cold = anneal_and_sample(tf.constant(0.1)).numpy()
    assert float(layer.temperature.numpy()) == pytest.approx(0.1)
    assert cold.max(-1).mean() > warm.max(-1).mean() + 0.2
    assert not layer.temperature.trainable


def test_same_seed_same_samples_other_seed_other_samples():
    logits = tf.tile(LOGITS, [3, 1])
    np.testing.assert_array_equal(GumbelSoftmax(seed=3)(logits), GumbelSoftmax(seed=3)(logits))
    layer = GumbelSoftmax()
    first = layer(logits, seed=tf.constant([1, 2], tf.int64))
    np.testing.assert_array_equal(first, layer(logits, seed=tf.constant([1, 2], tf.int64)))
    assert not np.allclose(first, layer(logits, seed=tf.constant([1, 3], tf.int64)))


def test_bad_arguments_name_argument_expected_and_received():
    with pytest.raises(ValueError, match=r"temperature must be a positive number. Received: temperature=0"):
        GumbelSoftmax(temperature=0)
    with pytest.raises(ValueError, match="temperature.*Received: temperature=-1.0"):
        GumbelSoftmax(temperature=-1.0)
    with pytest.raises(ValueError, match="hard must be True or False. Received: hard='yes'"):
        GumbelSoftmax(hard="yes")
    with pytest.raises(ValueError, match="seed must be an integer or None. Received: seed='x'"):
        GumbelSoftmax(seed="x")
    with pytest.raises(ValueError, match=r"num_classes >= 2. Received: inputs.shape=\(4, 1\)"):
        GumbelSoftmax()(tf.zeros([4, 1]))
    with pytest.raises(TypeError, match="float logits"):
        GumbelSoftmax()(tf.zeros([4, 3], tf.int32))


def test_get_config_round_trip():
    layer = GumbelSoftmax(temperature=0.3, hard=True, seed=5, name="gumbel")
    clone = GumbelSoftmax.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, GumbelSoftmax)
    assert (restored.hard, restored.seed, float(restored.temperature.numpy())) == (True, 5, pytest.approx(0.3))


def test_annealing_schedule_matches_jang_et_al():
    steps = np.array([0, 499, 500, 1000, 10**6])
    expected = np.maximum(0.5, np.exp(-1e-3 * (steps // 500) * 500))
    actual = [float(annealed_temperature(s, rate=1e-3, min_temperature=0.5, update_every=500)) for s in steps]
    np.testing.assert_allclose(actual, expected, rtol=1e-6)


# GumbelSoftmax (hard, with an annealed temperature) inside a user's Functional and Sequential models, fitted,
# saved and reloaded in a fresh process: tests/test_keras_reuse.py.
