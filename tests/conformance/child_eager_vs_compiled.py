"""Child process of the conformance suite: eager and compiled training, side by side, for every model.

Usage: child_eager_vs_compiled.py REPORT STEP_MODELS LOOP_MODELS (comma-separated model names).

Started by tests/conformance/conftest.py with TF_ENABLE_ONEDNN_OPTS=0, and
Grappler is disabled below: the eager and the compiled side then run the
same kernels on the same inputs in the same order, so their results must be
bit-identical on any CPU. What the comparison is for is the trace-time
behaviour of the models' Python code (seeds, Python side effects, variables
created or read once at trace time), which neither switch changes.

Writes {model: {"step": {...}, "loop": {...}}} (or {"error": traceback}) to REPORT.
"""

import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for conftest

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from conftest import built_model, create_model, example_batch, synthetic_dataset  # noqa: E402
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


def compare_steps(name):
    """Two train_steps (two batches, two seeds) of one model eagerly and of its copy through one tf.function."""
    eager_model, batch = built_model(name, seed=3)
    graph_model, _ = built_model(name, seed=4)
    graph_model.set_weights(eager_model.get_weights())
    initial = [v.numpy().copy() for v in eager_model.trainable_variables]
    step = tf.function(graph_model.train_step, autograph=False)  # as the Trainer compiles its steps
    calls = [(batch, tf.constant([7, 11], tf.int64)), (example_batch(eager_model, seed=1), tf.constant([8, 12], tf.int64))]
    metrics = []
    for call, (data, seed) in enumerate(calls):
        eager_metrics = eager_model.train_step(data, seed)
        graph_metrics = step(data, seed)
        for key in eager_model.metric_names:
            e, g = float(eager_metrics[key].numpy()), float(graph_metrics[key].numpy())
            if not np.array_equal(e, g):
                metrics.append((call, key, e, g))
    unchanged = sum(np.array_equal(a, v.numpy()) for a, v in zip(initial, eager_model.trainable_variables))
    return {
        "metric_differences": metrics,
        "state_differences": state_differences(eager_model, graph_model),
        "traces": int(step.experimental_get_tracing_count()),
        "unchanged_trainable_variables": int(unchanged),
        "trainable_variables": len(initial),
    }


def compare_loops(name, folder):
    """One epoch of Trainer(eager=False) and Trainer(eager=True), from the same seeds."""
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
    }


def main(report_path, step_models, loop_models):
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    folder = tempfile.mkdtemp(dir=os.getcwd())
    report = {}
    for kind, names, check in (("step", step_models, compare_steps), ("loop", loop_models, lambda n: compare_loops(n, folder))):
        check_each(report, names, check, kind)
    write_report(report_path, report)


if __name__ == "__main__":
    main(*sys.argv[1:4])
