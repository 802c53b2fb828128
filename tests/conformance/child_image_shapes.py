"""Child process of the conformance suite: every model at the other image shapes (descriptors.IMAGE_SHAPES).

Usage: child_image_shapes.py REPORT CASES EXPORTS FOLDER

CASES are comma-separated keys "name-HxWxC" (`support.shape_key`), EXPORTS
model names: every case is built (its tiny descriptor with SHAPE_KWARGS, at
that shape), trained one step and checked; every model of EXPORTS is built at
28x28x1, trained one step and exported into FOLDER with its signatures'
inputs and outputs (`support.export_for_child`), and the TensorFlow-only
child of test_saved_model.py (child_saved_model.py) is run on them all from
here.

Started by tests/conformance/conftest.py when the session starts, beside the
other children (in the process of child_batch.py, with child_checkpoint.py's
runs): these checks are CPU work of their own, which would otherwise wait for
the in-process tests. Writes {key: {"checks": {...}}, name: {"export": {...}}} (or
{"error": traceback} in place of either) to REPORT; test_image_shapes.py and
test_saved_model.py assert on it. `main` returns the wait for the
TensorFlow-only child (None when there is none), which runs meanwhile.
"""

import json
import os
import subprocess
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/, for conftest

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from conformance.descriptors import IMAGE_SHAPES  # noqa: E402
from conformance.support import (CHILD_TIMEOUT_S, built_model_at, export_for_child, serving_input,  # noqa: E402
                                 shape_key)
from tfgen.models import MODELS  # noqa: E402
from tfgen.training import make_checkpoint  # noqa: E402

SEED_STATE = "seed_generator_state"
SEED = (7, 11)


def state(model):
    """The model's variables and its optimizers' (a GAN's two)."""
    optimizers = [getattr(model, name) for name in ("optimizer", "d_optimizer") if getattr(model, name, None) is not None]
    return list(model.variables) + [variable for optimizer in optimizers for variable in optimizer.variables]


def check(name, image_shape, folder):
    """The checks of test_image_shapes.py, as data (the report)."""
    seed = tf.constant(SEED, tf.int64)
    model, batch = built_model_at(name, image_shape)
    report = {"image_shape": list(model.image_shape), "config_image_shape": model.get_config()["image_shape"],
              "metric_names": sorted(model.metric_names)}

    before = [variable.numpy().copy() for variable in model.trainable_variables]
    metrics = {key: float(value.numpy()) for key, value in model.train_step(batch, seed).items()}
    report["metrics"] = sorted(metrics)
    report["skipped_updates"] = metrics["skipped_updates"]
    report["nonfinite_metrics"] = sorted(key for key, value in metrics.items() if not np.isfinite(value))
    report["unchanged"] = [variable.path for variable, old in zip(model.trainable_variables, before)
                           if np.array_equal(variable.numpy(), old)]

    images = model.sample(3, seed=seed).numpy()
    report["sample_shape"] = list(images.shape)
    report["sample_range"] = [float(images.min()), float(images.max())]
    report["sample_repeats"] = bool(np.array_equal(images, model.sample(3, seed=seed).numpy()))

    # The serving signatures' functions, eagerly on 2 rows: [(endpoint, output, shape, min, max)] of the images.
    rng = np.random.default_rng(0)
    report["serving"] = []
    for endpoint, (function, signature) in model.serving_endpoints().items():
        arguments = [tf.constant(serving_input(spec, rng, 2, model.num_classes)) for spec in signature]
        for output, value in function(*arguments).items():
            if output == "images" or value.shape[0] != 2:
                report["serving"].append((endpoint, output, list(value.shape), float(tf.reduce_min(value)),
                                          float(tf.reduce_max(value))))

    # A batch of MNIST's shape: the error's message.
    try:
        model.train_step({**batch, "image": tf.zeros([8, 28, 28, 1])}, seed)
        report["other_shape_error"] = None
    except ValueError as error:
        report["other_shape_error"] = str(error)

    # The config through JSON rebuilds the same variables; a checkpoint restores every value.
    config = json.loads(json.dumps(model.get_config()))
    restored = MODELS[name].from_config(config)
    report["config_round_trip"] = restored.get_config() == model.get_config()
    restored.compile(optimizer=type(model.optimizer).from_config(model.optimizer.get_config()))
    restored.build_from_batch(batch)
    described = lambda m: [(v.path, list(v.shape)) for v in m.variables if not v.path.endswith(SEED_STATE)]  # noqa: E731
    report["variables"] = [described(model), described(restored)]
    path = make_checkpoint(model, model.optimizer).save(os.path.join(folder, "checkpoints", shape_key(name, image_shape)))
    make_checkpoint(restored, restored.optimizer).restore(path).assert_consumed()
    expected, actual = state(model), state(restored)
    report["checkpoint_variables"] = [len(expected), len(actual)]
    report["checkpoint_differences"] = [variable.path for variable, other in zip(expected, actual)
                                        if not np.array_equal(variable.numpy(), other.numpy())]
    return report


