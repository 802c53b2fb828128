"""The decoder likelihoods of the VAE family: the one home of log p(x | z).

Every VAE-family model (`VAE`, `MMDVAE`, `CVAE` and the semi-supervised
VAEs built on it, `VHE` and `UnsupervisedVHE`) takes `likelihood=` (and
`num_mixtures=`) and gets a `Likelihood` from `get_likelihood`: it says how
many outputs per image channel the decoder needs (`output_channels`), scores
images under the decoder's outputs (`log_prob`, nats per example), turns the
outputs into images in [0, 1] (`mean`, `sample`) and gives the data contract
(`binarization`).

The likelihoods (x is an image scaled to [0, 1]; D = height x width x channels):

* "bernoulli": every pixel a Bernoulli variable with probability
  sigmoid(logit), log p = -sigmoid cross-entropy (Kingma and Welling 2014).
  A probability of binary pixels: train on binarized data ("dynamic").
* "gaussian_learned", "gaussian_optimal": the sigma-VAE's Gaussian
  N(x; sigmoid(logit), sigma^2) with one shared sigma, learned or the batch's
  maximum-likelihood one (Rybkin, Daniilidis and Levine, ICML 2021;
  `tfgen.losses.calibrated`). A density, not a probability.
* "logistic": a discretized logistic per sub-pixel for 8-bit data (Salimans,
  Karpathy, Chen and Kingma, "PixelCNN++", ICLR 2017, eq. 2), two decoder
  outputs per channel (mean and log scale).
* "logistic_mixture": a mixture of `num_mixtures` discretized logistics per
  sub-pixel, three outputs per channel and component (mixture logit, mean,
  log scale).
* "squared_error": not a likelihood but the MMD-VAE's reconstruction score,
  minus the squared error averaged over the pixels (kept as the MMD-VAE's
  default; see `SquaredError`).

Bits per dimension. For the 8-bit likelihoods (`eight_bit` True) log p(x|z)
is the log-probability of the 8-bit values, so a negative ELBO of N nats per
image is an upper bound on -log2 p(x) of the data, and N / (D ln 2)
(`bits_per_dim`) is the usual bits/dim (PixelCNN++ reports 2.92 on
CIFAR-10). The Gaussian is a density on [0, 1]-scaled values: the
probability of a bin of width 1/256 is about density x 1/256, so its
bits/dim would be N / (D ln 2) + log2(256) = N / (D ln 2) + 8, and an upper
bound only after uniform dequantization of the data (Theis, van den Oord and
Bethge, "A note on the evaluation of generative models", ICLR 2016). tfgen
does not report bits/dim for the Gaussian (nor for the Bernoulli, whose
data are binarized): the models add a `bits_per_dim` metric only for the
8-bit likelihoods.

Decoder outputs are channels-last: (batch, height, width, output_channels(C))
for images of C channels.
"""

import math

import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.losses.calibrated import gaussian_log_likelihood, optimal_log_sigma, softclip
from tfgen.losses.elbo import _data_axes, bernoulli_log_likelihood, squared_error

#: Every likelihood name `get_likelihood` knows.
NAMES = ("bernoulli", "gaussian_learned", "gaussian_optimal", "logistic", "logistic_mixture", "squared_error")
#: The normalized ones, which make an ELBO (the VAEs' choices; the MMD-VAE also takes "squared_error").
ELBO_NAMES = ("bernoulli", "gaussian_learned", "gaussian_optimal", "logistic", "logistic_mixture")
#: The default number of components of "logistic_mixture" (PixelCNN++ uses 10 with coupled channels).
NUM_MIXTURES = 5
#: The number of 8-bit levels, and the width of a bin on [0, 1]-scaled values (x = k / 255).
LEVELS = 256
BIN_WIDTH = 1.0 / (LEVELS - 1)
#: The lower bound of a discretized logistic's log scale: PixelCNN++'s floor of -7 on data scaled to
#: [-1, 1], carried to [0, 1] (scales halve): a bin is then at most 8.6 scales wide, so one 8-bit value
#: gets at most 97% of the probability of an interior bin.
MIN_LOG_SCALE = -7.0 - math.log(2.0)

