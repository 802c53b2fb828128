"""GaussianSampling: shapes, seeding, gradients, serialization (its reuse in a user's Keras
model, fitted, saved and reloaded in a fresh process: tests/test_keras_reuse.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen.layers import GaussianSampling


def test_shape_and_statistics():
    layer = GaussianSampling(seed=1)
    z_mean = tf.fill([20000, 2], 3.0)
    z_log_var = tf.fill([20000, 2], np.log(4.0).astype(np.float32))
    z = layer([z_mean, z_log_var]).numpy()
    assert z.shape == (20000, 2)
    np.testing.assert_allclose(z.mean(0), [3.0, 3.0], atol=0.05)
    np.testing.assert_allclose(z.std(0), [2.0, 2.0], atol=0.05)


def test_stateless_seed_is_reproducible_and_seed_dependent():
    layer = GaussianSampling()
    inputs = [tf.zeros([4, 3]), tf.zeros([4, 3])]
    first = layer(inputs, seed=tf.constant([1, 2], tf.int64))
    again = layer(inputs, seed=tf.constant([1, 2], tf.int64))
    other = layer(inputs, seed=tf.constant([1, 3], tf.int64))
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_same_layer_seed_gives_same_stream():
    inputs = [tf.zeros([5, 2]), tf.zeros([5, 2])]
    np.testing.assert_array_equal(GaussianSampling(seed=3)(inputs), GaussianSampling(seed=3)(inputs))


def test_gradients_flow_to_mean_and_log_var():
    z_mean = tf.Variable(tf.zeros([3, 2]))
    z_log_var = tf.Variable(tf.zeros([3, 2]))
    with tf.GradientTape() as tape:
        z = GaussianSampling()([z_mean, z_log_var], seed=tf.constant([0, 1], tf.int64))
        total = tf.reduce_sum(z**2)
    gradients = tape.gradient(total, [z_mean, z_log_var])
    assert all(g is not None and np.any(g.numpy() != 0) for g in gradients)


def test_bad_arguments():
    with pytest.raises(ValueError, match="seed must be an integer or None. Received: seed='x'"):
        GaussianSampling(seed="x")
    with pytest.raises(ValueError, match="z_mean, z_log_var"):
        GaussianSampling()(tf.zeros([2, 2]))


def test_get_config_round_trip():
    layer = GaussianSampling(seed=5, name="sampler")
    clone = GaussianSampling.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, GaussianSampling) and restored.seed == 5


# GaussianSampling inside a user's Functional and Sequential models, fitted, saved and reloaded in a fresh
# process: tests/test_keras_reuse.py (one process reloads every layer's models).
