"""XLA compilation of the training step (`Trainer(jit=True)`, `tfgen train --jit`).

Each replica's step is one XLA computation (`tf.function(jit_compile=True)`);
`strategy.run` and the cross-replica sums around it are not. This module
says which strategies can run such a step (`check_strategy`) and turns
XLA's compile errors into a ValueError that names what could not be
compiled (`explain_errors`).
"""

import re

import tensorflow as tf

from tfgen.training.distribute import error_line


def check_strategy(strategy):
    """Raises a ValueError when `strategy` cannot run an XLA-compiled replica step.

    TensorFlow compiles a step that `strategy.run` gives to several
    replicas only when every replica is a GPU (then no replica needs
    `merge_call`, which cannot sit inside a compiled function); the default
    strategy (one device, any kind) always can.
    """
    if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
        return
    devices = list(getattr(strategy.extended, "worker_devices", ()))
    other = [device for device in devices if tf.DeviceSpec.from_string(device).device_type != "GPU"]
    if other:
        raise ValueError(
            f"jit=True (--jit) under {type(strategy).__name__} needs every replica on a GPU (TensorFlow compiles a "
            f"replica's step with XLA only then); this strategy has {other}. Train without --jit, or with the "
            f"default strategy. Received: jit=True"
        )


def explain_errors(compiled, model):
    """`compiled` (a training step whose replica step XLA compiles), raising a ValueError that says what XLA
    could not compile in `model`'s step instead of TensorFlow's error; other errors pass unchanged."""

    def run(batch):
        try:
            return compiled(batch)
        except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, tf.errors.InternalError) as error:
            if not is_xla_error(error):
                raise
            raise ValueError(
                f"jit=True (--jit): XLA cannot compile the training step of {type(model).__name__}: "
                f"{xla_problem(error)}. Train without --jit (jit=False)."
            ) from error

    return run


def is_xla_error(error):
    """True when a TensorFlow error says XLA could not compile a function (e.g. an op without an XLA kernel)."""
    message = str(getattr(error, "message", error))
    return any(words in message for words in ("XLA", "unsupported operations", "must be a compile-time constant"))


def xla_problem(error):
    """What XLA could not compile, in a few words, from a TensorFlow error's message."""
    message = str(getattr(error, "message", error))
    missing = sorted(set(re.findall(r"No registered '(\w+)' OpKernel for (\w+) devices", message)))
    if missing:
        return "; ".join(f"the op {op} has no XLA kernel on {device}" for op, device in missing)
    return (error_line(message, ("XLA", "compile")) or type(error).__name__).rstrip(".")
