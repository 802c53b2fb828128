"""The diffusion models (tfgen.models.diffusion): the schedules' arithmetic against NumPy, both samplers against
the true distribution of Gaussian data (whose optimal denoiser is known in closed form), DDIM with eta = 1 on all
T steps against DDPM, guidance, label dropout, the moving average, and the variational bound against the direct
sum of its T terms."""

import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen.models import ConditionalDiffusion, Diffusion
from tfgen.models import diffusion as diffusion_lib
from tfgen.training import make_checkpoint

TINY = {"timesteps": 8, "base_filters": 4, "num_res_blocks": 1, "attention_max_side": 0, "num_levels": 1,
        "sampling_steps": 2, "ema": None}  # the average is built (a second U-Net) where a test reads it


def _built(cls, **kwargs):
    model = cls(**{**TINY, **kwargs})
    model.compile(optimizer=keras.optimizers.Adam(1e-2))
    model.build_from_batch(model.zeros_batch(2))
    return model


# ------------------------------------------------------------------ the schedules


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_linear_schedule_is_ddpms_and_its_arithmetic_matches_numpy():
    betas = diffusion_lib.noise_schedule("linear", 1000)
    np.testing.assert_array_equal(betas, np.linspace(1e-4, 0.02, 1000))  # Ho et al., section 4
    schedule = diffusion_lib.Schedule(betas)
    abar = np.cumprod(1.0 - betas)
    abar_prev = np.concatenate([[1.0], abar[:-1]])
    # float64 on both sides, the same operations in another order: a few ulps of float64.
    np.testing.assert_allclose(schedule.alphas_cumprod, abar, rtol=1e-13)
    np.testing.assert_allclose(schedule.posterior_variance, betas * (1 - abar_prev) / (1 - abar), rtol=1e-13)
    # Posterior mean: q(x_{t-1} | x_t, x_0) from Bayes' rule on two Gaussians, written another way.
    precision = 1.0 / (1.0 - abar_prev) + (1.0 - betas) / betas
    mean_x0 = np.sqrt(abar_prev) / (1.0 - abar_prev) / precision
    mean_xt = np.sqrt(1.0 - betas) / betas / precision
    np.testing.assert_allclose(schedule.posterior_mean_x0[1:], mean_x0[1:], rtol=1e-10)
    np.testing.assert_allclose(schedule.posterior_mean_xt[1:], mean_xt[1:], rtol=1e-10)
    np.testing.assert_allclose(schedule.posterior_variance[1:], 1.0 / precision[1:], rtol=1e-10)
    # The float32 constants the graph reads are these values rounded once.
    gathered = schedule.gather("alphas_cumprod", tf.constant([0, 499, 999])).numpy().ravel()
    np.testing.assert_array_equal(gathered, abar[[0, 499, 999]].astype(np.float32))


def test_cosine_schedule_follows_its_closed_form():
    timesteps = 1000
    betas = diffusion_lib.noise_schedule("cosine", timesteps)
    f = np.cos((np.arange(timesteps + 1) / timesteps + 0.008) / 1.008 * np.pi / 2) ** 2
    abar = diffusion_lib.Schedule(betas).alphas_cumprod
    unclipped = betas < diffusion_lib.MAX_BETA  # Nichol & Dhariwal clip beta at 0.999 (only the last steps)
    assert unclipped[: timesteps - 1].all()
    # A cumulative product of 999 float64 factors against a ratio: 999 roundings of 2**-53 each at most.
    np.testing.assert_allclose(abar[: timesteps - 1], (f[1:] / f[0])[: timesteps - 1], rtol=1000 * 2.0**-52)
    assert betas.max() <= diffusion_lib.MAX_BETA