_LOG_BIN_WIDTH = math.log(BIN_WIDTH)
_LN2 = math.log(2.0)


def bits_per_dim(nats, num_dims):
    """Nats per example as bits per dimension: nats / (num_dims ln 2).

    Args:
        nats: a negative log-likelihood (or negative ELBO) per example, any shape.
        num_dims: the dimensions of one example (height x width x channels).

    Returns:
        A tensor of the shape of `nats`.
    """
    num_dims = _checks.positive_int("num_dims", num_dims)
    nats = tf.convert_to_tensor(nats)
    # The constant made in the dtype of `nats`: tf.cast of a Python float would round it to float32 first.
    return nats / tf.constant(num_dims * _LN2, nats.dtype)


def _log_expm1(value, log_value):
    """log(exp(value) - 1) for value > 0, finite with finite gradients for every float32 value.

    Below 1e-4 the series log(value) + value / 2 (error < value^2 / 24) from
    `log_value` (given separately, so that a value that underflows to 0 still
    has its logarithm); above, value + log(-expm1(-value)), which never
    overflows.
    """
    threshold = tf.constant(1e-4, value.dtype)
    large = tf.maximum(value, threshold)
    return tf.where(value < threshold, log_value + 0.5 * value, large + tf.math.log(-tf.math.expm1(-large)))


def _stateless_seed(seed):
    """`seed` checked to be a stateless seed (an int tensor of shape (2,)); None is refused."""
    if seed is None:
        raise ValueError("A likelihood's sample is a stateless draw: pass seed, an int tensor of shape (2,). "
                         "Received: seed=None")
    return tfgen_random.check_seed(seed)


def quantize(images):
    """[0, 1] intensities snapped to the 8-bit grid k / 255 (the values whose probability the 8-bit likelihoods give)."""
    images = tf.convert_to_tensor(images)
    return tf.round(images * (LEVELS - 1)) / (LEVELS - 1)


def discretized_logistic_log_prob(images, mean, log_scale):
    """log P(x) of 8-bit sub-pixels under discretized logistics, per element (no sum).

    PixelCNN++ (Salimans et al. 2017, eq. 2) on [0, 1]-scaled values x = k / 255
    with bins of half-width h = 1 / 510 and sigma(u) the logistic CDF:

        P(x) = sigma((x + h - mean) / s) - sigma((x - h - mean) / s)    for 0 < k < 255,
        P(0) = sigma((h - mean) / s),    P(1) = 1 - sigma((1 - h - mean) / s)

    (the edge bins take the tails, from -inf and to +inf, so the 256
    probabilities sum to 1). With a = (x + h - mean) / s and b = (x - h - mean) / s,
    every term is computed in log space without a difference of CDFs:

        log sigma(a) = -softplus(-a),   log(1 - sigma(b)) = -softplus(b),
        log(sigma(a) - sigma(b)) = -softplus(-b) - softplus(a) + log(expm1(a - b)),

    the last from sigma(a) - sigma(b) = e^b (e^(a-b) - 1) / ((1 + e^a)(1 + e^b)),
    with a - b = 2h / s > 0. This form never subtracts two nearly equal CDFs,
    so it stays accurate where the float32 difference underflows (a bin far
    in a tail, or much wider or narrower than s), which is what PixelCNN++'s
    code patches with its mid-bin fallback (the density at the bin's centre
    times the bin width, when the difference is below 1e-5): that
    approximation is not needed here and not used.

    Args:
        images: intensities in [0, 1], broadcastable to `mean`; snapped to the
            8-bit grid (`quantize`) before scoring.
        mean: the logistics' means (any real value; a mean outside [0, 1]
            puts its mass on an edge bin).
        log_scale: the logistics' log scales log s, broadcastable to `mean`
            (`Likelihood` bounds them below by `MIN_LOG_SCALE`).

    Returns:
        log P, the shape of `mean` broadcast with `images`.
    """
    mean = tf.convert_to_tensor(mean)
    _checks.same_shape("images", images, "mean", mean, broadcast=True)
    _checks.same_shape("log_scale", log_scale, "mean", mean, broadcast=True)
    x = quantize(tf.cast(images, mean.dtype))
    log_scale = tf.cast(log_scale, mean.dtype)
    inverse_scale = tf.exp(-log_scale)
    half = 0.5 * BIN_WIDTH
    centered = x - mean
    plus = inverse_scale * (centered + half)
    minus = inverse_scale * (centered - half)
    log_cdf_plus = -tf.nn.softplus(-plus)  # the bin of 0: (-inf, h]
    log_survival_minus = -tf.nn.softplus(minus)  # the bin of 255: (1 - h, inf)
    width = inverse_scale * BIN_WIDTH
    log_width = -log_scale + _LOG_BIN_WIDTH
    log_interior = -tf.nn.softplus(-minus) - tf.nn.softplus(plus) + _log_expm1(width, log_width)
    return tf.where(x < half, log_cdf_plus, tf.where(x > 1.0 - half, log_survival_minus, log_interior))


