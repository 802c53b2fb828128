"""Multi-worker training (tf.distribute.MultiWorkerMirroredStrategy), really distributed on this machine.

Two worker processes on 127.0.0.1 (TF_CONFIG) train tiny models of
conftest.py in child_multiworker.py; the reference is one process with
MirroredStrategy on two logical CPUs, whose replica ids, and so whose step
seeds, are those of the two workers. The jobs start in the background when
the session starts (`start_jobs`, from conftest.py's
`pytest_collection_finish`), run while the other tests do, and are killed
when the session ends or their deadline passes, whatever happens:

* job "job": a VAE, a DCGAN (two optimizers, k discriminator steps), the
  unsupervised VHE (clustered on the chief, the pseudo-labels sent to the
  other worker) and a VAE run assembled by `tfgen.runs.train(strategy=...)`
  (its figures drawn by the chief alone); then the VAE again, where worker 1 sends itself SIGTERM
  (every worker must stop at the same step, after one checkpoint) and then,
  resumed, SIGKILLs itself (the chief must stop with a clear error);
* job "restart", once the job's processes are gone: resumes that VAE to the
  end (it must reach the uninterrupted VAE's weights);
* "reference": the single process.

The in-process tests check TF_CONFIG, the sharding of every kind of dataset,
and that a worker other than the chief writes nothing in the run folder.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

from background import REPLICA_THREADS, TIMEOUT_SCALE, child_environment, low_priority
from conftest import create_model, synthetic_dataset
from tfgen import cli
from tfgen.data import ClassSetDataset, labelled_split
from tfgen.training import Trainer, distribute

HERE = os.path.dirname(os.path.abspath(__file__))
#: The longest a job may run (its processes are killed then); they take well under a minute on an idle machine.
JOB_TIMEOUT_S = 400 * TIMEOUT_SCALE
#: The runs the children train (child_multiworker.RUNS).
RUNS = ("vae", "vhe_unsupervised", "runs_vae")
#: Global steps of each run: 32 examples in batches of 8, 2 epochs (1 for runs_vae, made by tfgen.runs.train).
STEPS = {"vae": 8, "vhe_unsupervised": 8, "runs_vae": 4}
_JOBS = {}


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Job:
    """The processes of one mode of child_multiworker.py: two workers (TF_CONFIG), or the reference alone."""

    def __init__(self, mode, folder, workers=2):
        self.mode, self.folder = mode, folder
        self.processes, self.logs, self.reports = [], [], []
        addresses = [f"127.0.0.1:{_free_port()}" for _ in range(workers)]
        for index in range(workers):
            env = child_environment(threads=REPLICA_THREADS)
            if mode != "reference":
                env["TF_CONFIG"] = json.dumps({"cluster": {"worker": addresses},
                                               "task": {"type": "worker", "index": index}})
                # Each worker's temporary checkpoints go here: the test checks they were removed.
                env["TMPDIR"] = os.path.join(folder, f"tmp-{mode}-{index}")
                os.makedirs(env["TMPDIR"], exist_ok=True)
            report = os.path.join(folder, f"{mode}-{index}.json")
            log = open(os.path.join(folder, f"{mode}-{index}.log"), "w")
            # At a low priority, as every child of the suite: the in-process tests come first.
            self.processes.append(subprocess.Popen(
                low_priority([sys.executable, os.path.join(HERE, "child_multiworker.py"), report, mode, folder]),
                stdout=log, stderr=subprocess.STDOUT, env=env, cwd=folder))
            self.logs.append(log)
            self.reports.append(report)
        self.deadline = time.monotonic() + JOB_TIMEOUT_S

    def wait(self):
        """Waits for every process (killing them all at the deadline); returns {task index: report}."""
        for process in self.processes:
            try:
                process.wait(timeout=max(1.0, self.deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.stop()
        for log in self.logs:
            log.close()
        reports = {}
        for index, path in enumerate(self.reports):
            if os.path.isfile(path):
                with open(path) as stream:
                    reports[index] = json.load(stream)
        return reports

    def stop(self):
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait()

    def log(self, index):
        with open(os.path.join(self.folder, f"{self.mode}-{index}.log")) as stream:
            return stream.read()[-3000:]


def start_jobs(session):
    """Starts the jobs in the background when this module's distributed tests are selected."""
    selected = [item for item in session.items if item.nodeid.split("::")[0].endswith("test_multiworker.py")
                and getattr(item, "originalname", None) in DISTRIBUTED_TESTS]
    if not selected or session.config.option.collectonly:
        return
    folder = _JOBS["folder"] = tempfile.mkdtemp(prefix="tfgen-multiworker-")
    _JOBS["job"] = Job("job", folder)
    _JOBS["reference"] = Job("reference", folder, workers=1)
    _JOBS["restart"] = None

    def restart_when_preempted():  # the restart needs the preempted job's processes gone
        _JOBS["reports_job"] = _JOBS["job"].wait()
        if not _JOBS.get("stopped"):
            _JOBS["restart"] = Job("restart", folder)

    _JOBS["thread"] = threading.Thread(target=restart_when_preempted, daemon=True)
    _JOBS["thread"].start()


