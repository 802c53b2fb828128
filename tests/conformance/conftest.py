"""Fixtures of the conformance suite: a switch for Grappler, and the child
processes that check every model at once.

Float comparisons in this suite are exact wherever both sides run the same
computation, and the fixtures here make them run the same computation:

* `grappler_disabled`: Grappler (remapper fusions, arithmetic optimizer...)
  rewrites a tf.function's graph and so reorders its float32 arithmetic;
  its rewrites also depend on the machine. With it off, a graph runs the
  ops that were traced (but for oneDNN's merges, below), so two graphs
  traced from the same code compute the same thing the same way. With it
  on, the CVAE's compiled gradients were also seen to change in the last
  bits from one call to the next on the same inputs, under CPU load
  (never with it off).
* the eager-versus-compiled child: oneDNN's graph pass (not part of Grappler, on by
  default on x86) still merges Conv2D + BiasAdd and Conv2DBackpropFilter +
  BiasAddGrad into single oneDNN kernels that sum in another order than
  the separate ops that eager execution runs. It can only be switched off
  for a whole process (TF_ENABLE_ONEDNN_OPTS=0, read when TensorFlow
  loads), so the eager-versus-compiled comparisons run in one child process
  for all models.

Child processes cost a TensorFlow start each (~5 s of CPU): there is one
per environment a check needs, never one per model: the eager-versus-compiled
comparisons (oneDNN off), the checks on two logical CPUs (test_distribute.py
and tests/precision: support.start_two_cpu_child), the checks at other image
shapes than 28x28x1 (test_image_shapes.py, and the exports), and the runs
interrupted and resumed (test_checkpoint.py, three Trainers a model); the
last two in a process of child_batch.py each. They start in the background when the session starts, for the models whose tests
are selected, and run while the in-process tests do (CPU work that would
otherwise wait for them); each model's test reads its part of the shared
report, so a failure still names the model. The tests that read the
children's reports run last (tests/conftest.py), and the children run at a
low priority (`nice`), so that the in-process tests are never slowed by them.
"""

import json
import os
import shutil
import tempfile

import pytest

from conformance.descriptors import IMAGE_SHAPES
from conformance.support import (CHILD_OF, CHILDREN, Child, child_env, grappler_off, selected_models, shape_key,
                                 start_two_cpu_child, stop_two_cpu_child)


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
    loops = selected_models(session, "test_checkpoint.py", {"test_eager_and_compiled_training_loops_agree"})
    if loops:
        # Both sides on the same (Eigen) kernels: see the module docstring.
        CHILDREN["eager_vs_compiled"] = Child(
            "child_eager_vs_compiled.py", [",".join(loops)], os.path.join(workdir, "eager"),
            env=child_env(TF_ENABLE_ONEDNN_OPTS="0"))
    cases = [shape_key(name, image_shape) for image_shape in IMAGE_SHAPES
             for name in selected_models(session, "test_image_shapes.py",
                                         {"test_trains_samples_and_restores_at_other_image_shapes"},
                                         image_shape=image_shape)]
    # The exports at 28x28x1 are made there too, and the TensorFlow-only child loads them all from there.
    exports = selected_models(session, "test_saved_model.py", {"test_export_reloads_without_tfgen_and_matches_the_model"})
    # test_capabilities.py reads those exports back as `tfgen evaluate` does.
    exports += [name for name in selected_models(session, "test_capabilities.py",
                                                 {"test_an_export_declares_what_its_model_declares"})
                if name not in exports]
    resumed = selected_models(session, "test_checkpoint.py", {"test_run_killed_mid_epoch_resumes_to_the_uninterrupted_result"})
    # The checks at other image shapes (and the exports) and the resumed runs need no environment of their own,
    # but each runs in a process of its own (child_batch.py, one check each): a child computes on one thread
    # (background.CHILD_THREADS), and what the children have left when the in-process tests end is the suite's
    # tail, which two processes make on both cores (one process for both was a tail of one core, 138 s in a
    # fresh-clone run, for a TensorFlow start and a trace of the loop's shared code saved, ~10 s of CPU).
    batch = []
    if cases or exports:
        folder = os.path.join(workdir, "shapes")
        os.makedirs(folder)
        batch.append(("image_shapes", "child_image_shapes.py", os.path.join(folder, "report.json"),
                      [",".join(cases), ",".join(exports), folder]))
    if resumed:
        batch.append(("checkpoint", "child_checkpoint.py", os.path.join(workdir, "checkpoint.json"), [",".join(resumed)]))
        CHILD_OF.update({name: "checkpoint" for name in resumed})
    for kind, script, report, arguments in batch:
        spec = os.path.join(workdir, f"{kind}.json")
        with open(spec, "w") as stream:
            json.dump([[script, report, arguments]], stream)
        CHILDREN[kind] = Child("child_batch.py", [spec], os.path.join(workdir, f"batch-{kind}")).part(report, script)
    start_two_cpu_child(session)  # test_distribute.py's runs, with tests/precision's (support.start_two_cpu_child)


def pytest_sessionfinish(session):
    workdir = CHILDREN.pop("workdir", None)
    for child in CHILDREN.values():
        child.stop()
    CHILDREN.clear()
    CHILD_OF.clear()
    stop_two_cpu_child()
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
