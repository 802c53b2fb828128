"""The conditional VAE: a VAE whose decoder (and optionally encoder) sees the class label.

Sohn, Lee and Yan, "Learning Structured Output Representation using Deep
Conditional Generative Models", NeurIPS 2015; the seed post conditions the
decoder by adding a projection of the one-hot label to z (Dense + ReLU),
or by concatenation. The loss is the VAE's negative ELBO with the KL term
weighted by beta (Higgins et al., "beta-VAE", ICLR 2017):

    L(x, y) = -log p(x | y, z) + beta * KL(q(z | x[, y]) || N(0, I))

The seed needed beta = 1e-5 with a Bernoulli decoder to stop every sample of
a class looking the same. The principled fix is a Gaussian decoder with a
calibrated variance, the sigma-VAE of Rybkin, Daniilidis and Levine,
"Simple and Effective VAE Training with Calibrated Decoders", ICML 2021
(arXiv:2006.13202): `likelihood="gaussian_learned"` learns one shared sigma,
`likelihood="gaussian_optimal"` uses the batch's maximum-likelihood sigma in
closed form. Gaussian decoders model intensities: train them with
`binarization="none"`. `likelihood="logistic"` or `"logistic_mixture"`
model 8-bit intensities with discretized logistics (PixelCNN++); every
decoder likelihood lives in `tfgen.losses.likelihoods`.
"""

import warnings

import keras
import tensorflow as tf

from tfgen import _checks, losses
from tfgen import labels as labels_lib
from tfgen import random as tfgen_random
from tfgen.layers import GaussianSampling, LabelProjection
from tfgen.layers.precision import float32_layer
from tfgen.losses import importance, likelihoods
from tfgen.models.base import NUM_SAMPLES_SPEC, Recipe
from tfgen.models.decoder_likelihood import DecoderLikelihoodModel
from tfgen.models.registry import register_model
from tfgen.networks import ConvDecoder, ConvEncoder

CONDITIONINGS = ("projection", "concat")
LIKELIHOODS = likelihoods.ELBO_NAMES
#: The metrics whose sum is the negative ELBO of log p(x | y) with beta = 1, whatever beta the loss uses:
#: what `bits_per_dim` reports for the 8-bit likelihoods.
NEGATIVE_ELBO = ("reconstruction_loss", "kl_loss")


def _deprecated_label_argument(labels, label):
    """`labels`, or the value of the deprecated `label=` keyword (with a warning)."""
    if label is None:
        return labels
    if labels is not None:
        raise ValueError("Pass labels= only (label= is its deprecated spelling). Received both.")
    warnings.warn("sample(label=...) is deprecated: every conditional model takes sample(n, labels=..., seed=...).",
                  DeprecationWarning, stacklevel=3)
    return label