def stop_jobs():
    """Kills every process still running and removes the jobs' folder (session end)."""
    _JOBS["stopped"] = True
    thread = _JOBS.pop("thread", None)
    for key in ("job", "reference"):
        if _JOBS.get(key) is not None:
            _JOBS[key].stop()
    if thread is not None:
        thread.join(timeout=30)
    if _JOBS.get("restart") is not None:
        _JOBS["restart"].stop()
    folder = _JOBS.pop("folder", None)
    _JOBS.clear()
    if folder:
        shutil.rmtree(folder, ignore_errors=True)


def _reports(mode, run=None):
    """The reports of `mode`'s processes; fails with a process's error (that of `run`, when it failed there)."""
    if "folder" not in _JOBS:
        pytest.fail("the multi-worker jobs were not started (start_jobs, from conftest.py's pytest_collection_finish)")
    if mode in ("job", "restart"):
        _JOBS["thread"].join(timeout=JOB_TIMEOUT_S)
        if mode == "job":
            reports = _JOBS["reports_job"]
        else:
            if _JOBS["restart"] is None:
                pytest.fail("the restarted job did not start")
            reports = _JOBS.setdefault("reports_restart", _JOBS["restart"].wait())
    else:
        key = f"reports_{mode}"
        if key not in _JOBS:
            _JOBS[key] = _JOBS[mode].wait()
        reports = _JOBS[key]
    job = _JOBS[mode]
    for index in range(len(job.processes)):
        if index not in reports:
            pytest.fail(f"{mode} worker {index} wrote no report:\n{job.log(index)}")
        failed = reports[index].get(run, {}) if run is not None else {}
        if "error" in failed:
            pytest.fail(f"{run} failed on {mode} worker {index}:\n{failed['error']}")
        if "error" in reports[index]:
            pytest.fail(f"{mode} worker {index} failed:\n{reports[index]['error']}")
    return reports


def _weights(mode, replica, run):
    with np.load(os.path.join(_JOBS["folder"], f"{mode}-{replica}-{run}.npz")) as saved:
        synced = saved["synced"]
        return [saved[f"arr_{i}"] for i in range(len(synced))], synced


def _assert_same(left, right, what):
    # Exact: both sides run the same ops on the same rows with the same seeds, and the one cross-replica
    # sum of two values (gradients, metrics) is a + b either way round, which IEEE addition makes equal.
    differing = [i for i, (a, b) in enumerate(zip(left, right)) if not np.array_equal(a, b)]
    assert len(left) == len(right) and not differing, f"{what}: variables {differing} differ"


#: The tests that read the jobs' reports (the jobs start only when one of them is selected).
DISTRIBUTED_TESTS = (
    "test_two_workers_end_equal_to_one_process_on_the_same_global_batches",
    "test_only_the_chief_writes_the_run_folder",
    "test_a_signal_on_one_worker_stops_every_worker_at_the_same_step",
    "test_a_killed_worker_stops_the_others_and_the_restarted_job_ends_as_if_uninterrupted",
)


