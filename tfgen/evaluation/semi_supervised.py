"""The semi-supervised models' scores: the classification error of their q(y|x).

Not to be confused with `tfgen.evaluation.classifier`, the CNN trained on
the data that scores any model's samples.
"""

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