def test_schedule_and_sampler_arguments_are_checked():
    with pytest.raises(ValueError, match="schedule"):
        Diffusion(schedule="quadratic", **{k: v for k, v in TINY.items()})
    with pytest.raises(ValueError, match="sampling_steps"):
        Diffusion(**{**TINY, "sampling_steps": 9})
    model = _built(Diffusion)
    with pytest.raises(ValueError, match=r"steps must be in \[1, 8\]"):
        model.sample_seeds(tf.constant([1], tf.int64), steps=9)
    with pytest.raises(ValueError, match=r"eta must be in \[0, 1\]"):
        model.sample_seeds(tf.constant([1], tf.int64), eta=1.5)


def test_ddim_timesteps_are_even_descending_and_all_of_them_at_s_equal_t():
    np.testing.assert_array_equal(diffusion_lib.ddim_timesteps(1000, 1000).numpy(), np.arange(999, -1, -1))
    sequence = diffusion_lib.ddim_timesteps(1000, 50).numpy()
    assert sequence[0] == 999 and sequence[-1] == 0 and len(set(sequence)) == 50
    assert np.all(np.diff(sequence) < 0) and np.ptp(np.diff(sequence)) <= 1  # evenly spaced, up to rounding


# ------------------------------------------------- both samplers on Gaussian data


def _sample(schedule, seeds, steps, eta, ddpm=False):
    """`reverse_loop` with the optimal denoiser, traced once (eagerly its loop would run op by op)."""
    function = tf.function(lambda: diffusion_lib.reverse_loop(schedule, _optimal_noise(schedule), seeds, SHAPE, steps,
                                                              eta, ddpm=ddpm), autograph=False)
    return function().numpy()

MEAN, STD, SHAPE = 0.2, 0.15, (8, 8, 1)  # pixels ~ N(0.2, 0.15^2) iid in the model's [-1, 1] range


def _optimal_noise(schedule):
    """E[eps | x_t] for x_0 ~ N(MEAN, STD^2) per pixel: x_t = a x_0 + b eps is Gaussian, so the regression of eps
    on x_t is linear: b (x_t - a MEAN) / (a^2 STD^2 + b^2)."""
    def noise_fn(images, timesteps):
        abar = schedule.gather("alphas_cumprod", timesteps)
        a, b2 = tf.sqrt(abar), 1.0 - abar
        return tf.sqrt(b2) * (images - a * MEAN) / (abar * STD**2 + b2)

    return noise_fn


def _sampler_moments(schedule, sequence, eta, ddpm):
    """The exact mean and variance of the sampler's output with the optimal denoiser (float64): every update is
    affine in x plus Gaussian noise (clipping x_0 never acts here: the predicted x_0 stays within 6 standard
    deviations of MEAN), so the moments propagate in closed form."""
    mean, variance = 0.0, 1.0
    abar_all = schedule.alphas_cumprod
    for index, t in enumerate(sequence):
        abar = abar_all[t]
        a, b2 = math.sqrt(abar), 1.0 - abar
        # eps = c (x - a MEAN), x0 = (x - sqrt(b2) eps) / a: both affine in x.
        c = math.sqrt(b2) / (abar * STD**2 + b2)
        x0_slope, x0_shift = (1.0 - math.sqrt(b2) * c) / a, math.sqrt(b2) * c * a * MEAN / a
        if ddpm:
            slope = schedule.posterior_mean_x0[t] * x0_slope + schedule.posterior_mean_xt[t]
            shift = schedule.posterior_mean_x0[t] * x0_shift
            noise = schedule.posterior_variance[t] if t > 0 else 0.0
        else:
            abar_prev = abar_all[sequence[index + 1]] if index + 1 < len(sequence) else 1.0
            noise = eta**2 * (1 - abar_prev) / b2 * (1 - abar / abar_prev)
            direction = math.sqrt(max(1 - abar_prev - noise, 0.0))
            eps_slope, eps_shift = c, -c * a * MEAN  # eps recomputed from the (unclipped) x0 is eps itself
            slope = math.sqrt(abar_prev) * x0_slope + direction * eps_slope
            shift = math.sqrt(abar_prev) * x0_shift + direction * eps_shift
        mean, variance = slope * mean + shift, slope**2 * variance + noise
    return mean, variance


