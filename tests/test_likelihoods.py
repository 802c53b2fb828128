"""The decoder likelihoods (tfgen.losses.likelihoods) against references, and the VAE family wired to them.

Tolerances. The discretized logistic's log P is a sum of a few terms of the
size of the arguments a, b = (x - mean +- h) / s and of log(expm1(2h / s)),
each computed with a few float32 roundings: its error is at most a small
multiple of eps32 x (|a| + |b| + |log P| + 1). The references are float64
(scipy), evaluated at the float32 inputs themselves, so they carry no
representation error of their own. A sum of 256 bin probabilities has the
same relative error per bin, plus the mismatch between one bin's upper edge
and the next bin's lower edge, each rounded separately: eps32 x |x| / s of
probability density per edge, so the float32 sum is 1 within
8 eps32 x (1 + 1 / s); in float64 within 8 eps64 x (1 + 1 / s).
"""

import math

import keras
import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from conftest import synthetic_dataset
from tfgen import losses
from tfgen.losses import likelihoods
from tfgen.models import MODELS

EPS32 = float(np.finfo(np.float32).eps)
EPS64 = float(np.finfo(np.float64).eps)
LEVELS = np.arange(256)
# (mean, log scale): inside [0, 1], at the floor, far outside on either side, very wide, on an edge.
CASES = [(0.3, -3.0), (0.5, likelihoods.MIN_LOG_SCALE), (-2.0, -1.0), (3.0, -5.0), (0.5, 3.0), (0.999, -7.0),
         (0.0, likelihoods.MIN_LOG_SCALE), (1.0, -4.0)]


def _reference(x, mean, log_scale):
    """log P(bin of x) in float64, from scipy's log-CDFs on the side of the mean where they do not cancel.

    log(F(u) - F(l)) = log F(u) + log1p(-exp(log F(l) - log F(u))) below the mean, with the survival
    function 1 - F in place of F above it; scipy's logcdf/logsf stay accurate far in the tails.
    """
    x = np.asarray(x, np.float64)
    scale = math.exp(log_scale)
    half = 0.5 / 255
    lower = np.where(x < half, -np.inf, x - half)
    upper = np.where(x > 1 - half, np.inf, x + half)
    logistic = scipy.stats.logistic(mean, scale)
    with np.errstate(divide="ignore"):
        below = logistic.logcdf(upper) + np.log1p(-np.exp(logistic.logcdf(lower) - logistic.logcdf(upper)))
        above = logistic.logsf(lower) + np.log1p(-np.exp(logistic.logsf(upper) - logistic.logsf(lower)))
    return np.where(x > mean, above, below), (upper - mean) / scale, (lower - mean) / scale


@pytest.mark.parametrize("mean, log_scale", CASES)
def test_discretized_logistic_matches_scipy_and_sums_to_one(mean, log_scale):
    x = (LEVELS / 255).astype(np.float32)
    mean32, log_scale32 = np.float32(mean), np.float32(log_scale)
    result = likelihoods.discretized_logistic_log_prob(x, mean32, log_scale32).numpy()
    assert result.dtype == np.float32
    expected, a, b = _reference(x, float(mean32), float(log_scale32))
    assert np.all(np.isfinite(result)) and np.all(np.isfinite(expected))
    magnitude = np.abs(np.where(np.isfinite(a), a, 0)) + np.abs(np.where(np.isfinite(b), b, 0)) + np.abs(expected) + 1
    np.testing.assert_array_less(np.abs(result - expected), 8 * EPS32 * magnitude)
    scale_bound = 1.0 + math.exp(-log_scale)
    assert abs(np.exp(result.astype(np.float64)).sum() - 1.0) < 8 * EPS32 * scale_bound
    result64 = likelihoods.discretized_logistic_log_prob(LEVELS / 255, np.float64(mean), np.float64(log_scale))
    assert abs(np.exp(result64.numpy()).sum() - 1.0) < 8 * EPS64 * scale_bound


def test_discretized_logistic_scores_the_8_bit_value_of_each_intensity():
    """Intensities off the grid are snapped to k / 255: the probability of their 8-bit value."""
    on_grid = likelihoods.discretized_logistic_log_prob(np.float32(100 / 255), 0.4, -3.0)
    off_grid = likelihoods.discretized_logistic_log_prob(np.float32(100.3 / 255), 0.4, -3.0)
    assert float(on_grid) == float(off_grid)


