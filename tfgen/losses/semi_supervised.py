"""The classifier terms of the semi-supervised VAE (M2).

Kingma, Rezende, Mohamed and Welling, "Semi-Supervised Learning with Deep
Generative Models", NeurIPS 2014. For an unlabelled x the label is a latent
variable with posterior q(y|x); the negative ELBO is

    U(x) = sum_y q(y|x) L(x, y) - H(q(y|x))

where L(x, y) is the conditional VAE's negative ELBO for label y. Labelled
examples add alpha times the cross-entropy of q(y|x).

Reduction: one value per example; the models average over the batch.
"""

import tensorflow as tf

from tfgen import _checks


def categorical_entropy(logits):
    """H(q) = -sum_y q(y) log q(y) of the categorical with these logits, per example.

    Args:
        logits: (batch, num_classes).

    Returns:
        A (batch,) tensor.
    """
    logits = tf.convert_to_tensor(logits)
    log_probs = tf.nn.log_softmax(logits, axis=-1)
    return -tf.reduce_sum(tf.exp(log_probs) * log_probs, axis=-1)


def categorical_cross_entropy(labels, logits):
    """-sum_y labels(y) log q(y|x), per example.

    Args:
        labels: one-hot (or soft) labels, (batch, num_classes).
        logits: the classifier's logits, (batch, num_classes).

    Returns:
        A (batch,) tensor.
    """
    logits = tf.convert_to_tensor(logits)
    _checks.same_shape("labels", labels, "logits", logits)
    return tf.nn.softmax_cross_entropy_with_logits(labels=tf.cast(labels, logits.dtype), logits=logits)


def enumerated_unlabelled_loss(per_class_losses, logits):
    """U(x) = sum_y q(y|x) L(x, y) - H(q(y|x)), the expectation over y computed exactly.

    Args:
        per_class_losses: L(x, y) for every class, (batch, num_classes).
        logits: the logits of q(y|x), (batch, num_classes).

    Returns:
        A (batch,) tensor.
    """
    logits = tf.convert_to_tensor(logits)
    _checks.same_shape("per_class_losses", per_class_losses, "logits", logits)
    probs = tf.nn.softmax(logits, axis=-1)
    expected = tf.reduce_sum(probs * tf.cast(per_class_losses, logits.dtype), axis=-1)
    return expected - categorical_entropy(logits)