@pytest.mark.parametrize("sampler", ["ddpm", "ddim_eta0", "ddim_eta1"])
def test_samplers_draw_the_distribution_of_gaussian_data(sampler):
    schedule = diffusion_lib.Schedule(diffusion_lib.noise_schedule("linear", 100))
    ddpm, eta, steps = sampler == "ddpm", 1.0 if sampler == "ddim_eta1" else 0.0, 100 if sampler != "ddim_eta0" else 20
    seeds = tf.range(1, 2001, dtype=tf.int64)
    values = _sample(schedule, seeds, steps, eta, ddpm).astype(np.float64).ravel()  # 2000 images x 64 iid pixels
    sequence = list(range(99, -1, -1)) if ddpm else list(diffusion_lib.ddim_timesteps(100, steps).numpy())
    mean, variance = _sampler_moments(schedule, sequence, eta, ddpm)
    n = values.size
    # Monte Carlo: the sample mean's standard error is sqrt(var / n), the sample variance's var * sqrt(2 / n);
    # 5 standard errors (float32 round-off, ~1e-6 per value, is far below both).
    assert abs(values.mean() - mean) < 5 * math.sqrt(variance / n)
    assert abs(values.var() - variance) < 5 * variance * math.sqrt(2.0 / n)
    assert abs(mean - MEAN) < 0.01  # and the mean is the data's (the spread converges with T below)


@pytest.mark.parametrize("schedule_name", ["linear", "cosine"])
def test_the_samplers_output_converges_to_the_data_distribution(schedule_name):
    """The exact output distribution of both samplers (the moments above, checked against the implementation by
    sampling) approaches the data's N(MEAN, STD^2) as the steps grow: DDPM's reverse variance beta~_t misses the
    share of Var(x_0 | x_t), DDIM's deterministic update discretizes an ODE, and both errors shrink with the step."""
    schedule = diffusion_lib.Schedule(diffusion_lib.noise_schedule(schedule_name, 1000))
    _, variance = _sampler_moments(schedule, list(range(999, -1, -1)), 1.0, ddpm=True)
    assert abs(math.sqrt(variance) - STD) < 0.03 * STD  # T = 1000: within 3% (linear 2.5%, cosine 1.3%)
    errors = []
    for steps in (10, 50, 250):
        sequence = list(diffusion_lib.ddim_timesteps(1000, steps).numpy())
        mean, variance = _sampler_moments(schedule, sequence, 0.0, ddpm=False)
        assert abs(mean - MEAN) < 1e-3
        errors.append(abs(math.sqrt(variance) - STD))
    assert errors[0] > errors[1] > errors[2] and errors[2] < 0.04 * STD  # 250 DDIM steps: within 4%


def test_ddim_with_eta_one_on_all_steps_is_ddpm():
    """The same seeds through DDIM (eta = 1, S = T) and DDPM's ancestral sampler: the same images, since DDIM's
    update with sigma_t^2 = beta~_t is DDPM's posterior mean written another way (Song et al. 2021, section 4.1)."""
    schedule = diffusion_lib.Schedule(diffusion_lib.noise_schedule("cosine", 50))
    seeds = tf.range(1, 65, dtype=tf.int64)
    ddim, ddpm = _sample(schedule, seeds, 50, 1.0), _sample(schedule, seeds, 50, 1.0, ddpm=True)
    # The two updates round differently: ~10 float32 operations per step, each within 2**-24 relative of values of
    # magnitude ~1, over 50 steps whose updates shrink differences (|slope| <= 1): 50 * 10 * 2**-24 < 2**-14.
    np.testing.assert_allclose(ddim, ddpm, rtol=0, atol=2.0**-14)
    eta0 = _sample(schedule, seeds, 50, 0.0)
    assert np.abs(eta0 - ddpm).max() > 0.05  # eta = 0 is another sampler: the check above can fail