@pytest.mark.parametrize("dtype, eps", [(np.float32, EPS32), (np.float64, EPS64)])
def test_logistic_mixture_sums_to_one_and_matches_its_components(dtype, eps):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(1, 4)).astype(dtype) * 2
    means = rng.uniform(-0.2, 1.2, size=(1, 4)).astype(dtype)
    log_scales = rng.uniform(likelihoods.MIN_LOG_SCALE, 0.0, size=(1, 4)).astype(dtype)
    x = (LEVELS / 255).astype(dtype)[:, None]
    result = likelihoods.discretized_logistic_mixture_log_prob(x[:, 0], logits, means, log_scales).numpy()
    weights = np.exp(logits - np.log(np.exp(logits).sum()))
    components = np.stack([_reference(x[:, 0], float(means[0, k]), float(log_scales[0, k]))[0] for k in range(4)], -1)
    expected = np.log((weights * np.exp(components)).sum(-1))
    # The largest argument |a| is 1.2 / s; the softmax and logsumexp add a few eps each.
    bound = 16 * eps * (1.5 * np.exp(-log_scales).max() + np.abs(expected) + 1)
    np.testing.assert_array_less(np.abs(result - expected), bound)
    assert abs(np.exp(result.astype(np.float64)).sum() - 1.0) < 8 * eps * (1 + np.exp(-log_scales).max())


def test_mixture_of_one_component_is_the_single_logistic():
    rng = np.random.default_rng(1)
    outputs = rng.normal(size=(3, 5, 5, 2)).astype(np.float32)
    images = rng.integers(0, 256, size=(3, 5, 5, 1)).astype(np.float32) / 255
    single = likelihoods.get_likelihood("logistic")
    mixture = likelihoods.get_likelihood("logistic_mixture", num_mixtures=1)
    mixture_outputs = np.concatenate([rng.normal(size=(3, 5, 5, 1)).astype(np.float32), outputs], axis=-1)
    # logsumexp over one component of log softmax = 0 adds exactly 0.
    np.testing.assert_array_equal(mixture.log_prob(images, mixture_outputs).numpy(),
                                  single.log_prob(images, outputs).numpy())
    np.testing.assert_array_equal(mixture.mean(mixture_outputs).numpy(), single.mean(outputs).numpy())


def test_gradients_are_finite_at_the_extremes():
    x = tf.constant([0.0, 1.0, 0.0, 1.0, 128 / 255, 0.0, 1.0, 0.5])
    raw = tf.Variable([[-1e3, 1e3, 1e3, -1e3, 0.5, 0.0, 1.0, 0.5],       # means
                       [-50.0, -50.0, -50.0, -50.0, -50.0, 40.0, 40.0, likelihoods.MIN_LOG_SCALE]])  # raw log scales
    likelihood = likelihoods.get_likelihood("logistic")
    with tf.GradientTape() as tape:
        outputs = tf.concat([raw[0][None, :, None, None], raw[1][None, :, None, None]], axis=-1)
        log_prob = likelihood.log_prob(x[None, :, None, None], outputs)
    gradient = tape.gradient(log_prob, raw)
    assert np.all(np.isfinite(log_prob.numpy())) and np.all(np.isfinite(gradient.numpy()))
    # The log scale's floor is soft: a raw log scale far below it still gets a (small) gradient.
    mixture = likelihoods.get_likelihood("logistic_mixture", num_mixtures=2)
    raw_mixture = tf.Variable(np.array([[1e3, -1e3], [-1e3, 1e3], [-50.0, -50.0]], np.float32).reshape(1, 1, 1, 6))
    with tf.GradientTape() as tape:
        log_prob = mixture.log_prob(tf.constant([[[[1.0]]]]), raw_mixture)
    gradient = tape.gradient(log_prob, raw_mixture)
    assert np.all(np.isfinite(log_prob.numpy())) and np.all(np.isfinite(gradient.numpy()))


def test_bernoulli_and_gaussian_give_the_old_functions_numbers():
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(4, 6, 6, 1)).astype(np.float32)
    binary = (rng.uniform(size=logits.shape) < 0.5).astype(np.float32)
    intensities = rng.uniform(size=logits.shape).astype(np.float32)
    bernoulli = likelihoods.get_likelihood("bernoulli")
    np.testing.assert_array_equal(bernoulli.log_prob(binary, logits), losses.bernoulli_log_likelihood(binary, logits))
    learned = likelihoods.get_likelihood("gaussian_learned")
    np.testing.assert_array_equal(learned.log_prob(intensities, logits, log_sigma=-0.7),
                                  losses.gaussian_log_likelihood(intensities, tf.sigmoid(logits), -0.7))
    optimal = likelihoods.get_likelihood("gaussian_optimal")
    weights = np.array([1.0, 0.0, 1.0, 1.0], np.float32)
    log_prob, log_sigma = optimal.evaluate(intensities, logits, weights=weights)
    old_sigma = losses.optimal_log_sigma(intensities, tf.sigmoid(logits), weights=weights)
    np.testing.assert_array_equal(log_sigma, old_sigma)
    np.testing.assert_array_equal(log_prob, losses.gaussian_log_likelihood(intensities, tf.sigmoid(logits), old_sigma))
    squared = likelihoods.get_likelihood("squared_error")
    np.testing.assert_array_equal(squared.log_prob(intensities, binary),
                                  -losses.squared_error(intensities, binary, reduction="mean"))


