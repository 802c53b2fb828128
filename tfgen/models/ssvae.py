"""The semi-supervised VAE "M2".

Kingma, Rezende, Mohamed and Welling, "Semi-Supervised Learning with Deep
Generative Models", NeurIPS 2014. A classifier q(y|x), an encoder
q(z|x,y) and a decoder p(x|y,z). With L(x, y) the conditional VAE's
negative ELBO (`CVAE.negative_elbo`):

    labelled (x, y):  L(x, y) + alpha * CE(y, q(y|x))
    unlabelled x:     U(x) = sum_y q(y|x) L(x, y) - H(q(y|x))

The expectation over y is expanded exactly, as in the paper and the seed's
Day 13: every unlabelled image is decoded once per class, so a step costs
about num_classes times a CVAE step (`tfgen.models.gumbel_ssvae`
samples y instead). The constant log p(y) = -log(num_classes) of a uniform label
prior is left out of both losses.

Labelled and unlabelled examples share a batch: the batch's "labelled" mask
(bool or 0/1 float, see `tfgen.data.splits`) says which labels may be used;
a batch without a mask is all labelled. The loss is the sum of the
per-example terms divided by the batch size.
"""

import keras
import tensorflow as tf

from tfgen import _checks, losses
from tfgen import labels as labels_lib
from tfgen.losses import likelihoods
from tfgen.models.base import Recipe
from tfgen.models.cvae import CVAE, NEGATIVE_ELBO
from tfgen.models.registry import register_model
from tfgen.networks import ConvEncoder


# The labelled rows' cross-entropy weight with a tenth of every batch labelled. Measured
# (BENCHMARKS_SSVAE.md, Gumbel soft, 1,000 steps): 60 gave the lowest error at 60 and 600
# labels per class and matches `kingma_alpha` at 10 per class, where the benchmarks ran.
SEMI_SUPERVISED_ALPHA = 60.0


def kingma_alpha(num_labelled, num_unlabelled):
    """Kingma et al.'s (2014) alpha = 0.1 * N carried to per-batch means: 0.1 x unlabelled / labelled.

    Kept for comparison; it is not the default. With a fixed tenth of every
    batch labelled it gives 60 for 100 MNIST labels but 0.9 for 6,000, where
    the classifier's cross-entropy is outweighed by reconstruction terms of
    about 100 nats: 16.27% test error after 1,000 steps, against 5.73% at
    alpha = 60 (`SEMI_SUPERVISED_ALPHA`).
    """
    num_labelled = _checks.positive_int("num_labelled", num_labelled)
    num_unlabelled = _checks.non_negative_int("num_unlabelled", num_unlabelled)
    return 0.1 * num_unlabelled / num_labelled


