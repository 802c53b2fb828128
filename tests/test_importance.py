"""The importance-weighted bound: exact on probabilistic PCA, a bound that rises with K otherwise, and the IWAE.

Probabilistic PCA (Tipping and Bishop 1999) is a latent-variable model whose
marginal likelihood and posterior have closed forms:

    z ~ N(0, I_L),  x | z ~ N(W z + mu, s^2 I_D)  =>  x ~ N(mu, W W^T + s^2 I_D),
    z | x ~ N(M^-1 W^T (x - mu), s^2 M^-1),  M = W^T W + s^2 I_L.

With W's columns orthogonal, M is diagonal and the exact posterior is a
diagonal Gaussian, the encoder family of tfgen's VAEs. With it as the
proposal every importance weight equals p(x), so the estimate is exact for
any K; with a worse proposal it is a lower bound rising with K.
"""

import numpy as np
import pytest
import tensorflow as tf

from conftest import create_model, synthetic_dataset
from tfgen import random as tfgen_random
from tfgen.evaluation.likelihood import LogMeanExp, importance_weighted_bound, likelihood_scores
from tfgen.losses import importance
from tfgen.losses.elbo import normal_log_density
from tfgen.training import Trainer

D, L, S2 = 6, 2, 0.3


def _ppca(seed=0):
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.normal(size=(D, L)))
    w = basis * np.array([2.0, 0.7])  # orthogonal columns of different lengths
    mu = rng.normal(size=D)
    return w, mu


def _exact_log_likelihood(x, w, mu):
    covariance = w @ w.T + S2 * np.eye(D)
    difference = x - mu
    _, log_det = np.linalg.slogdet(covariance)
    quadratic = np.einsum("nd,de,ne->n", difference, np.linalg.inv(covariance), difference)
    return -0.5 * (D * np.log(2 * np.pi) + log_det + quadratic)


def _posterior(x, w, mu):
    m = w.T @ w + S2 * np.eye(L)  # diagonal: W's columns are orthogonal
    mean = (x - mu) @ w @ np.linalg.inv(m).T
    log_var = np.log(S2 / np.diag(m)) * np.ones_like(mean)
    return mean, log_var


def _log_weights_fn(x, w, mu, mean, log_var):
    """The estimator's callable: float64 log-weights of PPCA under the proposal N(mean, exp(log_var)).

    The proposal's rows are the images' (x is scored whole in one call: rows_per_call >= len(x) * K).
    """
    @tf.function
    def log_weights(seeds, num_samples):
        eps = tf.cast(tfgen_random.normal_codes_from_seeds(seeds, num_samples, L), tf.float64)
        z = importance.reparameterize(tf.constant(mean), tf.constant(log_var), eps)
        tiled = importance.repeat_rows(tf.constant(x), num_samples)

        def log_likelihood(codes):
            return normal_log_density(tiled, tf.matmul(codes, tf.constant(w.T)) + mu, np.log(S2))

        return importance.gaussian_log_weights(z, mean, log_var, log_likelihood)["log_weight"]

    return lambda images, seeds, num_samples: log_weights(seeds, tf.constant(num_samples)).numpy()


@pytest.fixture(scope="module")
def ppca_data():
    w, mu = _ppca()
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, L)) @ w.T + mu + np.sqrt(S2) * rng.normal(size=(200, D))
    return x, w, mu, _exact_log_likelihood(x, w, mu)


def test_the_estimate_with_the_exact_posterior_is_the_exact_log_likelihood(ppca_data):
    x, w, mu, exact = ppca_data
    mean, log_var = _posterior(x, w, mu)
    for k in (1, 7, 100):
        bound, elbo = importance_weighted_bound(_log_weights_fn(x, w, mu, mean, log_var), x, k, seed=3,
                                                rows_per_call=len(x) * k)
        # float64 throughout: each weight is a sum of ~3D terms of magnitude <= ~30, rounding ~1e-16
        # relative each, far below 1e-9; and every weight equals p(x), so any K gives it.
        np.testing.assert_allclose(bound, exact, rtol=0, atol=1e-9)
        np.testing.assert_allclose(elbo, exact, rtol=0, atol=1e-9)


def test_with_a_worse_proposal_it_is_a_bound_that_rises_with_k(ppca_data):
    x, w, mu, exact = ppca_data
    mean, log_var = _posterior(x, w, mu)
    fn = _log_weights_fn(x, w, mu, mean + 0.4, log_var + 0.8)  # shifted and too wide
    estimates = [importance_weighted_bound(fn, x, k, seed=5, rows_per_call=len(x) * k)[0].mean()
                 for k in (1, 10, 100, 1000)]
    gaps = exact.mean() - np.array(estimates)
    # The gap of L_K shrinks like var(w) / (2 K p^2): with 200 images the mean over images of each
    # estimate has a Monte Carlo error far below these steps (the K = 1 gap, the KL, is ~0.9 nats).
    assert gaps[0] > 0.5, gaps
    assert np.all(np.diff(estimates) > 0), estimates
    assert 0 < gaps[-1] < 0.02 * gaps[0], gaps