def main(report_path, cases, exports, folder):
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    cases, exports = [set(filter(None, keys.split(","))) for keys in (cases, exports)]
    report = {}
    for image_shape in IMAGE_SHAPES:
        for name in sorted(MODELS):
            key = shape_key(name, image_shape)
            if key not in cases:
                continue
            entry = report[key] = {}
            try:
                entry["checks"] = check(name, image_shape, folder)
            except Exception:  # noqa: BLE001 - reported against the model
                entry["checks"] = {"error": traceback.format_exc()}
    # The exports at 28x28x1 (test_saved_model.py), trained one step as in test_train_step.py.
    for name in sorted(exports):
        entry = report[name] = {}
        try:
            model, batch = built_model_at(name)
            model.train_step(batch, tf.constant(SEED, tf.int64))
            entry["export"] = saved_export(model, folder, name, batch_sizes=(1, 64))  # one request, and a batch
        except Exception:  # noqa: BLE001 - reported by the export's test
            entry["export"] = traceback.format_exc()
    with open(report_path, "w") as stream:
        json.dump(report, stream)
    return load_exports(report, folder) if exports else None


def saved_export(model, folder, key, batch_sizes):
    """`export_for_child`, its expected outputs saved to an .npz file (named in the report)."""
    export = export_for_child(model, folder, key, batch_sizes=batch_sizes)
    export["expected_path"] = os.path.join(folder, f"{key}-expected.npz")
    np.savez(export["expected_path"], **export.pop("expected"))
    return export


def load_exports(report, folder):
    """Starts child_saved_model.py (TensorFlow alone, from `folder`, no PYTHONPATH) on every export of `report`;
    returns the function that waits for it.

    Its report and log are in `folder`/saved_model/ (test_saved_model.py reads them): started from here,
    it runs when the exports are made, beside the in-process tests, not when the first export test asks.
    """
    manifest = [{key: entry["export"][key] for key in ("name", "export_dir", "inputs", "outputs")}
                for entry in report.values() if isinstance(entry.get("export"), dict)]
    workdir = os.path.join(folder, "saved_model")
    os.makedirs(workdir, exist_ok=True)
    with open(os.path.join(folder, "manifest.json"), "w") as stream:
        json.dump(manifest, stream)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "child_saved_model.py")
    log = open(os.path.join(workdir, "child.log"), "w")
    process = subprocess.Popen([sys.executable, script, os.path.join(workdir, "report.json"),
                                os.path.join(folder, "manifest.json")], stdout=log, stderr=subprocess.STDOUT,
                               env=env, cwd=folder)

    def wait():
        try:
            process.wait(timeout=CHILD_TIMEOUT_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()

    return wait


if __name__ == "__main__":
    finish = main(*sys.argv[1:5])
    if finish is not None:
        finish()
