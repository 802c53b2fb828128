"""Starts the child process of tests/precision (every model in mixed bfloat16 and under XLA) when the
session starts, for the models whose tests are selected, so that it runs beside the in-process tests."""

import os
import shutil
import tempfile

from conformance.support import Child, selected_models

HERE = os.path.dirname(os.path.abspath(__file__))
#: The child of this session (None when no test needs it) and its folder.
STATE = {}


def pytest_collection_finish(session):
    if session.config.option.collectonly:
        return
    module = os.path.join("precision", "test_precision.py")
    lists = [selected_models(session, module, {test}) for test in (
        "test_every_model_trains_in_mixed_bfloat16", "test_every_model_family_trains_with_xla", "test_mixed_float16_trains",
        "test_mixed_float16_trains_under_mirrored_strategy")]
    if any(lists):
        folder = STATE["workdir"] = tempfile.mkdtemp(prefix="tfgen-precision-tests-")
        STATE["child"] = Child(os.path.join(HERE, "child_precision.py"), [",".join(names) for names in lists], folder)


def pytest_sessionfinish(session):
    child = STATE.pop("child", None)
    if child is not None:
        child.stop()
    workdir = STATE.pop("workdir", None)
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
