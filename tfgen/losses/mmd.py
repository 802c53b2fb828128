"""Maximum mean discrepancy (MMD) with a Gaussian kernel.

Zhao, Song and Ermon, "InfoVAE: Information Maximizing Variational
Autoencoders", arXiv:1706.02262, 2017; Gretton et al., "A Kernel Two-Sample
Test", JMLR 13, 2012.
"""

import tensorflow as tf

from tfgen import _checks


def gaussian_kernel(x, y):
    """k(x, y) = exp(-mean((x - y)^2) / dim) for every pair of rows.

    Args:
        x: (n, dim) tensor.
        y: (m, dim) tensor.

    Returns:
        The (n, m) kernel matrix.
    """
    x = tf.convert_to_tensor(x)
    _checks.shape("x", x, ("n", "dim"))
    _checks.shape("y", y, ("m", x.shape[1]))
    y = tf.cast(y, x.dtype)
    dim = tf.cast(tf.shape(x)[1], x.dtype)
    # |x - y|^2 = |x|^2 + |y|^2 - 2 x.y avoids the (n, m, dim) tensor of the
    # tiled original; clip the tiny negatives that cancellation leaves.
    squared_norms_x = tf.reduce_sum(tf.square(x), axis=1, keepdims=True)
    squared_norms_y = tf.reduce_sum(tf.square(y), axis=1, keepdims=True)
    squared_distances = squared_norms_x + tf.transpose(squared_norms_y) - 2.0 * tf.matmul(x, y, transpose_b=True)
    squared_distances = tf.maximum(squared_distances, 0.0)
    return tf.exp(-(squared_distances / dim) / dim)


def mmd(x, y):
    """The (biased) MMD estimate between samples x ~ p and y ~ q.

    MMD = mean k(x, x') + mean k(y, y') - 2 mean k(x, y)

    Args:
        x: (n, dim) samples of one distribution (e.g. the prior).
        y: (m, dim) samples of the other (e.g. the encoder's codes).

    Returns:
        A scalar.
    """
    return (
        tf.reduce_mean(gaussian_kernel(x, x))
        + tf.reduce_mean(gaussian_kernel(y, y))
        - 2.0 * tf.reduce_mean(gaussian_kernel(x, y))
    )
