"""Test log-likelihoods of the VAE family by importance sampling, the diffusion models' variational bound, and the
MMD-VAE's scores.

A VAE is judged by its test negative log-likelihood, estimated as Burda,
Grosse and Salakhutdinov ("Importance Weighted Autoencoders", ICLR 2016)
do: with K codes z_1..z_K drawn from the encoder's q(z|x),

    log p(x) >= L_K(x) = log (1/K) sum_k p(x|z_k) p(z_k) / q(z_k|x),

a lower bound that rises with K towards log p(x) (L_1 is the ELBO). K =
5000 is the papers' setting. The models give the log-weights
(`log_importance_weights(images, seeds, num_samples, ...)`, the export's
signature of the same name); this module draws them in chunks, so memory
stays bounded whatever K is, and accumulates the log-sum-exp of each image
in float64 (`LogMeanExp`).

What each model is scored on (`likelihood_scores`), as its `likelihood_kind`
declares (`tfgen.models.GenerativeModel`):

* `vae`: log p(x);
* `cvae`: log p(x | y) given the test label;
* `ssvae`, `gumbel_ssvae`: log p(x | y) given the label, and log p(x) with
  the label marginalised, log sum_y p(y) p(x|y) under the uniform p(y): every
  class is enumerated with K codes each (the same codes for every class), so
  this costs num_classes times as much;
* `vhe`: log p(x | D) given a class set D of `set_size` other test images of
  x's class; `vhe_unsupervised` (no labels): the marginal log p(x).

Every number is the mean over the test images, with its standard error
(the standard deviation over images / sqrt(images)). Nats; `bits_per_dim`
(-log p / (D ln 2), D = height x width x channels) only for the 8-bit
likelihoods (`tfgen.losses.likelihoods`). The estimate is a function of the
seed: image i of the test split, chunk j of its codes, draws its codes from
the int64 seed `importance_seeds(seed, i, j)` alone, and the binarization
of dynamically binarized data is fixed by the seed and the batch size, so
the same seed, K, batch size and rows per call give the same numbers.

The diffusion models (`variational_bound_scores`) have no importance
weights: their score is Ho et al.'s variational bound on -log p(x) of the
8-bit test images (-log p(x|y) for the conditional one), in nats and bits
per dimension, estimated without bias from K timesteps drawn per image
(draw j of image i from the seed `importance_seeds(seed, i, j)`), averaged
per image; mean over images and standard error as above. An upper bound
on -log p(x), as -L_K is.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.data import ClassSetDataset
from tfgen.losses import mmd
from tfgen.losses.likelihoods import bits_per_dim

#: Burda et al.'s number of importance samples for a test log-likelihood.
DEFAULT_IW_SAMPLES = 5000
#: The decoder rows (images x codes) of one call: bounds the memory of an estimate whatever K is.
DEFAULT_ROWS_PER_CALL = 20_000
_INDEX_BITS = 24
_CHUNK_BITS = 16
_SEED_BITS = 63 - _INDEX_BITS - _CHUNK_BITS
_LN2 = math.log(2.0)


#: The most importance samples per image: a documented cap on time, not memory (the codes are drawn in chunks,
#: so memory stays bounded): 200 times Burda et al.'s K, already days of decoder passes on a full test split.
MAX_IW_SAMPLES = 1_000_000


def check_num_samples(num_samples, argument="iw_samples"):
    """A positive int number of importance samples, at most `MAX_IW_SAMPLES`, or one line naming what was wrong."""
    if isinstance(num_samples, bool) or not isinstance(num_samples, (int, np.integer)) or num_samples < 1:
        raise ValueError(f"{argument} must be a positive integer: the codes drawn per image "
                         f"(1 gives the ELBO, {DEFAULT_IW_SAMPLES} the papers' estimate). Received: {num_samples!r}")
    if num_samples > MAX_IW_SAMPLES:
        raise ValueError(f"{argument} must be at most {MAX_IW_SAMPLES:,} (the codes are drawn in chunks, so this cap "
                         f"bounds the time, not the memory: every image costs K decoder passes; "
                         f"{DEFAULT_IW_SAMPLES} is the papers' estimate): lower {_flag(argument)}. "
                         f"Received: {argument}={int(num_samples)}")
    return int(num_samples)


def _flag(argument):
    return "--" + argument.replace("_", "-")


def check_chunks(num_samples, batch_size, rows_per_call=DEFAULT_ROWS_PER_CALL, argument="iw_samples"):
    """Refuses, before any work, K codes per image that a batch of `batch_size` images would draw in more chunks
    than `importance_seeds` numbers (2**16): the estimate would stop with that error after hours of work."""
    chunk = max(1, min(num_samples, rows_per_call // max(batch_size, 1)))
    most = chunk * 2 ** _CHUNK_BITS
    if num_samples > most:
        raise ValueError(f"{argument}={num_samples} codes per image in chunks of {chunk} (batches of {batch_size} "
                         f"images, {rows_per_call} rows per call) need more than 2**{_CHUNK_BITS} chunks; at most "
                         f"{most} fit: lower {_flag(argument)} or --batch-size")


def importance_seeds(seed, indices, chunk):
    """The int64 seeds of the codes of images `indices` (their places in the test split), chunk `chunk`.

    One seed per (seed, image, chunk): the bits are seed | image | chunk, so
    no two images or chunks share a seed. `chunk` is an int, or an int array
    of the shape of `indices` (one chunk per image: `variational_bound_scores`
    gives draw j of image i the seed of chunk j).
    """
    seed = _checks.seed("seed", seed)
    indices = np.asarray(indices, np.int64)
    chunk = np.asarray(chunk, np.int64)
    if seed >= 2 ** _SEED_BITS:
        raise ValueError(f"seed must be below 2**{_SEED_BITS}. Received: seed={seed}")
    if indices.size and (indices.min() < 0 or indices.max() >= 2 ** _INDEX_BITS):
        raise ValueError(f"Image indices must lie in [0, 2**{_INDEX_BITS}). Received: {indices.min()}..{indices.max()}")
    outside = chunk[(chunk < 0) | (chunk >= 2 ** _CHUNK_BITS)]
    if outside.size:
        raise ValueError(f"At most 2**{_CHUNK_BITS} chunks of codes per image: raise the rows per call. "
                         f"Received: chunk={int(outside.flat[0])}")
    return (np.int64(seed) << (_INDEX_BITS + _CHUNK_BITS)) | (indices << _CHUNK_BITS) | chunk


class LogMeanExp:
    """The running log (1/n) sum exp(a) of each row, over chunks of columns, in float64.

    Each chunk rescales the running sum by its new maximum, so no exp
    overflows or underflows to a wrong answer whatever the range of the
    log-weights; `mean` is the plain mean of the values (the ELBO estimate
    when they are log-weights).
    """

    def __init__(self, rows):
        self.max = np.full(rows, -np.inf)
        self.sum = np.zeros(rows)
        self.total = np.zeros(rows)
        self.count = 0

    def add(self, values):
        """Adds a (rows, n) chunk."""
        values = np.asarray(values, np.float64)
        if values.ndim != 2 or values.shape[0] != self.max.shape[0]:
            raise ValueError(f"Expected a chunk of shape ({self.max.shape[0]}, n). Received: {values.shape}")
        if not np.all(np.isfinite(values)):
            raise FloatingPointError("A log importance weight is not finite (the model's weights or the images "
                                     "hold NaN or infinity).")
        new_max = np.maximum(self.max, values.max(axis=1))
        self.sum = self.sum * np.exp(self.max - new_max) + np.exp(values - new_max[:, None]).sum(axis=1)
        self.max = new_max
        self.total += values.sum(axis=1)
        self.count += values.shape[1]

    def log_mean_exp(self):
        return np.log(self.sum) + self.max - math.log(self.count)

    def mean(self):
        return self.total / self.count


def importance_weighted_bound(log_weights_fn, images, num_samples, seed=0, first_index=0,
                              rows_per_call=DEFAULT_ROWS_PER_CALL):
    """L_K and the mean log-weight (the ELBO estimate) of each image, float64 arrays (batch,).

    Args:
        log_weights_fn: (images, seeds (batch,) int64, num_samples) -> (batch, num_samples) log-weights.
        images: (batch, ...) the images (as the model scores them: binarized if it was trained so).
        num_samples: K, the codes per image.
        seed: the estimate's seed.
        first_index: the place of images[0] in the test split (the images' seeds follow from it).
        rows_per_call: at most this many images x codes per call.
    """
    num_samples = check_num_samples(num_samples)
    batch = int(images.shape[0])
    check_chunks(num_samples, batch, rows_per_call)
    accumulator = LogMeanExp(batch)
    for seeds, count in _chunks(num_samples, seed, first_index, batch, rows_per_call):
        accumulator.add(log_weights_fn(images, seeds, count))
    return accumulator.log_mean_exp(), accumulator.mean()


def _chunks(num_samples, seed, first_index, batch, rows_per_call):
    """(seeds of the batch's images for the chunk, codes in it) for each chunk of at most rows_per_call rows."""
    chunk = max(1, min(num_samples, rows_per_call // max(batch, 1)))
    indices = np.arange(first_index, first_index + batch)
    for number, start in enumerate(range(0, num_samples, chunk)):
        yield importance_seeds(seed, indices, number), min(chunk, num_samples - start)


# ------------------------------------------------------------------ the models' scores


def _compiled(model, method):
    """`method` (a bound method of `model`) as a reusable graph: a `tf.function` for Keras models, the method
    itself otherwise (an export's `tfgen.report.ExportScorer`, which calls the export's graphs)."""
    if not isinstance(model, keras.Model):
        return method
    return tf.function(method, reduce_retracing=True, autograph=model.autograph)


def _compiled_log_weights(model):
    """`model.log_importance_weights`, `_compiled`; the number of codes goes in as a tensor, so chunks of any size
    share one graph."""
    function = _compiled(model, model.log_importance_weights)
    if not isinstance(model, keras.Model):
        return function
    return lambda images, seeds, num_samples, *args, **kwargs: function(
        images, seeds, tf.constant(num_samples, tf.int32), *args, **kwargs)


def likelihood_kind(model):
    """How `likelihood_scores` scores `model`: its `likelihood_kind` declaration ("vae", "conditional",
    "semi_supervised", "class_set", "marginal_vhe": `tfgen.models.base.LIKELIHOOD_KINDS`), or None for a model
    without log-weights (the GANs, the MMD-VAE)."""
    return model.likelihood_kind


def _summary(values):
    values = np.asarray(values, np.float64)
    stderr = float(values.std(ddof=1) / math.sqrt(len(values))) if len(values) > 1 else float("nan")
    return float(values.mean()), stderr


def _estimate_entry(bounds, elbos, num_dims, eight_bit):
    log_likelihood, log_likelihood_stderr = _summary(bounds)
    elbo, elbo_stderr = _summary(elbos)
    entry = {
        "log_likelihood": log_likelihood,
        "log_likelihood_stderr": log_likelihood_stderr,
        "nll": -log_likelihood,
        "elbo": elbo,
        "elbo_stderr": elbo_stderr,
        "gap": log_likelihood - elbo,
    }
    if eight_bit:
        entry["bits_per_dim"] = -log_likelihood / (num_dims * _LN2)
        entry["elbo_bits_per_dim"] = -elbo / (num_dims * _LN2)
    return entry


def _evaluation_batches(model, data, batch_size, seed, kind, binarization):
    """The test batches as `likelihood_scores` scores them: binarized as the model was trained, fixed seed."""
    if kind in ("conditional", "semi_supervised", "class_set"):
        data.require_labels(f"{type(model).__name__}'s likelihood given the label")
    if kind == "class_set":
        if not isinstance(data, ClassSetDataset):
            data = ClassSetDataset.of(data, model.set_size)
    return data.batches(batch_size, seed=seed, shuffle=False, binarization=binarization or model.binarization)


def likelihood_scores(model, data, num_samples=DEFAULT_IW_SAMPLES, seed=0, batch_size=100, max_images=None,
                      rows_per_call=DEFAULT_ROWS_PER_CALL, binarization=None, progress=True, per_image=False):
    """The importance-weighted test log-likelihood of a VAE-family model (module docstring).

    Args:
        model: a tfgen model with `log_importance_weights`, or an export
            wrapped to look like one (`tfgen.report.ExportScorer`).
        data: the test `tfgen.data.ImageDataset`.
        num_samples: K, the codes per image (`DEFAULT_IW_SAMPLES`).
        seed: the seed of the binarization and of every code.
        batch_size: test images per batch.
        max_images: score only the first this many test images.
        rows_per_call: at most this many images x codes per call of the model.
        binarization: the test images' binarization, as the model was
            trained ("dynamic", "threshold", "none"; a run's config.json
            records it); default the model's likelihood's contract.
        progress: show a progress bar.
        per_image: also return each image's L_K (`per_image_log_likelihood`,
            in test-split order), for paired comparisons: two models scored
            with the same `seed` see the same binarized images, so the
            standard error of their difference is that of the per-image
            differences, far smaller than either's own.

    Returns:
        A dict: `images`, `iw_samples`, `seed`, and per estimate (`given_label`,
        `marginal` for the semi-supervised models; `given_label` for the
        CVAE; `given_class_set` for the VHE; `marginal` otherwise) a dict of
        `log_likelihood`, its `log_likelihood_stderr`, `nll`, `elbo` (the
        mean log-weight), `elbo_stderr`, `gap` (L_K - ELBO), and for 8-bit
        likelihoods `bits_per_dim` and `elbo_bits_per_dim`.
    """
    kind = likelihood_kind(model)
    if kind is None:
        raise ValueError(f"{type(model).__name__} has no likelihood to estimate (a GAN, or an MMD-VAE trained on the "
                         "squared error): score its samples instead.")
    num_samples = check_num_samples(num_samples)
    batch_size = _checks.positive_int("batch_size", batch_size)
    max_images = _checks.positive_int("max_images", max_images, allow_none=True)
    limit = len(data) if max_images is None else min(max_images, len(data))
    check_chunks(num_samples, min(batch_size, max(limit, 1)), rows_per_call)  # before the first batch
    if kind != "class_set" and limit < len(data):
        data = data.take(limit)  # (the VHE's class sets are drawn from the whole split; its batches are cut below)
    log_weights = _compiled_log_weights(model)
    classify = _compiled(model, model.classify) if kind == "semi_supervised" else None
    num_classes = model.num_classes
    estimates = {"given_label": [[], []], "marginal": [[], []], "given_class_set": [[], []]}
    bar = keras.utils.Progbar(limit, unit_name="image") if progress else None
    first = 0
    for batch in _evaluation_batches(model, data, batch_size, seed, kind, binarization):
        if first >= limit:
            break
        if int(batch["image"].shape[0]) > limit - first:
            batch = {name: value[: limit - first] for name, value in batch.items()}
        images = batch["image"]
        count = int(images.shape[0])

        def bound(fn, name):
            values = importance_weighted_bound(fn, images, num_samples, seed=seed, first_index=first,
                                               rows_per_call=rows_per_call)
            estimates[name][0].append(values[0])
            estimates[name][1].append(values[1])
            return values

        if kind == "vae" or kind == "marginal_vhe":
            bound(lambda x, s, n: log_weights(x, s, n), "marginal")
        elif kind == "class_set":
            bound(lambda x, s, n: log_weights(x, s, n, class_set=batch["class_set"]), "given_class_set")
        else:
            bound(lambda x, s, n: log_weights(x, s, n, batch["label"]), "given_label")
        if kind == "semi_supervised":
            _marginal_bound(model, log_weights, classify, images, num_classes, num_samples, seed, first,
                            rows_per_call, estimates["marginal"])
        first += count
        if bar is not None:
            bar.update(first)
    shape = model.image_shape
    num_dims = int(shape[0]) * int(shape[1]) * int(shape[2])
    eight_bit = model.decoder_likelihood is not None and model.decoder_likelihood.eight_bit
    report = {"images": first, "iw_samples": num_samples, "seed": seed,
              "binarization": binarization or model.binarization}
    for name, (bounds, elbos) in estimates.items():
        if bounds:
            report[name] = _estimate_entry(np.concatenate(bounds), np.concatenate(elbos), num_dims, eight_bit)
            if per_image:
                report[name]["per_image_log_likelihood"] = [float(value) for value in np.concatenate(bounds)]
    return report


def _marginal_bound(model, log_weights, classify, images, num_classes, num_samples, seed, first, rows_per_call,
                    into):
    """log p(x) = log sum_y p(y) p(x|y), p(y) uniform, every class with the same K codes; and the ELBO with q(y|x).

    Stratified over the classes: L = log (1/(C K)) sum_{y,k} w_{y,k}, whose
    expectation is at most log p(x) by Jensen, as L_K's. The ELBO is
    sum_y q(y|x) E[log w_y] + H(q(y|x)) - log C, Kingma et al.'s -U(x) with
    the constant log p(y) put back.
    """
    batch = int(images.shape[0])
    accumulators = [LogMeanExp(batch) for _ in range(num_classes)]
    for seeds, count in _chunks(num_samples, seed, first, batch, rows_per_call):
        for label, accumulator in enumerate(accumulators):
            accumulator.add(log_weights(images, seeds, count, tf.fill([batch], tf.constant(label, tf.int64))))
    per_class = np.stack([accumulator.log_mean_exp() for accumulator in accumulators], axis=1)
    means = np.stack([accumulator.mean() for accumulator in accumulators], axis=1)
    bound = _log_sum_exp(per_class) - math.log(num_classes)
    logits = np.asarray(classify(images), np.float64)  # q(y|x) logits (an export's wrapper gives log-probabilities)
    probabilities = np.exp(logits - _log_sum_exp(logits)[:, None])
    entropy = -np.sum(probabilities * np.log(np.maximum(probabilities, 1e-300)), axis=1)
    elbo = np.sum(probabilities * means, axis=1) + entropy - math.log(num_classes)
    into[0].append(bound)
    into[1].append(elbo)


def _log_sum_exp(values):
    top = values.max(axis=1)
    return top + np.log(np.exp(values - top[:, None]).sum(axis=1))


def mmd_scores(model, data, seed=0, batch_size=100, max_images=None, binarization=None, progress=True):
    """The MMD-VAE's test scores: reconstruction error and the MMD of its codes to N(0, I).

    Args:
        model: a model that declares the "mmd" score (the MMD-VAE, or an
            export of one): `encode(images)` -> codes, `reconstruct(images)` -> images.
        data: the test `tfgen.data.ImageDataset`.
        seed: the seed of the prior draws (and of the binarization, for a Bernoulli decoder).
        batch_size: the MMD is computed batch by batch (codes against as many
            prior draws), as in training; this is its size.
        max_images: score only the first this many test images.
        binarization: the test images' binarization (default the model's contract).

    Returns:
        {`images`, `squared_error` (per image, summed over pixels),
        `mean_squared_error` (per pixel), `mmd` (the mean over batches), `mmd_batch_size`}.
    """
    batch_size = _checks.integer("batch_size", batch_size, minimum=2)
    max_images = _checks.positive_int("max_images", max_images, allow_none=True)
    if max_images is not None and max_images < len(data):
        data = data.take(max_images)
    encode = _compiled(model, model.encode)
    reconstruct = _compiled(model, model.reconstruct)
    errors, mmds, weights = [], [], []
    bar = keras.utils.Progbar(len(data), unit_name="image") if progress else None
    seen = 0
    for index, batch in enumerate(data.batches(batch_size, seed=seed, shuffle=False,
                                               binarization=binarization or model.binarization)):
        images = batch["image"]
        codes = encode(images)
        errors.append(np.sum(np.square(np.asarray(reconstruct(images)) - np.asarray(images)), axis=(1, 2, 3)))
        count = int(images.shape[0])
        if count >= 2:
            prior = tfgen_random.normal(tf.shape(codes), tfgen_random.seed_tensor(seed) + [0, index + 1])
            mmds.append(float(mmd(prior, codes)))
            weights.append(count)
        seen += count
        if bar is not None:
            bar.update(seen)
    errors = np.concatenate(errors)
    shape = model.image_shape
    return {
        "images": seen,
        "squared_error": float(errors.mean()),
        "mean_squared_error": float(errors.mean() / (int(shape[0]) * int(shape[1]) * int(shape[2]))),
        "mmd": float(np.average(mmds, weights=weights)),
        "mmd_batch_size": batch_size,
    }


# ------------------------------------------------------------------ the diffusion models' variational bound

#: Timesteps drawn per test image for the diffusion models' variational bound: one. The estimate is unbiased for
#: any number (its standard error says how precise it is), and 10,000 MNIST test images then cost 10,000 U-Net
#: passes, minutes on a CPU.
DEFAULT_BOUND_SAMPLES = 1
#: The U-Net rows (images x timesteps) of one call of `variational_bound`: bounds the memory of the estimate
#: whatever K and the batch size are (a U-Net row holds far more activations than a VAE decoder's; calls of 500 rows
#: of the MNIST recipe's U-Net raised a CPU process's peak memory by about 0.5 GiB).
DEFAULT_BOUND_ROWS_PER_CALL = 500
#: The most timesteps per image: draw j of an image has the seed of chunk j of `importance_seeds`.
MAX_BOUND_SAMPLES = 2 ** _CHUNK_BITS


def check_bound_samples(timesteps_per_image, argument="timesteps_per_image"):
    """A positive int number of timesteps drawn per image, at most `MAX_BOUND_SAMPLES`, or one line naming what was
    wrong."""
    if isinstance(timesteps_per_image, bool) or not isinstance(timesteps_per_image, (int, np.integer)) \
            or timesteps_per_image < 1:
        raise ValueError(f"{argument} must be a positive integer: the timesteps drawn per test image for the "
                         f"variational bound (default {DEFAULT_BOUND_SAMPLES}). Received: {timesteps_per_image!r}")
    if timesteps_per_image > MAX_BOUND_SAMPLES:
        raise ValueError(f"{argument} must be at most {MAX_BOUND_SAMPLES:,} (draw j of image i has the seed "
                         f"importance_seeds(seed, i, j)); the estimate is unbiased with any number and its standard "
                         f"error says how precise it is: lower {_flag(argument)}. "
                         f"Received: {argument}={int(timesteps_per_image)}")
    return int(timesteps_per_image)


def variational_bound_scores(model, data, seed=0, timesteps_per_image=DEFAULT_BOUND_SAMPLES, batch_size=100,
                             max_images=None, rows_per_call=DEFAULT_BOUND_ROWS_PER_CALL, binarization=None,
                             progress=True):
    """The test variational bound of a diffusion model on -log p(x) (-log p(x|y) given the label), in nats.

    The model's `variational_bound(images, seeds, labels=None)` estimates
    Ho et al.'s bound (Eq. 5, `tfgen.models.diffusion`) of an image without
    bias from one timestep drawn per int64 seed (`Diffusion.variational_bound`:
    L_T and L_0 computed, one KL term drawn with probability proportional to
    1/t and divided by it). Image i of the test split
    (its place in it) draws K timesteps, draw j with the seed
    `importance_seeds(seed, i, j)`; its estimate is the mean of the K. The
    seeds do not depend on the batch size nor on the rows per call, which
    only group the rows into calls (the U-Net's sums can then differ in
    their last bits), so the same seed and K give the same numbers.

    The bound is the mean over images of the per-image estimates, with its
    standard error std(per-image means) / sqrt(images): each per-image mean
    varies with its K draws as well as with the image, and the spread over
    images holds both, so the standard error is that of the whole estimate
    (it shrinks with K only as far as the draws' share of it goes).

    The images are the 8-bit test images (`ImageDataset` holds uint8), as the
    bound's discretized decoder needs: 256 levels, the model's binarization
    "none"; a run that trained on binarized images is scored on its binarized
    test images (levels 0 and 255), as it trained.

    Args:
        model: a model that declares the "variational_bound" score (a diffusion
            model, or an export of one: `tfgen.report.ExportScorer`).
        data: the test `tfgen.data.ImageDataset`; labelled for a conditional model.
        seed: the seed of every draw (and of a dynamic binarization).
        timesteps_per_image: K, the timesteps drawn per image (`DEFAULT_BOUND_SAMPLES`).
        batch_size: test images per batch.
        max_images: score only the first this many test images.
        rows_per_call: at most this many images x timesteps per call of the model.
        binarization: the test images' binarization, as the model was trained
            (default the model's contract, "none").
        progress: show a progress bar.

    Returns:
        {`images`, `timesteps_per_image`, `seed`, `binarization`,
        `given_label` (the conditional model's bound is on -log p(x|y)),
        `nats` (the mean bound), `nats_stderr`, `bits_per_dim` (nats / (D ln 2),
        D = height x width x channels) and `bits_per_dim_stderr`}.
    """
    name = getattr(model, "registered_name", None) or type(model).__name__
    if "variational_bound" not in model.scores:
        raise ValueError(f"{name} has no variational bound to estimate (the diffusion models have one).")
    timesteps_per_image = check_bound_samples(timesteps_per_image)
    batch_size = _checks.positive_int("batch_size", batch_size)
    max_images = _checks.positive_int("max_images", max_images, allow_none=True)
    rows_per_call = _checks.positive_int("rows_per_call", rows_per_call)
    if model.conditional:
        data.require_labels(f"{name}'s variational bound on -log p(x|y) given the label")
    limit = len(data) if max_images is None else min(max_images, len(data))
    if limit < len(data):
        data = data.take(limit)
    bound = _compiled_bound(model)
    binarization = binarization or model.binarization
    means = []
    bar = keras.utils.Progbar(limit, unit_name="image") if progress else None
    first = 0
    for batch in data.batches(batch_size, seed=seed, shuffle=False, binarization=binarization):
        labels = batch["label"] if model.conditional else None
        totals = _bound_totals(bound, batch["image"], labels, seed, first, timesteps_per_image, rows_per_call)
        means.append(totals / timesteps_per_image)
        first += len(totals)
        if bar is not None:
            bar.update(first)
    means = np.concatenate(means)
    nats, nats_stderr = _summary(means)
    shape = model.image_shape
    num_dims = int(shape[0]) * int(shape[1]) * int(shape[2])
    return {"images": first, "timesteps_per_image": timesteps_per_image, "seed": seed,
            "binarization": binarization, "given_label": bool(model.conditional),
            "nats": nats, "nats_stderr": nats_stderr,
            "bits_per_dim": float(bits_per_dim(np.float64(nats), num_dims)),
            "bits_per_dim_stderr": float(bits_per_dim(np.float64(nats_stderr), num_dims))}


def _compiled_bound(model):
    """`model.variational_bound` as a graph traced once for any number of rows (an input signature of unknown batch
    size: the calls of a batch and its last, smaller call share it); an export's `ExportScorer`: its method, which
    calls the export's graph."""
    if not isinstance(model, keras.Model):
        return model.variational_bound
    signature = [tf.TensorSpec([None, *model.image_shape], tf.float32), tf.TensorSpec([None], tf.int64)]
    if model.conditional:
        signature.append(tf.TensorSpec([None], tf.int64))
    return tf.function(model.variational_bound, input_signature=signature, autograph=model.autograph)


def _bound_totals(bound, images, labels, seed, first, draws, rows_per_call):
    """The sum over its `draws` timesteps of each image's bound estimate (float64, (batch,)).

    The batch's rows (image, draw) are taken image-major, `rows_per_call` at a time.
    """
    count = int(images.shape[0])
    totals = np.zeros(count)
    rows = count * draws
    for start in range(0, rows, rows_per_call):
        row = np.arange(start, min(rows, start + rows_per_call))
        image_rows, draw = row // draws, row % draws
        seeds = tf.constant(importance_seeds(seed, first + image_rows, draw))
        gather = tf.constant(image_rows)
        extra = () if labels is None else (tf.cast(tf.gather(labels, gather), tf.int64),)
        values = np.asarray(bound(tf.cast(tf.gather(images, gather), tf.float32), seeds, *extra), np.float64)
        if not np.all(np.isfinite(values)):
            raise FloatingPointError("A variational bound estimate is not finite (the model's weights or the images "
                                     "hold NaN or infinity).")
        np.add.at(totals, image_rows, values)
    return totals
