"""Random draws: the one place that decides between a stateless seed and a stream.

Every random function of tfgen takes an optional stateless `seed` (an int
tensor of shape (2,)) and a `generator` (a `keras.random.SeedGenerator`):

* with a seed, the draw is `tf.random.stateless_*`: a pure function of its
  arguments and the seed. tfgen's training loop always passes one (derived
  from the run's seed, the step and the replica), which is what makes runs
  resume exactly and replicas draw different noise;
* without one, it comes from the generator's stream (`keras.random.*`), as a
  Keras layer used on its own (in `fit`, `predict`) expects.

The `*_from_seeds` functions draw one row per int64 seed, row i a function of
seeds[i] alone: the serving signatures use them, so the same seed gives the
same sample whatever else is in the request.
"""

import zlib

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks

# Salts that keep the per-seed draws of the serving signatures independent of
# each other (the latent draw, the class draw, the continuous-code draw).
_NORMAL_SALT = 0x7F4A7C15
_LABEL_SALT = 0x2545F491
_CONTINUOUS_SALT = 0x5851F42D
_IMPORTANCE_SALT = 0x1B873593


def check_seed(seed, argument="seed"):
    """Raises unless `seed` is None or a stateless seed: an integer tensor of shape (2,). Returns it."""
    if seed is None:
        return None
    seed = tf.convert_to_tensor(seed)
    if not seed.dtype.is_integer:
        raise TypeError(f"{argument} must be an integer tensor of shape (2,). Received: dtype={seed.dtype.name}")
    if seed.shape.rank is not None and (seed.shape.rank != 1 or seed.shape[0] not in (None, 2)):
        raise ValueError(f"{argument} must be an integer tensor of shape (2,). Received: {argument}.shape={tuple(seed.shape)}")
    return seed


def _count(argument, value):
    """A positive Python count checked; tensors (traced sizes) pass through."""
    return value if tf.is_tensor(value) else _checks.positive_int(argument, value)


def split_seed(seed, num):
    """`num` independent stateless seeds from one, or `num` Nones if `seed` is None."""
    num = _checks.positive_int("num", num)
    seed = check_seed(seed)
    if seed is None:
        return [None] * num
    return list(tf.unstack(tf.random.experimental.stateless_split(tf.cast(seed, tf.int64), num=num)))


def resolve_seed(seed, generator):
    """`seed`, or the next stateless seed of `generator`'s stream when `seed` is None."""
    return generator.next() if seed is None else seed


def normal(shape, seed=None, generator=None, dtype=tf.float32):
    """N(0, 1) draws of `shape`: stateless from `seed`, else from `generator`'s stream."""
    if check_seed(seed) is None:
        return keras.random.normal(shape, dtype=dtype, seed=generator)
    return tf.random.stateless_normal(shape, seed=seed, dtype=dtype)


def uniform(shape, seed=None, generator=None, minval=0.0, maxval=1.0, dtype=tf.float32):
    """U(minval, maxval) draws of `shape`: stateless from `seed`, else from `generator`'s stream."""
    if not tf.is_tensor(minval) and not tf.is_tensor(maxval) and not minval < maxval:
        raise ValueError(f"maxval must be greater than minval. Received: minval={minval!r}, maxval={maxval!r}")
    if check_seed(seed) is None:
        return keras.random.uniform(shape, minval=minval, maxval=maxval, dtype=dtype, seed=generator)
    return tf.random.stateless_uniform(shape, seed=seed, minval=minval, maxval=maxval, dtype=dtype)


def class_ids(shape, num_classes, seed=None, generator=None):
    """Uniform int64 class ids in [0, num_classes) of `shape`."""
    num_classes = _count("num_classes", num_classes)
    if check_seed(seed) is None:
        return tf.cast(keras.random.randint(shape, 0, num_classes, seed=generator), tf.int64)
    return tf.random.stateless_uniform(shape, seed=seed, minval=0, maxval=num_classes, dtype=tf.int64)


def categorical(logits, num_samples, seed=None, generator=None):
    """`num_samples` draws per row of the categorical distributions given by `logits` (batch, classes)."""
    logits = tf.convert_to_tensor(logits)
    if logits.shape.rank is not None and logits.shape.rank != 2:
        raise ValueError(f"logits must have shape (batch, classes). Received: logits.shape={tuple(logits.shape)}")
    num_samples = _count("num_samples", num_samples)
    if check_seed(seed) is None:
        return keras.random.categorical(logits, num_samples, seed=generator)
    if _in_xla_context() and tf.convert_to_tensor(seed).dtype == tf.int64:
        # XLA's StatelessMultinomial takes int32 seeds only: an int32 seed drawn from the int64 one (the draws
        # under --jit differ from the uncompiled ones, as every XLA result may).
        seed = tf.random.stateless_uniform([2], seed=seed, minval=None, maxval=None, dtype=tf.int32)
    return tf.random.stateless_categorical(logits, num_samples, seed=seed)