def discretized_logistic_mixture_log_prob(images, logits, means, log_scales):
    """log P(x) of 8-bit sub-pixels under mixtures of discretized logistics, per element.

        P(x) = sum_k pi_k P_k(x),   pi = softmax(logits),

    with P_k the discretized logistic of `discretized_logistic_log_prob`,
    computed as logsumexp_k(log pi_k + log P_k(x)).

    Args:
        images: intensities in [0, 1], shape (...).
        logits, means, log_scales: the mixture's parameters, shape (..., K).

    Returns:
        log P, shape (...).
    """
    means = tf.convert_to_tensor(means)
    _checks.same_shape("logits", logits, "means", means)
    _checks.same_shape("log_scales", log_scales, "means", means)
    images = tf.convert_to_tensor(images)
    if images.shape.rank is not None and means.shape.rank is not None:
        _checks.same_shape("images", images[..., None], "means", means, broadcast=True)
    logits = tf.cast(logits, means.dtype)
    component = discretized_logistic_log_prob(images[..., None], means, log_scales)
    return tf.reduce_logsumexp(tf.nn.log_softmax(logits, axis=-1) + component, axis=-1)


class Likelihood:
    """A decoder likelihood p(x | decoder outputs): what a VAE-family model needs of it.

    Attributes:
        name: its name in `NAMES`.
        binarization: the data contract: "dynamic" (binary pixels) for the
            Bernoulli, "none" (intensities) for the others.
        output_activation: the decoder's last activation (None: raw outputs;
            "sigmoid" for "squared_error", whose outputs are the images).
        eight_bit: True when `log_prob` is the log-probability of 8-bit
            values (then a negative ELBO in `bits_per_dim` bounds the data's
            bits/dim, and the models report it).
        normalized: False for "squared_error", a score rather than a log-likelihood.
        has_scale: the Gaussians: a shared log sigma, returned by `evaluate`.
        learned_scale: "gaussian_learned": the model owns a `decoder_log_sigma`
            weight and passes it as `log_sigma`.
        parameters_per_channel: decoder outputs per image channel.
    """

    name = None
    binarization = "none"
    output_activation = None
    eight_bit = False
    normalized = True
    has_scale = False
    learned_scale = False
    parameters_per_channel = 1

    @property
    def metric_names(self):
        """The metrics an ELBO model adds with this likelihood: its scale's log sigma, bits per dimension."""
        return (("decoder_log_sigma",) if self.has_scale else ()) + (("bits_per_dim",) if self.eight_bit else ())

    def output_channels(self, image_channels):
        """The decoder's output channels for images of `image_channels` channels."""
        return self.parameters_per_channel * _checks.positive_int("image_channels", image_channels)

    def _check(self, images, outputs):
        outputs = tf.convert_to_tensor(outputs)
        images = tf.convert_to_tensor(images)
        expected = (*images.shape[:-1], None if images.shape[-1] is None else self.output_channels(images.shape[-1]))
        if outputs.shape.rank is not None and images.shape.rank is not None:
            _checks.shape("decoder_outputs", outputs, expected)
        return tf.cast(images, outputs.dtype), outputs

    def _no_log_sigma(self, log_sigma):
        if log_sigma is not None:
            raise ValueError(f"The {self.name!r} likelihood has no log sigma. Received: log_sigma={log_sigma!r}")

    def evaluate(self, images, decoder_outputs, log_sigma=None, weights=None):
        """(log p(images | decoder outputs) per example in nats, the log sigma used or None).

        Args:
            images: (batch, height, width, channels) intensities in [0, 1]
                (binary for the Bernoulli).
            decoder_outputs: (batch, height, width, output_channels(channels)).
            log_sigma: "gaussian_learned" only: the model's learned log sigma.
            weights: "gaussian_optimal" only (ignored otherwise): optional
                (batch,) weights of the rows in the closed-form sigma.

        Returns:
            ((batch,) tensor, scalar log sigma or None).
        """
        raise NotImplementedError

    def log_prob(self, images, decoder_outputs, log_sigma=None, weights=None):
        """log p(images | decoder outputs) per example, in nats: (batch,). Arguments as for `evaluate`."""
        return self.evaluate(images, decoder_outputs, log_sigma=log_sigma, weights=weights)[0]

    def mean(self, decoder_outputs):
        """Images in [0, 1] for the decoder's outputs (what `decode`, samples and reconstructions show)."""
        raise NotImplementedError

    def sample(self, decoder_outputs, seed, log_sigma=None):
        """A stateless draw of images in [0, 1] from p(x | decoder outputs).

        Args:
            decoder_outputs: (batch, height, width, output_channels).
            seed: a stateless seed, an int tensor of shape (2,).
            log_sigma: the Gaussians' log sigma (required for them).

        Returns:
            (batch, height, width, channels) float images.
        """
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class Bernoulli(Likelihood):
    """"bernoulli": log p(x | logits) = sum -sigmoid_cross_entropy(x, logits) (`bernoulli_log_likelihood`)."""

    name = "bernoulli"
    binarization = "dynamic"

    def evaluate(self, images, decoder_outputs, log_sigma=None, weights=None):
        self._no_log_sigma(log_sigma)
        return bernoulli_log_likelihood(images, decoder_outputs), None

    def mean(self, decoder_outputs):
        """The pixel probabilities sigmoid(logits)."""
        return tf.sigmoid(decoder_outputs)

    def sample(self, decoder_outputs, seed, log_sigma=None):
        self._no_log_sigma(log_sigma)
        probabilities = self.mean(decoder_outputs)
        uniform = tf.random.stateless_uniform(tf.shape(probabilities), _stateless_seed(seed),
                                              dtype=probabilities.dtype)
        return tf.cast(uniform < probabilities, probabilities.dtype)


