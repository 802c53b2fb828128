"""Losses as pure functions. Per-example values summed over data dimensions;
the models take the mean over the batch."""

from tfgen.losses.elbo import (
    bernoulli_log_likelihood,
    kl_normal,
    normal_log_density,
    normal_mixture_log_density,
    squared_error,
)
from tfgen.losses.mmd import gaussian_kernel, mmd

__all__ = [
    "bernoulli_log_likelihood",
    "gaussian_kernel",
    "kl_normal",
    "mmd",
    "normal_log_density",
    "normal_mixture_log_density",
    "squared_error",
]

# Semi-supervised VAE (M2) and sigma-VAE decoder terms.
from tfgen.losses.calibrated import gaussian_log_likelihood, optimal_log_sigma, softclip  # noqa: E402
from tfgen.losses.semi_supervised import (  # noqa: E402
    categorical_cross_entropy,
    categorical_entropy,
    enumerated_unlabelled_loss,
)

__all__ += [
    "categorical_cross_entropy",
    "categorical_entropy",
    "enumerated_unlabelled_loss",
    "gaussian_log_likelihood",
    "optimal_log_sigma",
    "softclip",
]

# The decoder likelihoods of the VAE family (one home: tfgen.losses.likelihoods).
from tfgen.losses import likelihoods  # noqa: E402
from tfgen.losses.likelihoods import (  # noqa: E402
    Likelihood,
    bits_per_dim,
    discretized_logistic_log_prob,
    discretized_logistic_mixture_log_prob,
    get_likelihood,
)

__all__ += [
    "Likelihood",
    "bits_per_dim",
    "discretized_logistic_log_prob",
    "discretized_logistic_mixture_log_prob",
    "get_likelihood",
    "likelihoods",
]

# GAN and InfoGAN losses, WGAN-GP's and the hinge loss (scalars: mean over the batch).
from tfgen.losses.gan import (  # noqa: E402
    categorical_mutual_information_loss,
    discriminator_loss,
    gaussian_mutual_information_loss,
    generator_loss,
    gradient_penalty,
    hinge_discriminator_loss,
    minimax_generator_loss,
    wasserstein_critic_loss,
    wasserstein_generator_loss,
)

__all__ += [
    "categorical_mutual_information_loss",
    "discriminator_loss",
    "gaussian_mutual_information_loss",
    "generator_loss",
    "gradient_penalty",
    "hinge_discriminator_loss",
    "minimax_generator_loss",
    "wasserstein_critic_loss",
    "wasserstein_generator_loss",
]
