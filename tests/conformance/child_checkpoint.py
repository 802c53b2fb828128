"""Child process of the conformance suite: every model's run, interrupted mid-epoch and resumed, against
the same run never interrupted.

Usage: child_checkpoint.py REPORT MODELS (comma-separated model names).

Started by tests/conformance/conftest.py when the session starts (in the
process of child_batch.py, after child_image_shapes.py's checks), beside the
other children and the in-process tests (three Trainers a model, each
tracing its steps: CPU work that would otherwise hold up the in-process
tests). Grappler is off, as the `grappler_disabled` fixture turns it off in
process: with it on, the CVAE's compiled gradients were seen to differ in the
last bits from one call to the next on the same inputs (under CPU load),
which no resumption logic can be blamed for; without it, they never did.
Writes {model: {...}} (or {model: {"error": traceback}}) to REPORT;
test_checkpoint.py asserts on it.
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


def trainer(name, run_dir):
    """test_checkpoint.py's `_trainer`: 48 examples in batches of 8 (6 steps an epoch), 2 epochs, test data."""
    keras.utils.set_random_seed(0)
    return Trainer(create_model(name), synthetic_dataset(48), run_dir, test_data=synthetic_dataset(16, seed=1),
                   epochs=2, batch_size=8, learning_rate=1e-3, seed=3, verbose=0)


def differences(expected, actual):
    """[(path, elements that differ)] of two lists of variables; their lengths must match (checked apart)."""
    return [(first.path, int(np.sum(first.numpy() != second.numpy())) if first.shape == second.shape else -1)
            for first, second in zip(expected, actual)
            if first.shape != second.shape or not np.array_equal(first.numpy(), second.numpy())]


def kill_and_resume(name, folder):
    uninterrupted = trainer(name, os.path.join(folder, name, "a"))
    history = uninterrupted.fit()
    interrupted = trainer(name, os.path.join(folder, name, "b"))
    interrupted.fit(max_steps=4)  # stops inside epoch 1 of 6 steps
    stopped_at = [int(interrupted.epoch.numpy()), int(interrupted.step_in_epoch.numpy())]
    resumed = trainer(name, os.path.join(folder, name, "b"))  # a new process would start from scratch like this
    resumed_history = resumed.fit(resume=True)
    keys = [[key for key in entry if key.startswith(("train/", "test/"))] for entry in history]
    return {
        "stopped_at": stopped_at,
        "global_steps": [int(uninterrupted.global_step.numpy()), int(resumed.global_step.numpy())],
        "variable_counts": [len(uninterrupted.model.variables), len(resumed.model.variables)],
        "variable_differences": differences(uninterrupted.model.variables, resumed.model.variables),
        "optimizer_variable_counts": [len(uninterrupted.optimizer.variables), len(resumed.optimizer.variables)],
        "optimizer_differences": differences(uninterrupted.optimizer.variables, resumed.optimizer.variables),
        "history_lengths": [len(history), len(resumed_history)],
        "history_keys": keys,
        "history_differences": [(epoch, key, expected[key], actual.get(key))
                                for epoch, (expected, actual, epoch_keys) in enumerate(zip(history, resumed_history, keys))
                                for key in epoch_keys if actual.get(key) != expected[key]],
    }


def main(report_path, names):
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    folder = tempfile.mkdtemp(dir=os.getcwd())
    write_report(report_path, check_each({}, names, lambda name: kill_and_resume(name, folder)))


if __name__ == "__main__":
    main(*sys.argv[1:3])