class Gaussian(Likelihood):
    """The sigma-VAE's N(x; sigmoid(logits), sigma^2 I), sigma learned or the batch's maximum-likelihood one.

    log p = sum -0.5 (log(2 pi) + 2 log sigma + (x - sigmoid(logits))^2 / sigma^2)
    (`gaussian_log_likelihood`); the optimal log sigma is
    0.5 log(mean squared error), soft-clipped at -6 (`optimal_log_sigma`).
    """

    has_scale = True

    def __init__(self, optimal):
        self.optimal = bool(optimal)
        self.learned_scale = not self.optimal
        self.name = "gaussian_optimal" if self.optimal else "gaussian_learned"

    def evaluate(self, images, decoder_outputs, log_sigma=None, weights=None):
        mean = tf.sigmoid(decoder_outputs)
        if self.optimal:
            self._no_log_sigma(log_sigma)
            log_sigma = optimal_log_sigma(images, mean, weights=weights)
        elif log_sigma is None:
            raise ValueError("The 'gaussian_learned' likelihood needs the model's log sigma. Received: log_sigma=None")
        else:
            log_sigma = tf.convert_to_tensor(log_sigma)
        return gaussian_log_likelihood(images, mean, log_sigma), log_sigma

    def mean(self, decoder_outputs):
        """The Gaussian's means sigmoid(logits)."""
        return tf.sigmoid(decoder_outputs)

    def sample(self, decoder_outputs, seed, log_sigma=None):
        """mean + sigma * N(0, 1), clipped to [0, 1] (the Gaussian's draw, folded into the image range)."""
        if log_sigma is None:
            raise ValueError(f"Sampling the {self.name!r} likelihood needs its log sigma. Received: log_sigma=None")
        mean = self.mean(decoder_outputs)
        noise = tf.random.stateless_normal(tf.shape(mean), _stateless_seed(seed), dtype=mean.dtype)
        return tf.clip_by_value(mean + tf.exp(tf.cast(log_sigma, mean.dtype)) * noise, 0.0, 1.0)


