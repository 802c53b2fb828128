"""Importance weights of latent-variable models, and the importance-weighted bound.

Burda, Grosse and Salakhutdinov, "Importance Weighted Autoencoders", ICLR
2016. With k codes z_1..z_k drawn from the encoder's q(z|x), the weights

    w_i = p(x | z_i) p(z_i) / q(z_i | x)

are unbiased estimates of p(x), so their mean is too, and by Jensen

    L_k(x) = log (1/k) sum_i w_i  <=  log p(x),

with L_1 the ELBO, L_k rising with k, and L_k -> log p(x) as k grows (for
a q whose support covers the posterior's). The IWAE trains on L_k; the
evaluation (`tfgen.evaluation.likelihood`) reports L_K with K = 5000 as the
test log-likelihood, as Burda et al. do.

Everything here works on log-weights, shape (batch, k): a weight of 1e-100
is a log-weight of -230, which float32 holds.
"""

import tensorflow as tf

from tfgen import _checks
from tfgen.losses.elbo import normal_log_density


def reparameterize(mean, log_var, eps):
    """k codes per row: z = mean + exp(log_var / 2) * eps.

    Args:
        mean, log_var: (batch, dim), a diagonal Gaussian per row.
        eps: (batch, k, dim) standard normal draws.

    Returns:
        (batch, k, dim).
    """
    mean = tf.convert_to_tensor(mean)
    _checks.same_shape("log_var", log_var, "mean", mean)
    eps = tf.cast(eps, mean.dtype)
    return mean[:, None] + tf.exp(0.5 * tf.cast(log_var, mean.dtype))[:, None] * eps


def gaussian_log_weights(z, z_mean, z_log_var, log_likelihood, prior_mean=0.0, prior_log_var=0.0, log_prior=None):
    """The log importance weights of codes z drawn from a diagonal Gaussian q(z|x).

        log w = log p(x | z) + log p(z) - log q(z | x)

    Args:
        z: (batch, k, dim) codes, from `reparameterize(z_mean, z_log_var, eps)`.
        z_mean, z_log_var: (batch, dim), q(z|x).
        log_likelihood: a function of the codes flattened to (batch * k, dim),
            row-major (row b * k + i is z[b, i]), returning log p(x | z) of
            each row's image, (batch * k,).
        prior_mean, prior_log_var: p(z): N(0, I) by default; (batch, dim) or
            (batch, k, dim) for a learned, conditional prior.
        log_prior: instead of those, a function of the codes (batch, k, dim)
            returning log p(z), (batch, k): a prior that is not one Gaussian
            (the VampPrior's mixture, `tfgen.losses.normal_mixture_log_density`).

    Returns:
        A dict of (batch, k) tensors: `log_weight`, `logpx_z`, `logpz`, `logqz_x`.
    """
    z = tf.convert_to_tensor(z)
    shape = tf.shape(z)
    logpx_z = tf.reshape(log_likelihood(tf.reshape(z, [-1, shape[-1]])), shape[:2])
    if log_prior is None:
        logpz = normal_log_density(z, _per_code(prior_mean), _per_code(prior_log_var))
    else:
        logpz = log_prior(z)
    logqz_x = normal_log_density(z, z_mean[:, None], z_log_var[:, None])
    return {"log_weight": logpx_z + logpz - logqz_x, "logpx_z": logpx_z, "logpz": logpz, "logqz_x": logqz_x}


def _per_code(parameter):
    """A (batch, dim) Gaussian parameter broadcast over the k codes of its row; scalars and (batch, k, dim) as they are."""
    parameter = tf.convert_to_tensor(parameter)
    return parameter[:, None] if parameter.shape.rank == 2 else parameter


def iwae_bound(log_weights):
    """L_k = log mean_i exp(log w_i) over the last axis: (batch, k) -> (batch,).

    The log-sum-exp subtracts the row's largest log-weight first, so it is
    exact for any range of weights. Its gradient is Burda et al.'s estimator:
    the gradients of the k log-weights averaged with the normalized weights
    w_i / sum_j w_j as coefficients (with one code, the ELBO's gradient).
    """
    log_weights = tf.convert_to_tensor(log_weights)
    count = tf.cast(tf.shape(log_weights)[-1], log_weights.dtype)
    return tf.reduce_logsumexp(log_weights, axis=-1) - tf.math.log(count)


def repeat_rows(tensor, k):
    """Each row of `tensor` k times in a row (row b * k + i is tensor[b]): the images beside `reparameterize`'s codes."""
    return tf.repeat(tensor, k, axis=0)