# ------------------------------------------------------------ the models


def test_guidance_combines_the_conditional_and_null_class_noise():
    model = _built(ConditionalDiffusion, num_classes=3, label_dropout=0.2)
    images = tf.random.stateless_normal([4, 28, 28, 1], seed=[1, 2])
    timesteps, labels = tf.constant([0, 3, 5, 7]), tf.constant([0, 1, 2, 1])
    conditional = model.predict_noise(images, timesteps, labels).numpy()
    unconditional = model.predict_noise(images, timesteps, tf.fill([4], 3)).numpy()
    assert np.abs(conditional - unconditional).max() > 1e-3  # the label reaches the network
    later = model.predict_noise(images, timesteps + 1, labels).numpy()
    assert np.abs(conditional - later).max() > 1e-3  # and so does the timestep (a group norm could erase both)
    guided = model.guided_noise(labels, 2.5)(images, timesteps).numpy()
    # One network call of 8 rows against two of 4 (another kernel blocking), then 3 float32 operations on values
    # of magnitude ~1: a few ulps of the outputs, 2**-18 with room.
    np.testing.assert_allclose(guided, 3.5 * conditional - 2.5 * unconditional, rtol=0, atol=2.0**-16)
    np.testing.assert_array_equal(model.guided_noise(labels, 0.0)(images, timesteps).numpy(), conditional)


def test_label_dropout_trains_on_the_null_class_at_its_rate():
    model = ConditionalDiffusion(num_classes=10, label_dropout=0.1, **TINY)
    labels = model.network_labels({"label": tf.zeros([20000], tf.int64)}, tf.constant([3, 4], tf.int64)).numpy()
    assert set(np.unique(labels)) == {0, 10}
    rate = (labels == 10).mean()
    assert abs(rate - 0.1) < 5 * math.sqrt(0.1 * 0.9 / 20000)
    with pytest.raises(ValueError, match="label_dropout"):
        ConditionalDiffusion(label_dropout=1.0, **TINY)


def test_the_average_follows_the_network_by_the_shared_rule(tmp_path):
    model = _built(Diffusion, ema=0.9)
    batch = {"image": tf.random.stateless_uniform([4, 28, 28, 1], seed=[5, 6])}
    before = [w.numpy() for w in model.network_average.weights]
    model.train_step(batch, tf.constant([1, 2], tf.int64))
    decay = min(0.9, 2.0 / 11.0)  # after update t = 1: min(decay, (1 + t) / (10 + t))
    for average, start, live in zip(model.network_average.weights, before, model.network.weights):
        # One float32 update a - (1 - d)(a - w): a couple of roundings of values ~1 (the weights' scale).
        np.testing.assert_allclose(average.numpy(), decay * start + (1 - decay) * live.numpy(), rtol=0,
                                   atol=4 * 2.0**-24 * max(1.0, float(np.abs(start).max())))
    assert not model.network_average.trainable_variables
    # Samples come from the average: the same seed through the trained network gives other images.
    seeds = tf.constant([1, 2], tf.int64)
    averaged = model.sample_seeds(seeds).numpy()
    model.network_average, kept = None, model.network_average
    assert np.abs(model.sample_seeds(seeds).numpy() - averaged).max() > 1e-4
    model.network_average = kept
    # The average's weights travel with the model (the conformance descriptors' diffusion models have
    # none): a checkpoint and a .keras file restore them, and the reloaded model samples the same images.
    path = make_checkpoint(model, model.optimizer).save(str(tmp_path / "ckpt"))
    restored = _built(Diffusion, ema=0.9)
    make_checkpoint(restored, restored.optimizer).restore(path).assert_consumed()
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    for other in (restored, loaded):
        for expected, actual in zip(model.network_average.variables, other.network_average.variables):
            np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=expected.path)
    np.testing.assert_array_equal(loaded.sample_seeds(seeds).numpy(), averaged)


