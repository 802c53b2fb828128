"""Label conditioning layers."""

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import labels as labels_lib


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
        self.num_classes = _checks.class_count("num_classes", num_classes, minimum=2)

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
        # Integer ids of shape (batch,) or (batch, 1), range-checked; or float one-hot (or soft) rows.
        shape = tf.shape(images)
        one_hot = labels_lib.one_hot(labels, self.num_classes, "labels", allow_column=True, dtype=images.dtype,
                                     batch_size=shape[0])
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
