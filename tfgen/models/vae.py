"""The variational autoencoder trained on the single-sample ELBO batch estimate.

Kingma and Welling, "Auto-Encoding Variational Bayes", ICLR 2014. The loss
follows the eager-execution VAE of the seed post: with z drawn once from
q(z|x),

    ELBO ~= log p(x|z) + log p(z) - log q(z|x)

with log p(x|z) from the sigmoid cross-entropy of the decoder's logits and
log p(z), log q(z|x) from a normal log-density. `analytic_kl=True` uses the
closed-form KL(q(z|x) || N(0, I)) instead of log q(z|x) - log p(z).
`likelihood=` swaps the Bernoulli decoder for another of
`tfgen.losses.likelihoods` (the sigma-VAE's Gaussians, or discretized
logistics for 8-bit images).

The importance-weighted autoencoder (IWAE; Burda, Grosse and
Salakhutdinov, "Importance Weighted Autoencoders", ICLR 2016) is the same
model trained on the k-sample bound (`num_importance_samples=k`):

    L_k = log (1/k) sum_i p(x|z_i) p(z_i) / q(z_i|x),   z_1..z_k ~ q(z|x),

`tfgen.losses.importance`; k = 1 is the ELBO above, computed exactly as
before. `networks="mlp"` gives Burda et al.'s fully connected networks
(two hidden layers of 200 tanh units each way by default).
"""

import keras
import tensorflow as tf

from tfgen import _checks, losses
from tfgen import random as tfgen_random
from tfgen.layers import GaussianSampling
from tfgen.losses import importance, likelihoods
from tfgen.models.base import NUM_SAMPLES_SPEC, Recipe
from tfgen.models.decoder_likelihood import DecoderLikelihoodModel
from tfgen.models.registry import register_model
from tfgen.networks import ConvDecoder, ConvEncoder, GaussianMLP, MLPDecoder
from tfgen.networks.mlp import check_hidden_layers

NETWORKS = ("conv", "mlp")


