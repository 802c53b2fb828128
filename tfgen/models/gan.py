"""Generative adversarial networks: what every GAN of tfgen shares (its two players' training step).

Goodfellow, Pouget-Abadie, Mirza, Xu, Warde-Farley, Ozair, Courville and
Bengio, "Generative Adversarial Nets", NeurIPS 2014; Radford, Metz and
Chintala, "Unsupervised Representation Learning with Deep Convolutional
Generative Adversarial Networks", ICLR 2016.

`AdversarialModel` holds what every GAN in tfgen shares:

* two optimizers. `compile(optimizer=...)` (what `tfgen.training.Trainer`
  calls) makes the given optimizer the generator's and a fresh clone of it
  (same configuration, own state) the discriminator's; `d_optimizer=` /
  `g_optimizer=` set them separately.
* the training step of Goodfellow et al.'s Algorithm 1: `discriminator_steps`
  (k) discriminator updates, then one generator update, each with its own
  `GradientTape`, differentiated with respect to that player's trainable
  variables only and applied by that player's optimizer. The k
  discriminator steps reuse the step's real batch with fresh noise.
* images: the data pipeline gives [0, 1]; inside the model they are
  rescaled to [-1, 1] (the generator's tanh range); `sample` and the
  serving signatures return [0, 1] again.
* randomness: every draw of a step comes from its stateless `seed`
  (`tfgen.random.split_seed`), so a step is a pure function of weights,
  batch and seed.
* the objective (`loss`, `tfgen.losses.gan`): "non_saturating" (the
  default, Goodfellow et al.'s D loss and -log D(G(z)) for G), "minimax"
  (G minimizes log(1 - D(G(z)))), "wgan_gp" (Gulrajani et al. 2017: a
  critic's Wasserstein estimate with a gradient penalty of weight
  `gradient_penalty`; the interpolation weights come from the step's seed)
  and "hinge" (Lim and Ye 2017, Miyato et al. 2018); and, for any of them,
  spectral normalization of D's layers (`spectral_norm`).

* an optional average of the generator's weights (`generator_ema`): an
  exponential moving average of every generator variable (weights and
  batch-norm statistics), updated after each generator update and kept in a
  second copy of the generator network, `generator_average`. Samples, the
  figures and the serving signatures come from the average; training, and
  the losses, use the trained generator, which follows exactly the path it
  would without the average. Averaging the generator's iterates gives better
  samples than its last iterate (Yazici, Foo, Winkler, Yap, Piliouras and
  Chandrasekhar, "The Unusual Effectiveness of Averaging in GAN Training",
  ICLR 2019; Karras, Aila, Laine and Lehtinen, ICLR 2018). Off by default
  (what every run and file written before it exists holds).

Metrics: `d_loss` (the discriminator's loss at its last update of the step;
with "wgan_gp" the whole critic loss, `gradient_penalty` times its weight
included), `g_loss` (the generator's loss at the generator update),
`gradient_penalty` (with "wgan_gp" only: the penalty at D's last update,
unweighted; -(d_loss - lambda * gradient_penalty) is the critic's estimate
of the Wasserstein distance), and `loss = d_loss + g_loss` (+ the weighted
extra terms of a subclass, e.g. InfoGAN's `info_weight * mi_loss`). `loss`
is only a health signal for the training loop (finite, logged); it is not
a measure of sample quality.
"""

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.losses import gan as gan_losses
from tfgen.models import ema
from tfgen.models.base import GenerativeModel, run_if
from tfgen.random import split_seed

#: The generator's loss of each objective of `AdversarialModel(loss=...)` (`--loss`), from `tfgen.losses.gan`
#: (the discriminator's: `AdversarialModel.discriminator_objective`).
GENERATOR_LOSSES = {
    "minimax": gan_losses.minimax_generator_loss,
    "non_saturating": gan_losses.generator_loss,
    "wgan_gp": gan_losses.wasserstein_generator_loss,  # a critic's: WGAN-GP's and the hinge loss's
    "hinge": gan_losses.wasserstein_generator_loss,
}
#: The objectives (`--loss`).
LOSSES = tuple(GENERATOR_LOSSES)
#: The losses whose discriminator is a critic scored without a sigmoid: no targets, so no label smoothing.
CRITIC_LOSSES = ("wgan_gp", "hinge")


