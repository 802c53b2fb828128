"""Conditioning a latent code on a class label, for conditional decoders."""

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import labels as labels_lib

MODES = ("add", "concat")


@keras.saving.register_keras_serializable(package="tfgen")
class LabelProjection(keras.layers.Layer):
    """Combines a code z with a one-hot (or soft) label y.

    `mode="add"` returns `z + relu(Dense(y))`, the Dense layer projecting the
    label to z's size (the "linear projection and summation" of the seed
    CVAE post); `mode="concat"` returns `concat([z, y])`, of size
    `z_dim + num_classes`.

    Args:
        num_classes: the number of classes (the label's size).
        mode: "add" or "concat".
        activation: the projection's activation in "add" mode.
        **kwargs: base layer arguments.

    Call arguments:
        inputs: a list `[z, labels]`: z of shape (batch, z_dim) and labels,
            either float one-hot (or class probabilities, e.g. Gumbel-softmax
            samples) of shape (batch, num_classes) or integer class ids of
            shape (batch,), in [0, num_classes) (checked, eagerly and in the graph).
    """

    def __init__(self, num_classes, mode="add", activation="relu", **kwargs):
        super().__init__(**kwargs)
        self.num_classes = _checks.class_count("num_classes", num_classes)
        self.mode = _checks.choice("mode", mode, MODES)
        self.activation = activation
        self.projection = None

    def build(self, input_shape):
        z_shape = input_shape[0]
        if self.mode == "add":
            if z_shape[-1] is None:
                raise ValueError(f"LabelProjection needs a known code size. Received: z.shape={z_shape}")
            if self.projection is None:  # build may run again, e.g. when a wrapper rebuilds on load
                # The layer's own dtype policy, not the global one: in a user's model that gives this layer
                # "mixed_float16" the projection must compute in float16 too, or z + projection mixes dtypes.
                self.projection = keras.layers.Dense(z_shape[-1], activation=self.activation, name="projection",
                                                     dtype=self.dtype_policy)
            if not self.projection.built:
                self.projection.build((None, self.num_classes))

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError(f"LabelProjection expects inputs=[z, labels]. Received: {inputs!r}")
        z, labels = inputs
        z = tf.convert_to_tensor(z)
        one_hot = labels_lib.one_hot(labels, self.num_classes, "labels", dtype=z.dtype)
        if self.mode == "add":
            return z + self.projection(one_hot)
        return tf.concat([z, one_hot], axis=-1)

    def compute_output_shape(self, input_shape):
        z_shape = tuple(input_shape[0])
        if self.mode == "add":
            return z_shape
        return (*z_shape[:-1], None if z_shape[-1] is None else z_shape[-1] + self.num_classes)

    def get_config(self):
        base_config = super().get_config()
        config = {"num_classes": self.num_classes, "mode": self.mode, "activation": self.activation}
        return {**base_config, **config}
