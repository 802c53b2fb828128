"""VectorQuantizer (the VQ-VAE's bottleneck) against NumPy: assignments, losses and their gradients, the
straight-through estimator, the EMA codebook, perplexity and dead-code restarts.

Tolerances: the values are sums of a few float32 products of numbers of size ~1, so a few float32 ulps
(1e-6 relative) cover any summation order; 1e-5 absolute is used throughout.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfgen.layers import VectorQuantizer

ATOL = 1e-5


def _layer(codebook, **kwargs):
    layer = VectorQuantizer(codebook.shape[0], codebook.shape[1], **kwargs)
    layer.build((None, codebook.shape[1]))
    layer.codebook.assign(codebook)
    if layer.ema_decay is not None:
        layer.ema_sums.assign(codebook)
    return layer


def _data(seed=0, k=5, d=3, n=(2, 4, 4)):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(k, d)).astype(np.float32), rng.normal(size=(*n, d)).astype(np.float32)


def test_nearest_code_losses_perplexity_against_numpy():
    codebook, x = _data()
    out = _layer(codebook).quantize_vectors(x)
    distances = ((x[..., None, :] - codebook) ** 2).sum(-1)
    indices = distances.argmin(-1)
    q = codebook[indices]
    np.testing.assert_array_equal(out["indices"].numpy(), indices)
    np.testing.assert_allclose(out["quantized"].numpy(), q, atol=ATOL)
    np.testing.assert_allclose(float(out["codebook_loss"]), ((x - q) ** 2).mean(), atol=ATOL)
    np.testing.assert_allclose(float(out["commitment_loss"]), ((x - q) ** 2).mean(), atol=ATOL)
    p = np.bincount(indices.ravel(), minlength=5) / indices.size
    p = p[p > 0]
    np.testing.assert_allclose(float(out["perplexity"]), np.exp(-(p * np.log(p)).sum()), rtol=1e-5)


def test_perplexity_is_k_for_even_use_and_one_for_one_code():
    codebook = np.eye(4, dtype=np.float32)
    assert float(_layer(codebook).quantize_vectors(np.tile(codebook, (3, 1)))["perplexity"]) == pytest.approx(4.0, rel=1e-5)
    assert float(_layer(codebook).quantize_vectors(np.tile(codebook[:1], (6, 1)))["perplexity"]) == pytest.approx(1.0,
                                                                                                            rel=1e-5)


def test_gradients_straight_through_codebook_and_commitment():
    """d/dx of w . z_q is w (straight through); the codebook loss moves only the chosen codes, by
    2 (e_k - x) / (N D) summed over their vectors; the commitment loss moves x by 2 (x - e_k) / (N D)."""
    codebook, x = _data(1, n=(6,))
    layer = _layer(codebook)
    x_tensor = tf.constant(x)
    w = np.random.default_rng(2).normal(size=x.shape).astype(np.float32)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x_tensor)
        out = layer.quantize_vectors(x_tensor)
        projected = tf.reduce_sum(out["quantized"] * w)
    np.testing.assert_allclose(tape.gradient(projected, x_tensor).numpy(), w, atol=ATOL)
    q = codebook[out["indices"].numpy()]
    expected = np.zeros_like(codebook)
    np.add.at(expected, out["indices"].numpy(), 2 * (q - x) / x.size)
    np.testing.assert_allclose(tf.convert_to_tensor(tape.gradient(out["codebook_loss"], layer.codebook)).numpy(),
                               expected, atol=ATOL)
    assert tape.gradient(out["codebook_loss"], x_tensor) is None
    np.testing.assert_allclose(tape.gradient(out["commitment_loss"], x_tensor).numpy(), 2 * (x - q) / x.size,
                               atol=ATOL)
    assert tape.gradient(out["commitment_loss"], layer.codebook) is None


def test_ema_codebook_follows_the_numpy_recursion():
    codebook, _ = _data(3, k=4, d=2)
    layer = _layer(codebook, ema_decay=0.9, epsilon=1e-3)
    counts_ref, sums_ref, codes = np.zeros(4), codebook.astype(np.float64).copy(), codebook.astype(np.float64)
    rng = np.random.default_rng(4)
    for _ in range(3):
        x = rng.normal(size=(16, 2)).astype(np.float32)
        out = layer.quantize_vectors(x, training=True)
        assert float(out["codebook_loss"]) == 0.0
        indices = ((x[:, None] - codes[None]) ** 2).sum(-1).argmin(-1)
        np.testing.assert_array_equal(out["indices"].numpy(), indices)
        one_hot = np.eye(4)[indices]
        counts_ref = 0.9 * counts_ref + 0.1 * one_hot.sum(0)
        sums_ref = 0.9 * sums_ref + 0.1 * one_hot.T @ x
        total = counts_ref.sum()
        codes = sums_ref / ((counts_ref + 1e-3) / (total + 4e-3) * total)[:, None]
        np.testing.assert_allclose(layer.codebook.numpy(), codes, rtol=1e-5, atol=ATOL)
    assert not layer.codebook.trainable
    # Not in training: nothing moves.
    before = layer.codebook.numpy()
    layer.quantize_vectors(rng.normal(size=(16, 2)).astype(np.float32))
    np.testing.assert_array_equal(layer.codebook.numpy(), before)


@pytest.mark.parametrize("ema_decay", [None, 0.9])
def test_dead_codes_restart_at_batch_vectors(ema_decay):
    """Every vector is near code 0: the usage of codes 1-3 decays as (1/K) 0.99^t and they restart at
    step t = 11, the first with 0.99^t < 0.9 (restart_threshold), at vectors of the batch."""
    codebook = np.array([[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0], [10.0, -10.0]], np.float32)
    layer = _layer(codebook, ema_decay=ema_decay, restart_threshold=0.9)
    x = (np.random.default_rng(5).normal(size=(8, 2)) * 0.1).astype(np.float32)
    for step in range(1, 12):
        layer.quantize_vectors(x, training=True, seed=tf.constant([step, 0], tf.int64))
        restarted = [any(np.allclose(layer.codebook.numpy()[k], row, atol=ATOL) for row in x) for k in (1, 2, 3)]
        assert all(restarted) == (step == 11) or (step > 11), (step, restarted)
    np.testing.assert_allclose(layer.usage.numpy()[1:], 0.25, atol=ATOL)
    if ema_decay is not None:
        # Restarted with an even share of the counts before the restart: code 0 held all 8 vectors of each step.
        share = 8 * (1 - 0.9 ** 11) / 4
        np.testing.assert_allclose(layer.ema_counts.numpy()[1:], share, rtol=1e-5)


def test_call_adds_the_codebook_and_weighted_commitment_losses_for_keras_fit():
    codebook, x = _data(6, n=(5,))
    layer = _layer(codebook, commitment_cost=0.5)
    layer(x)
    q = codebook[((x[:, None] - codebook) ** 2).sum(-1).argmin(-1)]
    np.testing.assert_allclose(float(sum(layer.losses)), 1.5 * ((x - q) ** 2).mean(), atol=ATOL)


def test_config_round_trip_and_bad_arguments():
    layer = VectorQuantizer(8, 3, ema_decay=0.99, restart_threshold=0.1, seed=4, commitment_cost=1.0, name="vq")
    clone = VectorQuantizer.from_config(layer.get_config())
    assert (clone.num_codes, clone.code_dim, clone.ema_decay, clone.restart_threshold, clone.seed,
            clone.commitment_cost) == (8, 3, 0.99, 0.1, 4, 1.0)
    with pytest.raises(ValueError, match="ema_decay"):
        VectorQuantizer(8, 3, ema_decay=1.0)
    with pytest.raises(ValueError, match="num_codes"):
        VectorQuantizer(0, 3)
    with pytest.raises(ValueError, match="restart_threshold"):
        VectorQuantizer(8, 3, restart_threshold=0.0)
    with pytest.raises(ValueError, match=r"code_dim=3\) got vectors of size 4"):
        VectorQuantizer(8, 3)(np.zeros((2, 4), np.float32))
    with pytest.raises(TypeError, match="float vectors"):
        VectorQuantizer(8, 3).quantize_vectors(np.zeros((2, 3), np.int32))
