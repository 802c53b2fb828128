"""The pieces of the evidence lower bound (ELBO), as pure functions.

Reduction: every function returns one value per example, summed over the
data (or latent) dimensions; the models average over the batch.
"""

import math

import tensorflow as tf

from tfgen import _checks

_LOG_2PI = math.log(2.0 * math.pi)


def _data_axes(tensor):
    """All axes but the first (batch) axis."""
    return tf.range(1, tf.rank(tensor))


def normal_log_density(sample, mean, log_var, axis=-1):
    """log N(sample; mean, exp(log_var)), summed over `axis`.

    log N(x; m, s^2) = -0.5 * (log(2 pi) + log s^2 + (x - m)^2 / s^2)

    Args:
        sample: the points at which to evaluate the density.
        mean: the mean, broadcastable to `sample`.
        log_var: the log-variance, broadcastable to `sample`.
        axis: the axis (or axes) to sum over; None keeps every element.

    Returns:
        The log-density, with `axis` reduced.
    """
    sample = tf.convert_to_tensor(sample)
    _checks.same_shape("mean", mean, "sample", sample, broadcast=True)
    _checks.same_shape("log_var", log_var, "sample", sample, broadcast=True)
    mean = tf.cast(mean, sample.dtype)
    log_var = tf.cast(log_var, sample.dtype)
    log_density = -0.5 * (_LOG_2PI + log_var + tf.exp(-log_var) * tf.square(sample - mean))
    if axis is None:
        return log_density
    return tf.reduce_sum(log_density, axis=axis)


def normal_mixture_log_density(sample, means, log_vars):
    """log (1/K) sum_k N(sample; means[k], exp(log_vars[k])): an equal-weight mixture of K diagonal Gaussians.

    The VampPrior's log p(z) (Tomczak and Welling 2018), whose components
    are the encoder's posteriors at the K pseudo-inputs.

    The squared distance to every component comes from two matrix products,

        sum_d (z_d - m_kd)^2 / s_kd^2 = z^2 . (1/s_k^2) - 2 z . (m_k / s_k^2) + m_k^2 . (1/s_k^2),

    so memory is (rows, K), not (rows, K, dim): `tfgen evaluate` scores
    20,000 codes per call against K = 500 components. The three terms can
    be large and nearly cancel (a component with s^2 = 1e-4 puts 1e4 z^2 in
    each), so they are computed in float64, where that cancellation costs
    about 1e-16 of their size; the result is cast back to `sample`'s dtype.

    Args:
        sample: (..., dim) points.
        means, log_vars: (K, dim), the components.

    Returns:
        (...) log-densities, summed over dim.
    """
    sample = tf.convert_to_tensor(sample)
    means = tf.convert_to_tensor(means)
    _checks.shape("means", means, ("components", sample.shape[-1]))
    _checks.same_shape("log_vars", log_vars, "means", means)
    shape = tf.shape(sample)
    z = tf.reshape(tf.cast(sample, tf.float64), [-1, shape[-1]])
    means = tf.cast(means, tf.float64)
    log_vars = tf.cast(log_vars, tf.float64)
    precisions = tf.exp(-log_vars)
    squared = (tf.matmul(tf.square(z), precisions, transpose_b=True)
               - 2.0 * tf.matmul(z, means * precisions, transpose_b=True)
               + tf.reduce_sum(tf.square(means) * precisions, axis=-1))
    dim = tf.cast(tf.shape(means)[-1], tf.float64)
    log_components = -0.5 * (dim * _LOG_2PI + tf.reduce_sum(log_vars, axis=-1) + squared)
    count = tf.cast(tf.shape(means)[0], tf.float64)
    log_density = tf.reduce_logsumexp(log_components, axis=-1) - tf.math.log(count)
    return tf.cast(tf.reshape(log_density, shape[:-1]), sample.dtype)


def bernoulli_log_likelihood(targets, logits):
    """log p(x | z) for a Bernoulli decoder: -sigmoid cross-entropy, summed per example.

    Args:
        targets: the data in [0, 1], shape (batch, ...).
        logits: the decoder's logits, same shape.

    Returns:
        A (batch,) tensor.
    """
    logits = tf.convert_to_tensor(logits)
    _checks.same_shape("targets", targets, "logits", logits)
    targets = tf.cast(targets, logits.dtype)
    cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(labels=targets, logits=logits)
    return -tf.reduce_sum(cross_entropy, axis=_data_axes(cross_entropy))


def kl_normal(mean, log_var, prior_mean=0.0, prior_log_var=0.0, axis=-1):
    """Analytic KL(N(mean, exp(log_var)) || N(prior_mean, exp(prior_log_var))), summed over `axis`.

    KL = 0.5 * (log s2^2 - log s1^2 + (s1^2 + (m1 - m2)^2) / s2^2 - 1)

    Args:
        mean, log_var: the parameters of the first (posterior) Gaussian.
        prior_mean, prior_log_var: the second Gaussian's (default N(0, I)).
        axis: the axis to sum over.
    """
    mean = tf.convert_to_tensor(mean)
    for argument, value in (("log_var", log_var), ("prior_mean", prior_mean), ("prior_log_var", prior_log_var)):
        _checks.same_shape(argument, value, "mean", mean, broadcast=True)
    log_var = tf.cast(log_var, mean.dtype)
    prior_mean = tf.cast(prior_mean, mean.dtype)
    prior_log_var = tf.cast(prior_log_var, mean.dtype)
    kl = 0.5 * (
        prior_log_var - log_var + (tf.exp(log_var) + tf.square(mean - prior_mean)) * tf.exp(-prior_log_var) - 1.0
    )
    return tf.reduce_sum(kl, axis=axis)


def squared_error(targets, predictions, reduction="sum"):
    """Squared reconstruction error per example: summed, or averaged, over the data dimensions.

    Args:
        targets: the data, shape (batch, ...).
        predictions: the reconstructions, same shape.
        reduction: "sum" or "mean" over the data dimensions.
    """
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean'. Received: reduction={reduction!r}")
    predictions = tf.convert_to_tensor(predictions)
    _checks.same_shape("predictions", predictions, "targets", targets)
    error = tf.square(tf.cast(targets, predictions.dtype) - predictions)
    reduce = tf.reduce_sum if reduction == "sum" else tf.reduce_mean
    return reduce(error, axis=_data_axes(error))