class SquaredError(Likelihood):
    """"squared_error": the MMD-VAE's score -mean over pixels of (x - x_hat)^2, x_hat the decoder's sigmoid outputs.

    Not a normalized likelihood: up to a constant it is log N(x; x_hat, D/2)
    (D the pixels of an image), so it is weighed against the MMD term as in
    the InfoVAE code (Zhao, Song and Ermon 2017), not used in an ELBO. Its
    `sample` is the reconstruction itself.
    """

    name = "squared_error"
    output_activation = "sigmoid"
    normalized = False

    def evaluate(self, images, decoder_outputs, log_sigma=None, weights=None):
        self._no_log_sigma(log_sigma)
        return -squared_error(images, decoder_outputs, reduction="mean"), None

    def mean(self, decoder_outputs):
        return tf.convert_to_tensor(decoder_outputs)

    def sample(self, decoder_outputs, seed, log_sigma=None):
        self._no_log_sigma(log_sigma)
        _stateless_seed(seed)
        return self.mean(decoder_outputs)


class DiscretizedLogisticMixture(Likelihood):
    """"logistic" (one component) and "logistic_mixture": discretized logistics per 8-bit sub-pixel.

    Every sub-pixel (each channel of each pixel) is independent given z:

        p(x | z) = prod_{pixels, channels} sum_k pi_k P(x; mean_k, s_k)

    with P the discretized logistic (`discretized_logistic_log_prob`,
    PixelCNN++ eq. 2). PixelCNN++ couples a pixel's channels with linear
    coefficients (the green mean depends on the red value, the blue on both);
    that needs an autoregressive decoder that sees x, and ours generate all
    channels at once from z, so the coefficients are not used.

    Decoder outputs per image channel: K mixture logits (absent for
    "logistic"), K means and K log scales, laid out as
    [logits (K*C) | means (K*C) | log scales (K*C)] along the last axis,
    each block channel-major (channel c, component k at c*K + k). The
    means are used as they come (a mean outside [0, 1] puts its mass on an
    edge bin); the log scales are soft-clipped below at `MIN_LOG_SCALE`
    (`softclip`: the floor + softplus(raw - floor), so that a log scale
    below it still gets a gradient).

    `mean` is a documented choice, not the distribution's exact mean (a sum
    over 256 bins per component): the components' means clipped to [0, 1],
    weighted by pi. `sample` draws a component, then a logistic value
    mean + s (log u - log(1 - u)), clipped to [0, 1] and snapped to k/255:
    an exact draw of the discretized distribution.
    """

    eight_bit = True

    def __init__(self, num_mixtures=1, mixture=True):
        self.num_mixtures = _checks.positive_int("num_mixtures", num_mixtures)
        self.mixture = bool(mixture)
        if not self.mixture and self.num_mixtures != 1:
            raise ValueError(f"The 'logistic' likelihood has one component. Received: num_mixtures={num_mixtures!r}")
        self.name = "logistic_mixture" if self.mixture else "logistic"
        self.parameters_per_channel = (3 if self.mixture else 2) * self.num_mixtures

    def parameters(self, decoder_outputs):
        """(logits, means, log_scales) of the decoder's outputs, each (..., channels, K).

        The logits are zeros for "logistic"; the log scales are soft-clipped at `MIN_LOG_SCALE`.
        """
        outputs = tf.convert_to_tensor(decoder_outputs)
        total = outputs.shape[-1]
        if total is None or total % self.parameters_per_channel:
            raise ValueError(f"The {self.name!r} likelihood needs decoder_outputs with a multiple of "
                             f"{self.parameters_per_channel} channels. Received: decoder_outputs.shape="
                             f"{tuple(outputs.shape)}")
        channels = total // self.parameters_per_channel
        shape = tf.concat([tf.shape(outputs)[:-1], [channels, self.num_mixtures]], axis=0)
        blocks = tf.split(outputs, 3 if self.mixture else 2, axis=-1)
        blocks = [tf.reshape(block, shape) for block in blocks]
        if self.mixture:
            logits, means, raw_log_scales = blocks
        else:
            means, raw_log_scales = blocks
            logits = tf.zeros_like(means)
        return logits, means, softclip(raw_log_scales, MIN_LOG_SCALE)

    def evaluate(self, images, decoder_outputs, log_sigma=None, weights=None):
        self._no_log_sigma(log_sigma)
        images, outputs = self._check(images, decoder_outputs)
        logits, means, log_scales = self.parameters(outputs)
        if self.mixture:
            per_element = discretized_logistic_mixture_log_prob(images, logits, means, log_scales)
        else:
            per_element = discretized_logistic_log_prob(images, means[..., 0], log_scales[..., 0])
        return tf.reduce_sum(per_element, axis=_data_axes(per_element)), None

    def mean(self, decoder_outputs):
        """sum_k pi_k clip(mean_k, 0, 1): images in [0, 1] (see the class docstring)."""
        logits, means, _ = self.parameters(decoder_outputs)
        return tf.reduce_sum(tf.nn.softmax(logits, axis=-1) * tf.clip_by_value(means, 0.0, 1.0), axis=-1)

    def sample(self, decoder_outputs, seed, log_sigma=None):
        self._no_log_sigma(log_sigma)
        component_seed, value_seed = tfgen_random.split_seed(_stateless_seed(seed), 2)
        logits, means, log_scales = self.parameters(decoder_outputs)
        dtype = means.dtype
        tiny = tf.constant(1e-6, dtype)
        # Gumbel-max: argmax_k (logit_k + Gumbel noise) is a draw of the component.
        uniform = tf.random.stateless_uniform(tf.shape(logits), component_seed, minval=tiny, maxval=1.0, dtype=dtype)
        chosen = tf.one_hot(tf.argmax(logits - tf.math.log(-tf.math.log(uniform)), axis=-1), self.num_mixtures,
                            dtype=dtype)
        mean = tf.reduce_sum(chosen * means, axis=-1)
        log_scale = tf.reduce_sum(chosen * log_scales, axis=-1)
        uniform = tf.random.stateless_uniform(tf.shape(mean), value_seed, minval=tiny, maxval=1.0 - tiny, dtype=dtype)
        values = mean + tf.exp(log_scale) * (tf.math.log(uniform) - tf.math.log1p(-uniform))
        return quantize(tf.clip_by_value(values, 0.0, 1.0))


def get_likelihood(name, num_mixtures=NUM_MIXTURES):
    """The `Likelihood` called `name`.

    Args:
        name: one of `NAMES`.
        num_mixtures: the components of "logistic_mixture" (checked, and
            unused, for the others).

    Returns:
        A `Likelihood`.

    Raises:
        ValueError: for an unknown name or a num_mixtures that is not a positive integer.
    """
    name = _checks.choice("likelihood", name, NAMES)
    num_mixtures = _checks.positive_int("num_mixtures", num_mixtures)
    if name == "bernoulli":
        return Bernoulli()
    if name in ("gaussian_learned", "gaussian_optimal"):
        return Gaussian(optimal=name == "gaussian_optimal")
    if name == "squared_error":
        return SquaredError()
    if name == "logistic":
        return DiscretizedLogisticMixture(1, mixture=False)
    return DiscretizedLogisticMixture(num_mixtures, mixture=True)
