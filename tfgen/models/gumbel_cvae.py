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

import keras
import tensorflow as tf

from tfgen import losses
from tfgen.layers import GumbelSoftmax, annealed_temperature
from tfgen.models.base import split_seed
from tfgen.models.registry import register_model
from tfgen.models.ssvae import SemiSupervisedVAE, semi_supervised_run


@register_model(
    "gumbel_ssvae", binarization="dynamic", label_format="int", test_kwargs={"latent_dim": 2, "num_classes": 20},
    build=lambda *args, **kwargs: semi_supervised_run(GumbelSemiSupervisedVAE, *args, **kwargs), semi_supervised=True,
)
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
            likelihood, analytic_kl, seed: as for `SemiSupervisedVAE`.
        **kwargs: base model arguments.

    Metrics: those of `SemiSupervisedVAE` (`reconstruction_loss` and
    `kl_loss` of unlabelled rows are those of the sampled label) and
    `temperature`.
    """

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
        if isinstance(anneal_rate, bool) or not isinstance(anneal_rate, (int, float)) or anneal_rate < 0:
            raise ValueError(f"anneal_rate must be a non-negative number. Received: anneal_rate={anneal_rate!r}")
        if isinstance(anneal_every, bool) or not isinstance(anneal_every, int) or anneal_every <= 0:
            raise ValueError(f"anneal_every must be a positive integer. Received: anneal_every={anneal_every!r}")
        if isinstance(min_temperature, bool) or not isinstance(min_temperature, (int, float)) or min_temperature <= 0:
            raise ValueError(f"min_temperature must be a positive number. Received: min_temperature={min_temperature!r}")
        self.gumbel = GumbelSoftmax(temperature=initial_temperature, hard=hard, seed=self.seed, name="gumbel")
        self.hard = hard
        self.initial_temperature = float(initial_temperature)
        self.min_temperature = float(min_temperature)
        self.anneal_rate = float(anneal_rate)
        self.anneal_every = anneal_every

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
