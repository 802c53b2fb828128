"""The decoder likelihood of the VAE family, as a model holds it: the one home of that block.

`tfgen.losses.likelihoods` is the mathematics: a `Likelihood` scores images
under a decoder's outputs. `DecoderLikelihoodModel`, the base class of
`VAE`, `MMDVAE`, `CVAE` (and the semi-supervised VAEs built on it) and
`VHE`, is what a model does with one, written once:

* the `likelihood=` and `num_mixtures=` arguments, checked, and the
  `decoder_likelihood` they name (`_set_decoder_likelihood`);
* the decoder's output channels (`decoder_output_channels`);
* the learned Gaussian's `decoder_log_sigma` weight (`_add_likelihood_weights`);
* log p(x | decoder outputs) per example (`log_likelihood`);
* the metrics the likelihood adds, `decoder_log_sigma` and `bits_per_dim`
  (`_likelihood_metric_names`, `_add_likelihood_metrics`);
* the data contract, `binarization`.

A model of the family subclasses it instead of `GenerativeModel`:

    class MyVAE(DecoderLikelihoodModel):
        def __init__(self, latent_dim=2, likelihood="bernoulli", num_mixtures=likelihoods.NUM_MIXTURES, **kwargs):
            super().__init__(**kwargs)
            self._set_decoder_likelihood(likelihood, num_mixtures)
            self.decoder = ConvDecoder(latent_dim, output_channels=self.decoder_output_channels, ...)
            self._add_likelihood_weights()
"""

from tfgen import _checks
from tfgen.losses import likelihoods
from tfgen.models.base import GenerativeModel


class DecoderLikelihoodModel(GenerativeModel):
    """A `GenerativeModel` whose decoder is scored by a `tfgen.losses.likelihoods.Likelihood`.

    It has no constructor of its own (its subclasses' arguments go to
    `GenerativeModel`): a subclass calls the methods below in its own.

    Attributes (set by `_set_decoder_likelihood`):
        likelihood: the likelihood's name (a constructor argument, in the config).
        num_mixtures: the components of "logistic_mixture" (likewise).
        decoder_likelihood: the `Likelihood` itself.
        decoder_log_sigma: "gaussian_learned" only (`_add_likelihood_weights`):
            the learned log sigma, a trainable scalar weight.
    """

    def _set_decoder_likelihood(self, likelihood, num_mixtures, names=likelihoods.ELBO_NAMES):
        """Checks `likelihood` (one of `names`) and `num_mixtures`, and sets the three attributes above but the weight.

        Call it in the constructor, before building the decoder (whose
        output channels the likelihood sets).
        """
        self.likelihood = _checks.choice("likelihood", likelihood, names)
        self.num_mixtures = _checks.positive_int("num_mixtures", num_mixtures)
        self.decoder_likelihood = likelihoods.get_likelihood(likelihood, num_mixtures)

    @property
    def decoder_output_channels(self):
        """The decoder's output channels: the likelihood's parameters per channel of the images."""
        return self.decoder_likelihood.output_channels(self.image_shape[-1])

    def _add_likelihood_weights(self):
        """Adds the weight the likelihood owns: `decoder_log_sigma` for "gaussian_learned", else nothing.

        Call it where the models of earlier versions created the weight (last
        in the constructor, before a subclass's own variables): its name and
        its place among the model's variables are what checkpoints, `.keras`
        files and exports hold.
        """
        if self.decoder_likelihood.learned_scale:
            self.decoder_log_sigma = self.add_weight(shape=(), initializer="zeros", name="decoder_log_sigma")

    @property
    def binarization(self):
        """The likelihood's data contract: "dynamic" (binary pixels) for the Bernoulli, "none" (intensities) for the others."""
        return self.decoder_likelihood.binarization

    def log_likelihood(self, images, decoder_outputs, weights=None):
        """(log p(images | decoder outputs) per example in nats, the decoder's log sigma or None).

        Args:
            images: (batch, *image_shape) intensities in [0, 1] (binary for the Bernoulli).
            decoder_outputs: the decoder's raw outputs, (batch, height, width,
                `decoder_output_channels`).
            weights: optional (batch,) weights of the rows in the closed-form
                sigma of "gaussian_optimal" (ignored by the others).

        Returns:
            ((batch,) tensor, scalar log sigma for the Gaussians or None).
        """
        learned = self.decoder_log_sigma if self.decoder_likelihood.learned_scale else None
        return self.decoder_likelihood.evaluate(images, decoder_outputs, log_sigma=learned, weights=weights)

    def _likelihood_metric_names(self, log_sigma=True, bits_per_dim=True):
        """The metrics `_add_likelihood_metrics` adds: the likelihood's `metric_names`, `decoder_log_sigma`
        (Gaussians) and `bits_per_dim` (8-bit ones), less those the model does not report.

        Args:
            log_sigma: whether the model reports the Gaussians' log sigma.
            bits_per_dim: whether it reports bits per dimension (models with
                a bound on log p(x); not the MMD-VAE).
        """
        left_out = (() if log_sigma else ("decoder_log_sigma",)) + (() if bits_per_dim else ("bits_per_dim",))
        return tuple(name for name in self.decoder_likelihood.metric_names if name not in left_out)

    def _add_likelihood_metrics(self, metrics, log_sigma, negative_bound=("loss",)):
        """`metrics` with the likelihood's metrics added, in place; returns `metrics`.

        Args:
            metrics: the step's metrics (batch means).
            log_sigma: the log sigma `log_likelihood` returned, reported as
                `decoder_log_sigma`; None reports none.
            negative_bound: the names of the metrics whose sum is the negative
                bound on log p(x) that `bits_per_dim` reports for the 8-bit
                likelihoods (`bits_per_dim = sum / (D ln 2)`, D = height x width
                x channels); None reports no bits per dimension.
        """
        if log_sigma is not None:
            metrics["decoder_log_sigma"] = log_sigma
        if negative_bound is not None and self.decoder_likelihood.eight_bit:
            nats = metrics[negative_bound[0]]
            for name in negative_bound[1:]:
                nats = nats + metrics[name]
            height, width, channels = (int(size) for size in self.image_shape)
            metrics["bits_per_dim"] = likelihoods.bits_per_dim(nats, height * width * channels)
        return metrics
