"""tfgen.layers.SpectralNormalization: sigma(W) against NumPy's SVD, Miyato et al.'s gradient, the kernel never
written, u updated in training mode only (eagerly and compiled), and float32 power iterations under a mixed policy.

Tolerances: sigma and the normalized kernel are sums of at most 36 float32 products of O(1) numbers, and the
power iteration's error shrinks by (sigma_2 / sigma_1)^2 = 1/9 a step (the kernels are built with singular values
3, 1, 0.5, ...): after 30 steps it is 1e-28, so only float32 rounding is left, within ~40 ulps (5e-6) of the
float64 reference: rtol 2e-5.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen.layers import SpectralNormalization

RTOL = 2e-5


def _kernel(shape, singular_values, seed=0):
    """A float32 kernel of `shape` whose (fan_in, units) matrix has the given leading singular values."""
    rows, columns = int(np.prod(shape[:-1])), shape[-1]
    rng = np.random.default_rng(seed)
    left, _ = np.linalg.qr(rng.normal(size=(rows, columns)))
    right, _ = np.linalg.qr(rng.normal(size=(columns, columns)))
    return (left @ np.diag(singular_values) @ right.T).reshape(shape).astype(np.float32)


def _wrapped(layer, input_shape, kernel):
    wrapper = SpectralNormalization(layer)
    wrapper.build(input_shape)
    layer.kernel.assign(kernel)
    return wrapper


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("kind", ["dense", "conv"])
def test_the_normalized_kernel_has_largest_singular_value_one(kind, compiled):
    if kind == "dense":
        layer, input_shape, kernel_shape = keras.layers.Dense(4), (None, 6), (6, 4)
    else:  # a convolution's kernel (3, 3, 2, 4) as an (18, 4) matrix
        layer, input_shape, kernel_shape = keras.layers.Conv2D(4, 3), (None, 5, 5, 2), (3, 3, 2, 4)
    kernel = _kernel(kernel_shape, [3.0, 1.0, 0.5, 0.25])
    wrapper = _wrapped(layer, input_shape, kernel)
    inputs = tf.constant(np.random.default_rng(1).normal(size=(2, *input_shape[1:])), tf.float32)
    call = tf.function(lambda x: wrapper(x, training=True)) if compiled else (lambda x: wrapper(x, training=True))
    u_before = wrapper.vector_u.numpy().copy()
    for _ in range(30):
        outputs = call(inputs)
    assert not np.array_equal(u_before, wrapper.vector_u.numpy())  # training calls move u
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)  # ... and never the kernel
    sigma, _ = wrapper.spectral_norm()
    matrix = kernel.reshape(-1, kernel_shape[-1]).astype(np.float64)
    np.testing.assert_allclose(float(sigma), np.linalg.svd(matrix, compute_uv=False)[0], rtol=RTOL)
    normalized = wrapper.normalized_kernel().numpy().reshape(matrix.shape).astype(np.float64)
    np.testing.assert_allclose(np.linalg.svd(normalized, compute_uv=False)[0], 1.0, rtol=RTOL)
    # The output is the wrapped layer's with W / sigma(W): for a Dense layer, x (W / sigma) + b.
    if kind == "dense":
        np.testing.assert_allclose(outputs.numpy(), inputs.numpy() @ (kernel / 3.0) + layer.bias.numpy(),
                                   rtol=RTOL, atol=RTOL)
    # An inference call reads u without writing it.
    u_trained = wrapper.vector_u.numpy().copy()
    wrapper(inputs, training=False)
    np.testing.assert_array_equal(wrapper.vector_u.numpy(), u_trained)


def test_the_gradient_flows_through_sigma_as_in_miyato_et_al():
    """Miyato et al.'s gradient analysis: with u and v the top singular vectors, the gradient of L(W / sigma(W)) is
    (G - <G, W / sigma> v1 u1^T) / sigma for G = dL/dW_SN: the term through sigma (which a projection after the
    step, keras.layers.SpectralNormalization's, leaves out) is checked too."""
    kernel = _kernel((6, 4), [3.0, 1.0, 0.5, 0.25], seed=2)
    layer = keras.layers.Dense(4, use_bias=False)
    wrapper = _wrapped(layer, (None, 6), kernel)
    inputs = tf.constant(np.random.default_rng(3).normal(size=(5, 6)), tf.float32)
    for _ in range(30):
        wrapper(inputs, training=True)  # u converged
    targets = np.random.default_rng(4).normal(size=(5, 4))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(wrapper(inputs) * targets)
    gradient = tape.gradient(loss, layer.kernel).numpy()
    left, singular, right = np.linalg.svd(kernel.astype(np.float64))
    sigma, v1, u1 = singular[0], left[:, 0], right[0]  # kernel ~ sigma v1 u1^T + ...
    g = inputs.numpy().astype(np.float64).T @ targets  # dL/dW_SN
    expected = (g - np.sum(g * kernel / sigma) * np.outer(v1, u1)) / sigma
    np.testing.assert_allclose(gradient, expected, rtol=RTOL, atol=RTOL * np.abs(expected).max())
    assert np.abs(g / sigma - expected).max() > 0.1  # the term through sigma is not negligible here


class _Parent(keras.layers.Layer):
    """A layer computing in bfloat16 that calls the wrapper (a discriminator under mixed precision)."""

    def __init__(self, inner):
        super().__init__(dtype="mixed_bfloat16")
        self.inner = inner

    def call(self, inputs, training=False):
        return self.inner(inputs, training=training)


@pytest.mark.parametrize("inside", [False, True], ids=["alone", "inside-a-model"])
def test_under_a_mixed_policy_the_power_iteration_runs_in_float32_and_the_kernel_stays_float32(inside):
    # Alone, Keras enters the policy's autocast scope for a layer's call; inside a 16-bit model, the model's is
    # already open: in neither may the kernel be read in bfloat16 (keras.layers.SpectralNormalization reads it so).
    layer = keras.layers.Conv2D(4, 3, dtype="mixed_bfloat16")
    kernel = _kernel((3, 3, 2, 4), [3.0, 1.0, 0.5, 0.25], seed=5)
    wrapper = SpectralNormalization(layer, dtype="mixed_bfloat16")
    wrapper.build((None, 5, 5, 2))
    layer.kernel.assign(kernel)
    u0 = wrapper.vector_u.numpy().astype(np.float64)
    call = _Parent(wrapper) if inside else wrapper
    outputs = call(tf.ones([1, 5, 5, 2]), training=True)
    assert outputs.dtype == tf.bfloat16 and wrapper.vector_u.dtype == "float32"
    np.testing.assert_array_equal(layer.kernel.numpy(), kernel)  # not rounded to bfloat16
    # One power iteration step in float64 from the same u: the stored u is within float32's, not bfloat16's, error.
    matrix = kernel.reshape(18, 4).astype(np.float64)
    v = u0 @ matrix.T
    v /= np.linalg.norm(v)
    u = v @ matrix
    u /= np.linalg.norm(u)
    np.testing.assert_allclose(wrapper.vector_u.numpy()[0], u[0], rtol=RTOL, atol=RTOL)


def test_configuration_and_bad_arguments():
    wrapper = SpectralNormalization(keras.layers.Dense(3, name="inner"), power_iterations=2, name="outer")
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(wrapper))
    assert type(restored) is SpectralNormalization and restored.power_iterations == 2
    assert restored.layer.get_config() == wrapper.layer.get_config() and restored.name == "outer"
    with pytest.raises(ValueError, match="power_iterations must be a positive integer. Received: power_iterations=0"):
        SpectralNormalization(keras.layers.Dense(3), power_iterations=0)
    with pytest.raises(ValueError, match="SpectralNormalization wraps a layer with a kernel"):
        SpectralNormalization(keras.layers.ReLU()).build((None, 3))