@pytest.mark.background  # reads the jobs started with the session (tests/conftest.py)
@pytest.mark.parametrize("run", RUNS)
def test_two_workers_end_equal_to_one_process_on_the_same_global_batches(run):
    job, reference = _reports("job", run), _reports("reference", run)
    assert [job[index][run]["chief"] for index in (0, 1)] == [True, False]
    assert job[0][run]["workers"] == 2 and reference[0][run]["workers"] == 1
    assert job[0][run]["steps"] == job[1][run]["steps"] == reference[0][run]["steps"] == STEPS[run]
    chief, synced = _weights("job", 0, run)
    worker, _ = _weights("job", 1, run)
    # Weights and optimizer state: identical on both workers, and equal to the single process's.
    _assert_same([v for v, s in zip(chief, synced) if s], [v for v, s in zip(worker, synced) if s], "the two workers")
    # Every variable, batch-norm statistics included (each replica's own, as under MirroredStrategy).
    _assert_same(chief, _weights("reference", 0, run)[0], "worker 0 and replica 0 of the single process")
    _assert_same(worker, _weights("reference", 1, run)[0], "worker 1 and replica 1 of the single process")
    assert job[0][run]["restored_equal"], "the chief's last checkpoint does not hold the trained weights"


@pytest.mark.background  # reads the jobs started with the session (tests/conftest.py)
def test_only_the_chief_writes_the_run_folder():
    job, reference = _reports("job"), _reports("reference")
    for run in RUNS:
        def names(files):
            return sorted(name for name in files if not name.startswith("tensorboard/"))

        def event_files(files):
            return sum(name.startswith("tensorboard/") for name in files)

        # The same files as a single process writes (figures included), as many TensorBoard event files (one
        # per writer: the loop's, and the figures' when drawn): nothing from worker 1.
        assert names(job[0][run]["files"]) == names(reference[0][run]["files"]), run
        assert event_files(job[0][run]["files"]) == event_files(reference[0][run]["files"]) >= 1, run
    for index in (0, 1):  # worker 1's temporary checkpoints were deleted (the chief made none)
        left = os.listdir(os.path.join(_JOBS["folder"], f"tmp-job-{index}"))
        assert not [name for name in left if name.startswith("tfgen-worker-checkpoints-")]


@pytest.mark.background  # reads the jobs started with the session (tests/conftest.py)
def test_a_signal_on_one_worker_stops_every_worker_at_the_same_step():
    reports = _reports("job")
    chief, worker = reports[0]["preempt"]["interrupted"], reports[1]["preempt"]["interrupted"]
    # Worker 1 got SIGTERM before step 4 ran: voted on at step 5, every worker stops after it, one checkpoint.
    assert chief["step"] == worker["step"] == 5
    assert chief["checkpoint"] == worker["checkpoint"] == "ckpt-5"
    assert chief["signal"] == worker["signal"] == 15
    assert "by another worker" in chief["message"] and "by another worker" not in worker["message"]


@pytest.mark.background  # reads the jobs started with the session (tests/conftest.py)
def test_a_killed_worker_stops_the_others_and_the_restarted_job_ends_as_if_uninterrupted():
    lost = _reports("job")[0]["preempt"]["lost"]
    assert lost is not None, "the chief went on without worker 1"
    assert "Restart every worker with --resume" in lost["message"] and "ckpt-6" in lost["message"]
    restart = _reports("restart")
    assert restart[0]["vae"]["steps"] == restart[1]["vae"]["steps"] == 8
    uninterrupted, synced = _weights("job", 0, "vae")
    for index in (0, 1):
        resumed, _ = _weights("restart", index, "vae")
        _assert_same([v for v, s in zip(resumed, synced) if s], [v for v, s in zip(uninterrupted, synced) if s],
                     f"restarted worker {index} and the uninterrupted job")
    assert restart[0]["vae"]["restored_equal"]


# ---------------------------------------------------------------- in-process checks


@pytest.mark.parametrize("value, expected", [
    (None, "is not set"),
    ("{not json", "not valid JSON"),
    ('{"task": {"type": "worker", "index": 0}}', "\"cluster\""),
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "ps", "index": 0}}', "\"task\""),
    ('{"cluster": {"worker": ["a:1", "b:2"]}, "task": {"type": "worker", "index": 2}}', "index"),
    ('{"cluster": {"worker": ["nowhere"]}, "task": {"type": "worker", "index": 0}}', "host:port"),
])
def test_a_missing_or_malformed_tf_config_is_one_clear_line(value, expected):
    environ = {} if value is None else {"TF_CONFIG": value}
    with pytest.raises(ValueError, match=expected) as raised:
        distribute.read_tf_config(environ)
    assert "\n" not in str(raised.value)


