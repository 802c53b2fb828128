"""Child process on two logical CPUs: every model trains under MirroredStrategy in mixed bfloat16
(test_distribute.py, and test_precision.py's bfloat16 checks), and the other runs of tests/precision
(precision/child_precision.py) train too.

Usage: child_distribute.py REPORT MODELS [PRECISION_REPORT JIT FLOAT16 MIRRORED_FLOAT16]
(comma-separated model names; the precision lists as `child_precision.run_all` takes them).

A process of its own because the logical devices must be configured before
TensorFlow initializes its devices; one for both test files, as each
process pays a TensorFlow start (~5 s of CPU). Writes {model: {...}} (or
{model: {"error": traceback}}) to REPORT, and the precision runs' report
to PRECISION_REPORT.
"""

import os
import sys

import keras
import numpy as np
import tensorflow as tf

CPU = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for conftest

from conftest import create_model, synthetic_dataset  # noqa: E402
from child_report import check_each, write_report  # noqa: E402
from tfgen.training import Trainer  # noqa: E402


def train(name, strategy):
    """One epoch (4 steps) in mixed bfloat16 under `strategy`: test_distribute.py's run, and
    test_precision.py's bfloat16 run (its checks of the run and the policy: `precision.child_precision.fit_facts`).

    One run for both: each model's replicas, and its layers and losses under the policy, were two runs (~23 s
    of CPU in all) until the suite had to fit its time again; MirroredStrategy's code does not depend on the
    policy, and float32 under it is the multi-worker reference's (test_multiworker.py)."""
    from precision.child_precision import fit_facts, out_of_sync

    keras.utils.set_random_seed(0)
    with strategy.scope():
        model = create_model(name)
    trainer = Trainer(model, synthetic_dataset(32), os.path.join(os.getcwd(), name), epochs=1, batch_size=8,
                      learning_rate=1e-3, strategy=strategy, verbose=0, precision="mixed_bfloat16")
    facts = fit_facts(trainer)
    # Keras variables wrap the strategy's variables: .value is the MirroredVariable.
    mirrored = [v.value for v in model.trainable_variables if isinstance(v.value, tf.distribute.DistributedValues)]
    return {
        **facts,
        "replicas": strategy.num_replicas_in_sync,
        "mirrored": len(mirrored),
        "out_of_sync": out_of_sync(model),
        **_skip_on_every_replica(model, trainer),  # last: it poisons a weight
    }


def _replica_values(model):
    """Every variable's value on every replica (model and optimizers), as NumPy arrays."""
    variables = list(model.variables) + list(model.optimizer.variables)
    if getattr(model, "d_optimizer", None) is not None:
        variables += list(model.d_optimizer.variables)
    values = []
    for variable in variables:
        inner = getattr(variable, "value", variable)
        parts = inner.values if isinstance(inner, tf.distribute.DistributedValues) else (inner,)
        values += [np.array(part.numpy()) for part in parts]
    return values


def _skip_on_every_replica(model, trainer):
    """A NaN in one weight on replica 0 only: the next step must be skipped on BOTH replicas.

    The guard decides with an all-reduce and, under MirroredStrategy on CPUs,
    applies (or not) through `merge_call`: every value on every replica,
    the poisoned one included, must stay exactly as it was.
    """
    # The last weight (an output bias): its NaN reaches the loss through any kernels (a NaN in a weight
    # before a fused ReLU may not: oneDNN maps it to 0, and its gradient stays finite).
    component = model.trainable_variables[-1].value.values[0]
    poisoned = component.numpy()
    poisoned.flat[0] = np.nan
    component.assign(poisoned)
    before = _replica_values(model)
    trainer._skipped_updates.assign(0.0)
    batch = next(iter(trainer._distribute(trainer.batches(trainer.train_data, epoch=7))))
    trainer._train_batch(batch)
    after = _replica_values(model)
    changed = sum(not np.array_equal(old, new, equal_nan=True) for old, new in zip(before, after))
    return {"skip_changed": changed, "skip_compared": len(before), "skipped": float(trainer._skipped_updates.numpy())}


def main(report_path, names, precision_report=None, *precision_lists):
    # One strategy for all models (the precision runs' too): each new MirroredStrategy numbers its
    # collective ops from the same start, and a process's collective executor
    # refuses an instance number already used with another shape.
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    write_report(report_path, check_each({}, names, lambda name: train(name, strategy)))
    if precision_report:
        from precision.child_precision import run_all

        run_all(precision_report, precision_lists, strategy)


if __name__ == "__main__":
    main(*sys.argv[1:])
