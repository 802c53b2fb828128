"""InfoGAN: a GAN whose extra latent codes are made recoverable from its samples.

Xi Chen, Yan Duan, Rein Houthooft, John Schulman, Ilya Sutskever and Pieter
Abbeel, "InfoGAN: Interpretable Representation Learning by Information
Maximizing Generative Adversarial Nets", NeurIPS 2016, arXiv:1606.03657.

The generator sees z ~ N(0, I) and codes c: a categorical code (10-way,
uniform) and continuous codes ~ U(-1, 1). A Q head sharing the
discriminator's body predicts c from G(z, c); both G and Q minimize

    V(D, G) - lambda * L_I(G, Q),  L_I = E[log Q(c | G(z, c))] + H(c) <= I(c; G(z, c)),

so `mi_loss` is -E[log Q(c | x)] (cross-entropy for the categorical code plus
the Gaussian negative log-likelihood of the continuous codes, see
`tfgen.losses.gan`). Q's variables are updated with the discriminator's
optimizer (they share D's body), in the discriminator's update, on
`d_loss + info_weight * mi_loss`; the generator's update minimizes
`g_loss + info_weight * mi_loss`.
"""

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import labels as labels_lib
from tfgen import random as tfgen_random
from tfgen.losses import gan as gan_losses
from tfgen.models.base import Recipe
from tfgen.models.gan import AdversarialModel, to_model_range, to_pixel_range
from tfgen.models.registry import register_model
from tfgen.networks.gan import DCGANDiscriminator, DCGANGenerator, InfoGANQHead
from tfgen.random import split_seed