@register_model("vae")
@keras.saving.register_keras_serializable(package="tfgen")
class VAE(DecoderLikelihoodModel):
    """Convolutional VAE with a Bernoulli (or another) decoder.

    Args:
        latent_dim: size of z (2 in the seed, for plotting; any size works).
        analytic_kl: use the closed-form KL instead of the single-sample
            estimate log q(z|x) - log p(z).
        seed: optional integer seed of the sampling layer's own stream.
        likelihood: the decoder's likelihood, one of
            `tfgen.losses.likelihoods.ELBO_NAMES`: "bernoulli" (the seed's),
            "gaussian_learned", "gaussian_optimal" (the sigma-VAE's),
            "logistic" or "logistic_mixture" (8-bit images). It sets the data
            contract (`binarization`: "dynamic" for the Bernoulli, else "none").
        num_mixtures: the components of "logistic_mixture".
        num_importance_samples: k, the codes per image of the training
            bound: 1 trains on the ELBO (the VAE), k > 1 on the IWAE bound
            L_k (always with the sampled log q(z|x) - log p(z), so
            `analytic_kl` must be False).
        networks: "conv" (the seed's convolutional encoder and decoder) or
            "mlp" (fully connected, Burda et al.'s).
        hidden_units: the hidden widths of the "mlp" encoder, in order; the
            decoder mirrors them. (200, 200) is Burda et al.'s.
        activation: the "mlp" hidden layers' activation ("tanh", Burda et al.'s).
        **kwargs: base model arguments, and `image_shape` ((28, 28, 1) by
            default; see `GenerativeModel`).

    Metrics: `loss` (the negative ELBO estimate, or the negative IWAE bound
    -L_k, nats per image), `logpx_z`, `logpz`, `logqz_x` (batch means, over
    the k codes too), and `kl` (the KL term used, the mean of log q - log p
    for k > 1); with a Gaussian likelihood `decoder_log_sigma`; with an
    8-bit one `bits_per_dim` (`loss` / (D ln 2), D = height x width x channels).
    """
    figures = ("losses", "samples", "latent_space", "latent_grid")
    likelihood_kind = "vae"
    scores = ("likelihood",)
    paper = 'Kingma & Welling 2014, "Auto-Encoding Variational Bayes"'
    recipe = Recipe(
        source="the seed's eager-execution VAE post: Fashion-MNIST, pixels in [0, 1] as Bernoulli targets, "
               "latent size 2, batch 100, Adam 1e-4, 50 epochs",
        model={"latent_dim": 2},
        dataset="fashion_mnist",
        epochs=50,
        batch_size=100,
        learning_rate=1e-4,
        binarization="none",
        plot_every=10,
    )

    def __init__(self, latent_dim=2, analytic_kl=False, seed=None, likelihood="bernoulli",
                 num_mixtures=likelihoods.NUM_MIXTURES, num_importance_samples=1, networks="conv",
                 hidden_units=(200, 200), activation="tanh", **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.analytic_kl = _checks.boolean("analytic_kl", analytic_kl)
        self.seed = _checks.optional_seed("seed", seed)
        self._set_decoder_likelihood(likelihood, num_mixtures)
        self.num_importance_samples = _checks.positive_int("num_importance_samples", num_importance_samples)
        if self.num_importance_samples > 1 and self.analytic_kl:
            raise ValueError("The IWAE bound (num_importance_samples > 1) weighs each code by p(z) / q(z|x): it has "
                             "no closed-form KL. Pass analytic_kl=False. Received: analytic_kl=True, "
                             f"num_importance_samples={self.num_importance_samples}")
        self.networks = _checks.choice("networks", networks, NETWORKS)
        output_channels = self.decoder_output_channels
        if self.networks == "conv":
            # Unused by the convolutional networks; checked all the same (a typo is refused whatever the networks)
            # and kept for the config.
            self.hidden_units, self.activation = check_hidden_layers(hidden_units, activation)
            self.encoder = ConvEncoder(latent_dim, gaussian=True, image_shape=self.image_shape, name="encoder")
            self.decoder = ConvDecoder(latent_dim, output_activation=None, image_shape=self.image_shape,
                                       output_channels=output_channels, name="decoder")
        else:
            self.encoder = GaussianMLP(latent_dim, hidden_units, activation=activation, name="encoder")
            units = self.encoder.hidden_units
            self.decoder = MLPDecoder(units[::-1] if isinstance(units, list) else units, image_shape=self.image_shape,
                                      output_channels=output_channels, activation=activation, name="decoder")
            self.hidden_units, self.activation = units, self.encoder.activation
        self.sampling = GaussianSampling(seed=seed, name="sampling")
        self._add_likelihood_weights()

    @property
    def metric_names(self):
        return ("loss", "logpx_z", "logpz", "logqz_x", "kl") + self._likelihood_metric_names()

    def encode(self, images, training=False):
        """(z_mean, z_log_var) of q(z|x)."""
        images = self.check_images(images)
        return self.encoder(images, training=training)

    def decode(self, z, apply_sigmoid=True, training=False):
        """Images in [0, 1] of p(x|z) (the likelihood's `mean`: pixel probabilities for the
        Bernoulli), or with `apply_sigmoid=False` the decoder's raw outputs (logits)."""
        _checks.shape("z", z, ("batch", self.latent_dim))
        logits = self.decoder(z, training=training)
        return self.decoder_likelihood.mean(logits) if apply_sigmoid else logits

    def call(self, images, training=False):
        z_mean, z_log_var = self.encode(images, training=training)
        return self.decode(self.sampling([z_mean, z_log_var]), apply_sigmoid=False, training=training)

    def compute_losses(self, batch, seed=None, training=False):
        if self.num_importance_samples > 1:
            return self._iwae_losses(batch, seed=seed, training=training)
        images = batch["image"]
        z_mean, z_log_var = self.encode(images, training=training)
        z = self.sampling([z_mean, z_log_var], seed=seed)
        logits = self.decoder(z, training=training)
        logpx_z, log_sigma = self.log_likelihood(images, logits)
        logpz = losses.normal_log_density(z, 0.0, 0.0)
        logqz_x = losses.normal_log_density(z, z_mean, z_log_var)
        kl = losses.kl_normal(z_mean, z_log_var) if self.analytic_kl else logqz_x - logpz
        loss = -tf.reduce_mean(logpx_z - kl)
        metrics = {
            "loss": loss,
            "logpx_z": tf.reduce_mean(logpx_z),
            "logpz": tf.reduce_mean(logpz),
            "logqz_x": tf.reduce_mean(logqz_x),
            "kl": tf.reduce_mean(kl),
        }
        return self._add_likelihood_metrics(metrics, log_sigma)

    def importance_terms(self, images, eps, training=False):
        """The log importance weights of `images` with codes z = mean + sigma * eps of q(z|x).

        Args:
            images: (batch, *image_shape).
            eps: (batch, k, latent_dim) standard normal draws.

        Returns:
            (`tfgen.losses.importance.gaussian_log_weights`'s dict of (batch, k)
            tensors, the decoder's log sigma or None).
        """
        images = self.check_images(images)
        z_mean, z_log_var = self.encode(images, training=training)
        z = importance.reparameterize(z_mean, z_log_var, eps)
        tiled = importance.repeat_rows(images, tf.shape(eps)[1])
        scales = []

        def log_likelihood(codes):
            logpx_z, log_sigma = self.log_likelihood(tiled, self.decoder(codes, training=training))
            scales.append(log_sigma)
            return logpx_z

        terms = importance.gaussian_log_weights(z, z_mean, z_log_var, log_likelihood)
        return terms, scales[0]

    def _iwae_losses(self, batch, seed=None, training=False):
        """The IWAE's metrics: `loss` is -L_k, k = `num_importance_samples` codes per image."""
        images = self.check_images(batch["image"])
        shape = (tf.shape(images)[0], self.num_importance_samples, self.latent_dim)
        eps = tfgen_random.normal(shape, seed, self.sampling.seed_generator)
        terms, log_sigma = self.importance_terms(images, eps, training=training)
        loss = -tf.reduce_mean(importance.iwae_bound(terms["log_weight"]))
        metrics = {
            "loss": loss,
            "logpx_z": tf.reduce_mean(terms["logpx_z"]),
            "logpz": tf.reduce_mean(terms["logpz"]),
            "logqz_x": tf.reduce_mean(terms["logqz_x"]),
            "kl": tf.reduce_mean(terms["logqz_x"] - terms["logpz"]),
        }
        return self._add_likelihood_metrics(metrics, log_sigma)

    def log_importance_weights(self, images, seeds, num_samples):
        """log w = log p(x|z) + log p(z) - log q(z|x) for `num_samples` codes per image, (batch, num_samples).

        Image i's codes are drawn from seeds[i] (int64) alone, so a row does
        not depend on the rest of the batch: `tfgen.evaluation.likelihood`
        turns these into the importance-weighted bound, and the export's
        `log_importance_weights` signature is this method.
        """
        eps = tfgen_random.normal_codes_from_seeds(seeds, num_samples, self.latent_dim)
        return self.importance_terms(images, eps)[0]["log_weight"]

    def draw_batch(self, num_samples, labels=None, seed=None):
        return self.decode(tfgen_random.normal((num_samples, self.latent_dim), seed, self.sampling.seed_generator))

    def draw_from_seeds(self, seeds, labels=None):
        return self.decode(tfgen_random.normal_from_seeds(seeds, self.latent_dim))

    def serving_endpoints(self):
        images_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        seed_spec = tf.TensorSpec([None], tf.int64, name="seed")

        def encode(images):
            z_mean, z_log_var = self.encode(images)
            return {"z_mean": z_mean, "z_log_var": z_log_var}

        def decode(z):
            return {"images": self.decode(z)}

        def reconstruct(images):
            z_mean, _ = self.encode(images)
            return {"images": self.decode(z_mean)}

        def log_importance_weights(images, seed, num_samples):
            return {"log_weights": self.log_importance_weights(images, seed, num_samples)}

        return {
            "encode": (encode, [images_spec]),
            "decode": (decode, [z_spec]),
            "sample": self.sample_endpoint(),
            "reconstruct": (reconstruct, [images_spec]),
            "log_importance_weights": (log_importance_weights, [images_spec, seed_spec, NUM_SAMPLES_SPEC]),
        }

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "analytic_kl": self.analytic_kl,
            "seed": self.seed,
            "likelihood": self.likelihood,
            "num_mixtures": self.num_mixtures,
            "num_importance_samples": self.num_importance_samples,
            "networks": self.networks,
            "hidden_units": self.hidden_units,
            "activation": self.activation,
        }