def test_conditional_samples_need_labels_and_the_unconditional_refuse_them():
    with pytest.raises(ValueError, match="labels"):
        _built(ConditionalDiffusion, num_classes=3).sample_seeds(tf.constant([1], tf.int64))
    with pytest.raises(ValueError, match="unconditional"):
        _built(Diffusion).sample_from_seeds([1, 2], labels=[0, 1])


# ------------------------------------------------------------ the variational bound


def test_the_bound_estimate_is_unbiased_for_the_sum_of_its_terms():
    """The estimate L_T + L_0 + (term at t ~ p(t), proportional to 1/t) / p(t) against the direct sum L_T + sum_t
    (term at t), both averaged over the noise: they agree within the Monte Carlo error of the two averages. (At
    T = 6 the terms are alike, so this does not see the weight 1/p(t): the next test does.)"""
    model = _built(Diffusion, timesteps=6)
    images = tf.round(tf.random.stateless_uniform([2, 28, 28, 1], seed=[7, 8]) * 255.0) / 255.0
    draws = 150
    repeated = tf.repeat(images, draws, axis=0)
    # Traced (eagerly, the per-seed draws of 300 rows run one by one, 2.8 of the test's 8 s).
    bound, terms = tf.function(model.variational_bound), tf.function(model.bound_terms)
    noise_from_seeds = tf.function(lambda seeds: diffusion_lib.noise_from_seeds(seeds, model.image_shape, 99))
    estimates = bound(repeated, tf.range(1, 2 * draws + 1, dtype=tf.int64)).numpy()
    estimates = estimates.reshape(2, draws)
    direct, direct_var = np.zeros(2), np.zeros(2)
    for t in range(model.timesteps):
        noise = noise_from_seeds(tf.range(1000 * t, 1000 * t + 2 * draws, dtype=tf.int64))
        prior, term = terms(repeated, tf.fill([2 * draws], t), noise)
        term = term.numpy().reshape(2, draws)
        direct += term.mean(axis=1)
        direct_var += term.var(axis=1) / draws
    direct += prior.numpy().reshape(2, draws)[:, 0]
    error = np.sqrt(estimates.var(axis=1) / draws + direct_var)
    assert np.all(np.abs(estimates.mean(axis=1) - direct) < 5 * error), (estimates.mean(axis=1), direct, error)
    assert np.all(estimates > 0)


class _KnownTerms(Diffusion):
    """A diffusion model whose bound terms are fixed numbers (no network): L_T = 1, L_0 = 300 and the t-th KL term
    50 / t^1.5, the shape of a trained model's (they fall about as 1/t; L_0 is the largest)."""

    def bound_terms(self, images, timesteps, noise, labels=None):
        t = tf.cast(timesteps, tf.float32)
        return tf.ones_like(t), tf.where(tf.equal(timesteps, 0), 300.0, 50.0 / tf.maximum(t, 1.0) ** 1.5)


def test_the_bound_draws_t_with_the_probabilities_it_divides_by():
    """With terms known in closed form at T = 1000, the mean of 4,000 one-draw estimates is L_T + L_0 + the sum of
    the KL terms within 4 standard errors. The weight must be the drawn t's own 1/p(t): T - 1 (the uniform draw's
    weight) instead gives 1 + 300 + 999 * E_p[term] = 9,254 against the sum's 428.5 (and the test of the model
    above, at T = 6 with similar terms, could not tell them apart). Float error is far below the Monte Carlo
    error: 4,000 float32 estimates of at most ~10^4, each a few roundings (relative 2**-24), summed in float64."""
    model = _KnownTerms(timesteps=1000, **{key: value for key, value in TINY.items() if key != "timesteps"})
    draws = 4000
    estimates = tf.function(model.variational_bound)(tf.zeros([draws, 28, 28, 1]),
                                                      tf.range(draws, dtype=tf.int64)).numpy().astype(np.float64)
    expected = 1.0 + 300.0 + np.sum(50.0 / np.arange(1, 1000, dtype=np.float64) ** 1.5)
    error = estimates.std(ddof=1) / math.sqrt(draws)
    assert abs(estimates.mean() - expected) < 4 * error, (estimates.mean(), expected, error)
    assert error < 0.02 * expected  # 1/t draws: a per-draw spread of 120 nats here (a uniform t's: 1,728)
    _, probabilities = model.bound_proposal()
    assert probabilities.shape == (999,) and abs(float(np.sum(probabilities)) - 1.0) < 1e-6  # 999 float32 masses
    assert np.all(np.diff(probabilities) <= 0)  # proportional to 1/t: falling


