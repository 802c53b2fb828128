"""The conditional GAN of Mirza and Osindero with the seed's 2D one-hot discriminator input.

Mehdi Mirza and Simon Osindero, "Conditional Generative Adversarial Nets",
arXiv:1411.1784, 2014: both players see the label y,
    min_G max_D E_x[log D(x | y)] + E_z[log(1 - D(G(z | y) | y))].

Generator (seed, Day 11): concat(z ~ N(0, I), one-hot y), a few Dense + BN +
ReLU layers, then the DCGAN transposed convolutions, tanh.
Discriminator: the image joined with `LabelPlanes` (10 constant planes, plane
y all ones: 1 + 10 = 11 input channels), then the DCGAN convolutions.

`label_input="vector"` instead concatenates the one-hot label to D's
flattened features just before its logit, where it can only add a per-class
constant: D cannot check that the image fits the label and the generator
learns to ignore it, the mode collapse of the seed's first CGAN (Day 10).
Watch `tfgen.gan_plots.GANDiagnosticsCallback`'s label accuracy to see it.

Fake samples draw their labels uniformly (from the step's seed), so every
class is trained whatever the batch's class mix; with loss="wgan_gp" the
critic's step gives its fakes the real batch's labels instead, so that the
gradient penalty's interpolations join a real and a fake example of one
label (`AdversarialModel.with_condition`).
"""

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import labels as labels_lib
from tfgen import random as tfgen_random
from tfgen.models.base import Recipe
from tfgen.models.gan import AdversarialModel, to_pixel_range
from tfgen.models.registry import register_model
from tfgen.networks.gan import LABEL_INPUTS, DCGANDiscriminator, DCGANGenerator
from tfgen.random import split_seed


