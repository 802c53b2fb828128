"""Every example script runs in its smoke mode (a few steps on real data) and writes its figures.

Each script runs in a process of its own (`python examples/X.py --smoke --out
DIR`), as a user runs it. The runs are mostly single-threaded Python (~1.1
cores each), so they run side by side, as many at once as the machine has
cores (at most 4): a module fixture starts them in the tests' order and each
test waits for its own script's result.
"""

import glob
import os
import subprocess
import sys
import time

import pytest

from conftest import REPO_ROOT, requires_real_data

EXAMPLES = sorted(glob.glob(os.path.join(REPO_ROOT, "examples", "*.py")))
TIMEOUT_S = 600
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
            script = self.pending.pop(0)
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

    def result(self, script):
        """(returncode, the --out folder, stderr) of `script`, waiting for it (and starting others meanwhile)."""
        if script not in self.done and script not in self.running and script not in self.pending:
            self.pending.insert(0, script)
        while script not in self.done:
            self._start_more()
            self._collect()
            if script not in self.done:
                time.sleep(0.2)
        self._start_more()  # keep the next ones going while the test asserts
        return self.done[script]

    def stop(self):
        for process, _, log, _ in self.running.values():
            process.kill()
            process.wait()
            log.close()


@pytest.fixture(scope="module")
def example_runs(request, tmp_path_factory):
    selected = [item.callspec.params["script"] for item in request.session.items
                if getattr(item, "originalname", None) == "test_example_smoke"]
    runs = ExampleRuns(selected, str(tmp_path_factory.mktemp("examples")))
    yield runs
    runs.stop()


@requires_real_data
@pytest.mark.parametrize("script", EXAMPLES, ids=os.path.basename)
def test_example_smoke(script, example_runs):
    returncode, out, stderr = example_runs.result(script)
    assert returncode == 0, stderr[-3000:]
    assert glob.glob(os.path.join(out, "checkpoints", "ckpt-*.index"))
    assert glob.glob(os.path.join(out, "plots", "*.png"))
