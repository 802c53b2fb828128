"""DCGAN: the deep convolutional GAN.

Radford, Metz and Chintala, "Unsupervised Representation Learning with Deep
Convolutional Generative Adversarial Networks", ICLR 2016: strided
convolutions instead of pooling, batch norm, ReLU in G and LeakyReLU in D,
tanh output, Adam 2e-4 with beta_1 0.5. The two players' training step is
`tfgen.models.gan.AdversarialModel`'s.
"""

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.models.base import Recipe
from tfgen.models.gan import AdversarialModel, to_pixel_range
from tfgen.models.registry import register_model
from tfgen.networks.gan import DCGANDiscriminator, DCGANGenerator


@register_model("dcgan")
@keras.saving.register_keras_serializable(package="tfgen")
class DCGAN(AdversarialModel):
    """DCGAN (Radford et al. 2016).

    Args:
        latent_dim: the size of z ~ N(0, I).
        generator_filters: f of `DCGANGenerator` (at 28x28x1: 7x7x2f -> 14x14xf -> 28x28x1).
        discriminator_filters: f of `DCGANDiscriminator` (at 28x28: 14x14xf -> 7x7x2f).
        discriminator_batch_norm: batch norm in D's convolutions after the first.
        discriminator_steps, label_smoothing, seed: see `AdversarialModel`.
        **kwargs: base model arguments (`loss`, `gradient_penalty`,
            `spectral_norm` and `generator_ema`: see `AdversarialModel`), and
            `image_shape` ((28, 28, 1) by default; see `GenerativeModel`).

    Metrics: `loss` (= d_loss + g_loss), `d_loss`, `g_loss` (and `gradient_penalty` with loss="wgan_gp").
    """

    final_figures = ("interpolation", "latent_arithmetic")
    paper = 'Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with Deep Convolutional GANs"'
    recipe = Recipe(
        source="Radford et al. 2016 (DCGAN) on MNIST: latent size 100, Adam 2e-4 with beta_1 0.5 for both players, "
               "batch 64, one discriminator step per generator step; filters 32, 20 epochs",
        model={"latent_dim": 100, "generator_filters": 32, "discriminator_filters": 32, "discriminator_steps": 1},
        epochs=20,
        batch_size=64,
        learning_rate=2e-4,
        beta_1=0.5,
        plot_every=5,
        sample_scores=True,
    )

    def __init__(self, latent_dim=100, generator_filters=64, discriminator_filters=64, discriminator_batch_norm=True,
                 discriminator_steps=1, label_smoothing=0.0, seed=None, **kwargs):
        super().__init__(latent_dim=latent_dim, discriminator_steps=discriminator_steps,
                         label_smoothing=label_smoothing, seed=seed, **kwargs)
        self.generator_filters = _checks.positive_int("generator_filters", generator_filters)
        self.discriminator_filters = _checks.positive_int("discriminator_filters", discriminator_filters)
        self.discriminator_batch_norm = self.check_discriminator_batch_norm(discriminator_batch_norm)
        self.generator = DCGANGenerator(self.generator_filters, image_shape=self.image_shape, name="generator")
        self.discriminator = DCGANDiscriminator(self.discriminator_filters, batch_norm=self.discriminator_batch_norm,
                                                spectral_norm=self.spectral_norm, logit_bias=self.loss != "wgan_gp",
                                                image_shape=self.image_shape, name="discriminator")

    def generate(self, z, training=False):
        """Images in [0, 1] from latent vectors z of shape (batch, latent_dim)."""
        return to_pixel_range(self.generate_raw({"z": self.check_z(z)}, training=training))

    def call(self, z, training=False):
        return self.generate(z, training=training)

    def draw_batch(self, num_samples, labels=None, seed=None):
        return to_pixel_range(self.generate_raw(self.draw_latents(num_samples, seed)))

    def draw_from_seeds(self, seeds, labels=None):
        return self.generate(tfgen_random.normal_from_seeds(seeds, self.latent_dim))

    def serving_endpoints(self):
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")

        def generate(z):
            return {"images": self.generate(z)}

        return {"generate": (generate, [z_spec]), "sample": self.sample_endpoint()}

    def get_config(self):
        return {
            **super().get_config(),
            "generator_filters": self.generator_filters,
            "discriminator_filters": self.discriminator_filters,
            "discriminator_batch_norm": self.discriminator_batch_norm,
        }
