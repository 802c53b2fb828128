"""Fixtures of the conformance suite: a switch for Grappler, and the child
processes that check every model at once.

Float comparisons in this suite are exact wherever both sides run the same
computation, and the fixtures here make them run the same computation:

* `grappler_disabled`: Grappler (remapper fusions, arithmetic optimizer...)
  rewrites a tf.function's graph and so reorders its float32 arithmetic;
  its rewrites also depend on the machine. With it off, a graph runs the
  ops that were traced, one kernel each, as eager execution does.

Child processes cost a TensorFlow start each (~5-10 s on two cores): there is
one per kind of check, never one per model. They start in the background
when the session starts, for the models whose tests are selected, and run
while the in-process tests do; each model's test reads its part of the
shared report, so a failure still names the model.
"""

import os
import shutil
import tempfile

import pytest

from conformance.support import CHILDREN, Child, child_env, grappler_off, selected_models


@pytest.fixture
def grappler_disabled():
    """Grappler off for the tf.functions first called in the test (see conformance/support.py)."""
    with grappler_off():
        yield


def pytest_collection_finish(session):
    """Starts the children that the selected tests need, so they run beside the in-process tests."""
    if session.config.option.collectonly:
        return
    workdir = CHILDREN["workdir"] = tempfile.mkdtemp(prefix="tfgen-conformance-")
    distributed = selected_models(session, "test_distribute.py", {"test_trains_under_mirrored_strategy"})
    if distributed:
        CHILDREN["distribute"] = Child("child_distribute.py", [",".join(distributed)],
                                        os.path.join(workdir, "distribute"))


def pytest_sessionfinish(session):
    workdir = CHILDREN.pop("workdir", None)
    for child in CHILDREN.values():
        child.stop()
    CHILDREN.clear()
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
