"""Shared fixtures: tiny synthetic data, the model registry, the real data when present."""

import os
import shutil
import tempfile
import sys

import numpy as np
import pytest

# Tests never try the network: data comes from ../shared/data or is synthetic.
os.environ.setdefault("TFGEN_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
if "TFGEN_DATA_DIR" not in os.environ and os.path.isdir(_SHARED_DATA):
    os.environ["TFGEN_DATA_DIR"] = os.path.abspath(_SHARED_DATA)

import tensorflow as tf  # noqa: E402


# Python's cyclic garbage collector runs less often (here, and in every child that imports this file): a
# session's processes hold hundreds of thousands of TensorFlow and Keras objects, which each full collection
# scans. Five test files: 6,247 collections took 12.0 s of their 172 s of CPU; at these thresholds 69 took 6.9 s.
import gc  # noqa: E402

gc.set_threshold(50_000, 20, 100)

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


#: {name: (model, batch)} of `shared_built_model`.
_SHARED_MODELS = {}


def shared_built_model(name):
    """`built_model(name)`, built once per session for the tests that only read a model: they call its sampling,
    scoring and serving functions (with explicit seeds) and check what it declares, and none trains, compiles or
    changes it (those build their own with `built_model`). A build costs 0.3 to 2 s of CPU (the diffusion models'),
    and the functions a test traces on the model are traced once for all of them."""
    if name not in _SHARED_MODELS:
        _SHARED_MODELS[name] = built_model(name)
    return _SHARED_MODELS[name]


def real_data_available():
    """True when the real MNIST files can be loaded (offline source folder present)."""
    source = os.environ.get("TFGEN_DATA_DIR")
    return bool(source) and os.path.isdir(os.path.join(source, "mnist"))


#: The reason of every skip for want of the MNIST files; the summary lists those tests (`pytest_terminal_summary`).
NO_REAL_DATA = "the original MNIST files (../shared/data or TFGEN_DATA_DIR) are not here"
requires_real_data = pytest.mark.skipif(not real_data_available(), reason=NO_REAL_DATA)


def missing_data_summary(skipped):
    """The lines that end the summary when tests were skipped for want of the MNIST files (none otherwise):
    which tests, and how to supply the files. `skipped`: pytest's reports of the skipped tests."""
    names = sorted(report.nodeid for report in skipped if NO_REAL_DATA in str(report.longrepr))
    if not names:
        return []
    return [f"{len(names)} tests were skipped: the original MNIST and Fashion-MNIST files are not here.",
            *(f"  {name}" for name in names),
            "To run them, put the original .gz files in DIR/mnist/ and DIR/fashion_mnist/ (train-images-idx3-ubyte.gz, "
            "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz, as TFDS downloads them "
            "from https://storage.googleapis.com/cvdf-datasets/mnist/ and "
            "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/) and run the suite with TFGEN_DATA_DIR=DIR "
            "(.ci/run uses ../shared/data when it is there)."]



def pytest_configure(config):
    """The suite's process's TensorFlow settings (a hook: not in the children that import this file)."""
    # The suite's own process runs each op on one thread and its ops one at a time, as the children do
    # (background.CHILD_THREADS): the background children keep both cores busy for the whole session, and a tiny
    # model's op split over threads, or ops handed between threads, pay for the hand-over and the spinning. Four
    # test files (test_vhe, test_gan_models, conformance/test_serialization, test_diffusion) alone: 125.8 s of CPU
    # with TensorFlow's default threads, 110.0 s with one intra-op thread, 105.8 s with one of each as well as Grappler
    # off (below). Set before TensorFlow starts its runtime (its first op), which pytest_configure is.
    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    # Grappler (TensorFlow's graph optimizer) is off in this process: its passes cost each new graph's first call
    # more than they save a tiny model's few steps, and they change no result these tests check (conformance/
    # conftest.py's `grappler_disabled` makes graphs that must compute the same thing the same way). The children
    # that run as a user does keep it on: the examples, the command-line runs, the mixed-precision, XLA,
    # MirroredStrategy and multi-worker runs.
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})


def pytest_terminal_summary(terminalreporter):
    lines = missing_data_summary(terminalreporter.stats.get("skipped", []))
    if lines:
        terminalreporter.section("tests skipped for want of data", sep="=", yellow=True)
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def seed():
    return tf.constant([7, 11], tf.int64)


# ---------------------------------------------------------------- work started when the session starts

import background  # noqa: E402
from background import BACKGROUND, EXAMPLES, WAITS  # noqa: E402,F401  (EXAMPLES: test_examples.py)

CLI_DCGAN_TEST = ("test_cli.py", "test_the_cli_trains_a_gan_as_its_paper_and_its_example_do")
SHIPPED_TEST = ("test_serving.py", "test_shipped_model_samples_in_a_fresh_process_without_data")
CLI_KILL_TEST = ("test_run_safety.py", "test_cli_runs_are_reproducible_survive_sigkill_and_export")


