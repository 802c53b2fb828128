"""The MMD-VAE, a member of the InfoVAE family.

Zhao, Song and Ermon, "InfoVAE: Information Maximizing Variational
Autoencoders", arXiv:1706.02262, 2017. A deterministic encoder and a sigmoid
decoder; the loss is the mean squared reconstruction error plus the maximum
mean discrepancy between the batch's codes and as many samples of N(0, I).
The squared error is averaged over pixels, as in the seed post (a port of
the authors' code): that is what balances it against an MMD of weight 1.

`likelihood=` replaces that squared error ("squared_error", the default,
not a normalized likelihood) by minus a log-likelihood of
`tfgen.losses.likelihoods` in nats per image (the InfoVAE objective with
-log p(x|z) as its reconstruction term, Zhao et al. eq. 6); then
`mmd_weight` weighs the MMD against nats, and a larger weight is usually
needed. The MMD-VAE has no ELBO (its encoder is deterministic), so it
reports no bits per dimension.
"""

import keras
import tensorflow as tf

from tfgen import _checks, losses
from tfgen import random as tfgen_random
from tfgen.losses import likelihoods
from tfgen.models.base import Recipe
from tfgen.models.decoder_likelihood import DecoderLikelihoodModel
from tfgen.models.registry import register_model
from tfgen.networks import ConvDecoder, ConvEncoder


@register_model("mmd_vae")
@keras.saving.register_keras_serializable(package="tfgen")
class MMDVAE(DecoderLikelihoodModel):
    """Convolutional MMD-VAE.

    Args:
        latent_dim: size of the code.
        mmd_weight: the weight of the MMD term.
        seed: optional integer seed for prior samples drawn without a stateless seed.
        likelihood: "squared_error" (the seed's mean squared error per
            pixel, on the decoder's sigmoid outputs) or one of
            `tfgen.losses.likelihoods.ELBO_NAMES` (then the reconstruction
            term is -log p(x|z), nats per image). It sets the data contract
            (`binarization`: "dynamic" for "bernoulli", else "none").
        num_mixtures: the components of "logistic_mixture".
        **kwargs: base model arguments, and `image_shape` ((28, 28, 1) by
            default; see `GenerativeModel`).

    Metrics: `loss`, `reconstruction_loss` (mean squared error per pixel,
    or -log p(x|z) in nats), `mmd_loss`, and for a Gaussian likelihood
    `decoder_log_sigma`.
    """
    figures = ("losses", "samples", "latent_space", "latent_grid")
    scores = ("mmd",)
    paper = 'Zhao, Song & Ermon 2019, "InfoVAE: Information Maximizing Variational Autoencoders"'
    recipe = Recipe(
        source="the seed's MMD-VAE post (a port of Zhao et al.'s code): Fashion-MNIST (the post also runs MNIST), "
               "latent size 2, batch 100, Adam 1e-4, 50 epochs",
        model={"latent_dim": 2},
        dataset="fashion_mnist",
        epochs=50,
        batch_size=100,
        learning_rate=1e-4,
        plot_every=10,
    )

    def __init__(self, latent_dim=2, mmd_weight=1.0, seed=None, likelihood="squared_error",
                 num_mixtures=likelihoods.NUM_MIXTURES, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.mmd_weight = _checks.non_negative_number("mmd_weight", mmd_weight)
        self.seed = _checks.optional_seed("seed", seed)
        self._set_decoder_likelihood(likelihood, num_mixtures, names=likelihoods.NAMES)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.encoder = ConvEncoder(latent_dim, gaussian=False, image_shape=self.image_shape, name="encoder")
        self.decoder = ConvDecoder(latent_dim, output_activation=self.decoder_likelihood.output_activation,
                                   image_shape=self.image_shape,
                                   output_channels=self.decoder_output_channels, name="decoder")
        self._add_likelihood_weights()

    @property
    def metric_names(self):
        # No ELBO (the encoder is deterministic), so no bits per dimension.
        return ("loss", "reconstruction_loss", "mmd_loss") + self._likelihood_metric_names(bits_per_dim=False)

    def encode(self, images, training=False):
        """The deterministic code of each image."""
        images = self.check_images(images)
        return self.encoder(images, training=training)

    def decode(self, z, training=False):
        """Pixel intensities in [0, 1] (the likelihood's `mean` of the decoder's outputs)."""
        _checks.shape("z", z, ("batch", self.latent_dim))
        return self.decoder_likelihood.mean(self.decoder(z, training=training))

    def reconstruct(self, images, training=False):
        """The decoded codes of `images`: pixel intensities in [0, 1]."""
        return self.decode(self.encode(images, training=training), training=training)

    def call(self, images, training=False):
        return self.reconstruct(images, training=training)

    def _prior_samples(self, num_samples, seed):
        return tfgen_random.normal((num_samples, self.latent_dim), seed, self.seed_generator)

    def compute_losses(self, batch, seed=None, training=False):
        images = batch["image"]
        z = self.encode(images, training=training)
        outputs = self.decoder(z, training=training)
        prior_samples = self._prior_samples(tf.shape(images)[0], seed)
        mmd_loss = losses.mmd(prior_samples, z)
        log_likelihood, log_sigma = self.log_likelihood(images, outputs)
        reconstruction_loss = -tf.reduce_mean(log_likelihood)
        metrics = {
            "loss": reconstruction_loss + self.mmd_weight * mmd_loss,
            "reconstruction_loss": reconstruction_loss,
            "mmd_loss": mmd_loss,
        }
        return self._add_likelihood_metrics(metrics, log_sigma, negative_bound=None)

    def draw_batch(self, num_samples, labels=None, seed=None):
        return self.decode(self._prior_samples(num_samples, seed))

    def draw_from_seeds(self, seeds, labels=None):
        return self.decode(tfgen_random.normal_from_seeds(seeds, self.latent_dim))

    def serving_endpoints(self):
        images_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        return {
            "encode": (lambda images: {"z": self.encode(images)}, [images_spec]),
            "decode": (lambda z: {"images": self.decode(z)}, [z_spec]),
            "sample": self.sample_endpoint(),
            "reconstruct": (lambda images: {"images": self.reconstruct(images)}, [images_spec]),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "mmd_weight": self.mmd_weight,
            "seed": self.seed,
            "likelihood": self.likelihood,
            "num_mixtures": self.num_mixtures,
        }
