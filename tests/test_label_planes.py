"""LabelPlanes: shapes, values, errors, serialization (inside a user's Functional
model with integer labels and a Sequential one with one-hot labels, fitted, saved and reloaded in a fresh
process: tests/test_keras_reuse.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen.layers import LabelPlanes


def test_planes_shape_and_values_from_int_labels():
    images = tf.random.stateless_uniform([3, 28, 28, 1], seed=[1, 2])
    output = LabelPlanes(10)([images, tf.constant([0, 4, 9])]).numpy()
    assert output.shape == (3, 28, 28, 11)
    np.testing.assert_array_equal(output[..., :1], images.numpy())
    for row, label in enumerate([0, 4, 9]):
        planes = output[row, :, :, 1:]
        np.testing.assert_array_equal(planes[:, :, label], np.ones((28, 28)))
        others = np.delete(planes, label, axis=-1)
        np.testing.assert_array_equal(others, np.zeros_like(others))


def test_one_hot_and_column_labels_give_the_same_planes():
    images = tf.zeros([2, 5, 7, 2])
    layer = LabelPlanes(3)
    from_ids = layer([images, tf.constant([2, 1])])
    from_column = layer([images, tf.constant([[2], [1]], tf.int64)])
    from_one_hot = layer([images, tf.one_hot([2, 1], 3)])
    assert from_ids.shape == (2, 5, 7, 5)
    np.testing.assert_array_equal(from_ids, from_column)
    np.testing.assert_array_equal(from_ids, from_one_hot)


def test_bad_arguments_and_labels_get_clear_errors():
    with pytest.raises(ValueError, match=r"num_classes must be an integer >= 2. Received: num_classes=1"):
        LabelPlanes(1)
    with pytest.raises(ValueError, match="num_classes"):
        LabelPlanes("10")
    layer = LabelPlanes(10)
    images = tf.zeros([2, 28, 28, 1])
    with pytest.raises(ValueError, match=r"labels must be a class id in \[0, 10\). Received: labels with min=3, max=10"):
        layer([images, tf.constant([3, 10])])
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        layer([images, tf.constant([-1, 0])])
    with pytest.raises(ValueError, match=r"they have 9 classes, expected num_classes=10"):
        layer([images, tf.zeros([2, 9])])
    with pytest.raises(ValueError, match=r"inputs=\[images, labels\]"):
        layer(images)


def test_out_of_range_labels_fail_in_graph_mode_too():
    layer = LabelPlanes(10)

    @tf.function
    def planes(images, labels):
        return layer([images, labels])

    planes(tf.zeros([2, 4, 4, 1]), tf.constant([0, 9]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be a class id in \[0, 10\)"):
        planes(tf.zeros([2, 4, 4, 1]), tf.constant([0, 12]))


def test_get_config_round_trip():
    layer = LabelPlanes(7, name="planes")
    clone = LabelPlanes.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() and clone.num_classes == 7
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert isinstance(restored, LabelPlanes) and restored.num_classes == 7


# LabelPlanes inside a user's Functional model (integer labels) and Sequential model (one-hot labels), fitted,
# saved and reloaded in a fresh process: tests/test_keras_reuse.py.