def test_interface_contract_and_bad_arguments():
    assert [likelihoods.get_likelihood(name).binarization for name in likelihoods.NAMES] == [
        "dynamic", "none", "none", "none", "none", "none"]
    assert likelihoods.get_likelihood("logistic").output_channels(3) == 6
    assert likelihoods.get_likelihood("logistic_mixture", num_mixtures=4).output_channels(3) == 36
    assert [name for name in likelihoods.NAMES if likelihoods.get_likelihood(name).eight_bit] == [
        "logistic", "logistic_mixture"]
    np.testing.assert_allclose(likelihoods.bits_per_dim(784 * math.log(2.0) * 3.5, 784).numpy(), 3.5, rtol=1e-6)
    # float64 nats stay float64 throughout (the evaluation reports' bits/dim): a division by a correctly rounded
    # constant, 2 ulps (2**-51 relative) at most.
    assert likelihoods.bits_per_dim(np.float64(1000.0), 784).numpy() == pytest.approx(
        1000.0 / (784 * math.log(2.0)), rel=2.0**-51)
    with pytest.raises(ValueError, match="likelihood.*'poisson'"):
        likelihoods.get_likelihood("poisson")
    with pytest.raises(ValueError, match="num_mixtures.*0"):
        likelihoods.get_likelihood("logistic_mixture", num_mixtures=0)
    with pytest.raises(ValueError, match="decoder_outputs"):
        likelihoods.get_likelihood("logistic").log_prob(tf.zeros([2, 4, 4, 3]), tf.zeros([2, 4, 4, 3]))
    with pytest.raises(ValueError, match="log_sigma=None"):
        likelihoods.get_likelihood("gaussian_learned").log_prob(tf.zeros([2, 4, 4, 1]), tf.zeros([2, 4, 4, 1]))
    with pytest.raises(ValueError, match="seed=None"):
        likelihoods.get_likelihood("logistic").sample(tf.zeros([2, 4, 4, 2]), None)


@pytest.mark.parametrize("name", ["logistic", "logistic_mixture"])
def test_samples_are_8_bit_images_drawn_from_the_likelihood(name):
    """A stateless draw: the same seed gives the same images, quantized to k / 255; their histogram follows P."""
    likelihood = likelihoods.get_likelihood(name, num_mixtures=2)
    params = {"logistic": [0.4, -3.0], "logistic_mixture": [0.5, -0.5, 0.2, 0.8, -3.5, -2.5]}[name]
    outputs = tf.tile(tf.constant(params, tf.float32)[None, None, None, :], [1, 100, 100, 1])
    seed = tf.constant([3, 4], tf.int64)
    samples = likelihood.sample(outputs, seed).numpy()
    np.testing.assert_array_equal(samples, likelihood.sample(outputs, seed).numpy())
    assert samples.shape == (1, 100, 100, 1) and samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples * 255, np.round(samples * 255))
    levels = (LEVELS / 255).astype(np.float32).reshape(256, 1, 1, 1)
    per_level = np.exp(likelihood.log_prob(levels, tf.tile(outputs[:, :1, :1], [256, 1, 1, 1])).numpy())
    counts = np.bincount(np.round(samples * 255).astype(int).ravel(), minlength=256)
    # 10,000 draws: each bin's count is within 5 binomial standard deviations (and 3 counts) of 10,000 P.
    sigma = np.sqrt(10000 * per_level * (1 - per_level))
    np.testing.assert_array_less(np.abs(counts - 10000 * per_level), 5 * sigma + 3)


# ------------------------------------------------------------------ models


def _eight_bit_batch(count=16, seed=0):
    data = synthetic_dataset(count, seed=seed)
    return next(iter(data.batches(count, shuffle=False, binarization="none", label_format="int")))


def test_vae_with_a_logistic_mixture_learns_and_reports_bits_per_dim():
    keras.utils.set_random_seed(0)
    model = MODELS["vae"](latent_dim=2, likelihood="logistic_mixture", num_mixtures=3)
    assert model.binarization == "none"
    assert model.metric_names == ("loss", "logpx_z", "logpz", "logqz_x", "kl", "bits_per_dim")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batch = _eight_bit_batch()
    model.build_from_batch(batch)
    assert model.decoder.deconv3.kernel.shape[-2] == 9  # 3 parameters x 3 components x 1 channel
    history = [model.train_step(batch, tf.constant([i, 0], tf.int64)) for i in range(6)]
    first, last = history[0], history[-1]
    for metrics in history:
        assert all(np.isfinite(value.numpy()) for value in metrics.values())
        # bits/dim is the loss (nats per image) over 784 ln 2.
        np.testing.assert_allclose(metrics["bits_per_dim"], metrics["loss"] / (784 * math.log(2)), rtol=1e-6)
    # About 10.03 bits/dim at the start; 6 steps at 1e-3 took it to 9.995 (seeded, deterministic).
    assert float(last["loss"]) < float(first["loss"])
    assert float(last["bits_per_dim"]) < float(first["bits_per_dim"]) - 0.02
    for images in (model.sample(4, seed=tf.constant([1, 2], tf.int64)), model.decode(tf.zeros([3, 2]))):
        assert images.shape[1:] == (28, 28, 1) and 0 <= float(tf.reduce_min(images)) <= float(tf.reduce_max(images)) <= 1


