"""The VampPrior (Tomczak and Welling 2018): the mixture density against NumPy, the prior in the VAE's
bounds, and samples drawn from the mixture.

Tolerances: the reference computes in float64 on the same float32 inputs, so
the difference is the float32 rounding of the result (2**-24 of its size) and
of the float64 terms before it (1e-16 of their size, far below): 4 float32
ulps of max(|reference|, 1).
"""

import numpy as np
import pytest
import tensorflow as tf

from conftest import example_batch
from tfgen import losses
from tfgen.models import VAE

EPS32 = float(np.finfo(np.float32).eps)


def _reference_mixture(z, means, log_vars):
    """log (1/K) sum_k N(z; means[k], exp(log_vars[k])) in float64, broadcasting over (rows, K, dim)."""
    z, means, log_vars = (np.asarray(a, np.float64) for a in (z, means, log_vars))
    log_components = -0.5 * (np.log(2 * np.pi) + log_vars[None] + (z[:, None] - means[None]) ** 2
                             / np.exp(log_vars[None])).sum(-1)
    top = log_components.max(1)
    return top + np.log(np.exp(log_components - top[:, None]).mean(1))


def _tolerance(reference):
    return 4 * EPS32 * np.maximum(np.abs(reference), 1.0)


def test_mixture_density_matches_numpy_with_narrow_components():
    rng = np.random.default_rng(0)
    means = rng.normal(size=(9, 5)).astype(np.float32) * 3
    # Variances down to e^-9 (1.2e-4): the expanded square's terms reach 1e5 and cancel to under 1; float32
    # arithmetic would lose a hundredth of a nat there.
    log_vars = rng.uniform(-9.0, 1.0, size=(9, 5)).astype(np.float32)
    near = means[rng.integers(0, 9, size=20)] + 0.01 * rng.normal(size=(20, 5)).astype(np.float32)
    z = np.concatenate([near, rng.normal(size=(20, 5)).astype(np.float32) * 3])
    reference = _reference_mixture(z, means, log_vars)
    got = losses.normal_mixture_log_density(z, means, log_vars).numpy()
    assert got.dtype == np.float32 and got.shape == (40,)
    np.testing.assert_array_less(np.abs(got - reference), _tolerance(reference))


def test_mixture_density_keeps_leading_axes_and_one_component_is_the_gaussian():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(3, 4, 2)).astype(np.float32)
    mean, log_var = rng.normal(size=(1, 2)).astype(np.float32), rng.normal(size=(1, 2)).astype(np.float32)
    mixture = losses.normal_mixture_log_density(z, mean, log_var).numpy()
    single = losses.normal_log_density(z, mean[0], log_var[0]).numpy()
    assert mixture.shape == (3, 4)
    np.testing.assert_allclose(mixture, single, rtol=0, atol=float(_tolerance(single).max()) * 4)


def test_mixture_density_refuses_components_of_another_size():
    with pytest.raises(ValueError, match=r"means must have shape \(components, 3\)"):
        losses.normal_mixture_log_density(np.zeros((2, 3), np.float32), np.zeros((4, 2), np.float32),
                                          np.zeros((4, 2), np.float32))


def _vamp(**kwargs):
    model = VAE(**{"latent_dim": 3, "prior": "vamp", "num_pseudo_inputs": 5, **kwargs})
    batch = example_batch(model, size=6)
    model.build_from_batch(batch)
    rng = np.random.default_rng(2)
    # Pseudo-inputs apart from each other (and some pixels outside [0, 1], which the prior clips).
    model.pseudo_inputs.pseudo_inputs.assign(rng.uniform(-0.2, 1.2, size=(5, 28, 28, 1)).astype(np.float32))
    return model, batch


def _numpy_prior(model):
    pseudo = np.clip(model.pseudo_inputs.pseudo_inputs.numpy(), 0.0, 1.0)
    means, log_vars = model.encoder(pseudo)
    return means.numpy(), log_vars.numpy()


@pytest.mark.parametrize("networks,k", [("conv", 1), ("mlp", 3)])
def test_the_bounds_use_the_mixture_of_the_encoder_at_the_pseudo_inputs(networks, k):
    """log p(z) of the ELBO (k = 1) and of the IWAE's weights (k = 3) is the mixture of q(z|u_k), on the
    same codes z; the warm-up weighs log p(z) - log q(z|x) of the training step only (below)."""
    model, batch = _vamp(networks=networks, num_importance_samples=k, kl_warmup_steps=4)
    means, log_vars = _numpy_prior(model)
    images = batch["image"]
    eps = np.random.default_rng(3).normal(size=(6, 4, 3)).astype(np.float32)
    terms, _ = model.importance_terms(images, eps)
    z_mean, z_log_var = (t.numpy() for t in model.encode(images))
    z = z_mean[:, None] + np.exp(0.5 * z_log_var)[:, None] * eps
    reference = _reference_mixture(z.reshape(-1, 3), means, log_vars).reshape(6, 4)
    np.testing.assert_array_less(np.abs(terms["logpz"].numpy() - reference), 8 * _tolerance(reference))
    # N(0, I) in its place would be caught: it differs by thousands of times the tolerance (the untrained
    # encoder's posteriors are near N(0, I), so by tenths of a nat, not more).
    standard = -0.5 * (np.log(2 * np.pi) + z ** 2).sum(-1)
    assert np.abs(standard - reference).max() > 1000 * 8 * _tolerance(reference).max()

    _check_warm_up(model, batch, k)