@register_model("ssvae")
@keras.saving.register_keras_serializable(package="tfgen")
class SemiSupervisedVAE(CVAE):
    """Kingma et al.'s M2 with a convolutional classifier, encoder and decoder.

    Args:
        latent_dim: size of z.
        num_classes: the number of classes.
        alpha: the weight of a labelled row's cross-entropy. Too small a
            weight lets the unlabelled reconstruction terms, tens of nats
            apart between classes, drive q(y|x) instead. With a tenth of each
            batch labelled, `SEMI_SUPERVISED_ALPHA` (60) did best at 60 and
            600 labels per class and within 0.3 points of Kingma et al.'s
            0.1 * N rule (`kingma_alpha`) at 6, which falls to 0.9 with
            many labels.
        conditioning: how y enters the decoder, as for `CVAE`. Default
            "concat", as in Kingma et al.'s p(x | y, z) on the joined
            inputs. "projection" (the seed CVAE's z + ReLU(Dense(y))) lets
            the decoder nearly ignore y (BENCHMARKS_SSVAE.md), and a decoder
            that ignores y gives q(y|x) no signal from unlabelled data.
        encoder_units, beta, likelihood, analytic_kl, seed, num_mixtures:
            as for `CVAE` (the encoder always sees the label).
        **kwargs: base model arguments.

    Metrics: `loss`; `labelled_loss` (mean L(x, y) over labelled rows),
    `unlabelled_loss` (mean U(x) over unlabelled rows), `reconstruction_loss`
    and `kl_loss` (per example, expected under q(y|x) for unlabelled rows),
    `classification_loss` (mean cross-entropy over labelled rows),
    `accuracy` (of q(y|x) on labelled rows), `entropy` (mean H(q(y|x))),
    and for the 8-bit likelihoods `bits_per_dim`: (reconstruction_loss +
    kl_loss) / (D ln 2), the negative ELBO of log p(x | y) with beta = 1 in
    bits per dimension, for unlabelled rows its expectation under q(y|x)
    (without the label terms -H(q(y|x)) + log(num_classes) that would make
    it a bound on log p(x)).
    """

    semi_supervised = True
    classifies = True
    likelihood_kind = "semi_supervised"
    scores = ("likelihood", "classification_error", "samples")
    #: CVAE's constructor arguments that M2 fixes (its encoder always sees the label; it trains on its ELBO).
    fixed_options = ("encoder_sees_label", "num_importance_samples")
    figures = ("class_grid", "accuracy")
    paper = 'Kingma, Rezende, Mohamed & Welling 2014, "Semi-Supervised Learning with Deep Generative Models" (M2)'
    presets = {}  # the CVAE's presets are the CVAE's
    recipe = Recipe(
        source="Kingma et al. 2014 on MNIST with 100 labels (the seed's Day 13): 10 labels per class, 10 of every "
               "100 examples in a batch labelled, alpha 60 (BENCHMARKS_SSVAE.md), latent size 16, y and z joined "
               "in the decoder, Adam 1e-3, 10 epochs",
        model={"latent_dim": 16, "alpha": SEMI_SUPERVISED_ALPHA, "seed": 0},
        epochs=10,
        batch_size=100,
        learning_rate=1e-3,
        labels_per_class=10,
        labelled_per_batch=10,
        plot_every=1,
    )

    def __init__(
        self,
        latent_dim=2,
        num_classes=10,
        alpha=1.0,
        conditioning="concat",
        encoder_units=256,
        beta=1.0,
        likelihood="bernoulli",
        analytic_kl=True,
        seed=None,
        num_mixtures=likelihoods.NUM_MIXTURES,
        **kwargs,
    ):
        kwargs.pop("encoder_sees_label", None)  # always True; tolerated for CVAE-style configs
        if _checks.positive_int("num_importance_samples", kwargs.pop("num_importance_samples", 1)) != 1:
            raise ValueError(f"{type(self).__name__} trains on its ELBO: the CVAE's IWAE bound "
                             "(num_importance_samples > 1) is not defined for its unlabelled examples.")
        super().__init__(
            latent_dim=latent_dim,
            num_classes=num_classes,
            conditioning=conditioning,
            encoder_sees_label=True,
            encoder_units=encoder_units,
            beta=beta,
            likelihood=likelihood,
            analytic_kl=analytic_kl,
            seed=seed,
            num_mixtures=num_mixtures,
            **kwargs,
        )
        self.alpha = _checks.non_negative_number("alpha", alpha)
        self.classifier = ConvEncoder(num_classes, gaussian=False, image_shape=self.image_shape, name="classifier")

    @property
    def metric_names(self):
        return (
            "loss",
            "labelled_loss",
            "unlabelled_loss",
            "reconstruction_loss",
            "kl_loss",
            "classification_loss",
            "accuracy",
            "entropy",
        ) + self._likelihood_metric_names(log_sigma=False)

    def classify(self, images, training=False):
        """The logits of q(y|x)."""
        images = self.check_images(images)
        return self.classifier(images, training=training)

    def mixed_terms(self, images, one_hot, features, logits, mask, seed=None, training=False):
        """The per-example terms of a batch that mixes labelled and unlabelled rows.

        Every image is paired with every class in one batch of
        num_classes * batch rows (class-major; the encoder's convolutions run
        once per image): a labelled row reads L(x, y) off its own class, an
        unlabelled row takes the expectation under q(y|x). Every row keeps
        its place (no gathering), so batches of any mix, including none of
        one kind, have the same shapes and finite gradients.

        Args:
            images, one_hot, features, logits: the batch's images, labels
                (any value where unlabelled), `encoder_features` and q(y|x) logits.
            mask: (batch,) float, 1 where labelled.

        Returns:
            (L(x, y), U(x), reconstruction_loss, kl_loss): (batch,) tensors;
            the first is meaningful on labelled rows, the second on unlabelled
            rows, the last two are those of the row's own kind.
        """
        num_classes = self.num_classes
        count = tf.shape(images)[0]
        all_classes = tf.repeat(tf.eye(num_classes), count, axis=0)
        tiled_images = tf.tile(images, [num_classes, 1, 1, 1])
        tiled_features = tf.tile(features, [num_classes, 1])
        terms, _ = self.negative_elbo(tiled_images, all_classes, tiled_features, seed=seed, training=training)
        per_class = {name: tf.transpose(tf.reshape(value, [num_classes, count])) for name, value in terms.items()}
        # Where a row is labelled, weigh the classes by its label; elsewhere by q(y|x).
        weights = mask[:, None] * one_hot + (1.0 - mask[:, None]) * tf.nn.softmax(logits, axis=-1)
        return (
            tf.reduce_sum(one_hot * per_class["loss"], axis=-1),
            losses.enumerated_unlabelled_loss(per_class["loss"], logits),
            tf.reduce_sum(weights * per_class["reconstruction_loss"], axis=-1),
            tf.reduce_sum(weights * per_class["kl_loss"], axis=-1),
        )

    def compute_losses(self, batch, seed=None, training=False):
        images = self.check_images(batch["image"])
        batch_size = tf.shape(images)[0]
        mask = labels_lib.labelled_mask(batch, batch_size)
        one_hot = self.check_labels(batch["label"], batch_size=batch_size, mask=mask)
        logits = self.classifier(images, training=training)
        features = self.encoder_features(images, training=training)
        if mask is None:
            # All labelled: one CVAE pass, nothing to enumerate.
            mask = tf.ones([batch_size], tf.float32)
            terms, _ = self.negative_elbo(images, one_hot, features, seed=seed, training=training)
            labelled_loss, reconstruction, kl = terms["loss"], terms["reconstruction_loss"], terms["kl_loss"]
            unlabelled_loss = tf.zeros_like(labelled_loss)
        else:
            # Hidden labels (any value) of unlabelled rows must not reach the loss.
            one_hot = one_hot * mask[:, None]
            labelled_loss, unlabelled_loss, reconstruction, kl = self.mixed_terms(
                images, one_hot, features, logits, mask, seed=seed, training=training
            )
        cross_entropy = losses.categorical_cross_entropy(one_hot, logits)
        per_example = mask * (labelled_loss + self.alpha * cross_entropy) + (1.0 - mask) * unlabelled_loss
        correct = tf.cast(tf.equal(tf.argmax(logits, -1), tf.argmax(one_hot, -1)), tf.float32)
        num_labelled = tf.reduce_sum(mask)
        num_unlabelled = tf.cast(batch_size, tf.float32) - num_labelled
        metrics = {
            "loss": tf.reduce_mean(per_example),
            "labelled_loss": labels_lib.masked_mean(mask * labelled_loss, num_labelled),
            "unlabelled_loss": labels_lib.masked_mean((1.0 - mask) * unlabelled_loss, num_unlabelled),
            "reconstruction_loss": tf.reduce_mean(reconstruction),
            "kl_loss": tf.reduce_mean(kl),
            "classification_loss": labels_lib.masked_mean(mask * cross_entropy, num_labelled),
            "accuracy": labels_lib.masked_mean(mask * correct, num_labelled),
            "entropy": tf.reduce_mean(losses.categorical_entropy(logits)),
        }
        # M2 reports no decoder_log_sigma (None here), only bits per dimension of its ELBO terms.
        return self._add_likelihood_metrics(metrics, None, NEGATIVE_ELBO)

    def serving_endpoints(self):
        endpoints = super().serving_endpoints()
        images_spec = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")

        def classify(images):
            logits = self.classify(images)
            return {"probabilities": tf.nn.softmax(logits, axis=-1), "label": tf.argmax(logits, axis=-1)}

        endpoints["classify"] = (classify, [images_spec])
        return endpoints

    def get_config(self):
        config = {**super().get_config(), "alpha": self.alpha}
        for option in self.fixed_options:  # not options of M2: it fixes them
            config.pop(option)
        return config