@register_model("cvae")
@keras.saving.register_keras_serializable(package="tfgen")
class CVAE(DecoderLikelihoodModel):
    """Convolutional conditional VAE.

    Args:
        latent_dim: size of z.
        num_classes: the number of classes of the labels.
        conditioning: "projection" (z + ReLU(Dense(one-hot y)), the seed's)
            or "concat" (concat(z, one-hot y)) at the decoder's input.
        encoder_sees_label: also condition the encoder, q(z | x, y): the
            label is concatenated to the encoder's features (`encoder_units`
            ReLU units after the convolutions) before the Gaussian head.
        encoder_units: the size of those features (used when the encoder
            sees the label).
        beta: the weight of the KL term.
        likelihood: "bernoulli" (sigmoid cross-entropy), "gaussian_learned"
            (sigma-VAE, one learned sigma), "gaussian_optimal" (sigma-VAE,
            the batch's maximum-likelihood sigma), "logistic" or
            "logistic_mixture" (discretized logistics for 8-bit images):
            `tfgen.losses.likelihoods`.
        analytic_kl: closed-form KL (True) or the single-sample estimate
            log q(z|x) - log p(z).
        seed: optional integer seed of the sampling layer's own stream.
        num_mixtures: the components of "logistic_mixture".
        num_importance_samples: k, the codes per image of the training
            bound: 1 trains on the (beta-weighted) ELBO, k > 1 on the IWAE
            bound L_k of log p(x | y) (Burda et al. 2015, as `VAE`'s), which
            weighs each code by p(z) / q(z|x[,y]): it needs beta = 1 and
            `analytic_kl=False`.
        **kwargs: base model arguments, and `image_shape` ((28, 28, 1) by
            default; see `GenerativeModel`).

    Batches: "image", "label" (int ids or one-hot) and optionally a
    "labelled" mask; rows with mask 0 are left out of the loss (a CVAE only
    learns from labelled examples).

    Metrics: `loss` (reconstruction + beta * KL, nats per example),
    `reconstruction_loss` (-log p(x|y,z)), `kl_loss`, for Gaussian
    decoders `decoder_log_sigma`, and for the 8-bit likelihoods
    `bits_per_dim`: (reconstruction_loss + kl_loss) / (D ln 2), the negative
    ELBO of log p(x | y) with beta = 1 (whatever beta the loss uses), in
    bits per dimension (D = height x width x channels). With k > 1
    importance samples `loss` is -L_k, `reconstruction_loss` and `kl_loss`
    are averaged over the k codes, and `bits_per_dim` is -L_k's.
    """

    conditional = True
    requires_labels = True
    label_format = "int"
    likelihood_kind = "conditional"
    scores = ("likelihood", "samples")
    figures = ("class_grid",)
    paper = 'Sohn, Lee & Yan 2015, "Learning Structured Output Representation using Deep Conditional Generative Models"'
    #: The default is the shipped export's setting (saved_models/mnist_cvae, version 2): the one-hot label is
    #: concatenated to z and seen by the encoder too, so that z keeps the style and the label picks the digit;
    #: its samples follow their label (0.9936 of 10,000 classified as their label; BENCHMARKS_LIKELIHOOD.md).
    #: The seed post's projection with beta 1e-5 gave 0.113 (chance: 0.1; BENCHMARKS_SSVAE.md): it is the
    #: "seed-post" preset.
    recipe = Recipe(
        source="a conditional VAE whose samples follow their label: MNIST, latent size 2, the one-hot label "
               "concatenated to z and seen by the encoder, beta 2 with a Bernoulli decoder, batch 100, Adam 1e-3, "
               "10 epochs",
        model={"latent_dim": 2, "conditioning": "concat", "encoder_sees_label": True, "beta": 2.0,
               "likelihood": "bernoulli", "seed": 0},
        epochs=10,
        batch_size=100,
        learning_rate=1e-3,
        plot_every=5,
    )
    presets = {"seed-post": Recipe(
        source="the seed's CVAE post (Day 12): MNIST, latent size 2, the label projected and added to z, beta 1e-5 "
               "with a Bernoulli decoder, batch 100, Adam 1e-3, 20 epochs",
        model={"latent_dim": 2, "conditioning": "projection", "beta": 1e-5, "likelihood": "bernoulli", "seed": 0},
        epochs=20,
        batch_size=100,
        learning_rate=1e-3,
        plot_every=5,
    )}

    def __init__(
        self,
        latent_dim=2,
        num_classes=10,
        conditioning="projection",
        encoder_sees_label=False,
        encoder_units=256,
        beta=1.0,
        likelihood="bernoulli",
        analytic_kl=True,
        seed=None,
        num_mixtures=likelihoods.NUM_MIXTURES,
        num_importance_samples=1,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.num_classes = _checks.class_count("num_classes", num_classes, minimum=2)
        self.conditioning = _checks.choice("conditioning", conditioning, CONDITIONINGS)
        self.encoder_sees_label = _checks.boolean("encoder_sees_label", encoder_sees_label)
        self.encoder_units = _checks.positive_int("encoder_units", encoder_units)
        self.beta = _checks.non_negative_number("beta", beta)
        self._set_decoder_likelihood(likelihood, num_mixtures, names=LIKELIHOODS)
        self.analytic_kl = _checks.boolean("analytic_kl", analytic_kl)
        self.seed = _checks.optional_seed("seed", seed)
        self.num_importance_samples = _checks.positive_int("num_importance_samples", num_importance_samples)
        if self.num_importance_samples > 1 and (self.analytic_kl or self.beta != 1.0):
            raise ValueError(
                "The IWAE bound (num_importance_samples > 1) weighs each code by p(z) / q(z|x): it has no closed-form "
                "KL and no KL weight. Pass analytic_kl=False and beta=1. Received: "
                f"analytic_kl={self.analytic_kl}, beta={self.beta}, num_importance_samples={self.num_importance_samples}"
            )
        if self.encoder_sees_label:
            self.encoder = ConvEncoder(encoder_units, gaussian=False, image_shape=self.image_shape, name="encoder")
            self.encoder_head = float32_layer(keras.layers.Dense(2 * latent_dim, name="encoder_head"))
        else:
            self.encoder = ConvEncoder(latent_dim, gaussian=True, image_shape=self.image_shape, name="encoder")
        mode = "add" if conditioning == "projection" else "concat"
        # float32 under mixed precision, as the encoder's outputs: it joins the label to z.
        self.label_projection = float32_layer(LabelProjection(num_classes, mode=mode, name="label_projection"))
        decoder_input_dim = latent_dim if mode == "add" else latent_dim + num_classes
        self.decoder = ConvDecoder(decoder_input_dim, output_activation=None,
                                   image_shape=self.image_shape,
                                   output_channels=self.decoder_output_channels, name="decoder")
        self.sampling = GaussianSampling(seed=seed, name="sampling")
        self._add_likelihood_weights()

    @property
    def metric_names(self):
        return ("loss", "reconstruction_loss", "kl_loss") + self._likelihood_metric_names()

    # ------------------------------------------------------------ networks

    def check_labels(self, labels, batch_size=None, mask=None, argument="labels"):
        """Validated float32 one-hot labels from class ids or class-probability rows (`tfgen.labels.one_hot`)."""
        return labels_lib.one_hot(labels, self.num_classes, argument, batch_size=batch_size, mask=mask,
                                  check_distributions=True)

    def encoder_features(self, images, training=False):
        """What the encoder computes from the images alone: features, or (z_mean, z_log_var)."""
        if self.encoder_sees_label:
            return keras.activations.relu(self.encoder(images, training=training))
        return self.encoder(images, training=training)

    def posterior(self, features, one_hot, training=False):
        """(z_mean, z_log_var) of q(z | x[, y]) from `encoder_features` and one-hot labels."""
        if not self.encoder_sees_label:
            return features
        outputs = self.encoder_head(tf.concat([features, tf.cast(one_hot, features.dtype)], axis=-1), training=training)
        z_mean, z_log_var = tf.split(outputs, 2, axis=-1)
        return z_mean, z_log_var

    def encode(self, images, labels=None, training=False):
        """(z_mean, z_log_var) of q(z|x), or of q(z|x,y) when the encoder sees the label."""
        images = self.check_images(images)
        one_hot = None
        if self.encoder_sees_label:
            if labels is None:
                raise ValueError(f"{type(self).__name__}'s encoder sees the label: pass labels. Received: labels=None")
            one_hot = self.check_labels(labels, batch_size=tf.shape(images)[0])
        return self.posterior(self.encoder_features(images, training=training), one_hot, training=training)

    def decoder_logits(self, z, one_hot, training=False):
        """The decoder's logits for codes z and (one-hot or soft) labels."""
        return self.decoder(self.label_projection([z, one_hot]), training=training)

    def decode(self, z, labels, training=False):
        """Images in [0, 1] (the likelihood's `mean`: Bernoulli probabilities, Gaussian means...) for codes z and labels."""
        z = tf.convert_to_tensor(z)
        _checks.shape("z", z, ("batch", self.latent_dim))
        one_hot = self.check_labels(labels, batch_size=tf.shape(z)[0])
        return self.decoder_likelihood.mean(self.decoder_logits(z, one_hot, training=training))

    def call(self, inputs, training=False):
        images, labels = inputs
        z_mean, z_log_var = self.encode(images, labels, training=training)
        return self.decode(self.sampling([z_mean, z_log_var]), labels, training=training)

    # ---------------------------------------------------------------- loss

    def negative_elbo(self, images, one_hot, features, seed=None, training=False, weights=None):
        """The CVAE loss L(x, y) per example, with one z drawn from q(z | x[, y]).

        Args:
            images: (batch, *image_shape).
            one_hot: (batch, num_classes) one-hot or soft labels.
            features: `encoder_features(images)` (computed once by callers
                that evaluate several labels per image).
            seed: a stateless seed for z, or None.
            weights: optional (batch,) weights of the rows in the closed-form sigma.

        Returns:
            ({"loss", "reconstruction_loss", "kl_loss"}: (batch,) tensors, log sigma or None).
        """
        z_mean, z_log_var = self.posterior(features, one_hot, training=training)
        z = self.sampling([z_mean, z_log_var], seed=seed)
        logits = self.decoder_logits(z, one_hot, training=training)
        logpx_z, log_sigma = self.log_likelihood(images, logits, weights=weights)
        if self.analytic_kl:
            kl = losses.kl_normal(z_mean, z_log_var)
        else:
            kl = losses.normal_log_density(z, z_mean, z_log_var) - losses.normal_log_density(z, 0.0, 0.0)
        terms = {"loss": -logpx_z + self.beta * kl, "reconstruction_loss": -logpx_z, "kl_loss": kl}
        return terms, log_sigma

    def log_importance_weights(self, images, seeds, num_samples, labels):
        """log w = log p(x|y,z) + log p(z) - log q(z|x[,y]) for `num_samples` codes per image, (batch, num_samples).

        The weights of log p(x | y), the likelihood of the image given its
        label (the label prior p(y) is not in them). Image i's codes are
        drawn from seeds[i] (int64) alone; see `VAE.log_importance_weights`.
        """
        images = self.check_images(images)
        one_hot = self.check_labels(labels, batch_size=tf.shape(images)[0])
        eps = tfgen_random.normal_codes_from_seeds(seeds, num_samples, self.latent_dim)
        return self.importance_terms(images, one_hot, self.encoder_features(images), eps)[0]["log_weight"]

    def importance_terms(self, images, one_hot, features, eps, training=False, weights=None):
        """The log importance weights of `images` given their labels, with codes z = mean + sigma * eps of q(z|x[,y]).

        Args:
            images: (batch, *image_shape), checked.
            one_hot: (batch, num_classes) one-hot or soft labels.
            features: `encoder_features(images)`.
            eps: (batch, k, latent_dim) standard normal draws.
            weights: optional (batch,) weights of the rows in the closed-form sigma.

        Returns:
            (`tfgen.losses.importance.gaussian_log_weights`'s dict of (batch, k)
            tensors, the decoder's log sigma or None).
        """
        z_mean, z_log_var = self.posterior(features, one_hot, training=training)
        z = importance.reparameterize(z_mean, z_log_var, eps)
        k = tf.shape(eps)[1]
        tiled_images, tiled_labels = importance.repeat_rows(images, k), importance.repeat_rows(one_hot, k)
        tiled_weights = None if weights is None else importance.repeat_rows(weights, k)
        scales = []

        def log_likelihood(codes):
            logits = self.decoder_logits(codes, tiled_labels, training=training)
            logpx_z, log_sigma = self.log_likelihood(tiled_images, logits, weights=tiled_weights)
            scales.append(log_sigma)
            return logpx_z

        terms = importance.gaussian_log_weights(z, z_mean, z_log_var, log_likelihood)
        return terms, scales[0]

    def _iwae_terms(self, images, one_hot, features, seed=None, training=False, weights=None):
        """Per-example loss terms of the IWAE objective, k = `num_importance_samples` codes per image:
        ({"loss": -L_k, "reconstruction_loss", "kl_loss"}: (batch,) tensors, log sigma or None)."""
        shape = (tf.shape(images)[0], self.num_importance_samples, self.latent_dim)
        eps = tfgen_random.normal(shape, seed, self.sampling.seed_generator)
        terms, log_sigma = self.importance_terms(images, one_hot, features, eps, training=training, weights=weights)
        return {
            "loss": -importance.iwae_bound(terms["log_weight"]),
            "reconstruction_loss": -tf.reduce_mean(terms["logpx_z"], axis=-1),
            "kl_loss": tf.reduce_mean(terms["logqz_x"] - terms["logpz"], axis=-1),
        }, log_sigma

    def compute_losses(self, batch, seed=None, training=False):
        images = self.check_images(batch["image"])
        batch_size = tf.shape(images)[0]
        mask = labels_lib.labelled_mask(batch, batch_size)
        one_hot = self.check_labels(batch["label"], batch_size=batch_size, mask=mask)
        features = self.encoder_features(images, training=training)
        if self.num_importance_samples > 1:
            terms, log_sigma = self._iwae_terms(images, one_hot, features, seed=seed, training=training, weights=mask)
            # Bits per dimension of the loss itself, the IWAE's -L_k.
            return self._add_likelihood_metrics(self._batch_means(terms, mask), log_sigma)
        terms, log_sigma = self.negative_elbo(images, one_hot, features, seed=seed, training=training, weights=mask)
        return self._add_likelihood_metrics(self._batch_means(terms, mask), log_sigma, NEGATIVE_ELBO)

    @staticmethod
    def _batch_means(terms, mask):
        """The batch means of per-example `terms`, over the labelled rows when there is a `mask`."""
        if mask is None:
            return {name: tf.reduce_mean(value) for name, value in terms.items()}
        # Weighted rather than gathered: every row keeps its place, and a
        # batch without labelled rows still has a (zero) gradient.
        return {name: labels_lib.masked_mean(mask * value, tf.reduce_sum(mask)) for name, value in terms.items()}

    # ------------------------------------------------------------- samples

    def sample(self, num_samples, *positional, labels=None, seed=None, label=None):
        """`num_samples` images of the classes `labels`, float32 in [0, 1] (see `GenerativeModel.sample`).

        `label=` is the deprecated spelling of `labels=` (it still works, with a DeprecationWarning).
        """
        return super().sample(num_samples, *positional, labels=_deprecated_label_argument(labels, label), seed=seed)

    def draw_batch(self, num_samples, labels=None, seed=None):
        z = tfgen_random.normal((num_samples, self.latent_dim), seed, self.sampling.seed_generator)
        return self.decoder_likelihood.mean(self.decoder_logits(z, labels))

    def draw_from_seeds(self, seeds, labels=None):
        return self.decode(tfgen_random.normal_from_seeds(seeds, self.latent_dim), labels)

    def serving_endpoints(self):
        images_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        label_spec = tf.TensorSpec([None], tf.int64, name="label")
        seed_spec = tf.TensorSpec([None], tf.int64, name="seed")

        def posterior_outputs(z_mean, z_log_var):
            return {"z_mean": z_mean, "z_log_var": z_log_var}

        def decode(z, label):
            return {"images": self.decode(z, label)}

        def reconstruct(images, label):
            z_mean, _ = self.encode(images, label if self.encoder_sees_label else None)
            return {"images": self.decode(z_mean, label)}

        def log_importance_weights(images, label, seed, num_samples):
            return {"log_weights": self.log_importance_weights(images, seed, num_samples, label)}

        endpoints = {
            "decode": (decode, [z_spec, label_spec]),
            "sample": self.sample_endpoint(),
            "reconstruct": (reconstruct, [images_spec, label_spec]),
            "log_importance_weights": (log_importance_weights,
                                       [images_spec, label_spec, seed_spec, NUM_SAMPLES_SPEC]),
        }
        if self.encoder_sees_label:
            endpoints["encode"] = (lambda images, label: posterior_outputs(*self.encode(images, label)),
                                   [images_spec, label_spec])
        else:
            endpoints["encode"] = (lambda images: posterior_outputs(*self.encode(images)), [images_spec])
        return endpoints

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "num_classes": self.num_classes,
            "conditioning": self.conditioning,
            "encoder_sees_label": self.encoder_sees_label,
            "encoder_units": self.encoder_units,
            "beta": self.beta,
            "likelihood": self.likelihood,
            "analytic_kl": self.analytic_kl,
            "seed": self.seed,
            "num_mixtures": self.num_mixtures,
            "num_importance_samples": self.num_importance_samples,
        }
