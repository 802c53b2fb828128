"""The exponential moving average of a network's weights: the one averaging mechanism of tfgen's models.

A model that samples from an average of its network's iterates keeps a
second instance of that network, not trainable, and moves it towards the
trained one after every applied update:

    average <- decay_t * average + (1 - decay_t) * live,
    decay_t = min(decay, (1 + t) / (10 + t)),

t the number of updates applied so far (the optimizer's `iterations`, which
a checkpoint holds, so a resumed run continues the same average). The
warm-up of `tf.train.ExponentialMovingAverage` lets the average follow the
network closely early in a run. Non-float variables (counters) are copied.

Used by the GANs' `generator_ema` (`tfgen.models.gan.AdversarialModel`) and
by the diffusion models' `ema` (`tfgen.models.diffusion`): Yazici et al.,
"The Unusual Effectiveness of Averaging in GAN Training", ICLR 2019; Ho,
Jain and Abbeel, "Denoising Diffusion Probabilistic Models", NeurIPS 2020
(decay 0.9999).
"""

import tensorflow as tf

from tfgen import _checks


def check_decay(argument, decay):
    """`decay` checked: None (no average) or a float in (0, 1); a ValueError naming `argument` otherwise."""
    return _checks.number(argument, decay, minimum=0.0, allow_minimum=False, maximum=1.0, allow_maximum=False,
                          allow_none=True)


def make_average(network, example_inputs, name):
    """A second instance of `network` (built from its config, called once on `example_inputs`), not trainable,
    holding the network's current values."""
    average = type(network).from_config({**network.get_config(), "name": name})
    average(example_inputs, training=False)
    average.trainable = False
    for target, source in zip(average.weights, network.weights):
        target.assign(source)
    return average


def decay_at(decay, updates):
    """decay_t = min(decay, (1 + t) / (10 + t)) for t = `updates` (a tensor), float32."""
    step = tf.cast(updates, tf.float32)
    return tf.minimum(tf.constant(decay, tf.float32), (1.0 + step) / (10.0 + step))


def update_average(average, network, decay, updates):
    """Moves every variable of `average` towards `network`'s by `decay_at(decay, updates)` (module docstring)."""
    rate = 1.0 - decay_at(decay, updates)
    for target, live in zip(average.weights, network.weights):
        if tf.as_dtype(target.dtype).is_floating:
            target.assign_sub(tf.cast(rate, target.dtype) * (target - tf.cast(live, target.dtype)))
        else:
            target.assign(live)


def without_average(variables, average):
    """`variables` without those of `average` (None: all of them): the state a step's snapshot need not copy,
    since no forward pass moves the average."""
    if average is None:
        return variables
    averaged = {id(variable) for variable in average.variables}
    return [variable for variable in variables if id(variable) not in averaged]
