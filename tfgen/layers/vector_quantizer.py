"""Vector quantization: the VQ-VAE's discrete bottleneck."""

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random


@keras.saving.register_keras_serializable(package="tfgen")
class VectorQuantizer(keras.layers.Layer):
    """Replaces every vector of the input's last axis by its nearest codebook entry.

    van den Oord, Vinyals and Kavukcuoglu, "Neural Discrete Representation
    Learning", NeurIPS 2017. With z_e the encoder's vectors and e_k the K
    codes, each z_e becomes z_q = e_k, k = argmin_j ||z_e - e_j||^2. The
    forward value is z_q; the gradient passes straight through to z_e
    (z_e + stop_gradient(z_q - z_e)). The model's loss adds

        codebook loss    ||stop_gradient(z_e) - z_q||^2   (moves the codes),
        commitment loss  ||z_e - stop_gradient(z_q)||^2   (times beta, keeps the encoder near its codes),

    both averaged over the vectors and their dimensions (`quantize_vectors` returns
    them). With `ema_decay` the codes are not trained by the codebook loss
    (it is returned as 0) but set to exponential moving averages of the
    vectors assigned to them (the paper's appendix A.1):

        N_k <- d N_k + (1 - d) n_k,    m_k <- d m_k + (1 - d) sum of the vectors assigned to k,
        e_k = m_k / N~_k,  N~_k = (N_k + eps) / (N + K eps) * N  (Laplace smoothing, N = sum_k N_k).

    `restart_threshold` restarts dead codes: every code keeps a moving
    average (decay 0.99) of the fraction of vectors assigned to it, and a
    code whose average falls under `restart_threshold / K` takes the value
    of a random vector of the batch (and, with EMA, its statistics restart
    there). The codebook's use is reported as its perplexity
    exp(-sum_k p_k log p_k), p_k the batch's fraction of vectors at code k:
    K when the codes are used evenly, 1 when one code takes everything.

    Under `tf.distribute`, the batch statistics (assignments, sums, the
    restart candidates) are summed or gathered over the replicas, so every
    replica writes the same values into its own copy of the codebook.

    Args:
        num_codes: K, the codebook's size.
        code_dim: D, the size of each code (the input's last axis).
        ema_decay: None (the codes are trainable weights) or d in (0, 1).
        epsilon: the Laplace smoothing of the EMA counts.
        restart_threshold: None (no restarts) or a fraction in (0, 1] of the
            even share 1/K under which a code is restarted.
        seed: an optional integer seed of the layer's own random stream
            (the restarts' choice of vectors when no stateless seed is given).
        commitment_cost: beta (0.25, the paper's): `call` adds the codebook
            loss plus beta times the commitment loss to the layer's losses
            (`add_loss`), so that in a user's Keras model `fit` trains the
            codebook and the encoder; tfgen's models take both from
            `quantize_vectors` instead.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: (..., D) vectors.
        training: update the codebook statistics (EMA, restarts).
        seed: an optional stateless seed (restarts).

    Returns:
        `call`: the quantized vectors with the straight-through gradient,
        the inputs' shape; `quantize_vectors`: a dict with those (`quantized`),
        `indices` (int64, the inputs' shape without the last axis),
        `codebook_loss`, `commitment_loss` and `perplexity` (scalars).
    """

    #: Computes in float32 under mixed precision (`tfgen.layers.precision`): distances between codes need it.
    keeps_float32 = True

    def __init__(self, num_codes, code_dim, ema_decay=None, epsilon=1e-5, restart_threshold=None, seed=None,
                 commitment_cost=0.25, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.num_codes = _checks.positive_int("num_codes", num_codes)
        self.code_dim = _checks.positive_int("code_dim", code_dim)
        self.ema_decay = _checks.number("ema_decay", ema_decay, minimum=0.0, allow_minimum=False, maximum=1.0,
                                        allow_maximum=False, allow_none=True)
        self.epsilon = _checks.positive_number("epsilon", epsilon)
        self.restart_threshold = _checks.number("restart_threshold", restart_threshold, minimum=0.0,
                                                allow_minimum=False, maximum=1.0, allow_none=True)
        self.seed = _checks.optional_seed("seed", seed)
        self.commitment_cost = _checks.non_negative_number("commitment_cost", commitment_cost)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # An attribute, so `tfgen.random.seed_initializers` seeds it from the run's seed before the codebook is made.
        self.initializer = keras.initializers.VarianceScaling(scale=1.0, mode="fan_avg", distribution="uniform")

    def build(self, input_shape=None):
        if input_shape is not None and input_shape[-1] is not None and int(input_shape[-1]) != self.code_dim:
            raise ValueError(f"VectorQuantizer(code_dim={self.code_dim}) got vectors of size {input_shape[-1]}. "
                             f"Received: inputs.shape={tuple(input_shape)}")
        # "none": every replica writes the same (all-reduced) values into its own copy (tfgen/models/vhe.py's rule).
        state = {"trainable": False, "aggregation": "none", "autocast": False}
        self.codebook = self.add_weight(shape=(self.num_codes, self.code_dim), initializer=self.initializer,
                                        trainable=self.ema_decay is None, autocast=False, name="codebook")
        if self.ema_decay is not None:
            self.ema_counts = self.add_weight(shape=(self.num_codes,), initializer="zeros", name="ema_counts",
                                              **state)
            self.ema_sums = self.add_weight(shape=(self.num_codes, self.code_dim), initializer="zeros",
                                            name="ema_sums", **state)
            self.ema_sums.assign(self.codebook)  # as Sonnet's VectorQuantizerEMA: the sums start at the codes
        if self.restart_threshold is not None:
            self.usage = self.add_weight(shape=(self.num_codes,),
                                         initializer=keras.initializers.Constant(1.0 / self.num_codes),
                                         name="usage", **state)
        self.built = True

    def distances(self, flat):
        """Squared distances (N, K) of the rows of `flat` (N, D) to every code."""
        codebook = tf.convert_to_tensor(self.codebook)
        return (tf.reduce_sum(tf.square(flat), axis=1, keepdims=True)
                - 2.0 * tf.matmul(flat, codebook, transpose_b=True)
                + tf.reduce_sum(tf.square(codebook), axis=1)[None])

    def lookup(self, indices):
        """The codes at `indices` (int, any shape): (*indices.shape, D), float32."""
        return tf.gather(tf.convert_to_tensor(self.codebook), tf.cast(indices, tf.int64))

    def quantize_vectors(self, inputs, training=False, seed=None):
        """The dict of the class docstring (`quantize` is the name of Keras' own quantization API)."""
        inputs = tf.convert_to_tensor(inputs)
        if not inputs.dtype.is_floating:
            raise TypeError(f"VectorQuantizer expects float vectors. Received: dtype={inputs.dtype.name}")
        if not self.built:
            self.build(inputs.shape)
        _checks.shape("inputs", inputs, (*([None] * (inputs.shape.rank - 1)), self.code_dim))
        vectors = tf.cast(inputs, tf.float32)
        flat = tf.reshape(vectors, [-1, self.code_dim])
        indices = tf.argmin(self.distances(flat), axis=1)
        quantized = tf.reshape(self.lookup(indices), tf.shape(vectors))
        one_hot = tf.one_hot(indices, self.num_codes, dtype=tf.float32)
        counts = tf.reduce_sum(one_hot, axis=0)
        perplexity = _perplexity(counts)
        if training:
            self._update(flat, one_hot, counts, seed)
        codebook_loss = (tf.constant(0.0) if self.ema_decay is not None
                         else tf.reduce_mean(tf.square(tf.stop_gradient(vectors) - quantized)))
        commitment_loss = tf.reduce_mean(tf.square(vectors - tf.stop_gradient(quantized)))
        straight_through = vectors + tf.stop_gradient(quantized - vectors)
        return {
            "quantized": tf.cast(straight_through, inputs.dtype),
            "indices": tf.reshape(indices, tf.shape(vectors)[:-1]),
            "codebook_loss": codebook_loss,
            "commitment_loss": commitment_loss,
            "perplexity": perplexity,
        }

    def call(self, inputs, training=False, seed=None):
        out = self.quantize_vectors(inputs, training=training, seed=seed)
        self.add_loss(out["codebook_loss"] + self.commitment_cost * out["commitment_loss"])
        return out["quantized"]

    def _update(self, flat, one_hot, counts, seed):
        """The EMA codebook and the restarts, from the batch's statistics summed over the replicas."""
        flat = tf.stop_gradient(flat)
        context = tf.distribute.get_replica_context()
        sums = tf.matmul(one_hot, flat, transpose_a=True)
        if context is not None and context.num_replicas_in_sync > 1:
            counts, sums = context.all_reduce("sum", [counts, sums])
        if self.ema_decay is not None:
            decay = self.ema_decay
            ema_counts = decay * self.ema_counts + (1.0 - decay) * counts
            ema_sums = decay * self.ema_sums + (1.0 - decay) * sums
            total = tf.reduce_sum(ema_counts)
            smoothed = (ema_counts + self.epsilon) / (total + self.num_codes * self.epsilon) * total
            self.ema_counts.assign(ema_counts)
            self.ema_sums.assign(ema_sums)
            self.codebook.assign(ema_sums / smoothed[:, None])
        if self.restart_threshold is not None:
            self._restart(flat, counts, seed, context)

    def _restart(self, flat, counts, seed, context):
        """Codes whose moving share of the vectors fell under restart_threshold / K take random batch vectors."""
        usage = 0.99 * self.usage + 0.01 * counts / tf.maximum(tf.reduce_sum(counts), 1.0)
        dead = usage < self.restart_threshold / self.num_codes
        candidates = flat
        if context is not None and context.num_replicas_in_sync > 1:
            candidates = context.all_gather(tf.identity(flat), axis=0)
        picks = tf.random.stateless_uniform(
            [self.num_codes], seed=tf.cast(tfgen_random.resolve_seed(seed, self.seed_generator), tf.int64), minval=0,
            maxval=tf.shape(candidates, out_type=tf.int64)[0], dtype=tf.int64)
        replacement = tf.gather(candidates, picks)
        self.codebook.assign(tf.where(dead[:, None], replacement, tf.convert_to_tensor(self.codebook)))
        if self.ema_decay is not None:
            # The restarted code's statistics: one even share, at its new value.
            share = tf.reduce_sum(self.ema_counts) / self.num_codes
            self.ema_counts.assign(tf.where(dead, share, tf.convert_to_tensor(self.ema_counts)))
            self.ema_sums.assign(tf.where(dead[:, None], replacement * share, tf.convert_to_tensor(self.ema_sums)))
        self.usage.assign(tf.where(dead, 1.0 / self.num_codes, usage))

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "num_codes": self.num_codes, "code_dim": self.code_dim,
                "ema_decay": self.ema_decay, "epsilon": self.epsilon, "restart_threshold": self.restart_threshold,
                "seed": self.seed, "commitment_cost": self.commitment_cost}


def _perplexity(counts):
    """exp(entropy) of the code frequencies `counts` (K,): K for even use, 1 for one code."""
    probabilities = counts / tf.maximum(tf.reduce_sum(counts), 1.0)
    entropy = -tf.reduce_sum(probabilities * tf.math.log(probabilities + 1e-10))
    return tf.exp(entropy)