def test_chunks_accumulate_to_one_float64_log_sum_exp():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(4, 90)) * 300.0 - 1e4  # far below exp's float64 range: only a rescaled sum holds it
    accumulator = LogMeanExp(4)
    for start in range(0, 90, 25):
        accumulator.add(values[:, start:start + 25])
    top = values.max(axis=1)
    expected = top + np.log(np.exp(values - top[:, None]).mean(axis=1))
    np.testing.assert_allclose(accumulator.log_mean_exp(), expected, rtol=1e-12)
    np.testing.assert_allclose(accumulator.mean(), values.mean(axis=1), rtol=1e-12)


def _tiny_iwae(k, **overrides):
    return create_model("vae", networks="mlp", hidden_units=(16,), num_importance_samples=k, **overrides)


def test_with_one_importance_sample_the_iwae_formula_is_the_vae_loss(seed):
    """k = 1 trains on the ELBO through the VAE's own code; the IWAE's formula at k = 1 gives the same numbers."""
    images = synthetic_dataset(8).batches(8, shuffle=False).take(1).get_single_element()["image"]
    vae = _tiny_iwae(1, seed=0)
    iwae = _tiny_iwae(1, seed=0)
    vae(images)
    iwae(images)
    iwae.set_weights(vae.get_weights())
    elbo = vae.compute_losses({"image": images}, seed=seed)
    # The IWAE path draws the same normals: a (8, 1, 2) stateless draw is the (8, 2) one.
    one = iwae._iwae_losses({"image": images}, seed=seed)
    for name in ("loss", "logpx_z", "logpz", "logqz_x", "kl"):
        # ~550 nats summed over 784 pixels in float32: a few ulps of 550 (6e-5) per reordering.
        np.testing.assert_allclose(float(one[name]), float(elbo[name]), rtol=0, atol=1e-3 * max(1.0, abs(float(elbo[name])) / 100))


def test_the_iwae_gradient_weights_each_codes_gradient_by_its_normalized_weight():
    """d L_k = sum_i w~_i d log w_i, w~ = softmax(log w): Burda et al.'s estimator, from the bound's autodiff."""
    theta = tf.Variable([0.3, -1.2, 2.0])
    features = tf.constant(np.random.default_rng(0).normal(size=(5, 3)), tf.float32)
    with tf.GradientTape(persistent=True) as tape:
        log_weights = tf.reshape(tf.linalg.matvec(features, theta) - tf.reduce_sum(theta ** 2), (1, 5))
        bound = importance.iwae_bound(log_weights)
    gradient = tape.gradient(bound, theta)
    normalized = tf.nn.softmax(log_weights[0])
    expected = tf.reduce_sum(normalized[:, None] * (features - 2.0 * theta[None]), axis=0)
    # float32: a softmax and a 5-term weighted sum of values ~5: rounding ~1e-6.
    np.testing.assert_allclose(gradient.numpy(), expected.numpy(), rtol=0, atol=1e-5)


def _trains_and_resumes_exactly(make_model, folder, kl_metric):
    """Trains `make_model()` for 2 epochs straight and for 1 + 1 resumed; returns the straight trainer after checking
    a finite loss every epoch and exactly the same weights. (4 steps on random images say nothing of progress:
    the MNIST runs of BENCHMARKS_LIKELIHOOD.md do.)"""
    import keras

    data = synthetic_dataset(32)

    def trainer(name, epochs):
        keras.utils.set_random_seed(0)  # networks built when the model is made take their initial weights then
        return Trainer(make_model(), data, str(folder / name), epochs=epochs, batch_size=16, learning_rate=1e-3,
                       verbose=0)

    straight = trainer("straight", 2)
    history = straight.fit()
    assert all(np.isfinite(entry["train/loss"]) and np.isfinite(entry[f"train/{kl_metric}"]) for entry in history)
    trainer("resumed", 1).fit()
    resumed = trainer("resumed", 2)
    resumed.fit(resume=True)
    for expected, actual in zip(straight.model.get_weights(), resumed.model.get_weights()):
        np.testing.assert_array_equal(actual, expected)
    return straight


def test_the_iwae_trains_in_the_loop_and_resumes_exactly(tmp_path):
    _trains_and_resumes_exactly(lambda: _tiny_iwae(4, seed=0), tmp_path, "kl")


