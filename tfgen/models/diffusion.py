"""Denoising diffusion models: DDPM, its DDIM sampler, and class-conditional guidance without a classifier.

Ho, Jain and Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS
2020 (DDPM); Song, Meng and Ermon, "Denoising Diffusion Implicit Models",
ICLR 2021 (DDIM); Nichol and Dhariwal, "Improved Denoising Diffusion
Probabilistic Models", ICML 2021 (the cosine schedule); Ho and Salimans,
"Classifier-Free Diffusion Guidance", 2022.

The forward process adds Gaussian noise in T steps with variances beta_t:

    q(x_t | x_0) = N(sqrt(abar_t) x_0, (1 - abar_t) I),  abar_t = prod_{s<=t} (1 - beta_s),

on images rescaled to [-1, 1]. A U-Net (`tfgen.networks.UNet`) predicts the
noise eps of x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps from x_t and t,
trained on the "simple" loss E_{t, x_0, eps} ||eps - eps_theta(x_t, t)||^2
(Ho et al., Eq. 14), t uniform. Code indexes the timesteps 0 .. T-1 (the
paper's 1 .. T).

Sampling runs the reverse process from x_T ~ N(0, I), inside the graph
(`tf.while_loop`), so the export's `sample` signature answers one request
with finished images:

* `sample_ddpm`: ancestral sampling (Ho et al., Algorithm 2) through the
  posterior q(x_{t-1} | x_t, x_0) with x_0 predicted (and clipped to
  [-1, 1]), variance beta~_t;
* `sample_ddim`: DDIM on any S <= T evenly spaced timesteps with
  stochasticity eta (0: deterministic; 1 with S = T: DDPM's sampler);
* `sample` (every tfgen model's signature): DDIM with the model's
  `sampling_steps`, `eta` and (conditional) `guidance_scale`.

Randomness per image: image i's starting noise and its noise at the k-th
step of the loop are drawn from seed i alone (`noise_from_seeds`), so a seed
gives the same image whatever else is in the request.

The conditional model (`ConditionalDiffusion`) drops the label with
probability `label_dropout` while training (the U-Net's null class K), and
samples with the guided noise (Ho & Salimans, Eq. 6)

    eps~ = (1 + w) eps_theta(x_t, t, y) - w eps_theta(x_t, t, K),

w the guidance scale (0: the conditional model alone).

The variational bound (Ho et al., Eq. 5) on 8-bit images, in nats:

    -log p(x_0) <= L_T + sum_{t=2}^{T} L_{t-1} + L_0,

L_T = KL(q(x_T|x_0) || N(0, I)), L_{t-1} = KL(q(x_{t-1}|x_t, x_0) ||
p_theta(x_{t-1}|x_t)) with p_theta's variance beta~_t, and L_0 = -log
p_theta(x_0|x_1) under the discretized Gaussian decoder (Eq. 13) with
variance beta~_2. `variational_bound` estimates it per image without bias
from one timestep drawn per seed: L_T and L_0 computed, and one of the T - 1
KL terms drawn by importance, t ~ p(t) proportional to 1/t on 1 .. T-1 (code
index), weighted 1/p(t): L_T + L_0 + (the t-th term) / p(t). The terms fall
about as 1/t (the shipped MNIST model's, mean over 50 test images: 519 nats
for L_0, 94 at t = 1, 9.1 at t = 10, 0.52 at t = 100, 0.058 at t = 500). A
uniform t (T * the t-th term, what exports before this estimator hold) gives
one image's estimate a standard deviation near sqrt(1/T) * T * L_0, 16,000
nats, nearly all of it from drawing L_0 one time in T; this one's was 228
nats (20 test images, 25 draws each), for two U-Net passes instead of one.

An exponential moving average of the U-Net's weights (`ema`, the shared
mechanism of `tfgen.models.ema`) is what samples, the bound and the export
use; training uses the trained network.
"""

import dataclasses
import math

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.models import ema as ema_lib
from tfgen.models.base import GenerativeModel, Recipe, run_if
from tfgen.models.gan import to_model_range, to_pixel_range
from tfgen.models.registry import register_model
from tfgen.networks.unet import UNet

