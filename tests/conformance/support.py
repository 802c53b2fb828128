"""Helpers of the conformance suite: a switch for Grappler, and child processes
that check every model at once (see conftest.py, which starts them)."""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import pytest
import tensorflow as tf

from background import REPLICA_THREADS, TIMEOUT_SCALE, child_environment, low_priority
from conftest import built_model, create_model
from conformance.descriptors import CHILD_CHECKS_BY, SHAPE_KWARGS
from tfgen.data import ImageDataset

HERE = os.path.dirname(os.path.abspath(__file__))
#: The longest a child may run (all models); CI's whole budget is far larger.
CHILD_TIMEOUT_S = 900 * TIMEOUT_SCALE


@contextlib.contextmanager
def grappler_off():
    """Disables Grappler for the tf.functions first called inside; restores the previous setting."""
    previous = tf.config.optimizer.get_experimental_options().get("disable_meta_optimizer", False)
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    try:
        yield
    finally:
        tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": previous})


class Child:
    """A Python child process that writes a JSON report file; started now, read on demand."""

    def __init__(self, script, args, workdir, env=None, cwd=None):
        os.makedirs(workdir, exist_ok=True)
        self.report_path = os.path.join(workdir, "report.json")
        self.log_path = os.path.join(workdir, "child.log")
        self._log = open(self.log_path, "w")
        self.command = [sys.executable, os.path.join(HERE, script), self.report_path, *map(str, args)]
        self.process = subprocess.Popen(low_priority(self.command), stdout=self._log, stderr=subprocess.STDOUT,
                                        env=env if env is not None else child_env(), cwd=cwd or workdir)
        self._deadline = time.monotonic() + CHILD_TIMEOUT_S
        self._report = None
        self._returncode = None

    def wait(self):
        """Waits for the child to end (killing it at its deadline); its exit status, or why it has none."""
        if self._returncode is None:
            try:
                self._returncode = self.process.wait(timeout=max(1.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                self._returncode = "killed after timeout"
            self._log.close()
        return self._returncode

    def log_tail(self):
        with open(self.log_path) as stream:
            return stream.read()[-4000:]

    def report(self):
        """The child's report ({model: {...}}); fails the calling test with the child's log if it crashed."""
        if self._report is None:
            returncode = self.wait()
            if returncode != 0 or not os.path.isfile(self.report_path):
                pytest.fail(f"{os.path.basename(self.command[1])} exited with {returncode}:\n{self.log_tail()}")
            with open(self.report_path) as stream:
                self._report = json.load(stream)
        return self._report

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._log.closed:
            self._log.close()

    def part(self, report_path, name=None):
        """One of the reports of a child that checks for several test files: `report_path`, read like a
        child's report (`name`: the check's script, for the messages)."""
        return ChildPart(self, report_path, name)


class ChildPart:
    """One report of a `Child` that makes the checks of several test files in one process (one TensorFlow
    start): read once the child ended, whatever became of the other checks."""

    def __init__(self, child, report_path, name=None):
        self.child, self.report_path = child, report_path
        self.command = [child.command[0], name or child.command[1]]  # model_report's messages name the script
        self._report = None

    def report(self):
        if self._report is None:
            returncode = self.child.wait()
            if not os.path.isfile(self.report_path):
                pytest.fail(f"{os.path.basename(self.command[1])} wrote no report (the child process "
                            f"{os.path.basename(self.child.command[1])} exited with {returncode}):\n{self.child.log_tail()}")
            with open(self.report_path) as stream:
                self._report = json.load(stream)
        return self._report

    def stop(self):
        self.child.stop()


#: This process's environment for a child that imports tfgen from this checkout (background.py).
child_env = child_environment


def model_report(child, name, part=None):
    """Model `name`'s entry in `child`'s report (its `part` when given); fails with the child's traceback
    when that model failed there."""
    report = child.report()
    assert name in report, f"{name} is missing from the report of {os.path.basename(child.command[1])}"
    entry = report[name] if part is None else report[name].get(part)
    assert entry is not None, f"{name}: no {part!r} part in the report of {os.path.basename(child.command[1])}"
    if "error" in entry:
        pytest.fail(f"{name} failed in the child process:\n{entry['error']}")
    return entry


#: The started children by kind, and "workdir": their folder (conftest.py fills it).
CHILDREN = {}
#: {model: kind of the child} of test_checkpoint.py's resumed runs.
CHILD_OF = {}


#: The child on two logical CPUs (conformance/child_distribute.py), which test_distribute.py and tests/precision
#: share: {"child", "folder", "precision" (the view of the precision runs' report)}.
TWO_CPUS = {}


def start_two_cpu_child(session):
    """Starts, once, the child of the checks that need two logical CPUs (logical devices are set up before
    TensorFlow initializes its devices: once per process): every model under MirroredStrategy for
    test_distribute.py, and the mixed-precision and XLA runs of tests/precision (precision/child_precision.py).
    One process for both: one TensorFlow start instead of two. Called by conftest.py and precision/conftest.py,
    whichever runs first (either may be loaded alone)."""
    if "child" in TWO_CPUS or session.config.option.collectonly:
        return TWO_CPUS.get("child")
    module = os.path.join("precision", "test_precision.py")
    # One run a model for both (child_distribute.train): under MirroredStrategy, in mixed bfloat16.
    distributed = sorted(set(selected_models(session, "test_distribute.py", {"test_trains_under_mirrored_strategy"}))
                         | set(selected_models(session, module, {"test_every_model_trains_in_mixed_bfloat16"})))
    precision = [selected_models(session, module, {test}) for test in PRECISION_TESTS]
    if not (distributed or any(precision)):
        return None
    folder = TWO_CPUS["folder"] = tempfile.mkdtemp(prefix="tfgen-two-cpus-")
    precision_report = os.path.join(folder, "precision.json")
    child = TWO_CPUS["child"] = Child(os.path.join(HERE, "child_distribute.py"),
                                      [",".join(distributed), precision_report, *(",".join(names) for names in precision)],
                                      folder, env=child_env(threads=REPLICA_THREADS))
    TWO_CPUS["precision"] = child.part(precision_report, "child_precision.py")
    if distributed:
        CHILDREN["distribute"] = TWO_CPUS["distribute"] = child.part(child.report_path)
    return child


#: The tests of tests/precision/test_precision.py whose runs the two-CPU child makes, in the order of
#: child_precision.py's lists: XLA, mixed float16, mixed float16 under MirroredStrategy (the mixed bfloat16 runs
#: are the MirroredStrategy runs of test_distribute.py).
PRECISION_TESTS = ("test_every_model_family_trains_with_xla",
                   "test_mixed_float16_trains", "test_mixed_float16_trains_under_mirrored_strategy")


def stop_two_cpu_child():
    """Kills the two-CPU child if it still runs and removes its folder (the session's end; idempotent)."""
    child = TWO_CPUS.pop("child", None)
    if child is not None:
        child.stop()
    folder = TWO_CPUS.pop("folder", None)
    TWO_CPUS.clear()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def started_child(kind):
    child = CHILDREN.get(kind)
    if child is None:
        pytest.fail(f"the {kind} child process was not started (see pytest_collection_finish in conftest.py)")
    return child


def child_models(names):
    """`names` as the parameters of a test that reads a child's runs: a model of `CHILD_CHECKS_BY` is skipped,
    naming the model whose runs check its code."""
    return [pytest.param(name, marks=pytest.mark.skip(reason=f"{name}'s code is checked by {CHILD_CHECKS_BY[name]}'s "
                                                              f"run (conformance/descriptors.py CHILD_CHECKS_BY)"))
            if name in CHILD_CHECKS_BY else name for name in names]


def selected_models(session, module, test_names, image_shape=None):
    """The models (the "name" parameter) of the selected tests `test_names` of test file `module`
    (those whose "image_shape" parameter is `image_shape`, when given; not those skipped by `child_models`)."""
    names = set()
    for item in session.items:
        if item.get_closest_marker("skip") is not None:
            continue
        if item.nodeid.split("::")[0].endswith(module) and getattr(item, "originalname", None) in test_names:
            if image_shape is None or item.callspec.params.get("image_shape") == image_shape:
                names.add(item.callspec.params["name"])
    return sorted(names)


def shape_id(image_shape):
    """"32x32x3": a test id, and the name of an export, for an image shape."""
    return "x".join(map(str, image_shape))


def shaped_dataset(count, image_shape, seed=0, num_classes=10):
    """Random uint8 images of `image_shape` with random labels."""
    rng = np.random.default_rng(seed)
    return ImageDataset(images=rng.integers(0, 256, size=(count, *image_shape), dtype=np.uint8),
                        labels=rng.integers(0, num_classes, size=count), num_classes=num_classes, name="synthetic")


def built_model_at(name, image_shape=None, seed=0, learning_rate=1e-3):
    """`conftest.built_model` at `image_shape` (None: the default 28x28x1, exactly `built_model`).

    The model is its tiny descriptor with `SHAPE_KWARGS` on top, built from a
    batch of 8 random images of that shape, and compiled.
    """
    if image_shape is None:
        return built_model(name, seed=seed, learning_rate=learning_rate)
    import keras

    keras.utils.set_random_seed(seed)
    model = create_model(name, image_shape=image_shape, **SHAPE_KWARGS.get(name, {}))
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    data = shaped_dataset(8, image_shape, seed=seed)
    batch = next(iter(data.batches(8, shuffle=False, binarization=model.binarization, label_format=model.label_format)))
    model.build_from_batch(batch)
    return model, batch


def shape_key(name, image_shape):
    """"vae-32x32x3": model `name` at `image_shape`, in the image-shapes child's report and the exports."""
    return f"{name}-{shape_id(image_shape)}"


def export_for_child(model, folder, key, batch_sizes):
    """Exports `model` to `folder/key`; saves the signatures' inputs and the in-memory model's outputs.

    Every signature is called on `batch_sizes` rows through a tf.function
    with Grappler off (checking the batch dimension), as the
    TensorFlow-only child (child_saved_model.py) runs the export: those
    outputs are what the child must give back bit for bit; and eagerly on
    the first of `batch_sizes` (an eager call runs other branches: the
    argument checks that raise in Python).

    Returns:
        {"name": key, "export_dir", "inputs" (an .npz of the inputs),
        "outputs" (where the child writes its outputs), "endpoints" ({name:
        input names}), "expected" ({"<batch>/<signature>/<output>": array})}.
    """
    from tfgen.export import export_model

    export_dir = export_model(model, os.path.join(folder, key))
    rng = np.random.default_rng(0)
    endpoints = model.serving_endpoints()
    inputs, expected = {}, {}
    with grappler_off():  # as in the child: the same graph through the same passes
        compiled = {endpoint: tf.function(function, input_signature=signature, autograph=False)
                    for endpoint, (function, signature) in endpoints.items()}
        for batch_size in batch_sizes:
            for endpoint, (function, signature) in endpoints.items():
                for input_spec in signature:
                    # Every input has a free batch dimension, but a scalar (`num_samples`, the codes per image).
                    assert input_spec.shape.rank == 0 or input_spec.shape[0] is None, \
                        f"{endpoint}: the batch dimension must be None"
                arguments = {s.name: serving_input(s, rng, batch_size, model.num_classes) for s in signature}
                inputs.update({f"{batch_size}/{endpoint}/{name}": value for name, value in arguments.items()})
                tensors = [tf.constant(arguments[s.name]) for s in signature]
                if batch_size == batch_sizes[0]:  # eagerly once: the compiled outputs' rows are checked at each size
                    for output, value in function(*tensors).items():
                        assert value.shape[0] == batch_size, f"{endpoint}/{output}: {value.shape}"
                for output, value in compiled[endpoint](*tensors).items():
                    assert value.shape[0] == batch_size, f"{endpoint}/{output}: {value.shape}"
                    expected[f"{batch_size}/{endpoint}/{output}"] = value.numpy()
    paths = {kind: os.path.join(folder, f"{key}-{kind}.npz") for kind in ("inputs", "outputs")}
    np.savez(paths["inputs"], **inputs)
    return {"name": key, "export_dir": export_dir, **paths,
            "endpoints": {endpoint: [s.name for s in signature] for endpoint, (_, signature) in endpoints.items()},
            "expected": expected}


def serving_input(spec, rng, batch, num_classes):
    """An input of `batch` rows for the serving signature input `spec` (a `tf.TensorSpec`).

    Integer inputs are distinct seeds (1, 2, ...), or valid class ids for a
    "label", and a scalar (`num_samples`) is 3; float inputs are uniform in [0, 1) (valid pixels, codes). Every
    unknown dimension (the batch, a VHE class set's size) gets `batch`.
    """
    shape = [batch if dim is None else dim for dim in spec.shape]
    if spec.shape.rank == 0:  # a scalar: the codes per image of the `log_importance_weights` signatures, a sampler's
        # steps or guidance scale, or DDIM's eta (in [0, 1])
        return np.array(0.5 if spec.name == "eta" else 3, spec.dtype.as_numpy_dtype)
    if spec.dtype == tf.int64 or spec.dtype == tf.int32:
        values = np.arange(batch) + 1  # distinct seeds
        if spec.name == "label":
            values = values % num_classes  # valid class ids
        return values.astype(spec.dtype.as_numpy_dtype)
    return rng.uniform(size=shape).astype(spec.dtype.as_numpy_dtype)
