"""Losses as pure functions. Per-example values summed over data dimensions;
the models take the mean over the batch."""

from tfgen.losses.elbo import bernoulli_log_likelihood, kl_normal, normal_log_density, squared_error
from tfgen.losses.mmd import gaussian_kernel, mmd

__all__ = [
    "bernoulli_log_likelihood",
    "gaussian_kernel",
    "kl_normal",
    "mmd",
    "normal_log_density",
    "squared_error",
]