SCHEDULES = ("linear", "cosine")
#: DDPM's linear schedule at T = 1000: beta from 1e-4 to 0.02 (scaled by 1000 / T for other T, as Nichol &
#: Dhariwal do, so that the schedule spans the same noise levels).
LINEAR_BETAS = (1e-4, 0.02)
#: The cosine schedule's offset s (Nichol & Dhariwal, Eq. 17) and its largest beta.
COSINE_OFFSET, MAX_BETA = 0.008, 0.999
#: The 8-bit decoder's levels: bins of width 2 / 255 on [-1, 1].
LEVELS = 256
_START_STREAM = 0x3C6EF372  # the salt of x_T; the k-th step's noise is drawn on stream _START_STREAM + 1 + k
_TIME_SALT = 0x6A09E667
_BOUND_NOISE_SALT = 0x510E527F


def noise_schedule(schedule, timesteps):
    """The betas (float64 NumPy, (T,)) of the `schedule` ("linear" or "cosine") with `timesteps` steps."""
    schedule = _checks.choice("schedule", schedule, SCHEDULES)
    timesteps = _checks.integer("timesteps", timesteps, minimum=2)
    if schedule == "linear":
        scale = 1000.0 / timesteps
        return np.linspace(LINEAR_BETAS[0] * scale, min(LINEAR_BETAS[1] * scale, MAX_BETA), timesteps,
                           dtype=np.float64)
    steps = np.arange(timesteps + 1, dtype=np.float64) / timesteps
    alphas_cumprod = np.cos((steps + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
    return np.minimum(1.0 - alphas_cumprod[1:] / alphas_cumprod[:-1], MAX_BETA)


class Schedule:
    """The arithmetic of a noise schedule (float64 NumPy, then float32 constants), indexed by t in [0, T).

    Attributes (each (T,)): `betas`, `alphas_cumprod` (abar_t), `alphas_cumprod_prev` (abar_{t-1}, 1 at t = 0),
    `posterior_variance` (beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t)), `posterior_mean_x0` and
    `posterior_mean_xt` (the coefficients of x_0 and x_t in the mean of q(x_{t-1} | x_t, x_0), Ho et al. Eq. 7).
    """

    def __init__(self, betas):
        betas = np.asarray(betas, np.float64)
        self.timesteps = len(betas)
        self.betas = betas
        alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(alphas)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        self.posterior_variance = betas * (1.0 - self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_mean_x0 = betas * np.sqrt(self.alphas_cumprod_prev) / (1.0 - self.alphas_cumprod)
        self.posterior_mean_xt = (1.0 - self.alphas_cumprod_prev) * np.sqrt(alphas) / (1.0 - self.alphas_cumprod)

    def gather(self, name, timesteps):
        """The (batch,) float32 values of array `name` at the int timesteps, shaped (batch, 1, 1, 1)."""
        values = tf.gather(tf.constant(getattr(self, name), tf.float32), tf.cast(timesteps, tf.int32))
        return tf.reshape(values, [-1, 1, 1, 1])


def noise_from_seeds(seeds, shape, stream):
    """One N(0, I) array of `shape` per int64 seed, on the int64 `stream`: (N, *shape), row i a function of seeds[i]
    and the stream alone (the sampler's per-image noise: stream k for the k-th step)."""
    seeds = tf.cast(seeds, tf.int64)
    stream = tf.cast(stream, tf.int64)
    return tf.map_fn(lambda seed: tf.random.stateless_normal(shape, seed=tf.stack([seed, stream])), seeds,
                     fn_output_signature=tf.TensorSpec(shape, tf.float32))


def ddim_timesteps(timesteps, steps):
    """The S = `steps` timesteps of a DDIM loop (int32, descending from T - 1 to 0, evenly spaced, rounded)."""
    steps = tf.cast(steps, tf.int32)
    values = tf.linspace(tf.constant(timesteps - 1, tf.float64), tf.constant(0.0, tf.float64), steps)
    return tf.cast(tf.round(values), tf.int32)


def reverse_loop(schedule, noise_fn, seeds, shape, steps, eta, ddpm=False):
    """The reverse process in the graph: x_T from each seed, then one update per timestep; returns x_0 in [-1, 1].

    Args:
        schedule: a `Schedule`.
        noise_fn: eps_theta(x_t, t) -> predicted noise, for x_t (N, *shape) and int32 timesteps (N,).
        seeds: (N,) int64, one per image.
        shape: (H, W, C).
        steps: the DDIM steps S (a scalar tensor or int, 1 <= S <= T); ignored by `ddpm` (all T).
        eta: DDIM's stochasticity (sigma_t = eta * sqrt(beta~ of the skipped span)).
        ddpm: Ho et al.'s ancestral update through the posterior mean instead of DDIM's.

    The loop body's memory does not depend on the number of steps.
    """
    timesteps = schedule.timesteps
    sequence = tf.range(timesteps - 1, -1, -1, dtype=tf.int32) if ddpm else ddim_timesteps(timesteps, steps)
    count = tf.shape(sequence)[0]
    seeds = tf.cast(seeds, tf.int64)
    batch = tf.shape(seeds)[0]
    start = noise_from_seeds(seeds, shape, _START_STREAM)
    eta = tf.cast(eta, tf.float32)

    def body(index, images):
        t = sequence[index]
        t_prev = tf.where(index + 1 < count, sequence[tf.minimum(index + 1, count - 1)], -1)
        t_batch = tf.fill([batch], t)
        eps = noise_fn(images, t_batch)
        abar = schedule.gather("alphas_cumprod", t_batch)
        abar_prev = tf.where(t_prev >= 0, schedule.gather("alphas_cumprod", tf.fill([batch], tf.maximum(t_prev, 0))),
                             1.0)
        x0 = tf.clip_by_value((images - tf.sqrt(1.0 - abar) * eps) / tf.sqrt(abar), -1.0, 1.0)
        stream = _START_STREAM + 1 + tf.cast(index, tf.int64)
        if ddpm:
            noise = noise_from_seeds(seeds, shape, stream)
            mean = schedule.gather("posterior_mean_x0", t_batch) * x0 + schedule.gather("posterior_mean_xt",
                                                                                         t_batch) * images
            variance = tf.where(t > 0, schedule.gather("posterior_variance", t_batch), 0.0)
            return index + 1, mean + tf.sqrt(variance) * noise
        eps = (images - tf.sqrt(abar) * x0) / tf.sqrt(1.0 - abar)  # the noise of the clipped x_0
        variance = eta ** 2 * (1.0 - abar_prev) / (1.0 - abar) * (1.0 - abar / abar_prev)
        # DDIM with eta = 0 is deterministic: its per-image draws (a loop over the seeds) would be multiplied by 0.
        noise = tf.cond(eta > 0.0, lambda: noise_from_seeds(seeds, shape, stream), lambda: tf.zeros_like(images))
        direction = tf.sqrt(tf.maximum(1.0 - abar_prev - variance, 0.0))
        return index + 1, tf.sqrt(abar_prev) * x0 + direction * eps + tf.sqrt(variance) * noise

    _, images = tf.while_loop(lambda index, _: index < count, body, [tf.constant(0), start],
                              shape_invariants=[tf.TensorShape([]), tf.TensorShape([None, *shape])])
    return images


def discretized_gaussian_log_prob(x0, mean, log_scale, levels=LEVELS):
    """log P(x0) per value of a Gaussian N(mean, exp(log_scale)^2) discretized into `levels` bins on [-1, 1], the
    first and last bins reaching to -inf and +inf (Ho et al., Eq. 13).

    Stable in float32 far in the tails: a bin's mass is Phi(b) - Phi(a), taken as Phi(-a) - Phi(-b) on the right
    of the mean (two values near 0 instead of two near 1), Phi by erfc, which is accurate in its small tail. A
    mass below 1e-30 counts as 1e-30 (about -69 nats; DDPM's code clamps at 1e-12).
    """
    half_bin = 1.0 / (levels - 1)
    inverse_scale = tf.exp(-log_scale)
    upper = inverse_scale * (x0 - mean + half_bin)
    lower = inverse_scale * (x0 - mean - half_bin)
    ndtr = lambda value: 0.5 * tf.math.erfc(-value / math.sqrt(2.0))  # noqa: E731 - Phi, accurate in its small tail
    mass = tf.where(lower > 0.0, ndtr(-lower) - ndtr(-upper), ndtr(upper) - ndtr(lower))
    log_mass = tf.math.log(tf.maximum(mass, 1e-30))
    log_ndtr = lambda value: tf.math.log(tf.maximum(ndtr(value), 1e-30))  # noqa: E731
    return tf.where(x0 < -1.0 + half_bin, log_ndtr(upper), tf.where(x0 > 1.0 - half_bin, log_ndtr(-lower), log_mass))


@register_model("diffusion")
@keras.saving.register_keras_serializable(package="tfgen")
class Diffusion(GenerativeModel):
    """A denoising diffusion model (DDPM, Ho et al. 2020) with DDPM and DDIM samplers run in the graph.

    Args:
        timesteps: T, the steps of the forward process.
        schedule: the noise schedule, "linear" (DDPM) or "cosine" (Nichol & Dhariwal 2021).
        base_filters: the U-Net's channels at full resolution (`tfgen.networks.UNet`).
        num_res_blocks: the U-Net's residual blocks per level.
        max_multiplier: the U-Net's largest channel multiplier.
        attention_max_side: self-attention at the U-Net's levels of at most this side (0: none).
        num_levels: the U-Net's resolutions (None: all the image shape allows, e.g. 3 at 28x28).
        ema: None, or the decay of the moving average of the weights that samples and exports use
            (`tfgen.models.ema`; DDPM: 0.9999).
        sampling_steps: the DDIM steps of `sample` and of the export's `sample` signature.
        eta: DDIM's eta for `sample` (0: deterministic).
        seed: optional integer seed of the model's own random stream (`sample(n)` without a seed).
        **kwargs: base model arguments, and `image_shape`.

    Metrics: `loss`, the simple loss (the mean squared error of the predicted noise).
    """

    binarization = "none"
    scores = ("variational_bound", "samples")
    #: Row i of a batch against the same seed alone (see `GenerativeModel.sample_row_atol`): the sampler runs the
    #: U-Net `sampling_steps` times, and the update divides its noise by sqrt(abar_t), so the kernels' reordered
    #: sums (a few ulps per call) can grow through the loop; one 8-bit level, what a served image is written in.
    sample_row_atol = 2.0**-8
    sampling_options = ("sampling_steps", "eta")
    paper = 'Ho, Jain & Abbeel 2020, "Denoising Diffusion Probabilistic Models"'
    recipe = Recipe(
        source="Ho et al. 2020 (DDPM), sized for CPUs: T = 1000, linear schedule, EMA 0.9999 of the weights, "
               "eps-prediction and the simple loss; a U-Net of 32 filters with attention at 7x7, 10 epochs of batch "
               "128 on MNIST at Adam 1e-3 (DDPM's 2e-4 is for 800k steps: after 300 steps its test loss was 0.081 "
               "against 1e-3's 0.050); DDIM with 50 steps samples",
        model={"timesteps": 1000, "schedule": "linear", "base_filters": 32, "num_res_blocks": 1, "ema": 0.9999,
               "sampling_steps": 50},
        epochs=10, batch_size=128, learning_rate=1e-3, beta_1=0.9, plot_every=5,
    )

    def __init__(self, timesteps=1000, schedule="linear", base_filters=64, num_res_blocks=2, max_multiplier=2,
                 attention_max_side=8, num_levels=None, ema=0.9999, sampling_steps=50, eta=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.timesteps = _checks.integer("timesteps", timesteps, minimum=2)
        self.schedule = _checks.choice("schedule", schedule, SCHEDULES)
        self.forward_process = Schedule(noise_schedule(self.schedule, self.timesteps))
        self.ema = ema_lib.check_decay("ema", ema)
        self.sampling_steps = _checks.integer("sampling_steps", sampling_steps, minimum=1, maximum=self.timesteps)
        self.eta = _checks.number("eta", eta, minimum=0.0, maximum=1.0)
        self.seed = _checks.optional_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.network = UNet(base_filters=base_filters, num_res_blocks=num_res_blocks, max_multiplier=max_multiplier,
                            attention_max_side=attention_max_side, num_levels=num_levels, num_classes=self.num_classes,
                            image_shape=self.image_shape, name="network")
        #: The averaged copy of the network (`ema`), made by `build_from_batch`; None without one.
        self.network_average = None

    # ------------------------------------------------------------ training

    def check_batch(self, batch):
        if not isinstance(batch, dict) or "image" not in batch:
            raise ValueError(f"{type(self).__name__} expects batches as dicts with an 'image' entry. "
                             f"Received: {batch!r}")
        self.check_images(batch["image"], argument="batch['image']")

    def network_labels(self, batch, seed):
        """The class ids the network sees in training (None for an unconditional model)."""
        return None

    def predict_noise(self, noisy, timesteps, labels=None, training=False, average=True):
        """eps_theta(x_t, t[, y]): the noise predicted by the U-Net (the average when `average` and kept)."""
        network = self.network_average if average and not training and self.network_average is not None \
            else self.network
        inputs = [noisy, tf.cast(timesteps, tf.int32)] + ([] if labels is None else [tf.cast(labels, tf.int32)])
        return tf.cast(network(inputs, training=training), tf.float32)

    def noisy(self, x0, timesteps, noise):
        """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps."""
        abar = self.forward_process.gather("alphas_cumprod", timesteps)
        return tf.sqrt(abar) * x0 + tf.sqrt(1.0 - abar) * noise

    def compute_losses(self, batch, seed=None, training=False):
        """The simple loss: the mean squared error of the predicted noise at uniform timesteps."""
        self.check_batch(batch)
        x0 = to_model_range(batch["image"])
        size = tf.shape(x0)[0]
        time_seed, noise_seed, label_seed = tfgen_random.split_seed(seed, 3)
        timesteps = tfgen_random.class_ids([size], self.timesteps, time_seed, self.seed_generator)
        noise = tfgen_random.normal(tf.shape(x0), noise_seed, self.seed_generator)
        labels = self.network_labels(batch, label_seed)
        predicted = self.predict_noise(self.noisy(x0, timesteps, noise), timesteps, labels, training=training,
                                       average=False)
        return {"loss": tf.reduce_mean(tf.square(predicted - noise))}

    def train_step(self, batch, seed=None):
        """The base class's step (one update, non-finite guard), then the average moves when the update applied."""
        updates = tf.identity(self.optimizer.iterations)
        metrics = super().train_step(batch, seed)
        if self.network_average is not None:
            run_if(tf.greater(self.optimizer.iterations, updates), lambda _: ema_lib.update_average(
                self.network_average, self.network, self.ema, self.optimizer.iterations), [])
        return metrics

    def build_from_batch(self, batch):
        super().build_from_batch(batch)
        if self.ema is not None and self.network_average is None:
            labels = None if self.num_classes is None else tf.zeros([1], tf.int32)
            inputs = [tf.zeros([1, *self.image_shape]), tf.zeros([1], tf.int32)] + ([] if labels is None else [labels])
            self.network_average = ema_lib.make_average(self.network, inputs, "network_average")

    def _non_trainable_state(self):
        return ema_lib.without_average(super()._non_trainable_state(), self.network_average)

    # ------------------------------------------------------------ sampling

    def guided_noise(self, labels, guidance_scale):
        """eps_theta(x_t, t) for the sampler (the conditional model guides it by `labels`)."""
        del labels, guidance_scale
        return lambda images, timesteps: self.predict_noise(images, timesteps)

    def _checked_steps(self, steps, ddpm=False):
        if ddpm:
            return tf.constant(self.timesteps, tf.int32)
        steps = tf.cast(steps, tf.int32)
        message = f"{type(self).__name__}: steps must be in [1, {self.timesteps}] (the model's timesteps)"
        if tf.executing_eagerly():
            if not 1 <= int(steps) <= self.timesteps:
                raise ValueError(f"{message}. Received: steps={int(steps)}")
            return steps
        check = tf.debugging.Assert(tf.logical_and(steps >= 1, steps <= self.timesteps), [message])
        with tf.control_dependencies([check]):
            return tf.identity(steps)

    def _checked_eta(self, eta):
        eta = tf.cast(eta, tf.float32)
        message = f"{type(self).__name__}: eta must be in [0, 1]"
        if tf.executing_eagerly():
            if not 0.0 <= float(eta) <= 1.0:
                raise ValueError(f"{message}. Received: eta={float(eta)}")
            return eta
        check = tf.debugging.Assert(tf.logical_and(eta >= 0.0, eta <= 1.0), [message])
        with tf.control_dependencies([check]):
            return tf.identity(eta)

    def sample_seeds(self, seeds, labels=None, steps=None, eta=None, guidance_scale=None, ddpm=False):
        """Images in [0, 1], one per int64 seed, by DDIM (`steps`, `eta`) or, with `ddpm`, Ho et al.'s sampler;
        None takes the model's `sampling_steps`, `eta` and `guidance_scale`."""
        steps = self._checked_steps(self.sampling_steps if steps is None else steps, ddpm)
        eta = self._checked_eta(self.eta if eta is None else eta)
        scale = getattr(self, "guidance_scale", 0.0) if guidance_scale is None else guidance_scale
        images = reverse_loop(self.forward_process, self.guided_noise(labels, scale), seeds, self.image_shape, steps, eta,
                              ddpm=ddpm)
        return to_pixel_range(images)

    def draw_from_seeds(self, seeds, labels=None):
        return self.sample_seeds(seeds, labels)

    def draw_batch(self, num_samples, labels=None, seed=None):
        """One int64 seed per image from the stateless `seed`, then `sample_from_seeds`' images: eagerly through its
        traced function (an eager reverse loop would run op by op), in a graph directly."""
        seed = tfgen_random.resolve_seed(seed, self.seed_generator)
        seeds = tf.random.stateless_uniform([num_samples], seed=tf.cast(seed, tf.int64), minval=None, maxval=None,
                                            dtype=tf.int64)
        class_ids = None if labels is None else tf.argmax(labels, axis=-1)
        if tf.executing_eagerly():
            return self.sample_from_seeds(seeds, None if class_ids is None else class_ids.numpy())
        return self.sample_seeds(seeds, class_ids)

    # ------------------------------------------------------------ the bound

    def bound_terms(self, images, timesteps, noise, labels=None):
        """(L_T, the term at each image's timestep t) per image, in nats (module docstring): L_{t-1} for t >= 1,
        L_0 (the decoder's -log p(x_0 | x_1)) for t = 0. `images` are 8-bit pixel intensities in [0, 1],
        `noise` the eps of x_t."""
        x0 = to_model_range(tf.round(tf.cast(images, tf.float32) * (LEVELS - 1)) / (LEVELS - 1))
        axes = list(range(1, len(self.image_shape) + 1))
        last = tf.fill([tf.shape(x0)[0]], self.timesteps - 1)
        abar_last = self.forward_process.gather("alphas_cumprod", last)
        mean_last, variance_last = tf.sqrt(abar_last) * x0, 1.0 - abar_last
        prior = 0.5 * tf.reduce_sum(variance_last + tf.square(mean_last) - 1.0 - tf.math.log(variance_last), axes)
        noisy = self.noisy(x0, timesteps, noise)
        predicted = self.predict_noise(noisy, timesteps, labels)
        abar = self.forward_process.gather("alphas_cumprod", timesteps)
        x0_predicted = (noisy - tf.sqrt(1.0 - abar) * predicted) / tf.sqrt(abar)
        mean_x0, mean_xt = (self.forward_process.gather("posterior_mean_x0", timesteps),
                            self.forward_process.gather("posterior_mean_xt", timesteps))
        true_mean, model_mean = mean_x0 * x0 + mean_xt * noisy, mean_x0 * x0_predicted + mean_xt * noisy
        variance = self.forward_process.gather("posterior_variance", tf.maximum(timesteps, 1))
        kl = 0.5 * tf.reduce_sum(tf.square(true_mean - model_mean), axes) / tf.reshape(variance, [-1])
        # The decoder at t = 0: N(mu_theta(x_1, 1), beta~_2) discretized; mu_theta(x_1, 1) is the predicted x_0.
        decoder = -tf.reduce_sum(discretized_gaussian_log_prob(x0, x0_predicted, 0.5 * tf.math.log(variance)), axes)
        return prior, tf.where(tf.equal(timesteps, 0), decoder, kl)

    def bound_proposal(self):
        """(cumulative, probabilities): float32 arrays over the KL terms' timesteps 1 .. T-1 of the importance
        distribution p(t) proportional to 1/t that `variational_bound` draws from (module docstring);
        `probabilities` are the differences of the float32 `cumulative`, the masses its draws actually have."""
        weights = 1.0 / np.arange(1, self.timesteps, dtype=np.float64)
        cumulative = np.cumsum(weights / weights.sum()).astype(np.float32)
        cumulative[-1] = 1.0
        return cumulative, np.diff(cumulative, prepend=np.float32(0.0))

    def variational_bound(self, images, seeds, labels=None):
        """An unbiased estimate of the variational bound on -log p(x_0) (nats) per image: L_T + L_0 + the term at
        one timestep t >= 1 drawn from seed i with probability p(t) proportional to 1/t, divided by p(t); noise
        from seed i (module docstring)."""
        images = self.check_images(images)
        seeds = tf.cast(seeds, tf.int64)
        uniforms = tf.map_fn(lambda seed: tf.random.stateless_uniform(
            [], seed=tf.stack([seed, tf.constant(_TIME_SALT, tf.int64)]), dtype=tf.float32),
            seeds, fn_output_signature=tf.TensorSpec([], tf.float32))
        cumulative, probabilities = self.bound_proposal()
        # The first t whose cumulative mass exceeds u (u < 1 = the last cumulative mass): P(t) = probabilities[t-1].
        index = tf.searchsorted(tf.constant(cumulative), uniforms, side="right", out_type=tf.int32)
        index = tf.minimum(index, self.timesteps - 2)
        noise = noise_from_seeds(seeds, self.image_shape, _BOUND_NOISE_SALT)
        prior, decoder = self.bound_terms(images, tf.zeros_like(index), noise, labels)
        _, term = self.bound_terms(images, index + 1, noise, labels)
        return prior + decoder + term / tf.gather(tf.constant(probabilities), index)

    # ------------------------------------------------------------ serving

    def _label_spec(self):
        return [tf.TensorSpec([None], tf.int64, name="label")] if self.conditional else []

    def serving_endpoints(self):
        """`sample` (the model's DDIM settings); `sample_ddim` (seed, [label], steps, eta, [guidance_scale]: DDIM
        with eta = 1 on all T steps is DDPM's sampler); `denoise` (the predicted noise of noisy images in
        [-1, 1] at int timesteps, for a sampler of one's own); `variational_bound` (nats per image)."""
        seed = tf.TensorSpec([None], tf.int64, name="seed")
        steps = tf.TensorSpec([], tf.int32, name="steps")
        eta = tf.TensorSpec([], tf.float32, name="eta")
        guidance = [tf.TensorSpec([], tf.float32, name="guidance_scale")] if self.conditional else []
        labels = self._label_spec()

        def split(arguments, count):
            return arguments[:count], (arguments[count] if self.conditional else None)

        def sample_ddim(*arguments):
            (seeds,), label = split(arguments, 1)
            rest = arguments[1 + len(labels):]
            scale = rest[2] if self.conditional else None
            return {"images": self.sample_seeds(seeds, label, steps=rest[0], eta=rest[1], guidance_scale=scale)}

        def denoise(noisy_images, timestep, *label):
            return {"noise": self.predict_noise(noisy_images, timestep, label[0] if label else None)}

        def variational_bound(images, seed, *label):
            return {"nats": self.variational_bound(images, seed, label[0] if label else None)}

        image = tf.TensorSpec([None, *self.image_shape], tf.float32, name="images")
        return {
            "sample": self.sample_endpoint(),
            "sample_ddim": (sample_ddim, [seed, *labels, steps, eta, *guidance]),
            "denoise": (denoise, [tf.TensorSpec([None, *self.image_shape], tf.float32, name="noisy_images"),
                                  tf.TensorSpec([None], tf.int32, name="timestep"), *labels]),
            "variational_bound": (variational_bound, [image, seed, *labels]),
        }

    def call(self, inputs, training=False):
        """The predicted noise of [x_t, t(, y)] (the trained network)."""
        return self.network(inputs, training=training)

    def get_config(self):
        network = self.network
        return {**super().get_config(), "timesteps": self.timesteps, "schedule": self.schedule,
                "base_filters": network.base_filters, "num_res_blocks": network.num_res_blocks,
                "max_multiplier": network.max_multiplier, "attention_max_side": network.attention_max_side,
                "num_levels": network.requested_levels,
                "ema": self.ema, "sampling_steps": self.sampling_steps, "eta": self.eta,
                "seed": self.seed}


@register_model("conditional_diffusion")
@keras.saving.register_keras_serializable(package="tfgen")
class ConditionalDiffusion(Diffusion):
    """A class-conditional diffusion model with classifier-free guidance (Ho & Salimans 2022).

    Args:
        num_classes: the number of classes.
        label_dropout: the probability of training on the null class instead of the label.
        guidance_scale: w of `sample` and of the export's `sample` signature (0: no guidance).
        timesteps, schedule, base_filters, num_res_blocks, max_multiplier, attention_max_side, num_levels, ema,
            sampling_steps, eta, seed: see `Diffusion`.
        **kwargs: base model arguments, and `image_shape`.
    """

    conditional = True
    requires_labels = True
    sampling_options = Diffusion.sampling_options + ("guidance_scale",)
    figures = ("losses", "class_rows")  # its samples, one row per class (sampling costs S network passes)
    paper = 'Ho & Salimans 2022, "Classifier-Free Diffusion Guidance"'
    recipe = dataclasses.replace(
        Diffusion.recipe,
        source="DDPM (Ho et al. 2020) with classifier-free guidance (Ho & Salimans 2022: label dropout 0.1), sized "
               "for CPUs: T = 1000, linear schedule, Adam 1e-3, EMA 0.9999, a U-Net of 32 filters, 10 epochs of "
               "batch 128 on MNIST; DDIM with 50 steps and guidance scale 1.5 samples (the smallest scale measured "
               "whose samples' label accuracy passed 0.99: 0.996 after the 10 epochs, against 0.985 at w = 1)",
        model={**Diffusion.recipe.model, "label_dropout": 0.1, "guidance_scale": 1.5},
    )

    def __init__(self, num_classes=10, label_dropout=0.1, guidance_scale=1.0, **kwargs):
        self.num_classes = _checks.class_count("num_classes", num_classes)
        self.label_dropout = _checks.number("label_dropout", label_dropout, minimum=0.0, maximum=1.0,
                                            allow_maximum=False)
        self.guidance_scale = _checks.non_negative_number("guidance_scale", guidance_scale)
        super().__init__(**kwargs)

    def network_labels(self, batch, seed):
        """The batch's class ids, each replaced by the null class K with probability `label_dropout`."""
        labels = tf.cast(batch["label"], tf.int32)
        if self.label_dropout == 0.0:
            return labels
        drop = tfgen_random.uniform(tf.shape(labels), seed, self.seed_generator) < self.label_dropout
        return tf.where(drop, self.num_classes, labels)

    def guided_noise(self, labels, guidance_scale):
        """eps~ = (1 + w) eps(x, t, y) - w eps(x, t, K), both in one network call of twice the batch (w = 0: one
        call of the conditional network)."""
        labels = tf.cast(labels, tf.int32)
        static = tf.get_static_value(tf.convert_to_tensor(guidance_scale))
        if static is not None and float(static) == 0.0:
            return lambda images, timesteps: self.predict_noise(images, timesteps, labels)
        scale = tf.cast(guidance_scale, tf.float32)

        def guided(images, timesteps):
            both = self.predict_noise(tf.concat([images, images], 0), tf.concat([timesteps, timesteps], 0),
                                tf.concat([labels, tf.fill(tf.shape(labels), self.num_classes)], 0))
            conditional, unconditional = tf.split(both, 2)
            return conditional + scale * (conditional - unconditional)

        return guided

    def sample_seeds(self, seeds, labels=None, steps=None, eta=None, guidance_scale=None, ddpm=False):
        if labels is None:
            raise ValueError(f"{type(self).__name__} samples need labels (one class id per seed).")
        return super().sample_seeds(seeds, labels, steps, eta, guidance_scale, ddpm)

    def variational_bound(self, images, seeds, labels=None):
        """The bound on -log p(x_0 | y) given the labels (module docstring)."""
        if labels is None:
            raise ValueError(f"{type(self).__name__}.variational_bound needs labels (one class id per image).")
        return super().variational_bound(images, seeds, labels)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "label_dropout": self.label_dropout,
                "guidance_scale": self.guidance_scale}
