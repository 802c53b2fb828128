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
class is trained whatever the batch's class mix.
"""

import keras
import tensorflow as tf

from tfgen._checks import positive_int as _positive_int
from tfgen.layers.conditioning import check_class_ids
from tfgen.models.base import normal_from_seeds, split_seed
from tfgen.models.gan import AdversarialModel, to_pixel_range
from tfgen.models.registry import register_model
from tfgen.networks.gan import LABEL_INPUTS, DCGANDiscriminator, DCGANGenerator


@register_model(
    "cgan",
    binarization="none",
    label_format="int",
    test_kwargs={"latent_dim": 8, "hidden_units": (16,), "generator_filters": 8, "discriminator_filters": 8},
)
@keras.saving.register_keras_serializable(package="tfgen")
class ConditionalGAN(AdversarialModel):
    """Conditional DCGAN: `sample(n, labels=...)` draws chosen classes.

    Args:
        latent_dim: the size of z ~ N(0, I).
        num_classes: the number of classes.
        label_input: "planes" (D sees image + `LabelPlanes`, the seed's
            working CGAN) or "vector" (the one-hot label joins D only at its
            logit; reproduces the seed's collapse).
        hidden_units: the generator's Dense layers after concat(z, one-hot).
        generator_filters: f of `DCGANGenerator`.
        discriminator_filters: f of `DCGANDiscriminator`.
        discriminator_batch_norm: batch norm in D's second convolution.
        discriminator_steps, label_smoothing, seed: see `AdversarialModel`.
        **kwargs: base model arguments.

    Batches: "image" (batch, 28, 28, 1) in [0, 1] and "label", int class ids (batch,).

    Metrics: `loss` (= d_loss + g_loss), `d_loss`, `g_loss`.
    """

    conditional = True

    def __init__(self, latent_dim=100, num_classes=10, label_input="planes", hidden_units=(256, 512),
                 generator_filters=64, discriminator_filters=64, discriminator_batch_norm=True,
                 discriminator_steps=1, label_smoothing=0.0, seed=None, **kwargs):
        super().__init__(latent_dim=latent_dim, discriminator_steps=discriminator_steps,
                         label_smoothing=label_smoothing, seed=seed, **kwargs)
        if label_input not in LABEL_INPUTS[1:]:
            raise ValueError(f"label_input must be one of {list(LABEL_INPUTS[1:])}. Received: label_input={label_input!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f"num_classes must be an integer >= 2. Received: num_classes={num_classes!r}")
        self.num_classes = num_classes
        self.label_input = label_input
        self.hidden_units = tuple(_positive_int("hidden_units", units) for units in hidden_units)
        self.generator_filters = _positive_int("generator_filters", generator_filters)
        self.discriminator_filters = _positive_int("discriminator_filters", discriminator_filters)
        self.discriminator_batch_norm = bool(discriminator_batch_norm)
        self.generator = DCGANGenerator(self.generator_filters, hidden_units=self.hidden_units, name="generator")
        self.discriminator = DCGANDiscriminator(
            self.discriminator_filters, batch_norm=self.discriminator_batch_norm, label_input=label_input,
            num_classes=num_classes, name="discriminator",
        )

    # ---------------------------------------------------------------- hooks

    def check_batch(self, batch):
        super().check_batch(batch)
        if "label" not in batch:
            raise ValueError("ConditionalGAN trains on labelled batches: the batch has no 'label' entry.")
        self._check_labels(batch["label"], batch["image"].shape[0], argument="batch['label']")

    def _check_labels(self, labels, batch_size=None, argument="labels"):
        """Integer ids of shape (batch,) in range; returns them (with graph-mode range assertions)."""
        labels = tf.convert_to_tensor(labels)
        if not labels.dtype.is_integer:
            raise TypeError(
                f"{argument} must be integer class ids of shape (batch,) (label_format='int'). "
                f"Received: dtype={labels.dtype.name}, shape={tuple(labels.shape)}"
            )
        if labels.shape.rank != 1 or (batch_size is not None and labels.shape[0] not in (None, batch_size)):
            raise ValueError(
                f"{argument} must have shape ({batch_size if batch_size is not None else 'batch'},). "
                f"Received: {argument}.shape={tuple(labels.shape)}"
            )
        return check_class_ids(labels, self.num_classes, argument=argument)

    def draw_latents(self, batch_size, seed):
        z_seed, label_seed = split_seed(seed, 2)
        return {
            "z": self._normal([batch_size, self.latent_dim], z_seed),
            "labels": self._class_ids([batch_size], label_seed, self.num_classes),
        }

    def _one_hot(self, labels):
        return tf.one_hot(labels, self.num_classes, dtype=tf.float32)

    def generator_inputs(self, latents):
        labels = latents["labels"]
        one_hot = labels if labels.dtype.is_floating else self._one_hot(labels)
        return [latents["z"], one_hot]

    # D always receives float one-hot labels: one input signature for its
    # SavedModel trace, and soft labels from `generate` work the same way.
    def real_condition(self, batch):
        return self._one_hot(self._check_labels(batch["label"], argument="batch['label']"))

    def fake_condition(self, latents):
        labels = latents["labels"]
        return labels if labels.dtype.is_floating else self._one_hot(labels)

    # -------------------------------------------------------------- samples

    def _labels_input(self, labels, batch_size):
        """Integer ids (checked) or float one-hot/soft labels (batch, num_classes)."""
        labels = tf.convert_to_tensor(labels)
        if labels.dtype.is_floating:
            if labels.shape.rank != 2 or labels.shape[-1] != self.num_classes:
                raise ValueError(
                    f"float labels must be one-hot of shape (batch, {self.num_classes}). "
                    f"Received: labels.shape={tuple(labels.shape)}"
                )
            return tf.cast(labels, tf.float32)
        return self._check_labels(labels, batch_size)

    def generate(self, z, labels, training=False):
        """Images in [0, 1] of the given classes.

        Args:
            z: latent vectors (batch, latent_dim).
            labels: int class ids (batch,), or float one-hot (or mixed, to
                interpolate between classes) labels (batch, num_classes).
        """
        z = self.check_z(z)
        labels = self._labels_input(labels, z.shape[0])
        return to_pixel_range(self.generate_raw({"z": z, "labels": labels}, training=training))

    def call(self, inputs, training=False):
        z, labels = inputs
        return self.generate(z, labels, training=training)

    def sample(self, num_samples, seed=None, labels=None):
        """`num_samples` images in [0, 1].

        Args:
            num_samples: how many images.
            seed: a stateless seed (int tensor (2,)) or None.
            labels: the class of each image (int ids, length `num_samples`);
                default: the classes in turn, 0, 1, ..., num_classes - 1, 0, ...
        """
        if labels is None:
            labels = tf.range(num_samples, dtype=tf.int64) % self.num_classes
        labels = self._check_labels(tf.cast(tf.convert_to_tensor(labels), tf.int64), num_samples)
        z = self._normal([num_samples, self.latent_dim], seed)
        return to_pixel_range(self.generate_raw({"z": z, "labels": labels}))

    def serving_endpoints(self):
        """`generate(z, label)` and `sample(seed, label)`, with int64 class ids like the CVAE's.

        Ids out of range fail the call (an assertion in the serving graph)
        with a message naming the valid range. The Python `generate` also
        takes float one-hot or mixed labels, to interpolate between classes.
        """
        z_spec = tf.TensorSpec([None, self.latent_dim], tf.float32, name="z")
        label_spec = tf.TensorSpec([None], tf.int64, name="label")
        seed_spec = tf.TensorSpec([None], tf.int64, name="seed")

        def generate(z, label):
            return {"images": self.generate(z, label)}

        def sample(seed, label):
            return {"images": self.generate(normal_from_seeds(seed, self.latent_dim), label)}

        return {"generate": (generate, [z_spec, label_spec]), "sample": (sample, [seed_spec, label_spec])}

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
