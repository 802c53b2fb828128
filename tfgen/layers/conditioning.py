"""Label conditioning layers."""

import keras
import numpy as np
import tensorflow as tf


def _check_num_classes(num_classes):
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 2:
        raise ValueError(f"num_classes must be an integer >= 2. Received: num_classes={num_classes!r}")
    return int(num_classes)


def check_class_ids(labels, num_classes, argument="labels"):
    """Returns integer class ids `labels` after checking that they lie in [0, num_classes).

    Eagerly the check is immediate and raises a `ValueError` naming
    `argument`, the expected range and the received extremes. In a graph
    (`tf.function`, a Keras functional model) the returned tensor depends
    on `tf.debugging` assertions that raise `InvalidArgumentError` with the
    same message when the step runs: `tf.one_hot` would otherwise turn an
    out-of-range id silently into an all-zero vector.

    Args:
        labels: an integer tensor of class ids.
        num_classes: the number of classes.
        argument: the name used in the error message.

    Raises:
        TypeError: when `labels` is not an integer tensor.
        ValueError: (eagerly) when an id is out of range.
    """
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_integer:
        raise TypeError(f"{argument} must be integer class ids. Received: dtype={labels.dtype.name}")
    message = f"{argument} must lie in [0, {num_classes})"
    if tf.executing_eagerly():
        values = labels.numpy()
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{message}. Received: {argument} with min={values.min()}, max={values.max()}")
        return labels
    checks = [
        tf.debugging.assert_non_negative(labels, message=message),
        tf.debugging.assert_less(labels, tf.cast(num_classes, labels.dtype), message=message),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(labels)


@keras.saving.register_keras_serializable(package="tfgen")
class LabelPlanes(keras.layers.Layer):
    """Joins images with a 2D one-hot representation of their labels.

    For a label i out of `num_classes`, the layer builds `num_classes`
    constant planes the size of the image, plane i all ones and the others
    all zeros, and concatenates them to the image's channels: a 28x28x1 MNIST
    image and 10 classes give 28x28x11. This is the discriminator input of
    the conditional GAN in the seed (Day 11) that fixed its mode collapse:
    every convolution of the discriminator sees the label at every position,
    so it can judge whether the image fits the label (Mirza and Osindero,
    "Conditional Generative Adversarial Nets", arXiv:1411.1784, 2014, condition
    D on y; the planes are one way to feed y to a convolutional D).

    Args:
        num_classes: the number of classes (>= 2).
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: a list `[images, labels]`. `images` has shape
            (batch, height, width, channels). `labels` are integer class ids of
            shape (batch,) or (batch, 1), in [0, num_classes), or float one-hot
            (or soft) labels of shape (batch, num_classes). Integer labels out
            of range raise a `ValueError` when eager and an
            `InvalidArgumentError` naming the range in a graph.

    Output shape:
        (batch, height, width, channels + num_classes), the images' dtype.
    """

    def __init__(self, num_classes=10, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _check_num_classes(num_classes)

    def _one_hot(self, labels, dtype):
        if labels.dtype.is_integer:
            if labels.shape.rank == 2 and labels.shape[-1] == 1:
                labels = tf.squeeze(labels, axis=-1)
            if labels.shape.rank != 1:
                raise ValueError(
                    f"LabelPlanes expects integer labels of shape (batch,) or (batch, 1). "
                    f"Received: labels.shape={tuple(labels.shape)}"
                )
            return tf.one_hot(check_class_ids(labels, self.num_classes), self.num_classes, dtype=dtype)
        if not labels.dtype.is_floating:
            raise TypeError(f"LabelPlanes expects integer or float labels. Received: dtype={labels.dtype.name}")
        if labels.shape.rank != 2 or labels.shape[-1] != self.num_classes:
            raise ValueError(
                f"LabelPlanes expects float one-hot labels of shape (batch, {self.num_classes}). "
                f"Received: labels.shape={tuple(labels.shape)}"
            )
        return tf.cast(labels, dtype)

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"LabelPlanes expects inputs=[images, labels]. Received: {inputs!r}")
        images = tf.convert_to_tensor(inputs[0])
        labels = tf.convert_to_tensor(inputs[1])
        if images.shape.rank != 4:
            raise ValueError(
                f"LabelPlanes expects images of shape (batch, height, width, channels). "
                f"Received: images.shape={tuple(images.shape)}"
            )
        one_hot = self._one_hot(labels, images.dtype)
        shape = tf.shape(images)
        # (batch, 1, 1, K) broadcast to (batch, height, width, K): plane i is one_hot[:, i] everywhere.
        planes = tf.broadcast_to(one_hot[:, None, None, :], tf.stack([shape[0], shape[1], shape[2], self.num_classes]))
        return tf.concat([images, planes], axis=-1)

    def compute_output_shape(self, input_shape):
        images_shape = tuple(input_shape[0])
        channels = None if images_shape[-1] is None else images_shape[-1] + self.num_classes
        return (*images_shape[:-1], channels)

    def get_config(self):
        base_config = super().get_config()
        return {**base_config, "num_classes": self.num_classes}
