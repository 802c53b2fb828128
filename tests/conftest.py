"""Shared fixtures: tiny synthetic data, the model registry, the real data when present."""

import glob
import os
import subprocess
import sys
import time

import numpy as np
import pytest

# Tests never try the network: data comes from ../shared/data or is synthetic.
os.environ.setdefault("TFGEN_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
if "TFGEN_DATA_DIR" not in os.environ and os.path.isdir(_SHARED_DATA):
    os.environ["TFGEN_DATA_DIR"] = os.path.abspath(_SHARED_DATA)

import tensorflow as tf  # noqa: E402

from conformance.descriptors import MODEL_KWARGS  # noqa: E402
from tfgen.data import ImageDataset  # noqa: E402
from tfgen.models import MODELS  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODEL_NAMES = sorted(MODELS)


def create_model(name, **overrides):
    """A tiny instance of the registered model `name` (its conformance descriptor), not built."""
    return MODELS[name](**{**MODEL_KWARGS[name], **overrides})


def synthetic_dataset(count=64, seed=0, num_classes=10):
    """Random 28x28x1 uint8 images with random labels."""
    rng = np.random.default_rng(seed)
    return ImageDataset(
        images=rng.integers(0, 256, size=(count, 28, 28, 1), dtype=np.uint8),
        labels=rng.integers(0, num_classes, size=count),
        num_classes=num_classes,
        name="synthetic",
    )


def example_batch(model, size=8, seed=0):
    """One batch in the format `model` trains on (its binarization and label format)."""
    data = synthetic_dataset(size, seed=seed)
    return next(iter(data.batches(size, shuffle=False, binarization=model.binarization, label_format=model.label_format)))


def built_model(name, seed=0, learning_rate=1e-3):
    """A small, built, compiled instance of the registered model `name` and its example batch."""
    import keras

    keras.utils.set_random_seed(seed)
    model = create_model(name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    batch = example_batch(model)
    model.build_from_batch(batch)
    return model, batch


def real_data_available():
    """True when the real MNIST files can be loaded (offline source folder present)."""
    source = os.environ.get("TFGEN_DATA_DIR")
    return bool(source) and os.path.isdir(os.path.join(source, "mnist"))


requires_real_data = pytest.mark.skipif(
    not real_data_available(), reason="the original MNIST files (../shared/data or TFGEN_DATA_DIR) are not here"
)


def pytest_collection_finish(session):
    """Starts test_multiworker.py's multi-worker jobs in the background, to run beside the other tests."""
    module = sys.modules.get("test_multiworker")
    if module is not None:
        module.start_jobs(session)


def pytest_sessionfinish(session):
    module = sys.modules.get("test_multiworker")
    if module is not None:
        module.stop_jobs()


@pytest.fixture
def seed():
    return tf.constant([7, 11], tf.int64)


# ---------------------------------------------------------------- the example scripts' smoke runs

EXAMPLES = sorted(glob.glob(os.path.join(REPO_ROOT, "examples", "*.py")))
#: The longest one example's smoke run may take.
TIMEOUT_S = 600
#: Example runs are mostly single-threaded Python (~1.1 cores each): as many at once as there are cores, at most 4.
PARALLEL = max(1, min(4, os.cpu_count() or 1))


class ExampleRuns:
    """The selected example scripts, run at most PARALLEL at a time, in order."""

    def __init__(self, scripts, folder):
        self.pending = list(scripts)
        self.folder = folder
        self.running = {}  # script -> (process, out, log file, start time)
        self.done = {}  # script -> (returncode or "timeout", out, log text)

    def _start_more(self):
        while self.pending and len(self.running) < PARALLEL:
            self._start(self.pending.pop(0))

    def _start(self, script):
        name = os.path.splitext(os.path.basename(script))[0]
        out = os.path.join(self.folder, name, "run")
        log = open(os.path.join(self.folder, f"{name}.log"), "w+")
        process = subprocess.Popen([sys.executable, script, "--smoke", "--out", out], stdout=subprocess.DEVNULL,
                                   stderr=log, env={**os.environ, "PYTHONPATH": REPO_ROOT})
        self.running[script] = (process, out, log, time.monotonic())

    def _collect(self):
        for script, (process, out, log, started) in list(self.running.items()):
            returncode = process.poll()
            if returncode is None and time.monotonic() - started > TIMEOUT_S:
                process.kill()
                returncode = f"killed after {TIMEOUT_S} s"
                process.wait()
            if returncode is not None:
                log.seek(0)
                self.done[script] = (returncode, out, log.read())
                log.close()
                del self.running[script]

    def result(self, script, start_others=True):
        """(returncode, the --out folder, stderr) of `script`, waiting for it.

        With `start_others`, the next scripts start meanwhile (the example
        tests); without, only `script` runs (a test elsewhere that needs one
        run should not load the machine with the others).
        """
        if script not in self.done and script not in self.running:
            if script in self.pending:
                self.pending.remove(script)
            self.pending.insert(0, script)
        while script not in self.done:
            if start_others:
                self._start_more()
            elif script in self.pending and len(self.running) < PARALLEL:
                self._start(self.pending.pop(0))
            self._collect()
            if script not in self.done:
                time.sleep(0.2)
        if start_others:
            self._start_more()  # keep the next ones going while the test asserts
        return self.done[script]

    def stop(self):
        for process, _, log, _ in self.running.values():
            process.kill()
            process.wait()
            log.close()


@pytest.fixture(scope="session")
def example_runs(request, tmp_path_factory):
    """Every example script's smoke run, each run once per session (test_examples.py and test_cli.py read them)."""
    selected = [item.callspec.params["script"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_example_smoke"]
    runs = ExampleRuns(selected, str(tmp_path_factory.mktemp("examples")))
    yield runs
    runs.stop()


