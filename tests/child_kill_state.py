"""Child process of test_run_safety.py: a tiny run killed with SIGKILL at one point, to leave one state.

Usage: child_kill_state.py STATE RUN_DIR

STATE is where the process kills itself (no `finally` runs, as for a real kill):
* `before-first-checkpoint`: at the first checkpoint's save, before anything of it is written (the run
  folder holds its config.json, its history of epoch 1, its lock and its event files);
* `mid-first-checkpoint`: while the first checkpoint is published, its data file renamed into
  `checkpoints/`, its index not (the temporary folder of the save is left, with its marker);
* `mid-config`: while config.json is written, the temporary file written and not yet renamed.

The run is test_run_safety.py's `_trainer` (a tiny VAE, 2 epochs of 4 steps, seed 0), so a resume of the
folder must end where that run never interrupted ends.
"""

import os
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tests/, for test_run_safety and conftest

from test_run_safety import _trainer  # noqa: E402
from tfgen.training import checkpoints  # noqa: E402


def kill():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def main(state, run_dir):
    replace = os.replace
    if state == "before-first-checkpoint":
        checkpoints.RunCheckpoints.save = lambda self, number: kill()
    elif state == "mid-first-checkpoint":
        def replace_then_kill(source, target):
            if target.endswith(".index") and os.path.basename(os.path.dirname(source)).startswith(
                    checkpoints.TEMPORARY_PREFIX):
                kill()
            replace(source, target)
        os.replace = replace_then_kill
    elif state == "mid-config":
        def replace_then_kill(source, target):
            if os.path.basename(target) == "config.json":
                kill()
            replace(source, target)
        os.replace = replace_then_kill
    else:
        raise SystemExit(f"unknown state {state!r}")
    _trainer(run_dir).fit()
    raise SystemExit("the run ended without being killed")


if __name__ == "__main__":
    main(*sys.argv[1:])