@register_model("infogan")
@keras.saving.register_keras_serializable(package="tfgen")
class InfoGAN(AdversarialModel):
    """InfoGAN (Chen et al. 2016, MNIST setup: 62 noise dims, 10-way + 2 continuous codes).

    Args:
        latent_dim: the size of the incompressible noise z ~ N(0, I).
        num_categories: the size of the uniform categorical code (>= 2).
        num_continuous: the number of U(-1, 1) continuous codes (>= 0).
        info_weight: lambda, the weight of the mutual-information term.
        continuous_weight: the weight of the continuous codes' term inside
            `mi_loss` (the paper suggests a smaller weight for continuous
            codes when their scale differs).
        learn_std: Q predicts the continuous codes' log-std; if False the
            std is fixed at 1 (a stable choice, the paper's "factored Gaussian
            is sufficient").
        hidden_units: the generator's Dense layers after concat(z, c).
        q_hidden_units: the Q head's hidden layer.
        generator_filters: f of `DCGANGenerator`.
        discriminator_filters: f of `DCGANDiscriminator` (Q shares its body).
        discriminator_batch_norm: batch norm in D's convolutions after the
            first (and its Dense layers).
        discriminator_hidden_units: D's Dense layers after the convolutions,
            shared with Q (the paper's MNIST D: one of 1024).
        discriminator_steps, label_smoothing, seed: see `AdversarialModel`.
        **kwargs: base model arguments (`loss`, `gradient_penalty`,
            `spectral_norm` and `generator_ema`: see `AdversarialModel`; the
            gradient penalty is of D's logit, and spectral normalization
            wraps D's body and logit, not Q's head), and `image_shape`
            ((28, 28, 1) by default; see `GenerativeModel`).

    Metrics: `loss` (= d_loss + g_loss + info_weight * mi_loss), `d_loss`,
    `g_loss`, `mi_loss` (measured at the generator's update), and
    `gradient_penalty` with loss="wgan_gp".
    """

    latent_codes = True
    figures = ("losses", "samples", "infogan_codes")
    final_figures = ("infogan_codes",)
    paper = 'Chen et al. 2016, "InfoGAN: Interpretable Representation Learning by Information Maximizing GANs"'
    recipe = Recipe(
        source="Chen et al. 2016, appendix C and their code, MNIST: 62 noise dimensions, a 10-way and two "
               "continuous codes, lambda 1; G Dense 1024, Dense 7x7x128, ConvT 64, ConvT 1; D Conv 64, Conv 128, "
               "Dense 1024 shared with Q (Dense 128); Adam beta_1 0.5, 1e-3 for G and 2e-4 for D and Q; "
               "batch 64, 16 epochs",
        model={"latent_dim": 62, "num_categories": 10, "num_continuous": 2, "info_weight": 1.0,
               "generator_filters": 64, "discriminator_filters": 64, "hidden_units": [1024],
               "discriminator_hidden_units": [1024]},
        epochs=16,
        batch_size=64,
        learning_rate=1e-3,
        beta_1=0.5,
        discriminator_learning_rate=2e-4,
        plot_every=1,
        sample_scores=True,
    )

    def __init__(self, latent_dim=62, num_categories=10, num_continuous=2, info_weight=1.0, continuous_weight=1.0,
                 learn_std=False, hidden_units=(), q_hidden_units=128, generator_filters=64, discriminator_filters=64,
                 discriminator_batch_norm=True, discriminator_hidden_units=(), discriminator_steps=1, label_smoothing=0.0,
                 seed=None, **kwargs):
        super().__init__(latent_dim=latent_dim, discriminator_steps=discriminator_steps,
                         label_smoothing=label_smoothing, seed=seed, **kwargs)
        self.num_categories = _checks.integer("num_categories", num_categories, minimum=2)
        self.num_continuous = _checks.non_negative_int("num_continuous", num_continuous)
        self.info_weight = _checks.non_negative_number("info_weight", info_weight)
        self.continuous_weight = _checks.non_negative_number("continuous_weight", continuous_weight)
        self.learn_std = _checks.boolean("learn_std", learn_std)
        self.hidden_units = _checks.positive_ints("hidden_units", hidden_units)
        self.q_hidden_units = _checks.positive_int("q_hidden_units", q_hidden_units)
        self.generator_filters = _checks.positive_int("generator_filters", generator_filters)
        self.discriminator_filters = _checks.positive_int("discriminator_filters", discriminator_filters)
        self.discriminator_batch_norm = self.check_discriminator_batch_norm(discriminator_batch_norm)
        self.discriminator_hidden_units = _checks.positive_ints("discriminator_hidden_units", discriminator_hidden_units)
        self.generator = DCGANGenerator(self.generator_filters, hidden_units=self.hidden_units, image_shape=self.image_shape,
                                        name="generator")
        # Spectral normalization wraps D's body (shared with Q) and D's logit, not Q's head: it bounds the
        # Lipschitz constant of D's score, which Q's code predictions are no part of.
        self.discriminator = DCGANDiscriminator(self.discriminator_filters, batch_norm=self.discriminator_batch_norm,
                                                hidden_units=self.discriminator_hidden_units,
                                                spectral_norm=self.spectral_norm, logit_bias=self.loss != "wgan_gp",
                                                image_shape=self.image_shape, name="discriminator")
        self.q_head = InfoGANQHead(num_categories, num_continuous, hidden_units=self.q_hidden_units,
                                   learn_std=self.learn_std, name="q_head")

    @property
    def extra_weight(self):
        return self.info_weight

    @property
    def metric_names(self):
        return super().metric_names + ("mi_loss",)

    def discriminator_variables(self):
        """D's and Q's variables: Q shares D's body and trains with D's optimizer."""
        return self.discriminator.trainable_variables + self.q_head.trainable_variables

    # ---------------------------------------------------------------- hooks

    def draw_latents(self, batch_size, seed):
        z_seed, category_seed, continuous_seed = split_seed(seed, 3)
        return {
            "z": self._normal([batch_size, self.latent_dim], z_seed),
            "categorical": self._class_ids([batch_size], category_seed, self.num_categories),
            "continuous": self._uniform([batch_size, self.num_continuous], continuous_seed, -1.0, 1.0),
        }

    def generator_inputs(self, latents):
        categorical = labels_lib.one_hot(latents["categorical"], self.num_categories, "categorical")
        return [latents["z"], categorical, latents["continuous"]]

    def code_losses(self, features, latents, training):
        logits, mean, log_std = self.q_head(features, training=training)
        mi_loss = gan_losses.categorical_mutual_information_loss(logits, latents["categorical"])
        if self.num_continuous:
            continuous = gan_losses.gaussian_mutual_information_loss(latents["continuous"], mean, log_std)
            mi_loss = mi_loss + self.continuous_weight * continuous
        return {"mi_loss": mi_loss}

    def predict_codes(self, images, training=False):
        """Q's (categorical_logits, continuous_mean, continuous_log_std) for images in [0, 1]."""
        images = self.check_images(images)
        _, features = self.discriminate(to_model_range(images), None, training)
        return self.q_head(features, training=training)

    # -------------------------------------------------------------- samples

    def _check_codes(self, categorical, continuous, batch_size):
        categorical = labels_lib.one_hot(categorical, self.num_categories, "categorical")
        continuous = tf.cast(tf.convert_to_tensor(continuous), tf.float32)
        if continuous.shape.rank != 2 or continuous.shape[-1] != self.num_continuous:
            raise ValueError(
                f"continuous codes must have shape (batch, {self.num_continuous}). "
                f"Received: continuous.shape={tuple(continuous.shape)}"
            )
        for name, tensor in (("categorical", categorical), ("continuous", continuous)):
            if batch_size is not None and tensor.shape[0] is not None and tensor.shape[0] != batch_size:
                raise ValueError(f"{name} codes must have {batch_size} rows, one per z. Received: {tensor.shape[0]}")
        return tf.cast(categorical, tf.float32), continuous

    def generate(self, z, categorical, continuous, training=False):
        """Images in [0, 1] from noise and codes.

        Args:
            z: noise (batch, latent_dim).
            categorical: the categorical code, int ids (batch,) or float
                one-hot (batch, num_categories).
            continuous: the continuous codes (batch, num_continuous); the
                prior is U(-1, 1), values beyond extrapolate.
        """
        z = self.check_z(z)
        categorical, continuous = self._check_codes(categorical, continuous, z.shape[0])
        latents = {"z": z, "categorical": categorical, "continuous": continuous}
        return to_pixel_range(self.generate_raw(latents, training=training))

    def call(self, inputs, training=False):
        z, categorical, continuous = inputs
        return self.generate(z, categorical, continuous, training=training)

    def draw_batch(self, num_samples, labels=None, seed=None):
        return to_pixel_range(self.generate_raw(self.draw_latents(num_samples, seed)))

    def draw_from_seeds(self, seeds, labels=None):
        return self.sample_outputs(seeds)["images"]

    def sample_outputs(self, seeds, labels=None):
        """The `sample` signature's outputs: the images, and the codes each seed drew (`categorical_code`, ids;
        `continuous_code`)."""
        categorical = tfgen_random.class_ids_from_seeds(seeds, self.num_categories)
        continuous = tfgen_random.uniform_from_seeds(seeds, self.num_continuous)
        images = self.generate(tfgen_random.normal_from_seeds(seeds, self.latent_dim), categorical, continuous)
        return {"images": images, "categorical_code": categorical, "continuous_code": continuous}

    def serving_endpoints(self):
        """`generate(z, categorical_code, continuous_code)` (float32 one-hot / U(-1, 1) codes) and `sample(seed)`."""
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        categorical_spec = tf.TensorSpec([None, self.num_categories], tf.float32, name="categorical_code")
        continuous_spec = tf.TensorSpec([None, self.num_continuous], tf.float32, name="continuous_code")

        def generate(z, categorical_code, continuous_code):
            return {"images": self.generate(z, categorical_code, continuous_code)}

        return {"generate": (generate, [z_spec, categorical_spec, continuous_spec]), "sample": self.sample_endpoint()}

    def get_config(self):
        return {
            **super().get_config(),
            "num_categories": self.num_categories,
            "num_continuous": self.num_continuous,
            "info_weight": self.info_weight,
            "continuous_weight": self.continuous_weight,
            "learn_std": self.learn_std,
            "hidden_units": list(self.hidden_units),
            "q_hidden_units": self.q_hidden_units,
            "generator_filters": self.generator_filters,
            "discriminator_filters": self.discriminator_filters,
            "discriminator_batch_norm": self.discriminator_batch_norm,
            "discriminator_hidden_units": list(self.discriminator_hidden_units),
        }
