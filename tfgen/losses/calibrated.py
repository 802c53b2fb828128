"""The Gaussian decoder likelihood of the sigma-VAE, with a learned or optimal variance.

Rybkin, Daniilidis and Levine, "Simple and Effective VAE Training with
Calibrated Decoders", ICML 2021 (arXiv:2006.13202, 2020). A Gaussian decoder
N(x; mean, sigma^2 I) whose sigma is either one learned scalar or, in closed
form, the one that maximizes the likelihood of the batch: sigma*^2 = the mean
squared error. Calibrating sigma balances reconstruction against the KL term
without a hand-tuned beta.

Reduction: one value per example, summed over the data dimensions.
"""

import tensorflow as tf

from tfgen import _checks
from tfgen.losses.elbo import _data_axes, normal_log_density


def softclip(tensor, minimum):
    """A smooth lower bound: `minimum + softplus(tensor - minimum)` (as in the sigma-VAE code)."""
    tensor = tf.convert_to_tensor(tensor)
    minimum = tf.cast(minimum, tensor.dtype)
    return minimum + tf.nn.softplus(tensor - minimum)


def gaussian_log_likelihood(targets, mean, log_sigma):
    """log N(targets; mean, exp(log_sigma)^2), summed per example.

    Args:
        targets: the data, shape (batch, ...).
        mean: the decoder's means, same shape.
        log_sigma: the log standard deviation, broadcastable to `mean`
            (a scalar for the sigma-VAE).

    Returns:
        A (batch,) tensor.
    """
    mean = tf.convert_to_tensor(mean)
    _checks.same_shape("targets", targets, "mean", mean)
    _checks.same_shape("log_sigma", log_sigma, "mean", mean, broadcast=True)
    targets = tf.cast(targets, mean.dtype)
    log_var = 2.0 * tf.cast(log_sigma, mean.dtype)
    per_element = normal_log_density(targets, mean, log_var, axis=None)
    return tf.reduce_sum(per_element, axis=_data_axes(per_element))


def optimal_log_sigma(targets, mean, min_log_sigma=-6.0, weights=None):
    """The maximum-likelihood shared log sigma of a batch: 0.5 * log(mean squared error), soft-clipped.

    Args:
        targets: the data, shape (batch, ...).
        mean: the decoder's means, same shape.
        min_log_sigma: the soft lower bound (-6 in the paper's code), which
            keeps a perfect reconstruction from giving an infinite likelihood.
        weights: optional (batch,) weights of the examples in the mean
            (e.g. 0 for rows that are not part of the loss).

    Returns:
        A scalar tensor.
    """
    mean = tf.convert_to_tensor(mean)
    _checks.same_shape("targets", targets, "mean", mean)
    if weights is not None:
        _checks.shape("weights", weights, (mean.shape[0],))
    per_example = tf.reduce_mean(tf.square(tf.cast(targets, mean.dtype) - mean), axis=_data_axes(mean))
    if weights is None:
        squared_error = tf.reduce_mean(per_example)
    else:
        weights = tf.cast(weights, mean.dtype)
        squared_error = tf.reduce_sum(weights * per_example) / tf.maximum(tf.reduce_sum(weights), 1e-8)
    return softclip(0.5 * tf.math.log(squared_error), min_log_sigma)
