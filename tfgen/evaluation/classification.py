"""Classification error of the semi-supervised models' q(y|x)."""

import tensorflow as tf


def error_rate(model, dataset, batch_size=500):
    """The classification error of q(y|x) (argmax) on an `ImageDataset`, as a fraction.

    The images are dynamically binarized with a fixed seed (1), so the same
    model and data give the same number.
    """
    wrong = 0
    for batch in dataset.batches(batch_size, shuffle=False, binarization="dynamic", seed=1):
        predicted = tf.argmax(model.classify(batch["image"]), axis=-1)
        wrong += int(tf.reduce_sum(tf.cast(predicted != batch["label"], tf.int32)))
    return wrong / max(len(dataset), 1)
