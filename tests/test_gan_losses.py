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


# ------------------------------------------------ WGAN-GP and the hinge loss

# Tolerances: each value below is a handful of float32 operations on O(1) numbers (sums of at most 12 terms, a
# square root), so the float32 result is within ~20 ulps (relative 2.4e-6) of the float64 reference, and the
# penalty's (norm - 1) with norms >= 1.5 amplifies a relative error at most norm / (norm - 1) <= 3 times:
# rtol 1e-5 (84 ulps) in float32. In float64 the same count of ulps is ~1e-14: rtol 1e-12.
def _rtol(dtype):
    return 1e-5 if dtype == np.float32 else 1e-12


@pytest.mark.parametrize("graph", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wasserstein_and_hinge_losses(graph, dtype):
    real, fake = tf.constant(REAL, dtype), tf.constant(FAKE, dtype)
    np.testing.assert_allclose(_run(losses.wasserstein_critic_loss, real, fake, graph=graph),
                               np.mean(FAKE) - np.mean(REAL), rtol=_rtol(dtype))
    np.testing.assert_allclose(_run(losses.wasserstein_generator_loss, fake, graph=graph), -np.mean(FAKE),
                               rtol=_rtol(dtype))
    # REAL has 2.0 beyond the margin (0 loss) and 0.5 inside it; FAKE has -3.0 beyond it, 1.0 and 0.25 inside.
    expected = np.mean(np.maximum(0.0, 1.0 - REAL)) + np.mean(np.maximum(0.0, 1.0 + FAKE))
    np.testing.assert_allclose(_run(losses.hinge_discriminator_loss, real, fake, graph=graph), expected,
                               rtol=_rtol(dtype))
    np.testing.assert_allclose(expected, (0 + 2 + 1 + 0.5) / 4 + (0 + 2 + 1.25) / 3)  # the reference, by hand


def test_critic_losses_point_the_right_way():
    real, fake = tf.Variable([0.0, 2.0]), tf.Variable([0.0, -2.0])
    with tf.GradientTape(persistent=True) as tape:
        critic = losses.wasserstein_critic_loss(real, fake)
        hinge = losses.hinge_discriminator_loss(real, fake)
        generator = losses.wasserstein_generator_loss(fake)
    np.testing.assert_array_equal(tape.gradient(critic, real).numpy(), [-0.5, -0.5])
    np.testing.assert_array_equal(tape.gradient(critic, fake).numpy(), [0.5, 0.5])
    # The hinge stops pushing beyond the margin: real 2.0 and fake -2.0 get no gradient.
    np.testing.assert_array_equal(tape.gradient(hinge, real).numpy(), [-0.5, 0.0])
    np.testing.assert_array_equal(tape.gradient(hinge, fake).numpy(), [0.5, 0.0])
    np.testing.assert_array_equal(tape.gradient(generator, fake).numpy(), [-0.5, -0.5])


_IMAGES = np.random.default_rng(3).uniform(-1.0, 1.0, size=(2, 3, 3, 4, 1))  # (real, fake) batches of 3 (3x4x1)
_EPSILON = np.array([0.0, 0.3, 1.0])  # the ends of the segment and a point inside


def _penalty(critic, dtype, graph, weights=_EPSILON):
    real, fake = (tf.constant(images, dtype) for images in _IMAGES)
    return _run(lambda: losses.gradient_penalty(critic, real, fake, tf.constant(weights, dtype)), graph=graph)


@pytest.mark.parametrize("graph", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_penalty_of_a_linear_critic_is_its_norm_minus_one_squared(graph, dtype):
    # D(x) = <w, x>: its gradient is w at every point, whatever eps, so the penalty is (||w|| - 1)^2.
    w = np.random.default_rng(4).normal(size=(3, 4, 1))
    assert np.linalg.norm(w) > 1.5  # away from 1: see the tolerances above
    weight = tf.Variable(w.astype(dtype))
    critic = lambda x: tf.reduce_sum(x * weight, axis=[1, 2, 3])  # noqa: E731
    np.testing.assert_allclose(_penalty(critic, dtype, graph), (np.linalg.norm(w) - 1.0) ** 2, rtol=_rtol(dtype))
    # The penalty's own gradient (a second derivative of D) in closed form: d/dw (||w|| - 1)^2 = 2 (1 - 1/||w||) w.
    real, fake = (tf.constant(images, dtype) for images in _IMAGES)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, real, fake, tf.constant(_EPSILON, dtype))
    np.testing.assert_allclose(tape.gradient(penalty, weight).numpy(), 2.0 * (1.0 - 1.0 / np.linalg.norm(w)) * w,
                               rtol=_rtol(dtype), atol=_rtol(dtype) * np.abs(w).max())


@pytest.mark.parametrize("graph", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gradient_penalty_of_a_quadratic_critic_interpolates_one_eps_per_example(graph, dtype):
    # D(x) = 1/2 sum_j a_j x_j^2: its gradient at x_hat is a * x_hat, so every example's norm depends on its eps.
    a = np.random.default_rng(5).uniform(2.0, 4.0, size=(3, 4, 1))
    scale = tf.Variable(a.astype(dtype))
    critic = lambda x: 0.5 * tf.reduce_sum(scale * tf.square(x), axis=[1, 2, 3])  # noqa: E731
    real, fake = _IMAGES
    x_hat = _EPSILON[:, None, None, None] * real + (1.0 - _EPSILON[:, None, None, None]) * fake
    norms = np.sqrt(np.sum((a * x_hat) ** 2, axis=(1, 2, 3)))
    assert norms.min() > 1.5  # away from 1: see the tolerances above
    np.testing.assert_allclose(_penalty(critic, dtype, graph), np.mean((norms - 1.0) ** 2), rtol=_rtol(dtype))
    # d/da_j mean_i (n_i - 1)^2 = mean_i 2 (n_i - 1) a_j x_hat_ij^2 / n_i.
    expected = np.mean(2.0 * (norms - 1.0)[:, None, None, None] * a * x_hat ** 2 / norms[:, None, None, None], axis=0)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(critic, tf.constant(real, dtype), tf.constant(fake, dtype),
                                          tf.constant(_EPSILON, dtype))
    np.testing.assert_allclose(tape.gradient(penalty, scale).numpy(), expected, rtol=_rtol(dtype),
                               atol=_rtol(dtype) * np.abs(expected).max())
    # eps = 1 is the real image, eps = 0 the fake one: swapping the batches and eps -> 1 - eps changes nothing.
    swapped = _run(lambda: losses.gradient_penalty(critic, tf.constant(fake, dtype), tf.constant(real, dtype),
                                                   tf.constant(1.0 - _EPSILON, dtype)), graph=graph)
    np.testing.assert_allclose(swapped, np.mean((norms - 1.0) ** 2), rtol=_rtol(dtype))


def test_gradient_penalty_of_a_flat_critic_is_one_with_a_finite_gradient():
    # A zero gradient: the norm's floor keeps d sqrt(s)/ds finite at s = 0 (the penalty is then exactly 1).
    weight = tf.Variable(0.0)
    real, fake = (tf.constant(images, tf.float32) for images in _IMAGES)
    with tf.GradientTape() as tape:
        penalty = losses.gradient_penalty(lambda x: weight * tf.reduce_sum(x, axis=[1, 2, 3]), real, fake, _EPSILON)
    gradient = tape.gradient(penalty, weight)
    assert float(penalty) == pytest.approx(1.0, abs=1e-5) and np.isfinite(float(gradient))
    constant = losses.gradient_penalty(lambda x: tf.ones([tf.shape(x)[0]]), real, fake, _EPSILON)  # not connected
    assert float(constant) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match=r"interpolation_weights must have shape \(3,\)"):
        losses.gradient_penalty(lambda x: x, real, fake, _EPSILON[:2])
    with pytest.raises(ValueError, match="fake must have the shape of real"):
        losses.gradient_penalty(lambda x: x, real, fake[:2], _EPSILON)