@register_model("cgan")
@keras.saving.register_keras_serializable(package="tfgen")
class ConditionalGAN(AdversarialModel):
    """Conditional DCGAN: `sample(n, labels=..., seed=...)` draws chosen classes.

    Args:
        latent_dim: the size of z ~ N(0, I).
        num_classes: the number of classes.
        label_input: "planes" (D sees image + `LabelPlanes`, the seed's
            working CGAN) or "vector" (the one-hot label joins D only at its
            logit; reproduces the seed's collapse).
        hidden_units: the generator's Dense layers after concat(z, one-hot).
        generator_filters: f of `DCGANGenerator`.
        discriminator_filters: f of `DCGANDiscriminator`.
        discriminator_batch_norm: batch norm in D's convolutions after the first.
        discriminator_steps, label_smoothing, seed: see `AdversarialModel`.
        **kwargs: base model arguments (`loss`, `gradient_penalty`,
            `spectral_norm` and `generator_ema`: see `AdversarialModel`; the
            gradient penalty holds D's label at the real example's), and
            `image_shape` ((28, 28, 1) by default; see `GenerativeModel`).

    Batches: "image" (batch, *image_shape) in [0, 1] and "label", int class ids (batch,).

    Metrics: `loss` (= d_loss + g_loss), `d_loss`, `g_loss` (and `gradient_penalty` with loss="wgan_gp").
    """

    conditional = True
    requires_labels = True
    label_format = "int"
    figures = ("losses", "samples", "class_rows", "class_across_epochs")
    final_figures = ("class_rows", "interpolation")
    paper = 'Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"'
    recipe = Recipe(
        source="Mirza and Osindero 2014 with the seed's working CGAN (Day 11): D sees the image and 10 one-hot "
               "label planes; G joins z (100) and the one-hot label in Dense 256 and 512; DCGAN convolutions "
               "with 32 filters, Adam 2e-4 with beta_1 0.5, batch 64, 20 epochs",
        model={"latent_dim": 100, "label_input": "planes", "hidden_units": [256, 512], "generator_filters": 32,
               "discriminator_filters": 32},
        epochs=20,
        batch_size=64,
        learning_rate=2e-4,
        beta_1=0.5,
        plot_every=1,
        sample_scores=True,
    )

    def __init__(self, latent_dim=100, num_classes=10, label_input="planes", hidden_units=(256, 512),
                 generator_filters=64, discriminator_filters=64, discriminator_batch_norm=True,
                 discriminator_steps=1, label_smoothing=0.0, seed=None, **kwargs):
        super().__init__(latent_dim=latent_dim, discriminator_steps=discriminator_steps,
                         label_smoothing=label_smoothing, seed=seed, **kwargs)
        self.label_input = _checks.choice("label_input", label_input, LABEL_INPUTS[1:])
        self.num_classes = _checks.class_count("num_classes", num_classes, minimum=2)
        self.hidden_units = _checks.positive_ints("hidden_units", hidden_units)
        self.generator_filters = _checks.positive_int("generator_filters", generator_filters)
        self.discriminator_filters = _checks.positive_int("discriminator_filters", discriminator_filters)
        self.discriminator_batch_norm = self.check_discriminator_batch_norm(discriminator_batch_norm)
        self.generator = DCGANGenerator(self.generator_filters, hidden_units=self.hidden_units, image_shape=self.image_shape,
                                        name="generator")
        self.discriminator = DCGANDiscriminator(
            self.discriminator_filters, batch_norm=self.discriminator_batch_norm, label_input=label_input,
            num_classes=num_classes, spectral_norm=self.spectral_norm, logit_bias=self.loss != "wgan_gp",
            image_shape=self.image_shape, name="discriminator",
        )

    # ---------------------------------------------------------------- hooks

    def check_batch(self, batch):
        super().check_batch(batch)
        if "label" not in batch:
            raise ValueError("ConditionalGAN trains on labelled batches: the batch has no 'label' entry.")
        self._one_hot(batch["label"], batch["image"].shape[0], argument="batch['label']", allow_float=False)

    def _one_hot(self, labels, batch_size=None, argument="labels", allow_float=True):
        """Float one-hot rows from int class ids (checked to be in range) or float one-hot/mixed rows."""
        return labels_lib.one_hot(labels, self.num_classes, argument, batch_size=batch_size, allow_float=allow_float)

    def draw_latents(self, batch_size, seed):
        z_seed, label_seed = split_seed(seed, 2)
        return {
            "z": self._normal([batch_size, self.latent_dim], z_seed),
            "labels": self._class_ids([batch_size], label_seed, self.num_classes),
        }

    def generator_inputs(self, latents):
        return [latents["z"], self._one_hot(latents["labels"])]

    # D always receives float one-hot labels: one input signature for its
    # SavedModel trace, and soft labels from `generate` work the same way.
    def real_condition(self, batch):
        return self._one_hot(batch["label"], argument="batch['label']", allow_float=False)

    def fake_condition(self, latents):
        return self._one_hot(latents["labels"])

    def with_condition(self, latents, condition):
        return {**latents, "labels": condition}

    # -------------------------------------------------------------- samples

    def generate(self, z, labels, training=False):
        """Images in [0, 1] of the given classes.

        Args:
            z: latent vectors (batch, latent_dim).
            labels: int class ids (batch,), or float one-hot (or mixed, to
                interpolate between classes) labels (batch, num_classes).
        """
        z = self.check_z(z)
        one_hot = self._one_hot(labels, z.shape[0])
        return to_pixel_range(self.generate_raw({"z": z, "labels": one_hot}, training=training))

    def call(self, inputs, training=False):
        z, labels = inputs
        return self.generate(z, labels, training=training)

    def draw_batch(self, num_samples, labels=None, seed=None):
        z = self._normal([num_samples, self.latent_dim], seed)
        return to_pixel_range(self.generate_raw({"z": z, "labels": labels}))

    def draw_from_seeds(self, seeds, labels=None):
        return self.generate(tfgen_random.normal_from_seeds(seeds, self.latent_dim), labels)

    def serving_endpoints(self):
        """`generate(z, label)` and `sample(seed, label)`, with int64 class ids like the CVAE's.

        Ids out of range fail the call (an assertion in the serving graph)
        with a message naming the valid range. The Python `generate` also
        takes float one-hot or mixed labels, to interpolate between classes.
        """
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        label_spec = tf.TensorSpec([None], tf.int64, name="label")

        def generate(z, label):
            return {"images": self.generate(z, label)}

        return {"generate": (generate, [z_spec, label_spec]), "sample": self.sample_endpoint()}

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "label_input": self.label_input,
            "hidden_units": list(self.hidden_units),
            "generator_filters": self.generator_filters,
            "discriminator_filters": self.discriminator_filters,
            "discriminator_batch_norm": self.discriminator_batch_norm,
        }