def _check_warm_up(model, batch, k):
    """beta = min(1, (step + 1) / n) on log p(z) - log q(z|x) of the ELBO (k = 1) and of every importance
    weight (k = 3); the test metrics (training=False) keep the bound itself."""
    import keras

    model.optimizer = keras.optimizers.Adam(1e-3)
    model.optimizer.build(model.trainable_variables)
    seed = tf.constant([8, 9], tf.int64)
    eps = tf.random.stateless_normal([6, k, 3], seed=seed)  # the draws of compute_losses(seed=seed)
    for step, beta in ((0, 0.25), (2, 0.75), (3, 1.0), (9, 1.0)):
        model.optimizer.iterations.assign(step)
        metrics = model.compute_losses(batch, seed=seed, training=True)
        assert float(metrics["kl_weight"]) == beta
        terms, _ = model.importance_terms(batch["image"], eps)
        annealed = (terms["logpx_z"] + beta * (terms["logpz"] - terms["logqz_x"])).numpy().astype(np.float64)
        top = annealed.max(1, keepdims=True)
        expected = -np.mean(top[:, 0] + np.log(np.exp(annealed - top).mean(1)))
        # ~550 nats: a few float32 ulps (6e-5 each) per reordering of the same sums.
        np.testing.assert_allclose(float(metrics["loss"]), expected, rtol=0, atol=2e-3)
    test = model.compute_losses(batch, seed=seed, training=False)
    assert float(test["kl_weight"]) == 1.0
    assert "kl_weight" not in VAE(latent_dim=3).metric_names and "kl_weight" in model.metric_names


def test_samples_are_drawn_from_the_mixture():
    """The codes behind `sample` and `sample_from_seeds` have the mixture's mean and per-dimension variance
    (within 5 standard errors over 4,000 codes): each component is picked uniformly, then z ~ q(z|u_k).
    The components are set apart (means up to 4, variances 0.05 to 1), so N(0, I) or one component in
    their place fails; the bounds' test above checks that they are the encoder's at the pseudo-inputs."""
    model, _ = _vamp()
    rng = np.random.default_rng(4)
    means = rng.uniform(-4.0, 4.0, size=(5, 3)).astype(np.float32)
    log_vars = rng.uniform(-3.0, 0.0, size=(5, 3)).astype(np.float32)
    model.prior_components = lambda training=False: (tf.constant(means), tf.constant(log_vars))
    mixture_mean = means.mean(0)
    mixture_var = (np.exp(log_vars) + means ** 2).mean(0) - mixture_mean ** 2
    # The variance of a sample variance is (m4 - s^4) / n < m4 / n, m4 the mixture's 4th central moment.
    centred = means - mixture_mean
    fourth = (centred ** 4 + 6 * centred ** 2 * np.exp(log_vars) + 3 * np.exp(log_vars) ** 2).mean(0)
    model.decode = lambda z, **kwargs: z  # the codes themselves
    codes = [tf.function(model.draw_batch)(4000, seed=tf.constant([6, 7], tf.int64)).numpy(),
             tf.function(model.draw_from_seeds)(tf.range(4000, dtype=tf.int64)).numpy()]
    for drawn in codes:
        assert drawn.shape == (4000, 3)
        np.testing.assert_array_less(np.abs(drawn.mean(0) - mixture_mean), 5 * np.sqrt(mixture_var / 4000))
        np.testing.assert_array_less(np.abs(drawn.var(0) - mixture_var), 5 * np.sqrt(fourth / 4000))


def test_vamp_refuses_the_analytic_kl_and_an_unknown_prior():
    with pytest.raises(ValueError, match="VampPrior .* has no closed form"):
        VAE(prior="vamp", analytic_kl=True)
    with pytest.raises(ValueError, match="prior"):
        VAE(prior="vampprior")
    with pytest.raises(ValueError, match="num_pseudo_inputs"):
        VAE(prior="vamp", num_pseudo_inputs=0)
    with pytest.raises(ValueError, match="prior_components is the VampPrior's"):
        VAE().prior_components()
