"""Mixed precision: the one place that decides how a run's precision applies to a model and its optimizers.

`Trainer(..., precision=...)` (and `tfgen train --precision`) takes one of

* "float32" (the default): nothing changes, bit for bit;
* "mixed_bfloat16": every layer computes in bfloat16 with float32 variables,
  except the layers `tfgen.layers.precision` keeps in float32 (the
  networks' outputs and the sampling layers), so every loss, log-density,
  KL term and kernel is computed in float32. bfloat16 has float32's
  exponent range: no loss scaling is needed;
* "mixed_float16": the same in float16, and each optimizer (both of a GAN)
  is wrapped in `keras.optimizers.LossScaleOptimizer`: the steps multiply
  their loss by the dynamic loss scale, the optimizer divides the
  gradients by it, and a step whose scaled gradients overflow lowers the
  scale and skips its update. That skip is part of loss scaling, not a
  sign of divergence: it does not count towards `max_nonfinite_steps`
  (`GenerativeModel.apply_gradients_if_finite`), unless the scale has
  already fallen to 1 (the gradient itself is then not finite).

The policy is given to the model's layers (`apply_policy`), never set
globally, and the model's own policy stays float32: its configuration, its
checkpoints and its exports are the same as a float32 run's (variables are
float32 under every policy), so an export of a mixed run is a float32 model.
"""

import keras

from tfgen import _checks
from tfgen.config import PRECISIONS  # noqa: F401 (re-exported: the choices of the option, declared there)
from tfgen.layers.precision import keeps_float32

#: The precisions whose optimizers scale the loss (their checkpoints hold a `LossScaleOptimizer`).
LOSS_SCALED = ("mixed_float16",)
#: What config.json's "training" means when it has no "precision" (runs written before the option).
DEFAULT = "float32"


def check_precision(precision, argument="precision"):
    """`precision` if it is one of `PRECISIONS`; else a ValueError naming `argument`."""
    return _checks.choice(argument, precision, PRECISIONS)


def loss_scaled(precision):
    """True when `precision` trains with a `LossScaleOptimizer`."""
    return precision in LOSS_SCALED


def apply_policy(model, precision):
    """Gives every layer inside `model` the dtype policy `precision` (not the model's own, not float32 layers).

    Layers marked by `tfgen.layers.precision.float32_layer` keep float32,
    and so do the layers inside them. Layers built later (inside a layer's
    `build`) get the policy when this is called again after the build.
    "float32" changes nothing.
    """
    precision = check_precision(precision)
    if precision == "float32":
        return

    def visit(layer):
        for child in layer._flatten_layers(include_self=False, recursive=False):
            if keeps_float32(child):
                continue
            if child.dtype_policy.name != precision:
                child.dtype_policy = precision
            visit(child)

    visit(model)


def wrap_optimizer(optimizer, precision):
    """`optimizer` wrapped in a `keras.optimizers.LossScaleOptimizer` for "mixed_float16"; else itself."""
    if not loss_scaled(check_precision(precision)) or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def inner_optimizer(optimizer):
    """The optimizer a `LossScaleOptimizer` wraps (what config.json records); any other optimizer itself."""
    while isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    return optimizer


def compile_model(model, optimizer, compile_kwargs, precision, example_batch):
    """Compiles `model` in `precision` and builds it from `example_batch()`; returns its (wrapped) optimizer.

    `optimizer` and the optimizers among `compile_kwargs` (a GAN's
    `d_optimizer`) are wrapped for `precision` (`wrap_optimizer`), and every
    layer gets its policy, before the build and again after it (the layers
    made while building). Call it inside the run's strategy scope.
    """
    optimizer = wrap_optimizer(optimizer, precision)
    compile_kwargs = {key: wrap_optimizer(value, precision) if isinstance(value, keras.optimizers.Optimizer) else value
                      for key, value in dict(compile_kwargs or {}).items()}
    apply_policy(model, precision)
    model.compile(optimizer=optimizer, **compile_kwargs)
    model.build_from_batch(example_batch())
    apply_policy(model, precision)  # the layers made while building
    return optimizer
