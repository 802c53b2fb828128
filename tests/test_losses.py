"""The losses against closed forms and reference implementations."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from tfgen import losses

tfd = tfp.distributions


def _run(function, mode):
    return tf.function(function)() if mode == "graph" else function()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_normal_log_density_matches_tfp(dtype, mode):
    rng = np.random.default_rng(0)
    sample, mean = rng.normal(size=(2, 5, 3)).astype(dtype)
    log_var = rng.normal(size=(5, 3)).astype(dtype)
    result = _run(lambda: losses.normal_log_density(sample, mean, log_var), mode)
    expected = tfd.Normal(mean, np.exp(0.5 * log_var)).log_prob(sample).numpy().sum(-1)
    assert result.dtype == dtype
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-4)


def test_normal_log_density_standard_normal_prior():
    z = np.array([[0.5, -1.0]], np.float32)
    expected = tfd.Normal(0.0, 1.0).log_prob(z).numpy().sum(-1)
    np.testing.assert_allclose(losses.normal_log_density(z, 0.0, 0.0).numpy(), expected, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_kl_normal_matches_tfp(dtype, mode):
    rng = np.random.default_rng(1)
    mean, log_var, prior_mean, prior_log_var = rng.normal(size=(4, 6, 3)).astype(dtype)
    result = _run(lambda: losses.kl_normal(mean, log_var, prior_mean, prior_log_var), mode)
    expected = tfd.kl_divergence(
        tfd.Normal(mean, np.exp(0.5 * log_var)), tfd.Normal(prior_mean, np.exp(0.5 * prior_log_var))
    ).numpy().sum(-1)
    np.testing.assert_allclose(result.numpy(), expected, rtol=1e-4)
    standard = losses.kl_normal(mean, log_var).numpy()
    expected_standard = tfd.kl_divergence(tfd.Normal(mean, np.exp(0.5 * log_var)), tfd.Normal(dtype(0), dtype(1)))
    np.testing.assert_allclose(standard, expected_standard.numpy().sum(-1), rtol=1e-4)


def test_kl_normal_gradients_are_not_none():
    mean = tf.Variable([[0.3, -0.2]])
    log_var = tf.Variable([[0.1, 0.4]])
    with tf.GradientTape() as tape:
        kl = tf.reduce_sum(losses.kl_normal(mean, log_var))
    gradients = tape.gradient(kl, [mean, log_var])
    assert all(g is not None and np.all(np.isfinite(g.numpy())) for g in gradients)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_log_likelihood_matches_tfp(dtype):
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(4, 28, 28, 1)).astype(dtype)
    targets = (rng.uniform(size=logits.shape) < 0.5).astype(dtype)
    expected = tfd.Bernoulli(logits=logits).log_prob(targets).numpy().sum(axis=(1, 2, 3))
    np.testing.assert_allclose(losses.bernoulli_log_likelihood(targets, logits).numpy(), expected, rtol=1e-4)


def _numpy_mmd(x, y):
    """The seed's tiled formulation, in NumPy."""

    def kernel(a, b):
        dim = a.shape[1]
        tiled_a = np.tile(a[:, None, :], (1, b.shape[0], 1))
        tiled_b = np.tile(b[None, :, :], (a.shape[0], 1, 1))
        return np.exp(-np.mean((tiled_a - tiled_b) ** 2, axis=2) / dim)

    return kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("mode", ["eager", "graph"])
def test_mmd_matches_numpy(dtype, mode):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(16, 4)).astype(dtype)
    y = (rng.normal(size=(12, 4)) * 2 + 1).astype(dtype)
    result = _run(lambda: losses.mmd(x, y), mode)
    np.testing.assert_allclose(result.numpy(), _numpy_mmd(x.astype(np.float64), y.astype(np.float64)), rtol=1e-4, atol=1e-6)


def test_mmd_is_zero_for_identical_samples_and_positive_otherwise():
    x = np.random.default_rng(4).normal(size=(32, 2)).astype(np.float32)
    assert abs(float(losses.mmd(x, x))) < 1e-6
    assert float(losses.mmd(x, x + 3.0)) > 0.1


def test_squared_error_reductions():
    targets = np.zeros((2, 2, 2, 1), np.float32)
    predictions = np.ones((2, 2, 2, 1), np.float32) * np.array([1.0, 2.0], np.float32)[:, None, None, None]
    np.testing.assert_allclose(losses.squared_error(targets, predictions).numpy(), [4.0, 16.0])
    np.testing.assert_allclose(losses.squared_error(targets, predictions, reduction="mean").numpy(), [1.0, 4.0])
    with pytest.raises(ValueError, match="reduction"):
        losses.squared_error(targets, predictions, reduction="max")
