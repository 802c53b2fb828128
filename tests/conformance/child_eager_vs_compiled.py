"""Child process of the conformance suite: eager and compiled training, side by side, for every model.

Usage: child_eager_vs_compiled.py REPORT LOOP_MODELS (comma-separated model names).

Started by tests/conformance/conftest.py with TF_ENABLE_ONEDNN_OPTS=0, and
Grappler is disabled below: the eager and the compiled side then run the
same kernels on the same inputs in the same order, so their results must be
bit-identical on any CPU. What the comparison is for is the trace-time
behaviour of the models' Python code (seeds, Python side effects, variables
created or read once at trace time), which neither switch changes.

Writes {model: {"loop": {...}}} (or {"error": traceback}) to REPORT.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for conftest

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from conftest import create_model, synthetic_dataset  # noqa: E402
from child_report import check_each, write_report  # noqa: E402
from tfgen.training import Trainer  # noqa: E402

SEED_STATE = "seed_generator_state"


def optimizers(model):
    """The model's optimizers by attribute name (GANs: the generator's and the discriminator's)."""
    return {name: getattr(model, name) for name in ("optimizer", "d_optimizer") if getattr(model, name, None) is not None}


def differences(expected, actual):
    """[(path, elements that differ, largest difference)] of two aligned lists of variables."""
    found = []
    if len(expected) != len(actual):
        return [("<number of variables>", len(expected), float(len(actual)))]
    for first, second in zip(expected, actual):
        a, b = first.numpy(), second.numpy()
        if a.shape != b.shape or not np.array_equal(a, b):
            count = int(np.sum(a != b)) if a.shape == b.shape else -1
            largest = float(np.max(np.abs(a.astype(np.float64) - b))) if a.shape == b.shape and a.size else float("nan")
            found.append((first.path, count, largest))
    return found


def state_differences(model, other):
    """Differences between two models' variables and optimizer slots (the random streams' states left out)."""
    found = differences([v for v in model.variables if not v.path.endswith(SEED_STATE)],
                        [v for v in other.variables if not v.path.endswith(SEED_STATE)])
    for attribute, optimizer in optimizers(model).items():
        found += differences(optimizer.variables, optimizers(other)[attribute].variables)
    return found


def compare_loops(name, folder):
    """One epoch (4 steps: 4 batches, 4 seeds) of Trainer(eager=False) and Trainer(eager=True), from the same seeds.

    The compiled side's 4 steps run one trace (`traces`, checked): a seed, a Python side effect or a variable
    read once when the step was traced stays frozen in it, and the eager side's steps differ from them."""
    runs = {}
    for eager in (False, True):
        keras.utils.set_random_seed(0)
        trainer = Trainer(create_model(name), synthetic_dataset(32), os.path.join(folder, name, str(eager)),
                          epochs=1, batch_size=8, learning_rate=1e-3, seed=3, eager=eager, verbose=0)
        runs[eager] = (trainer.fit(), trainer)
    (compiled_history, compiled), (eager_history, eager) = runs[False], runs[True]
    history = [(key, compiled_history[0][key], eager_history[0][key])
               for key in compiled_history[0] if key.startswith("train/") and eager_history[0][key] != compiled_history[0][key]]
    return {
        "history_keys": sorted(key for key in compiled_history[0] if key.startswith("train/")),
        "history_differences": history,
        "state_differences": state_differences(compiled.model, eager.model),
        "global_steps": [int(compiled.global_step.numpy()), int(eager.global_step.numpy())],
        "traces": int(compiled._train_batch.experimental_get_tracing_count()),
    }


def main(report_path, loop_models):
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    folder = tempfile.mkdtemp(dir=os.getcwd())
    report = {}
    check_each(report, loop_models, lambda name: compare_loops(name, folder), "loop")
    write_report(report_path, report)


if __name__ == "__main__":
    main(*sys.argv[1:3])