def _in_xla_context():
    """True while tracing a function that XLA compiles (`tf.function(jit_compile=True)`, or inside one)."""
    from tensorflow.python.ops import control_flow_util  # no public API tells

    return control_flow_util.GraphOrParentsInXlaContext(tf.compat.v1.get_default_graph())


def normal_from_seeds(seeds, dim):
    """One N(0, I) vector of size `dim` per int64 seed: row i depends on seeds[i] alone."""
    dim = _count("dim", dim)
    seeds = tf.cast(seeds, tf.int64)
    return tf.map_fn(
        lambda s: tf.random.stateless_normal([dim], seed=tf.stack([s, tf.constant(_NORMAL_SALT, tf.int64)])),
        seeds,
        fn_output_signature=tf.TensorSpec([dim], tf.float32),
    )


def normal_codes_from_seeds(seeds, num_codes, dim):
    """num_codes N(0, I) vectors of size `dim` per int64 seed, (N, num_codes, dim): row i depends on seeds[i] alone.

    The importance samples of `tfgen.evaluation.likelihood` (and the models'
    `log_importance_weights` signatures): a salt of their own keeps them
    apart from `normal_from_seeds`'s draws of the same seed.
    """
    num_codes = _count("num_codes", num_codes)
    dim = _count("dim", dim)
    seeds = tf.cast(seeds, tf.int64)
    return tf.map_fn(
        lambda s: tf.random.stateless_normal(tf.stack([num_codes, dim]),
                                             seed=tf.stack([s, tf.constant(_IMPORTANCE_SALT, tf.int64)])),
        seeds,
        fn_output_signature=tf.TensorSpec([None, dim if isinstance(dim, int) else None], tf.float32),
    )


def uniform_from_seeds(seeds, dim, minval=-1.0, maxval=1.0):
    """One U(minval, maxval) vector of size `dim` per int64 seed: row i depends on seeds[i] alone."""
    dim = _count("dim", dim)
    seeds = tf.cast(seeds, tf.int64)
    return tf.map_fn(
        lambda s: tf.random.stateless_uniform([dim], seed=tf.stack([s, tf.constant(_CONTINUOUS_SALT, tf.int64)]),
                                              minval=minval, maxval=maxval),
        seeds,
        fn_output_signature=tf.TensorSpec([dim], tf.float32),
    )


def class_ids_from_seeds(seeds, num_classes):
    """One class id in [0, num_classes) per int64 seed: entry i depends on seeds[i] alone."""
    num_classes = _count("num_classes", num_classes)
    seeds = tf.cast(seeds, tf.int64)
    return tf.map_fn(
        lambda s: tf.random.stateless_uniform(
            [], seed=tf.stack([s, tf.constant(_LABEL_SALT, tf.int64)]), minval=0, maxval=num_classes, dtype=tf.int64
        ),
        seeds,
        fn_output_signature=tf.TensorSpec([], tf.int64),
    )


def seed_tensor(seed):
    """A stateless seed tensor [seed, 0] from a Python int (the figures' and the examples' fixed seeds)."""
    return tf.constant([_checks.seed("seed", seed), 0], tf.int64)


def seed_initializers(model, seed):
    """Re-seeds every unseeded random initializer of `model`'s layers from `seed`; returns how many.

    Keras gives an initializer made without a seed one drawn from Python's
    global `random` when the layer is made, so a model's initial weights
    depend on whatever drew from that stream before. After this call, the
    weights `model` creates when it is built are a function of `seed` and the
    model's structure alone (the layers in their tracking order, each
    initializer by its attribute name). Initializers given a seed by the user
    keep it. Call it before the model is built.
    """
    count = 0
    base = int(seed) % 2**64
    for index, layer in enumerate(model._flatten_layers(include_self=True, recursive=True)):
        for name in sorted(vars(layer)):
            initializer = vars(layer)[name]
            if not isinstance(initializer, keras.initializers.Initializer) or not hasattr(initializer, "seed"):
                continue
            if getattr(initializer, "_init_seed", None) is not None:
                continue  # seeded by the user
            salt = zlib.crc32(name.encode("utf-8"))
            initializer.seed = int(np.random.SeedSequence([base, index, salt]).generate_state(1)[0] % (2**31 - 1)) + 1
            count += 1
    return count