def test_the_bound_of_a_trained_vae_is_above_its_elbo_and_rises_with_k():
    import keras

    data = synthetic_dataset(32)
    keras.utils.set_random_seed(0)
    model = _tiny_iwae(1, seed=0)
    model.compile(optimizer=keras.optimizers.Adam(3e-3))
    batches = list(data.batches(16, shuffle=False))
    model.build_from_batch(batches[0])
    train_step = tf.function(model.train_step)
    for step in range(12):
        train_step(batches[step % 2], tf.constant([step, 1], tf.int64))
    bounds = []
    for k in (1, 10, 100, 1000):
        report = likelihood_scores(model, data, num_samples=k, seed=0, batch_size=32, progress=False,
                                   per_image=k == 10)
        bounds.append(report["marginal"]["log_likelihood"])
        if k == 10:
            # The per-image bounds (for paired comparisons) are the ones the mean and its error summarize.
            per_image = np.asarray(report["marginal"]["per_image_log_likelihood"])
            assert per_image.shape == (32,)
            np.testing.assert_allclose(per_image.mean(), report["marginal"]["log_likelihood"], rtol=1e-12)
            np.testing.assert_allclose(per_image.std(ddof=1) / np.sqrt(32),
                                       report["marginal"]["log_likelihood_stderr"], rtol=1e-6)
        else:
            assert "per_image_log_likelihood" not in report["marginal"]
        # The mean log-weight is the ELBO estimate: never above the bound (Jensen, image by image).
        assert report["marginal"]["elbo"] <= report["marginal"]["log_likelihood"] + 1e-9
    # In expectation L_K rises with K; over 32 images each step (0.1 to 1 nats here) is several times the
    # Monte Carlo error of the differences.
    assert np.all(np.diff(bounds) > 0), bounds


# ---------------------------------------------------------------- the CVAE's IWAE bound of log p(x | y)


def _tiny_cvae(k, **overrides):
    return create_model("cvae", analytic_kl=False, num_importance_samples=k, **overrides)


def test_the_cvae_iwae_at_one_sample_is_its_elbo_and_needs_beta_one_and_the_sampled_kl(seed):
    """k = 1: the IWAE terms of the CVAE are its ELBO's (beta = 1, sampled KL), labelled mask included."""
    batch = next(iter(synthetic_dataset(8).batches(8, shuffle=False)))
    batch = {**batch, "labelled": tf.constant([1, 1, 0, 1, 0, 1, 1, 1], tf.float32)}
    model = _tiny_cvae(1, seed=0)
    model.build_from_batch(batch)
    images, mask = batch["image"], batch["labelled"]
    one_hot = model.check_labels(batch["label"], batch_size=8, mask=mask)
    features = model.encoder_features(images)
    elbo, _ = model.negative_elbo(images, one_hot, features, seed=seed, weights=mask)
    # The IWAE path draws the same normals: a (8, 1, 2) stateless draw is the (8, 2) one.
    one, _ = model._iwae_terms(images, one_hot, features, seed=seed, weights=mask)
    for name in ("loss", "reconstruction_loss", "kl_loss"):
        # Values up to ~550 nats (784 pixels) in float32, summed in other orders: a few ulps of 550.
        np.testing.assert_allclose(one[name].numpy(), elbo[name].numpy(), rtol=0, atol=1e-3 * 5.5)
    for bad in ({"analytic_kl": True}, {"beta": 0.5}):
        with pytest.raises(ValueError, match="Pass analytic_kl=False and beta=1"):
            create_model("cvae", **{"analytic_kl": False, "num_importance_samples": 2, **bad})
    with pytest.raises(ValueError, match="num_importance_samples"):
        create_model("ssvae", num_importance_samples=2)


def test_the_cvae_iwae_is_a_tighter_bound_trains_in_the_loop_and_resumes_exactly(tmp_path, seed):
    model = _trains_and_resumes_exactly(lambda: _tiny_cvae(4, seed=0), tmp_path, "kl_loss").model
    # -L_k <= the mean negative ELBO of the same k codes (Jensen, row by row): the loss is the tighter bound.
    # Both sides are ~550 nats in float32 (an ulp is ~6e-5) from a log-sum-exp or a mean of 4 terms: 1e-3 is
    # ~16 ulps of rounding room, far below any real violation.
    batch = next(iter(synthetic_dataset(16).batches(16, shuffle=False)))
    one_hot = model.check_labels(batch["label"])
    terms, _ = model._iwae_terms(batch["image"], one_hot, model.encoder_features(batch["image"]), seed=seed)
    assert np.all(terms["loss"].numpy() <= (terms["reconstruction_loss"] + terms["kl_loss"]).numpy() + 1e-3)
