"""GAN and InfoGAN losses against exact expected values, eager and in tf.function, float32 and float64."""

import math

import numpy as np
import pytest
import tensorflow as tf

from tfgen import losses

REAL = np.array([2.0, -1.0, 0.0, 0.5])
FAKE = np.array([-3.0, 1.0, 0.25])


def _softplus(x):
    return np.log1p(np.exp(x))


def _run(function, *args, graph=False, **kwargs):
    return (tf.function(function) if graph else function)(*args, **kwargs).numpy()


@pytest.mark.parametrize("graph", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_discriminator_loss_is_the_minimax_cross_entropy(graph, dtype):
    # -mean log sigmoid(real) - mean log(1 - sigmoid(fake)), written out by hand.
    sigmoid = lambda x: 1.0 / (1.0 + np.exp(-x))  # noqa: E731
    expected = -np.mean(np.log(sigmoid(REAL))) - np.mean(np.log(1.0 - sigmoid(FAKE)))
    actual = _run(losses.discriminator_loss, tf.constant(REAL, dtype), tf.constant(FAKE, dtype), graph=graph)
    np.testing.assert_allclose(actual, expected, rtol=1e-6 if dtype == np.float64 else 1e-5)


def test_discriminator_loss_exact_values():
    # All logits 0: D says 1/2 everywhere, loss = 2 log 2.
    np.testing.assert_allclose(losses.discriminator_loss(tf.zeros([5, 1]), tf.zeros([3, 1])).numpy(), 2 * math.log(2), rtol=1e-6)
    # One-sided label smoothing: targets 0.9 for real.
    real = np.array([1.5, -0.5])
    expected = np.mean(0.9 * _softplus(-real) + 0.1 * _softplus(real)) + _softplus(0.0)
    np.testing.assert_allclose(
        losses.discriminator_loss(tf.constant(real), tf.constant([0.0]), label_smoothing=0.1).numpy(), expected, rtol=1e-6
    )
    with pytest.raises(ValueError, match="label_smoothing"):
        losses.discriminator_loss(tf.zeros([2]), tf.zeros([2]), label_smoothing=1.0)


def test_discriminator_loss_stays_finite_for_confident_logits():
    value = losses.discriminator_loss(tf.constant([200.0]), tf.constant([-200.0])).numpy()
    assert np.isfinite(value) and value < 1e-6
    assert np.isfinite(losses.discriminator_loss(tf.constant([-200.0]), tf.constant([200.0])).numpy())


@pytest.mark.parametrize("graph", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_generator_losses(graph, dtype):
    expected_non_saturating = np.mean(_softplus(-FAKE))  # -mean log D(G(z))
    expected_minimax = np.mean(np.log(1.0 - 1.0 / (1.0 + np.exp(-FAKE))))  # mean log(1 - D(G(z)))
    fake = tf.constant(FAKE, dtype)
    np.testing.assert_allclose(_run(losses.generator_loss, fake, graph=graph), expected_non_saturating, rtol=1e-5)
    np.testing.assert_allclose(_run(losses.minimax_generator_loss, fake, graph=graph), expected_minimax, rtol=1e-5)
    np.testing.assert_allclose(losses.generator_loss(tf.zeros([4])).numpy(), math.log(2), rtol=1e-6)


def test_gradients_exist_and_point_the_right_way():
    fake = tf.Variable([0.0, 1.0])
    real = tf.Variable([0.0, -1.0])
    with tf.GradientTape(persistent=True) as tape:
        d_loss = losses.discriminator_loss(real, fake)
        g_loss = losses.generator_loss(fake)
    # D lowers its loss by raising real logits and lowering fake ones; G by raising fake ones.
    assert np.all(tape.gradient(d_loss, real).numpy() < 0)
    assert np.all(tape.gradient(d_loss, fake).numpy() > 0)
    assert np.all(tape.gradient(g_loss, fake).numpy() < 0)


@pytest.mark.parametrize("graph", [False, True])
def test_categorical_mutual_information_loss(graph):
    logits = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    codes = np.array([0, 2])
    log_softmax = logits - np.log(np.sum(np.exp(logits), axis=1, keepdims=True))
    expected = -np.mean(log_softmax[np.arange(2), codes])
    np.testing.assert_allclose(
        _run(losses.categorical_mutual_information_loss, tf.constant(logits), tf.constant(codes), graph=graph), expected, rtol=1e-6
    )
    one_hot = np.eye(3)[codes]
    np.testing.assert_allclose(
        losses.categorical_mutual_information_loss(tf.constant(logits), tf.constant(one_hot)).numpy(), expected, rtol=1e-6
    )
    # Uniform Q: the loss is log K, so the MI lower bound H(c) - loss is 0.
    np.testing.assert_allclose(
        losses.categorical_mutual_information_loss(tf.zeros([4, 10]), tf.constant([1, 2, 3, 4])).numpy(), math.log(10), rtol=1e-6
    )


@pytest.mark.parametrize("graph", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gaussian_mutual_information_loss_matches_scipy_free_closed_form(graph, dtype):
    codes = np.array([[0.5, -0.25], [1.0, 0.0]])
    mean = np.array([[0.0, 0.0], [0.5, 0.5]])
    log_std = np.array([[0.0, np.log(2.0)], [-0.5, 0.1]])
    std = np.exp(log_std)
    log_density = -0.5 * np.log(2 * np.pi) - log_std - 0.5 * ((codes - mean) / std) ** 2
    expected = -np.mean(np.sum(log_density, axis=1))
    actual = _run(losses.gaussian_mutual_information_loss, tf.constant(codes, dtype), tf.constant(mean, dtype),
                  tf.constant(log_std, dtype), graph=graph)
    np.testing.assert_allclose(actual, expected, rtol=1e-6 if dtype == np.float64 else 1e-5)
    # Unit variance: half the squared error plus 0.5 log(2 pi) per dimension.
    unit = losses.gaussian_mutual_information_loss(tf.constant(codes), tf.constant(mean), 0.0).numpy()
    np.testing.assert_allclose(unit, np.mean(np.sum(0.5 * (codes - mean) ** 2 + 0.5 * np.log(2 * np.pi), axis=1)), rtol=1e-6)