def test_the_prior_term_and_the_decoder_match_their_closed_forms():
    model = _built(Diffusion, timesteps=6)
    images = tf.constant(np.linspace(0, 1, 784, dtype=np.float32).reshape(1, 28, 28, 1))
    x0 = np.round(images.numpy().astype(np.float64) * 255) / 255 * 2 - 1
    abar = model.forward_process.alphas_cumprod[-1]
    mean, variance = np.sqrt(abar) * x0, 1 - abar
    expected_prior = 0.5 * np.sum(variance + mean**2 - 1 - np.log(variance))
    prior, _ = model.bound_terms(images, tf.constant([0]), tf.zeros([1, 28, 28, 1]))
    # 784 float32 terms of magnitude < 1 summed: 784 * 2**-24 relative of the sum, 1e-4 with room.
    np.testing.assert_allclose(prior.numpy()[0], expected_prior, rtol=1e-4)
    # The discretized Gaussian gives each 8-bit level the Gaussian's mass over its bin: the levels sum to 1.
    levels = tf.constant(np.arange(256, dtype=np.float32) / 255 * 2 - 1)
    total = tf.reduce_sum(tf.exp(diffusion_lib.discretized_gaussian_log_prob(levels, 0.1, math.log(0.3))))
    assert abs(float(total) - 1.0) < 1e-5  # 256 float32 terms summed


# ------------------------------------------------------------ exporting with other sampler settings


def test_export_set_changes_the_sampler_defaults_and_nothing_else(tmp_path, capsys):
    """`tfgen export --set` rebuilds the run's model with other `sampling_options` (the export's `sample` signature
    samples as its model does: test_saved_model.py) and refuses any other option in one line, writing nothing."""
    import json

    from conftest import cli_error, synthetic_dataset
    from tfgen import cli
    from tfgen.training import Trainer

    model = ConditionalDiffusion(num_classes=10, **TINY)  # one eager step: a run folder, cheaply
    Trainer(model, synthetic_dataset(8), str(tmp_path / "run"), epochs=1, batch_size=8, seed=0, verbose=0,
            eager=True).fit()
    out = str(tmp_path / "saved_models")
    err = cli_error(capsys, ["export", str(tmp_path / "run"), "--name", "m", "--saved-models-dir", out,
                             "--set", "base_filters=8"])
    assert "cannot export with other base_filters" in err and "sampling_steps, eta, guidance_scale" in err
    assert not os.path.exists(os.path.join(out, "m", "1"))
    assert cli.main(["export", str(tmp_path / "run"), "--name", "m", "--saved-models-dir", out,
                     "--set", "guidance_scale=2.5", "--set", "sampling_steps=3"]) == 0
    with open(os.path.join(out, "m", "1", "tfgen_manifest.json")) as stream:
        manifest = json.load(stream)
    assert manifest["model_config"]["guidance_scale"] == 2.5 and manifest["model_config"]["sampling_steps"] == 3
    assert manifest["model_config"]["base_filters"] == TINY["base_filters"]
    assert manifest["training"]["export_settings"] == {"guidance_scale": 2.5, "sampling_steps": 3}