def to_model_range(images):
    """[0, 1] pixels -> [-1, 1], the generator's tanh range."""
    return tf.cast(images, tf.float32) * 2.0 - 1.0


def to_pixel_range(images):
    """[-1, 1] -> [0, 1] pixels (clipped against round-off)."""
    return tf.clip_by_value((images + 1.0) / 2.0, 0.0, 1.0)


class AdversarialModel(GenerativeModel):
    """The base of tfgen's GANs: two optimizers and Algorithm 1's alternating step.

    Subclasses build `self.generator` and `self.discriminator` and implement:
    `draw_latents(batch_size, seed)` (a dict of the generator's inputs),
    `generator_inputs(latents)`, `discriminate(images, condition, training)`
    returning `(logits, features)`, `real_condition(batch)`,
    `fake_condition(latents)`; optionally `code_losses(features, latents,
    training)` (extra terms shared by both players, weighted by
    `extra_weight`) and `discriminator_variables()`.

    Args:
        latent_dim: the size of z ~ N(0, I).
        discriminator_steps: k, discriminator updates per generator update.
        label_smoothing: one-sided label smoothing of the real targets
            (0 = the plain minimax loss); for the "minimax" and
            "non_saturating" losses only.
        seed: optional integer seed of the model's own random stream (used
            only by `sample(n)` without a seed).
        generator_ema: None (no average), or the decay d in (0, 1) of an
            exponential moving average of the generator's variables, the one
            samples come from: after generator update t (counted from 1),
            average <- decay_t * average + (1 - decay_t) * generator, with
            decay_t = min(d, (1 + t) / (10 + t)) (the warm-up of
            `tf.train.ExponentialMovingAverage`), so early in a run the
            average follows the generator closely. d = 0.999 averages over
            about the last 1,000 updates.
        loss: the objective: "non_saturating" (D: sigmoid cross-entropy;
            G: -log D(G(z)), Goodfellow et al. 2014), "minimax" (G: log(1 -
            D(G(z))), which saturates), "wgan_gp" (Gulrajani et al. 2017: D
            a critic, mean D(G(z)) - mean D(x) + lambda * gradient penalty,
            G: -mean D(G(z)); needs discriminator_batch_norm=False) or
            "hinge" (Lim and Ye 2017, Miyato et al. 2018: D: mean relu(1 -
            D(x)) + mean relu(1 + D(G(z))); G: -mean D(G(z))).
        gradient_penalty: lambda, the weight of WGAN-GP's gradient penalty
            (used by loss="wgan_gp" only; the paper's 10).
        spectral_norm: spectral normalization (Miyato et al. 2018) of every
            convolution and Dense layer of the discriminator
            (`tfgen.layers.SpectralNormalization`), with any loss.
        **kwargs: base model arguments.

    The gradient penalty is taken at x_hat = eps x + (1 - eps) G(z), one
    eps ~ U[0, 1] per example from the step's seed, with respect to the
    image only: what else D takes is held at the real example's (the
    CGAN's real label), and InfoGAN's penalty is of D's logit only, not of
    Q's head. With "wgan_gp" D's logit has no bias (the critic's loss, its
    penalty and the generator's loss are blind to a constant: the bias
    would never train).
    """

    extra_weight = 0.0
    optimizer_names = ("optimizer", "d_optimizer")

    binarization = "none"
    scores = ("samples",)
    figures = ("losses", "samples", "interpolation")

    def __init__(self, latent_dim=100, discriminator_steps=1, label_smoothing=0.0, seed=None, generator_ema=None,
                 loss="non_saturating", gradient_penalty=10.0, spectral_norm=False, **kwargs):
        super().__init__(**kwargs)
        self.latent_dim = _checks.positive_int("latent_dim", latent_dim)
        self.discriminator_steps = _checks.positive_int("discriminator_steps", discriminator_steps)
        self.label_smoothing = _checks.number("label_smoothing", label_smoothing, minimum=0.0, maximum=1.0,
                                              allow_maximum=False)
        self.loss = _checks.choice("loss", loss, LOSSES)
        if self.loss in CRITIC_LOSSES and self.label_smoothing:
            raise ValueError(f"label_smoothing smooths the real targets of the sigmoid cross-entropy of loss='minimax' "
                             f"and 'non_saturating'; loss={self.loss!r} has no targets: pass label_smoothing=0. "
                             f"Received: loss={self.loss!r}, label_smoothing={self.label_smoothing!r}")
        self.gradient_penalty = _checks.non_negative_number("gradient_penalty", gradient_penalty)
        self.spectral_norm = _checks.boolean("spectral_norm", spectral_norm)
        self.seed = _checks.optional_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.generator_ema = ema.check_decay("generator_ema", generator_ema)
        #: The averaged copy of the generator (`generator_ema`), made by `build_from_batch`; None without one.
        self.generator_average = None
        self.d_optimizer = None

    @property
    def metric_names(self):
        """("loss", "d_loss", "g_loss"), and "gradient_penalty" with loss="wgan_gp"."""
        names = ("loss", "d_loss", "g_loss")
        return names + ("gradient_penalty",) if self.loss == "wgan_gp" else names

    def check_discriminator_batch_norm(self, discriminator_batch_norm):
        """The subclasses' `discriminator_batch_norm` checked: a bool, and False with loss="wgan_gp".

        The gradient penalty is a sum of per-example terms, each the gradient
        of D's score of one example with respect to that example; batch norm
        in training mode makes each score a function of the whole batch
        (Gulrajani et al. 2017, section 4, leave it out of the critic).
        """
        batch_norm = _checks.boolean("discriminator_batch_norm", discriminator_batch_norm)
        if batch_norm and self.loss == "wgan_gp":
            raise ValueError("loss='wgan_gp' penalizes the gradient of D's score of each example alone, and batch norm "
                             "makes that score depend on the rest of the batch (Gulrajani et al. 2017, section 4, "
                             "leave it out of the critic): pass discriminator_batch_norm=False "
                             "(--no-discriminator-batch-norm). Received: loss='wgan_gp', discriminator_batch_norm=True")
        return batch_norm

    # ------------------------------------------------------------ optimizers

    def compile(self, optimizer=None, d_optimizer=None, g_optimizer=None, **kwargs):
        """Sets the two players' optimizers.

        Args:
            optimizer: the generator's optimizer when `g_optimizer` is not
                given; the discriminator gets a clone of it (same
                configuration, its own slots) when `d_optimizer` is not given.
                This is what `Trainer` passes. Default: Adam(2e-4, beta_1=0.5)
                (Radford et al. 2016).
            d_optimizer: the discriminator's optimizer.
            g_optimizer: the generator's optimizer (takes precedence over
                `optimizer`).
            **kwargs: passed to `keras.Model.compile`, but for `loss`: a
                GAN's objective is its constructor's `loss` (Keras' compile
                would overwrite it).
        """
        if kwargs.get("loss") is not None:
            raise ValueError(f"A GAN's objective is its constructor option loss= (--loss, one of {list(LOSSES)}), "
                             f"not compile's. Received: compile(loss={kwargs['loss']!r})")
        if g_optimizer is not None and optimizer is not None and g_optimizer is not optimizer:
            raise ValueError("Pass the generator's optimizer as optimizer= or g_optimizer=, not both.")
        g_optimizer = g_optimizer if g_optimizer is not None else optimizer
        if g_optimizer is None:
            g_optimizer = keras.optimizers.Adam(2e-4, beta_1=0.5)
        g_optimizer = keras.optimizers.get(g_optimizer)
        if d_optimizer is None:
            d_optimizer = g_optimizer.__class__.from_config(g_optimizer.get_config())
        d_optimizer = keras.optimizers.get(d_optimizer)
        if d_optimizer is g_optimizer:
            raise ValueError("d_optimizer and g_optimizer must be two optimizer objects: each keeps its own slots.")
        super().compile(optimizer=g_optimizer, **kwargs)
        self.d_optimizer = d_optimizer

    def get_compile_config(self):
        """Keras' compile config with the discriminator's optimizer added (so `.keras` files restore both)."""
        config = super().get_compile_config()
        if config is None or self.d_optimizer is None:
            return config
        return {**config, "d_optimizer": keras.saving.serialize_keras_object(self.d_optimizer)}

    def compile_from_config(self, config):
        """Recompiles from `get_compile_config()` and creates both optimizers' slots, ready for their saved values."""
        self.compile(**keras.saving.deserialize_keras_object(config))
        if self.built:
            self.g_optimizer.build(self.generator_variables())
            self.d_optimizer.build(self.discriminator_variables())

    @property
    def g_optimizer(self):
        """The generator's optimizer (`self.optimizer`, the one `Trainer` checkpoints by name)."""
        return getattr(self, "optimizer", None)

    def discriminator_variables(self):
        """The trainable variables updated by the discriminator's optimizer."""
        return self.discriminator.trainable_variables

    def generator_variables(self):
        """The trainable variables updated by the generator's optimizer."""
        return self.generator.trainable_variables

    def build_from_batch(self, batch):
        """Creates every network's variables (the averaged generator's too) and both optimizers' slots from one
        example batch."""
        self.compute_losses(batch, seed=tf.constant([0, 0], tf.int64), training=False)
        self._make_generator_average()
        self.built = True
        if self.g_optimizer is not None and not self.g_optimizer.built:
            self.g_optimizer.build(self.generator_variables())
        if self.d_optimizer is not None and not self.d_optimizer.built:
            self.d_optimizer.build(self.discriminator_variables())

    # ---------------------------------------------------------------- hooks

    def draw_latents(self, batch_size, seed):
        """The generator's random inputs for `batch_size` samples, as a dict."""
        return {"z": self._normal([batch_size, self.latent_dim], seed)}

    def generator_inputs(self, latents):
        return latents["z"]

    def real_condition(self, batch):
        return None

    def fake_condition(self, latents):
        return None

    def with_condition(self, latents, condition):
        """`latents` drawn under `condition` (a `real_condition`) instead of their own: WGAN-GP's critic step.
        An unconditional model's latents have none (`condition` is None); a conditional model overrides it."""
        del condition
        return latents

    def discriminate(self, images, condition, training):
        """(logits, body features) of D on images in [-1, 1]."""
        inputs = images if condition is None else [images, condition]
        return self.discriminator(inputs, training=training, return_features=True)

    def code_losses(self, features, latents, training):
        """Extra terms on generated images that both players minimize (InfoGAN's MI); {} for a plain GAN."""
        return {}

    def check_batch(self, batch):
        """Raises a clear error on a malformed batch (before any tape)."""
        if not isinstance(batch, dict) or "image" not in batch:
            raise ValueError(f"{type(self).__name__} expects batches as dicts with an 'image' entry. Received: {batch!r}")
        self.check_images(batch["image"], argument="batch['image']")

    # ----------------------------------------------------------- randomness

    def _normal(self, shape, seed):
        return tfgen_random.normal(shape, seed, self.seed_generator)

    def _uniform(self, shape, seed, minval=-1.0, maxval=1.0):
        return tfgen_random.uniform(shape, seed, self.seed_generator, minval=minval, maxval=maxval)

    def _class_ids(self, shape, seed, num_classes):
        return tfgen_random.class_ids(shape, num_classes, seed, self.seed_generator)

    # ---------------------------------------------------- the averaged generator

    def _make_generator_average(self):
        """Creates `generator_average` (when `generator_ema` is set): a second instance of the generator network,
        not trainable, starting from the generator's current values (`tfgen.models.ema`)."""
        if self.generator_ema is None or self.generator_average is not None:
            return
        inputs = self.generator_inputs(self.draw_latents(1, tf.constant([0, 0], tf.int64)))
        self.generator_average = ema.make_average(self.generator, inputs, "generator_average")

    def _non_trainable_state(self):
        """The base's snapshot list without the averaged generator's variables: no update's forward pass moves
        them (`train_step` averages after the update, only when it was applied), so copying them before every
        discriminator and generator update would be wasted work."""
        return ema.without_average(super()._non_trainable_state(), self.generator_average)

    @property
    def sampling_generator(self):
        """The network samples come from: `generator_average` when the model keeps one, else `generator`."""
        return self.generator if self.generator_average is None else self.generator_average

    def update_generator_average(self):
        """Moves `generator_average` towards the generator (`train_step` calls it after each applied generator
        update, not after a skipped one; see `generator_ema`).

        The update count t is the generator optimizer's `iterations`, which a
        checkpoint holds, so a resumed run continues the same average. Under
        a `tf.distribute` strategy each replica updates its own copy, from
        the same (synced) generator weights.
        """
        if self.generator_average is not None:
            ema.update_average(self.generator_average, self.generator, self.generator_ema, self.g_optimizer.iterations)

    # --------------------------------------------------------------- losses

    def generate_raw(self, latents, training=False):
        """Generator output in [-1, 1] for a dict of latents: from `sampling_generator` (the average, when the
        model keeps one), or from the trained generator when `training`."""
        network = self.generator if training else self.sampling_generator
        return network(self.generator_inputs(latents), training=training)

    def _fake(self, latents, training):
        """The trained generator's output in [-1, 1]: what both players' objectives see."""
        return self.generator(self.generator_inputs(latents), training=training)

    def discriminator_objective(self, batch, seed, training):
        """(objective, metrics) of the discriminator's update; the objective is a batch mean."""
        real = to_model_range(batch["image"])
        # WGAN-GP draws its interpolation weights too: from a seed of their own, so that the other losses draw
        # their latents from `seed` itself, as they always have (runs written before the option resume alike).
        latent_seed, penalty_seed = split_seed(seed, 2) if self.loss == "wgan_gp" else (seed, None)
        latents = self.draw_latents(tf.shape(real)[0], latent_seed)
        real_condition = self.real_condition(batch)
        if self.loss == "wgan_gp":
            # The penalty constrains D on the lines from each real example to a fake one, under the real one's
            # condition: the fakes of the critic's step take the real examples' conditions (a CGAN's labels), so
            # those lines join the pairs D scores. With random labels, D was unconstrained around (G(z, y'), y'):
            # on MNIST its scores drifted to ~4e4 and the labels were ignored (accuracy 0.13 after 2 epochs).
            latents = self.with_condition(latents, real_condition)
        fake = self._fake(latents, training)
        real_logits, _ = self.discriminate(real, real_condition, training)
        fake_logits, fake_features = self.discriminate(fake, self.fake_condition(latents), training)
        metrics = {}
        if self.loss == "wgan_gp":
            weights = self._uniform([tf.shape(real)[0]], penalty_seed, 0.0, 1.0)

            def critic(images):  # D's score of the images alone: the condition held at the real one, no Q head
                return self.discriminate(images, real_condition, training)[0]

            metrics["gradient_penalty"] = gan_losses.gradient_penalty(critic, real, fake, weights)
            d_loss = (gan_losses.wasserstein_critic_loss(real_logits, fake_logits)
                      + self.gradient_penalty * metrics["gradient_penalty"])
        elif self.loss == "hinge":
            d_loss = gan_losses.hinge_discriminator_loss(real_logits, fake_logits)
        else:
            d_loss = gan_losses.discriminator_loss(real_logits, fake_logits, label_smoothing=self.label_smoothing)
        extra = self.code_losses(fake_features, latents, training)
        objective = d_loss + self.extra_weight * tf.add_n(list(extra.values())) if extra else d_loss
        return objective, {"d_loss": d_loss, **metrics, **extra}

    def generator_objective(self, batch, seed, training):
        """(objective, metrics) of the generator's update; the objective is a batch mean."""
        latents = self.draw_latents(tf.shape(batch["image"])[0], seed)
        fake = self._fake(latents, training)
        fake_logits, fake_features = self.discriminate(fake, self.fake_condition(latents), training)
        g_loss = GENERATOR_LOSSES[self.loss](fake_logits)
        extra = self.code_losses(fake_features, latents, training)
        objective = g_loss + self.extra_weight * tf.add_n(list(extra.values())) if extra else g_loss
        return objective, {"g_loss": g_loss, **extra}

    def _step_metrics(self, d_metrics, g_metrics):
        metrics = {"d_loss": d_metrics["d_loss"], "g_loss": g_metrics["g_loss"]}
        if "gradient_penalty" in d_metrics:  # measured at D's last update, as d_loss (which holds it, weighted)
            metrics["gradient_penalty"] = d_metrics["gradient_penalty"]
        # Extra terms are reported as measured at the generator's update.
        extra = {name: value for name, value in g_metrics.items() if name != "g_loss"}
        metrics.update(extra)
        loss = metrics["d_loss"] + metrics["g_loss"]
        if extra:
            loss = loss + self.extra_weight * tf.add_n(list(extra.values()))
        metrics["loss"] = loss
        return metrics

    def compute_losses(self, batch, seed=None, training=False):
        """Both players' losses on `batch` without any update (evaluation and building)."""
        self.check_batch(batch)
        d_seed, g_seed = split_seed(seed, 2)
        _, d_metrics = self.discriminator_objective(batch, d_seed, training)
        _, g_metrics = self.generator_objective(batch, g_seed, training)
        return self._step_metrics(d_metrics, g_metrics)

    def _replicas(self):
        return tf.cast(tf.distribute.get_strategy().num_replicas_in_sync, tf.float32)

    def discriminator_step(self, batch, seed=None):
        """One discriminator update (D's, and Q's for InfoGAN, variables only); returns its metrics.

        The objective is divided by the number of replicas: under a
        `tf.distribute` strategy the optimizer sums the replicas' gradients.
        """
        variables = self.discriminator_variables()
        state = self.state_snapshot()
        with tf.GradientTape() as tape:
            objective, metrics = self.discriminator_objective(batch, seed, training=True)
            scaled = self.d_optimizer.scale_loss(objective / self._replicas())
        gradients = tape.gradient(scaled, variables)
        skipped = self.apply_gradients_if_finite(self.d_optimizer, objective, gradients, variables, state)
        return {**metrics, "skipped_updates": skipped}

    def generator_step(self, batch, seed=None):
        """One generator update (G's variables only); returns its metrics."""
        variables = self.generator_variables()
        state = self.state_snapshot()
        with tf.GradientTape() as tape:
            objective, metrics = self.generator_objective(batch, seed, training=True)
            scaled = self.g_optimizer.scale_loss(objective / self._replicas())
        gradients = tape.gradient(scaled, variables)
        skipped = self.apply_gradients_if_finite(self.g_optimizer, objective, gradients, variables, state)
        return {**metrics, "skipped_updates": skipped}

    def train_step(self, batch, seed=None):
        """k discriminator updates, then one generator update; returns the metrics.

        Each update has its own `GradientTape`, differentiated with respect to
        its own player's trainable variables only and applied by that
        player's optimizer (`discriminator_step`, `generator_step`).
        """
        self.check_batch(batch)
        if self.d_optimizer is None:
            raise ValueError(f"{type(self).__name__} must be compiled (model.compile(optimizer=...)) before training.")
        seeds = split_seed(seed, self.discriminator_steps + 1)
        d_metrics = None
        skipped = 0.0
        for step in range(self.discriminator_steps):
            d_metrics = self.discriminator_step(batch, seeds[step])
            skipped += d_metrics.pop("skipped_updates")
        updates = tf.identity(self.g_optimizer.iterations)
        g_metrics = self.generator_step(batch, seeds[-1])
        skipped += g_metrics.pop("skipped_updates")
        if self.generator_average is not None:  # only after an applied update (a skipped one changes nothing)
            run_if(tf.greater(self.g_optimizer.iterations, updates), lambda _: self.update_generator_average(), [])
        return {**self._step_metrics(d_metrics, g_metrics), "skipped_updates": skipped}

    # -------------------------------------------------------------- samples

    def check_z(self, z, argument="z"):
        z = tf.convert_to_tensor(z)
        if z.shape.rank != 2 or z.shape[-1] != self.latent_dim:
            raise ValueError(
                f"{type(self).__name__} expects {argument} of shape (batch, {self.latent_dim}). "
                f"Received: {argument}.shape={tuple(z.shape)}"
            )
        if not z.dtype.is_floating:
            raise TypeError(f"{argument} must be float. Received: dtype={z.dtype.name}")
        return tf.cast(z, tf.float32)

    def get_config(self):
        return {
            **super().get_config(),
            "latent_dim": self.latent_dim,
            "discriminator_steps": self.discriminator_steps,
            "label_smoothing": self.label_smoothing,
            "seed": self.seed,
            "generator_ema": self.generator_ema,
            "loss": self.loss,
            "gradient_penalty": self.gradient_penalty,
            "spectral_norm": self.spectral_norm,
        }
