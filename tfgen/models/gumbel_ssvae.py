"""The semi-supervised VAE with Gumbel-softmax labels for unlabelled data.

Jang, Gu and Poole, "Categorical Reparameterization with Gumbel-Softmax",
ICLR 2017 (their semi-supervised experiment); the seed's Days 14-15. As M2
(`tfgen.models.ssvae`), but for an unlabelled x the label is *sampled* from
q(y|x) with the Gumbel-softmax relaxation instead of summed over:

    U(x) ~= L(x, y~) - H(q(y|x)),   y~ = GumbelSoftmax(logits of q(y|x))

so a step costs about one CVAE step whatever the number of classes. The
relaxed sample is soft (`hard=False`, the seed found it trains better) or
straight-through (`hard=True`: one-hot forward, relaxed gradient backward).
The temperature follows Jang et al.'s schedule tau = max(tau_min,
tau_0 * exp(-r * t)), updated every `anneal_every` steps; t is the
optimizer's iteration count, read inside the compiled step, so a resumed
run continues the schedule exactly.
"""

import dataclasses

import keras
import tensorflow as tf

from tfgen import _checks, losses
from tfgen.layers import GumbelSoftmax, annealed_temperature
from tfgen.models.registry import register_model
from tfgen.models.ssvae import SemiSupervisedVAE
from tfgen.random import split_seed


@register_model("gumbel_ssvae")
@keras.saving.register_keras_serializable(package="tfgen")
class GumbelSemiSupervisedVAE(SemiSupervisedVAE):
    """M2 with Gumbel-softmax samples of y for unlabelled examples.

    Args:
        hard: straight-through samples (one-hot forward) instead of soft ones.
        initial_temperature: tau_0.
        min_temperature: tau_min, the floor of the schedule.
        anneal_rate: r, per step (0 keeps the temperature at tau_0).
        anneal_every: N, the steps between temperature updates.
        latent_dim, num_classes, alpha, conditioning, encoder_units, beta,
            likelihood, analytic_kl, seed, num_mixtures: as for `SemiSupervisedVAE`.
        **kwargs: base model arguments.

    Metrics: those of `SemiSupervisedVAE` (`reconstruction_loss` and
    `kl_loss` of unlabelled rows are those of the sampled label) and
    `temperature`.
    """

    paper = 'Jang, Gu & Poole 2017, "Categorical Reparameterization with Gumbel-Softmax"'
    recipe = dataclasses.replace(
        SemiSupervisedVAE.recipe,
        source="Jang et al. 2017's semi-supervised MNIST experiment (the seed's Days 14-15), set as M2's: "
               "10 labels per class, alpha 60, latent size 16, Adam 1e-3, 10 epochs; soft samples, "
               "tau from 1.0 towards 0.5 at rate 1e-4 per step, updated every 500 steps",
    )

    def __init__(
        self,
        latent_dim=2,
        num_classes=10,
        hard=False,
        initial_temperature=1.0,
        min_temperature=0.5,
        anneal_rate=1e-4,
        anneal_every=500,
        **kwargs,
    ):
        super().__init__(latent_dim=latent_dim, num_classes=num_classes, **kwargs)
        self.anneal_rate = _checks.non_negative_number("anneal_rate", anneal_rate)
        self.anneal_every = _checks.positive_int("anneal_every", anneal_every)
        self.min_temperature = _checks.positive_number("min_temperature", min_temperature)
        self.initial_temperature = _checks.positive_number("initial_temperature", initial_temperature)
        self.gumbel = GumbelSoftmax(temperature=self.initial_temperature, hard=hard, seed=self.seed, name="gumbel")
        self.hard = self.gumbel.hard

    @property
    def metric_names(self):
        return super().metric_names + ("temperature",)

    def temperature_at(self, step):
        """The scheduled temperature at training step `step`."""
        return annealed_temperature(
            step,
            rate=self.anneal_rate,
            min_temperature=self.min_temperature,
            initial_temperature=self.initial_temperature,
            update_every=self.anneal_every,
        )

    def mixed_terms(self, images, one_hot, features, logits, mask, seed=None, training=False):
        """One CVAE pass over the batch: labelled rows with their label, unlabelled rows with y~.

        U(x) ~= L(x, y~) - H(q(y|x)), y~ a Gumbel-softmax sample of q(y|x).
        Returns the same four (batch,) tensors as `SemiSupervisedVAE.mixed_terms`.
        """
        gumbel_seed, z_seed = split_seed(seed, 2)
        sampled = self.gumbel(logits, seed=gumbel_seed)
        labels = mask[:, None] * one_hot + (1.0 - mask[:, None]) * sampled
        terms, _ = self.negative_elbo(images, labels, features, seed=z_seed, training=training)
        unlabelled = terms["loss"] - losses.categorical_entropy(logits)
        return terms["loss"], unlabelled, terms["reconstruction_loss"], terms["kl_loss"]

    def compute_losses(self, batch, seed=None, training=False):
        if training and getattr(self, "optimizer", None) is not None:
            # The schedule is a function of the optimizer's step: a compiled
            # step reads it, and a restored run continues from where it was.
            self.gumbel.set_temperature(self.temperature_at(self.optimizer.iterations))
        metrics = super().compute_losses(batch, seed=seed, training=training)
        metrics["temperature"] = tf.convert_to_tensor(self.gumbel.temperature)
        return metrics

    def get_config(self):
        return {
            **super().get_config(),
            "hard": self.hard,
            "initial_temperature": self.initial_temperature,
            "min_temperature": self.min_temperature,
            "anneal_rate": self.anneal_rate,
            "anneal_every": self.anneal_every,
        }
