"""Gumbel-softmax (concrete) sampling of one-hot categorical variables.

Jang, Gu and Poole, "Categorical Reparameterization with Gumbel-Softmax",
ICLR 2017; Maddison, Mnih and Teh, "The Concrete Distribution: A Continuous
Relaxation of Discrete Random Variables", ICLR 2017.
"""

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random


def annealed_temperature(step, rate, min_temperature=0.5, initial_temperature=1.0, update_every=1):
    """The temperature schedule of Jang et al. 2017: tau = max(tau_min, tau_0 * exp(-rate * t)).

    `t` is the training step rounded down to a multiple of `update_every`: the
    temperature changes once every `update_every` steps. A pure function of
    the step, so a resumed run continues the same schedule.

    Args:
        step: the training step (a scalar tensor or number, e.g. `optimizer.iterations`).
        rate: the annealing rate r (>= 0).
        min_temperature: tau_min, the floor of the schedule.
        initial_temperature: tau_0, the temperature at step 0.
        update_every: N, the period of the updates in steps.

    Returns:
        A float32 scalar tensor.
    """
    rate = _checks.non_negative_number("rate", rate)
    min_temperature = _checks.positive_number("min_temperature", min_temperature)
    initial_temperature = _checks.positive_number("initial_temperature", initial_temperature)
    update_every = _checks.positive_int("update_every", update_every)
    step = tf.cast(step, tf.int64)
    held_step = tf.cast((step // update_every) * update_every, tf.float32)
    return tf.maximum(
        tf.constant(min_temperature, tf.float32),
        tf.constant(initial_temperature, tf.float32) * tf.exp(-tf.constant(rate, tf.float32) * held_step),
    )


@keras.saving.register_keras_serializable(package="tfgen")
class GumbelSoftmax(keras.layers.Layer):
    """Draws a relaxed one-hot sample from a categorical distribution given by its logits.

    The sample is `softmax((logits + g) / temperature)` with `g` Gumbel(0, 1)
    noise, drawn by TFP's `tfp.distributions.RelaxedOneHotCategorical`: it is
    a differentiable function of the logits (reparameterized), and approaches
    a one-hot vector as the temperature goes to 0.

    With `hard=True` (the straight-through estimator) the forward pass returns
    the one-hot vector of the sample's largest entry, while gradients are those
    of the relaxed sample.

    The temperature lives in a non-trainable variable (`layer.temperature`),
    so a schedule can change it inside a compiled training step
    (`layer.temperature.assign(...)`, see `annealed_temperature`) and it is
    saved with the weights.

    Args:
        temperature: the initial temperature, a positive number.
        hard: return straight-through one-hot samples instead of soft ones.
        seed: an optional integer seed for the layer's own random stream.
        **kwargs: base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: logits of shape (..., num_classes).
        seed: an optional stateless seed, an int tensor of shape (2,). When
            given, the sample is a pure function of the logits, the
            temperature and the seed; when omitted, the noise comes from the
            layer's `SeedGenerator`.
    """

    #: Computes in float32 under mixed precision (`tfgen.layers.precision`), unless given another `dtype`.
    keeps_float32 = True

    def __init__(self, temperature=1.0, hard=False, seed=None, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.initial_temperature = _checks.positive_number("temperature", temperature)
        self.hard = _checks.boolean("hard", hard)
        self.seed = _checks.optional_seed("seed", seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # "only_first_replica": a schedule may assign it from every replica's step.
        self.temperature = self.add_weight(
            shape=(),
            initializer=keras.initializers.Constant(self.initial_temperature),
            trainable=False,
            name="temperature",
            aggregation="only_first_replica",
        )

    def set_temperature(self, value):
        """Assigns a new temperature, a positive number as the constructor's (works inside `tf.function`).

        A Python number, or a tensor whose value is known (eager, or a
        constant), is checked at once (a ValueError naming `temperature`); a
        tensor in a graph by an assertion that fails the assignment
        (`InvalidArgumentError`) when its value is not positive and finite.
        """
        if not tf.is_tensor(value):
            value = _checks.positive_number("temperature", value)
        else:
            value = tf.convert_to_tensor(value)
            static = tf.get_static_value(value)
            if not (value.dtype.is_floating or value.dtype.is_integer) or value.shape.rank not in (None, 0):
                raise ValueError(f"temperature must be a positive number (a scalar). Received: temperature={value!r}")
            if static is not None:
                _checks.positive_number("temperature", static.item())
            else:
                value = tf.cast(value, self.temperature.dtype)
                check = tf.debugging.Assert(tf.logical_and(value > 0, tf.math.is_finite(value)),
                                            ["temperature must be a positive number. Received: temperature=", value])
                with tf.control_dependencies([check]):
                    value = tf.identity(value)
        return self.temperature.assign(tf.cast(value, self.temperature.dtype))

    def call(self, inputs, seed=None):
        logits = tf.convert_to_tensor(inputs)
        if not logits.dtype.is_floating:
            raise TypeError(f"GumbelSoftmax expects float logits. Received: dtype={logits.dtype.name}")
        if logits.shape.rank is None or logits.shape.rank < 1 or logits.shape[-1] is None or logits.shape[-1] < 2:
            raise ValueError(
                "GumbelSoftmax expects logits of shape (..., num_classes) with a known num_classes >= 2. "
                f"Received: inputs.shape={logits.shape}"
            )
        seed = tfgen_random.resolve_seed(seed, self.seed_generator)
        # TFP's stateless samplers take int32 seeds: derive one from the int64 seed
        # instead of truncating it.
        tfp_seed = tf.random.stateless_uniform(
            [2], seed=tf.cast(seed, tf.int64), minval=None, maxval=None, dtype=tf.int32
        )
        # Imported here, not with the module: TFP's import (with the scikit-learn that its Keras import pulls in)
        # cost ~1 s of CPU in every `import tfgen`, and only this layer uses it.
        import tensorflow_probability as tfp

        temperature = tf.cast(self.temperature, logits.dtype)
        distribution = tfp.distributions.RelaxedOneHotCategorical(temperature, logits=logits)
        soft = distribution.sample(seed=tfp_seed)
        if not self.hard:
            return soft
        hard = tf.one_hot(tf.argmax(soft, axis=-1), tf.shape(soft)[-1], dtype=soft.dtype)
        # Straight-through: the value of `hard`, the gradient of `soft`.
        return soft + tf.stop_gradient(hard - soft)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        base_config = super().get_config()
        config = {"temperature": self.initial_temperature, "hard": self.hard, "seed": self.seed}
        return {**base_config, **config}
