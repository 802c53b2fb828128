"""LabelPlanes: shapes, values, errors, serialization, inside a Functional model (fit, .keras save, reload)."""

import subprocess
import sys

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


_RELOAD = """
import sys, numpy as np, keras
import tfgen.layers  # registers LabelPlanes
model = keras.saving.load_model(sys.argv[1])
assert any(type(layer).__name__ == "LabelPlanes" for layer in model.layers)
data = np.load(sys.argv[2])
np.save(sys.argv[3], model.predict([data["images"], data["labels"]], verbose=0))
"""


def test_inside_a_functional_model_fit_save_and_reload_in_fresh_process(tmp_path):
    # A tiny conditional discriminator: image + planes -> conv -> logit.
    images_input = keras.Input((8, 8, 1))
    labels_input = keras.Input((), dtype="int32")
    joined = LabelPlanes(3, name="planes")([images_input, labels_input])
    hidden = keras.layers.Conv2D(4, 3, strides=2, activation="relu")(joined)
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(hidden))
    model = keras.Model([images_input, labels_input], outputs)
    assert model.get_layer("planes").output.shape == (None, 8, 8, 4)
    model.compile(optimizer="adam", loss=keras.losses.BinaryCrossentropy(from_logits=True))
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(32, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, 3, size=32).astype(np.int32)
    targets = (labels == 1).astype(np.float32)[:, None]  # learnable only from the planes
    first_loss = model.evaluate([images, labels], targets, verbose=0)
    model.fit([images, labels], targets, epochs=20, batch_size=8, verbose=0)
    assert model.evaluate([images, labels], targets, verbose=0) < first_loss
    path = tmp_path / "model.keras"
    model.save(path)
    np.savez(tmp_path / "data.npz", images=images, labels=labels)
    script = tmp_path / "reload.py"
    script.write_text(_RELOAD)
    subprocess.run([sys.executable, str(script), str(path), str(tmp_path / "data.npz"), str(tmp_path / "out.npy")],
                   check=True, capture_output=True)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), model.predict([images, labels], verbose=0), rtol=1e-5, atol=1e-6)