def test_a_good_tf_config_is_accepted():
    config = {"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, "task": {"type": "worker", "index": 0}}
    assert distribute.read_tf_config({"TF_CONFIG": json.dumps(config)}) == config


def test_strategy_names(monkeypatch):
    import tensorflow as tf

    assert distribute.make_strategy(None) is tf.distribute.get_strategy()
    assert distribute.make_strategy("default") is tf.distribute.get_strategy()
    with pytest.raises(ValueError, match="strategy must be one of"):
        distribute.make_strategy("tpu")
    # One object per name and process: a second MirroredStrategy over the same devices would collide with the
    # first in its collective ops.
    assert distribute.make_strategy("mirrored") is distribute.make_strategy("mirrored")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        distribute.make_strategy("multiworker")


def test_the_cli_names_a_missing_tf_config_in_one_line(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    status = cli.main(["train", "vae", "--out", str(tmp_path / "run"), "--strategy", "multiworker", "--smoke"])
    error = capsys.readouterr().err
    assert status == 2 and error.count("\n") == 1 and "TF_CONFIG" in error
    assert not os.path.exists(tmp_path / "run")
    with pytest.raises(SystemExit) as raised:
        cli.main(["train", "vae", "--out", str(tmp_path / "run"), "--strategy", "bogus"])
    assert raised.value.code == 2 and "--strategy: invalid choice" in capsys.readouterr().err


def _sharded_datasets():
    data = synthetic_dataset(40, num_classes=3)
    return {
        "plain": data,
        "semi-supervised": labelled_split(data, 2, labelled_per_batch=3),
        "class sets": ClassSetDataset(data.images, data.labels, 3, set_size=2),
    }


@pytest.mark.parametrize("kind", ["plain", "semi-supervised", "class sets"])
def test_shards_concatenate_to_the_global_batches(kind):
    data = _sharded_datasets()[kind]
    # Dynamic binarization and class sets draw random numbers per batch: the shards must draw the same.
    options = dict(epoch=1, seed=5, skip_batches=1, binarization="dynamic", label_format="one_hot")
    whole = list(data.batches(8, **options))
    assert len(whole) == data.num_batches(8) - 1
    for count in (2, 3):  # 8 rows in 3 shards: 2, 3 and 3 rows
        shards = [list(data.batches(8, shard=(index, count), **options)) for index in range(count)]
        assert [len(batches) for batches in shards] == [len(whole)] * count
        for number, batch in enumerate(whole):
            for key, value in batch.items():
                joined = np.concatenate([batches[number][key].numpy() for batches in shards])
                assert np.array_equal(joined, value.numpy()), f"{kind}: {key} of batch {number}, {count} shards"


@pytest.mark.parametrize("shard", [(2, 2), (-1, 2), (0, 0), "0/2", (0, 1, 2)])
def test_a_bad_shard_is_refused(shard):
    with pytest.raises(ValueError, match="shard must be None or"):
        synthetic_dataset(8).batches(4, shard=shard)


def test_a_worker_other_than_the_chief_writes_nothing_in_the_run_folder(tmp_path, monkeypatch):
    monkeypatch.setattr(distribute, "is_chief", lambda strategy: False)
    monkeypatch.setenv("TMPDIR", str(tmp_path / "tmp"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    os.makedirs(tmp_path / "tmp")
    trainer = Trainer(create_model("vae"), synthetic_dataset(16), str(tmp_path / "run"), epochs=1, batch_size=8,
                      learning_rate=1e-3, eager=True, verbose=0, checkpoint_every_steps=1)
    assert not trainer.chief
    trainer.fit()
    assert int(trainer.global_step.numpy()) == 2 and len(trainer.history) == 1
    assert not os.path.exists(tmp_path / "run"), "a worker other than the chief wrote in the run folder"
    left = [name for name in os.listdir(tmp_path / "tmp") if name.startswith("tfgen-worker-checkpoints-")]
    assert left == [], "its temporary checkpoints were left behind"
