"""Helpers of the conformance suite: a switch for Grappler, and child processes
that check every model at once (see conftest.py, which starts them)."""

import contextlib
import json
import os
import subprocess
import sys
import time

import pytest
import tensorflow as tf

from conftest import REPO_ROOT

HERE = os.path.dirname(os.path.abspath(__file__))
#: The longest a child may run (all models); CI's whole budget is far larger.
CHILD_TIMEOUT_S = 900


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
        self.process = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT,
                                        env=env if env is not None else child_env(), cwd=cwd or workdir)
        self._deadline = time.monotonic() + CHILD_TIMEOUT_S
        self._report = None

    def report(self):
        """The child's report ({model: {...}}); fails the calling test with the child's log if it crashed."""
        if self._report is None:
            try:
                returncode = self.process.wait(timeout=max(1.0, self._deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                returncode = "killed after timeout"
            self._log.close()
            if returncode != 0 or not os.path.isfile(self.report_path):
                with open(self.log_path) as stream:
                    pytest.fail(f"{os.path.basename(self.command[1])} exited with {returncode}:\n{stream.read()[-4000:]}")
            with open(self.report_path) as stream:
                self._report = json.load(stream)
        return self._report

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if not self._log.closed:
            self._log.close()


def child_env(**overrides):
    """This process's environment for a child that imports tfgen from this checkout (and the tests' helpers)."""
    env = {**os.environ, "PYTHONPATH": REPO_ROOT, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.update(overrides)
    return env


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


def started_child(kind):
    child = CHILDREN.get(kind)
    if child is None:
        pytest.fail(f"the {kind} child process was not started (see pytest_collection_finish in conftest.py)")
    return child


def selected_models(session, module, test_names):
    """The models (the "name" parameter) of the selected tests `test_names` of test file `module`."""
    names = set()
    for item in session.items:
        if item.nodeid.split("::")[0].endswith(module) and getattr(item, "originalname", None) in test_names:
            names.add(item.callspec.params["name"])
    return sorted(names)