def _selected(session, module, name):
    return [item for item in session.items
            if item.nodeid.split("::")[0].endswith(module) and getattr(item, "originalname", None) == name]


def _waits(item):
    """True for a test that reads the results of background work (it runs last)."""
    module = os.path.basename(item.nodeid.split("::")[0])
    return ("example_runs" in getattr(item, "fixturenames", ()) or item.get_closest_marker("background") is not None
            or getattr(item, "originalname", None) in WAITS.get(module, ()))


def pytest_collection_modifyitems(session, config, items):
    """The tests of tests/*.py first, then tests/conformance/, then those that read background results
    (the example runs, the CLI runs, the conformance children's reports): by then the background work,
    started when the session starts, is done, instead of being waited for between in-process tests.
    A test file keeps its tests' order."""
    def group(item):
        return 2 if _waits(item) else 1 if f"{os.sep}conformance{os.sep}" in str(item.path) else 0

    order = {id(item): index for index, item in enumerate(items)}
    items.sort(key=lambda item: (group(item), order[id(item)]))


def pytest_collection_finish(session):
    """Starts the multi-worker jobs of test_multiworker.py, the example runs and the CLI runs of the selected
    tests (tests/background.py), to run beside the in-process tests. (One hook: a second function of the same
    name in this module would silently replace this one.)"""
    if session.config.option.collectonly:
        return
    multiworker = sys.modules.get("test_multiworker")
    if multiworker is not None:
        multiworker.start_jobs(session)
    scripts = [item.callspec.params["script"] for item in _selected(session, "test_examples.py", "test_example_smoke")]
    cli_dcgan = bool(_selected(session, *CLI_DCGAN_TEST))
    if cli_dcgan and os.path.join(REPO_ROOT, "examples", "dcgan.py") not in scripts:
        scripts.append(os.path.join(REPO_ROOT, "examples", "dcgan.py"))
    cli_kill = bool(_selected(session, *CLI_KILL_TEST))
    if _selected(session, *SHIPPED_TEST):  # no data needed
        BACKGROUND["shipped"] = background.ShippedSamples(tempfile.mkdtemp(prefix="tfgen-shipped-"))
    if not (scripts or cli_kill) or not real_data_available():
        return
    # The datasets are built (in a fresh clone: from the source files, into TFDS_DATA_DIR) here, once,
    # before any process that reads them starts: two processes must never build one at the same time.
    from tfgen.data.sources import DATASETS, prepare

    try:
        for name in DATASETS:
            prepare(name)
    except Exception as error:  # noqa: BLE001 - every test that needed the runs names it
        BACKGROUND["not_started"] = f"the datasets could not be prepared: {type(error).__name__}: {error}"
        return
    folder = tempfile.mkdtemp(prefix="tfgen-background-")
    BACKGROUND["folder"] = folder
    if scripts:
        jobs = background.example_jobs(sorted(scripts), cli_dcgan, os.path.join(folder, "examples"))
        BACKGROUND["examples"] = background.ExampleRuns(jobs, os.path.join(folder, "examples"))
    if cli_kill:
        os.makedirs(os.path.join(folder, "cli_kill"))
        BACKGROUND["cli_kill"] = background.CliKillRuns(os.path.join(folder, "cli_kill"))


def pytest_sessionfinish(session):
    multiworker = sys.modules.get("test_multiworker")
    if multiworker is not None:
        multiworker.stop_jobs()
    for kind in ("cli_kill", "examples", "shipped"):
        if kind in BACKGROUND:
            work = BACKGROUND.pop(kind)
            work.stop()
            if kind == "shipped":
                shutil.rmtree(work.folder, ignore_errors=True)
    BACKGROUND.pop("not_started", None)
    folder = BACKGROUND.pop("folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def started(kind):
    """The background work `kind` ("examples", "cli_kill", "shipped"); fails the calling test if it was not started."""
    work = BACKGROUND.get(kind)
    if work is None:
        pytest.fail(f"the background work {kind!r} was not started (see pytest_collection_finish in tests/conftest.py)"
                    + (f": {BACKGROUND['not_started']}" if "not_started" in BACKGROUND else ""))
    return work


@pytest.fixture(scope="session")
def example_runs():
    """The example scripts' smoke runs (and `tfgen train dcgan --smoke`), started when the session started:
    `example_runs.result(name)` gives (returncode, the --out folder, stderr)."""
    return started("examples")


def cli_error(capsys, argv):
    """The stderr of `tfgen` run on `argv`, checked to be the one line of a refused input with exit status 2."""
    from tfgen import cli

    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse
        code = exit_.code
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1, err
    return err
