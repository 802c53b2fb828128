"""Slow subprocess work that starts when the session starts and runs beside the in-process tests.

Two kinds (started by `conftest.pytest_collection_finish`, for the selected tests only):

* `ExampleRuns`: the example scripts' smoke runs (test_examples.py) and the
  `tfgen train dcgan --smoke` run that test_cli.py compares with
  examples/dcgan.py. They run in `PARALLEL` worker processes
  (tests/example_worker.py) that take the jobs one after another from a
  queue folder: each job is the script run as `__main__` with its command
  line, its stderr in a log of its own, so one TensorFlow start serves several
  scripts (each start costs ~5-10 s of CPU on two cores).
* `ShippedSamples`: `tfgen sample` of every shipped model (test_serving.py), in one process.
* `CliKillRuns`: the processes of test_run_safety.py's SIGKILL test (`tfgen train`
  run to its end, the same command killed with SIGKILL mid-epoch and resumed,
  then `tfgen export`), driven by a thread of this process that mostly waits.

The tests that read their results (`WAITS` below) run last (see
`conftest.pytest_collection_modifyitems`), so the work is done by then
instead of being waited for. Every process is started at a low priority
(`nice`): the in-process tests come first, the children take the rest of
the cores. Every process is bounded in time and killed when the session ends.
"""

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import traceback

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
HERE = os.path.dirname(os.path.abspath(__file__))
EXAMPLES = sorted(glob.glob(os.path.join(REPO_ROOT, "examples", "*.py")))
#: Every deadline of the background work and the children is multiplied by this (the environment variable
#: TFGEN_TEST_TIMEOUT_SCALE, default 1): for measuring runs on a machine that other work shares, where the
#: children, started with `nice`, may wait long for a core (benchmarks/suite_cpu.py sets it).
TIMEOUT_SCALE = float(os.environ.get("TFGEN_TEST_TIMEOUT_SCALE", "1"))
#: The longest one example's smoke run (or the CLI run) may take.
TIMEOUT_S = 600 * TIMEOUT_SCALE
#: Worker processes for the example runs: one. The jobs (~65 s of CPU in all) end long before the in-process
#: tests, which the other children keep the cores busy beside; a second worker would pay a second TensorFlow
#: start (~5 s of CPU) and trace the code the jobs share again.
PARALLEL = 1
#: `tfgen train dcgan --smoke`: the job test_cli.py compares with examples/dcgan.py.
CLI_DCGAN = "tfgen-train-dcgan"

#: The started background work by kind ("examples", "cli_kill", "shipped").
BACKGROUND = {}


def low_priority(command):
    """`command` run through `nice` when there is one: background work yields to the in-process tests."""
    nice = shutil.which("nice")
    return [nice, "-n", "10", *command] if nice else list(command)


#: Every child's TensorFlow runs each op on one thread, and its ops one at a time: the children and the
#: in-process tests share the cores, and an op split over threads that other processes hold waits (and spins)
#: for them. The same work for less CPU: child_checkpoint.py, three at once on two cores, 51.7 s -> 49.6 s of
#: CPU each with one intra-op thread; the 28x28 exports of every model, four processes at once on two cores,
#: 248 -> 224 s with one inter-op thread as well (one process alone: 54.7 -> 52.9 s). Each child compares only
#: what it computed itself, or what children of the same settings computed.
CHILD_THREADS = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1"}
#: The children whose replicas run at once (MirroredStrategy on two logical CPUs, the multi-worker jobs'
#: collectives): one intra-op thread, TensorFlow's inter-op threads, on which the replicas' ops run side by side.
REPLICA_THREADS = {"TF_NUM_INTRAOP_THREADS": "1"}