@pytest.mark.parametrize("name, likelihood", [("mmd_vae", "logistic_mixture"), ("cvae", "logistic"),
                                              ("ssvae", "logistic_mixture"), ("gumbel_ssvae", "logistic"),
                                              ("vhe", "gaussian_learned"), ("vhe_unsupervised", "logistic_mixture"),
                                              ("vae", "gaussian_optimal")])
def test_every_vae_family_model_trains_with_other_likelihoods(name, likelihood):
    from conftest import create_model

    keras.utils.set_random_seed(0)
    model = create_model(name, likelihood=likelihood, num_mixtures=2)
    assert model.binarization == "none" and model.get_config()["likelihood"] == likelihood
    eight_bit = likelihoods.get_likelihood(likelihood).eight_bit
    assert ("bits_per_dim" in model.metric_names) == (eight_bit and name != "mmd_vae")
    assert ("decoder_log_sigma" in model.metric_names) == (likelihood.startswith("gaussian") and "ssvae" not in name)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batch = _eight_bit_batch(8)
    model.build_from_batch(batch)
    metrics = model.train_step(batch, tf.constant([5, 6], tf.int64))
    assert set(metrics) == {*model.metric_names, "skipped_updates"}
    assert all(np.isfinite(value.numpy()) for value in metrics.values()) and float(metrics["skipped_updates"]) == 0
    samples = model.sample(3, seed=tf.constant([1, 2], tf.int64))
    assert samples.shape == (3, 28, 28, 1) and 0 <= float(tf.reduce_min(samples)) <= float(tf.reduce_max(samples)) <= 1


def test_every_model_with_a_likelihood_gets_it_from_the_one_base_class():
    import inspect

    from tfgen.models.decoder_likelihood import DecoderLikelihoodModel

    takes_likelihood = {name for name, cls in MODELS.items()
                        if any("likelihood" in inspect.signature(klass.__init__).parameters
                               for klass in cls.__mro__ if "__init__" in vars(klass) and klass is not object)}
    family = {name for name, cls in MODELS.items() if issubclass(cls, DecoderLikelihoodModel)}
    assert takes_likelihood == family
    assert {"vae", "mmd_vae", "cvae", "ssvae", "gumbel_ssvae", "vhe", "vhe_unsupervised"} <= family


@pytest.mark.parametrize("name", ["vae", "mmd_vae", "cvae", "ssvae", "vhe", "vhe_unsupervised"])
def test_log_likelihood_scores_with_the_learned_decoder_log_sigma(name):
    from conftest import create_model

    model = create_model(name, likelihood="gaussian_learned")
    assert model.decoder_log_sigma.path.split("/")[-1] == "decoder_log_sigma"
    assert any(variable is model.decoder_log_sigma for variable in model.trainable_variables)
    model.decoder_log_sigma.assign(0.5)
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(3, 28, 28, 1)).astype(np.float32)
    outputs = rng.normal(size=(3, 28, 28, model.decoder_output_channels)).astype(np.float32)
    log_p, log_sigma = model.log_likelihood(images, outputs)
    expected, _ = likelihoods.get_likelihood("gaussian_learned").evaluate(images, outputs, log_sigma=0.5)
    np.testing.assert_array_equal(log_p.numpy(), expected.numpy())
    assert float(log_sigma) == 0.5
    metrics = model._add_likelihood_metrics({"loss": tf.constant(1.0)}, log_sigma)
    assert set(metrics) == {"loss", "decoder_log_sigma"}


def test_bits_per_dim_metric_sums_the_named_terms():
    from conftest import create_model

    model = create_model("cvae", likelihood="logistic")
    metrics = {"loss": tf.constant(9.0), "reconstruction_loss": tf.constant(700.0), "kl_loss": tf.constant(84.0)}
    model._add_likelihood_metrics(metrics, None, ("reconstruction_loss", "kl_loss"))
    np.testing.assert_allclose(metrics["bits_per_dim"], 784.0 / (784 * math.log(2)), rtol=1e-6)
    assert "bits_per_dim" not in model._add_likelihood_metrics({"loss": tf.constant(1.0)}, None, None)