def child_environment(threads=None, **overrides):
    """This process's environment for a child that imports tfgen from this checkout (and the tests' helpers);
    `threads`: its TensorFlow thread settings (CHILD_THREADS unless given)."""
    environment = {key: value for key, value in os.environ.items()
                   if key not in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")}
    return {**environment, "PYTHONPATH": REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "2",
            **(CHILD_THREADS if threads is None else threads), **overrides}


# ---------------------------------------------------------------- the example scripts (and one CLI run)


class ExampleRuns:
    """Jobs ({name: argv}) run by `PARALLEL` worker processes, in the order given; results read by name."""

    def __init__(self, jobs, folder):
        self.folder = folder
        self.queue = os.path.join(folder, "queue")
        os.makedirs(os.path.join(self.queue, "pending"))
        self.jobs = {}
        for index, (name, argv) in enumerate(jobs.items()):
            out = argv[argv.index("--out") + 1]
            job = {"name": name, "argv": argv, "log": os.path.join(folder, f"{name}.log"),
                   "status": os.path.join(folder, f"{name}.status.json")}
            self.jobs[name] = (job, out)
            with open(os.path.join(self.queue, "pending", f"{index:03d}-{name}.json"), "w") as stream:
                json.dump(job, stream)
        self.workers = []
        for number in range(min(PARALLEL, len(jobs))):
            claimed = os.path.join(self.queue, f"worker{number}")
            os.makedirs(claimed)
            log = open(os.path.join(folder, f"worker{number}.log"), "w")
            process = subprocess.Popen(low_priority([sys.executable, os.path.join(HERE, "example_worker.py"),
                                                     self.queue, claimed]),
                                       stdout=subprocess.DEVNULL, stderr=log, env=child_environment())
            self.workers.append((process, claimed, log))
        self.done = {}

    def _claimed_by(self, name):
        for process, claimed, _ in self.workers:
            for path in glob.glob(os.path.join(claimed, f"*-{name}.json")):
                return process, path
        return None, None

    def result(self, name):
        """(returncode or a reason, the job's --out folder, its stderr) of job `name`, waiting for it."""
        if name not in self.done:
            job, out = self.jobs[name]
            while True:
                if os.path.isfile(job["status"]):
                    with open(job["status"]) as stream:
                        returncode = json.load(stream)["returncode"]
                    break
                process, claim = self._claimed_by(name)
                if process is not None and time.time() - os.path.getmtime(claim) > TIMEOUT_S:
                    process.kill()
                    process.wait()
                    returncode = f"killed after {TIMEOUT_S:.0f} s"
                    break
                if all(worker.poll() is not None for worker, _, _ in self.workers) and not os.path.isfile(job["status"]):
                    returncode = "not finished: the example workers exited (see " + ", ".join(
                        log.name for _, _, log in self.workers) + ")"
                    break
                time.sleep(0.2)
            text = ""
            if os.path.isfile(job["log"]):
                with open(job["log"], errors="replace") as stream:
                    text = stream.read()
            if not isinstance(returncode, int):
                for _, _, log in self.workers:
                    log.flush()
                    with open(log.name, errors="replace") as stream:
                        text += stream.read()[-2000:]
            self.done[name] = (returncode, out, text)
        return self.done[name]

    def stop(self):
        for process, _, log in self.workers:
            if process.poll() is None:
                process.kill()
                process.wait()
            log.close()


#: Flags the suite adds to an example's smoke run: the diffusion figure's samples take 10 DDIM steps instead of the
#: recipe's 50 (the same traced sampler, a fifth of its network passes: ~4 s of CPU).
EXAMPLE_FLAGS = {"diffusion": ("--sampling-steps", "10")}


def example_jobs(scripts, with_cli_dcgan, folder):
    """{job name: argv} of the example scripts' smoke runs (and `tfgen train dcgan --smoke`)."""
    jobs = {}
    for script in scripts:
        name = os.path.splitext(os.path.basename(script))[0]
        jobs[name] = [script, "--smoke", "--out", os.path.join(folder, name, "run"), *EXAMPLE_FLAGS.get(name, ())]
    if with_cli_dcgan:
        jobs[CLI_DCGAN] = ["tfgen", "train", "dcgan", "--dataset", "mnist", "--out",
                           os.path.join(folder, CLI_DCGAN, "run"), "--smoke"]
    return jobs


def example_name(script):
    return os.path.splitext(os.path.basename(script))[0]


# ---------------------------------------------------------------- test_run_safety.py's SIGKILL runs

KILL_RUN_FLAGS = ["--dataset", "mnist", "--train-examples", "80", "--batch-size", "8", "--checkpoint-every-steps", "2",
                  "--plot-every", "100", "--seed", "3"]  # 10 steps an epoch
KILL_MODEL_FLAGS = {"vae": ["--latent-dim", "2"]}
#: The models killed and resumed from the command line: the VAE. What a SIGKILL leaves (the run folder's files
#: mid-write) is the trainer's, not a model's; every model's resumption after a kill mid-epoch is
#: test_checkpoint.py's (conformance/child_checkpoint.py), and a GAN's was also killed here until the suite
#: had to fit its time again (~28 s of CPU).
KILL_NAMES = ("vae",)
#: The longest a run may take to write its first checkpoint, and any one process to end (hangs only).
KILL_DEADLINE_S = 600 * TIMEOUT_SCALE


class CliKillRuns:
    """`tfgen train` twice per model (once to its end; once killed with SIGKILL mid-epoch 1, then resumed),
    then `tfgen export` of the resumed VAE: all in fresh processes, driven by a thread.

    `result()` waits for the thread and gives {"error": traceback or None, "killed_at": {name: step},
    "resumed": {name: (returncode, stderr)}, "uninterrupted": {name: (returncode, stderr)},
    "export": (returncode, stdout, stderr), "folder": the runs' folder}.
    """

    def __init__(self, folder):
        self.folder = folder
        self.processes = []
        self.outcome = {"error": None, "killed_at": {}, "resumed": {}, "uninterrupted": {}, "export": None,
                        "folder": folder}
        self._stopped = False
        self.thread = threading.Thread(target=self._run, name="cli-kill-runs", daemon=True)
        self.thread.start()

    def _start(self, argv, label, stdout=subprocess.DEVNULL):
        if self._stopped:
            raise RuntimeError("the session ended")
        log = open(os.path.join(self.folder, f"{label}.stderr"), "w+")
        # One thread each (CHILD_THREADS): the same ops in the same order, so the runs are exact on any CPU.
        env = child_environment()
        process = subprocess.Popen(low_priority([sys.executable, "-m", "tfgen.cli", *argv]), stdout=stdout,
                                   stderr=log, text=True, cwd=REPO_ROOT, env=env)
        self.processes.append(process)
        return process, log

    def _train(self, name, out, *more):
        argv = ["train", name, "--out", os.path.join(self.folder, out), "--epochs", "2", *KILL_RUN_FLAGS,
                *KILL_MODEL_FLAGS[name], *more]
        return self._start(argv, f"{out}{'-resumed' if more else ''}")

    @staticmethod
    def _finish(process, log):
        try:
            returncode = process.wait(timeout=KILL_DEADLINE_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            returncode = f"killed after {KILL_DEADLINE_S:.0f} s"
        log.seek(0)
        return returncode, log.read()

    def _run(self):
        from tfgen.training import run_dir as run_files

        try:
            # All at once (the machine's cores are shared); each run to kill is killed once it has a checkpoint.
            uninterrupted = {name: self._train(name, f"{name}-a") for name in KILL_NAMES}
            killed = {name: self._train(name, f"{name}-c") for name in KILL_NAMES}
            try:
                deadline = time.monotonic() + KILL_DEADLINE_S
                while any(process.poll() is None for process, _ in killed.values()):
                    for name, (process, _) in killed.items():
                        run = os.path.join(self.folder, f"{name}-c")
                        # Killed once a checkpoint is whole: TensorFlow writes the index file in place, so a kill
                        # while it is written leaves that checkpoint unreadable (the case of
                        # test_a_damaged_latest_checkpoint_names_an_older_one_to_resume_from).
                        if (process.poll() is None and glob.glob(os.path.join(run, "checkpoints", "ckpt-*.index"))
                                and run_files.newest_intact_checkpoint(run)):
                            process.send_signal(signal.SIGKILL)
                    if time.monotonic() > deadline or self._stopped:
                        raise RuntimeError("a run to kill wrote no checkpoint in time")
                    time.sleep(0.002)
            finally:
                for process, log in killed.values():
                    process.kill()
                    process.wait()
                    log.close()
            for name in KILL_NAMES:
                prefixes = run_files.checkpoint_prefixes(os.path.join(self.folder, f"{name}-c"))
                self.outcome["killed_at"][name] = max(prefixes) if prefixes else None
            resumed = {name: self._train(name, f"{name}-c", "--resume") for name in KILL_NAMES}
            for name in KILL_NAMES:
                self.outcome["resumed"][name] = self._finish(*resumed[name])
            export, log = self._start(["export", os.path.join(self.folder, "vae-c"), "--name", "vae",
                                       "--saved-models-dir", os.path.join(self.folder, "sm")], "export",
                                      stdout=subprocess.PIPE)
            try:
                stdout, _ = export.communicate(timeout=KILL_DEADLINE_S)
            except subprocess.TimeoutExpired:
                export.kill()
                stdout, _ = export.communicate()
            log.seek(0)
            self.outcome["export"] = (export.returncode, stdout, log.read())
            for name in KILL_NAMES:
                self.outcome["uninterrupted"][name] = self._finish(*uninterrupted[name])
        except BaseException:  # noqa: BLE001 - reported by the test
            self.outcome["error"] = traceback.format_exc()
        finally:
            for process in self.processes:
                if process.poll() is None:
                    process.kill()
                    process.wait()

    def result(self):
        self.thread.join(timeout=4 * KILL_DEADLINE_S)
        if self.thread.is_alive():
            self.stop()
            self.thread.join(timeout=60)
            self.outcome["error"] = self.outcome["error"] or "the CLI runs did not end in time"
        return self.outcome

    def stop(self):
        self._stopped = True
        for process in list(self.processes):
            if process.poll() is None:
                process.kill()
                process.wait()


# ---------------------------------------------------------------- test_serving.py's shipped models

SHIPPED = os.path.join(REPO_ROOT, "saved_models")

_SAMPLE_EVERY_SHIPPED_MODEL = """
import json, sys
from tfgen import cli
requests = json.loads(sys.argv[1])
print(json.dumps({name: cli.main(argv) for name, argv in requests.items()}))
"""


#: The shipped models' grids in test_serving.py: 3 x 3 samples. The diffusion model's default 8 x 8 is 64 images
#: of 50 sampler steps at two network passes each, ~25 s of CPU of the suite's.
SHIPPED_COLUMNS = 3


def shipped_models():
    if not os.path.isdir(SHIPPED):
        return []
    return sorted(entry for entry in os.listdir(SHIPPED) if os.path.isdir(os.path.join(SHIPPED, entry)))


class ShippedSamples:
    """`tfgen sample` of every shipped model, in ONE fresh process with no data folder, run from elsewhere.

    `result()` gives (folder of the grids, {name: exit status}, the child's stderr).
    """

    def __init__(self, folder):
        from tfgen.export import latest_version, read_manifest

        self.folder = folder
        requests = {}
        for name in shipped_models():
            manifest = read_manifest(latest_version(os.path.join(SHIPPED, name)))
            arguments = ["--label", "3"] if manifest.get("num_classes") else []
            requests[name] = ["sample", "--model", os.path.join(SHIPPED, name), *arguments, "--columns",
                              str(SHIPPED_COLUMNS), "--out", os.path.join(folder, f"{name}.png")]
        environment = {key: value for key, value in os.environ.items() if key not in ("TFGEN_DATA_DIR", "TFDS_DATA_DIR")}
        environment.update(TF_CPP_MIN_LOG_LEVEL="2", TFDS_DATA_DIR=os.path.join(folder, "no_tfds"), PYTHONPATH=REPO_ROOT,
                           **CHILD_THREADS)
        self.process = subprocess.Popen(low_priority([sys.executable, "-c", _SAMPLE_EVERY_SHIPPED_MODEL,
                                                      json.dumps(requests)]),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
                                        cwd=folder)
        self._result = None

    def result(self):
        if self._result is None:
            try:
                stdout, stderr = self.process.communicate(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                stdout, stderr = self.process.communicate()
                stderr += f"\nkilled after {TIMEOUT_S:.0f} s"
            statuses = json.loads(stdout.strip().splitlines()[-1]) if self.process.returncode == 0 else {}
            self._result = (self.folder, statuses, stderr)
        return self._result

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


#: The tests that read background results (run last): {test file: test names}. Every test that uses the
#: `example_runs` fixture is one too.
WAITS = {
    "test_run_safety.py": {"test_cli_runs_are_reproducible_survive_sigkill_and_export"},
    "test_serving.py": {"test_shipped_model_samples_in_a_fresh_process_without_data"},
}
