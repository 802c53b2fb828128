"""Every example script runs in its smoke mode (a few steps on real data) and writes its figures.

Each script runs in a process of its own (`python examples/X.py --smoke --out
DIR`), as a user runs it, through the session fixture `example_runs`
(tests/conftest.py): as many side by side as the machine has cores (at most
4), in the tests' order, each test waiting for its own script's result. The
CLI test that compares `tfgen train dcgan` with examples/dcgan.py reads the
same run of the example.
"""

import glob
import os

import pytest

from conftest import EXAMPLES, requires_real_data


@requires_real_data
@pytest.mark.parametrize("script", EXAMPLES, ids=os.path.basename)
def test_example_smoke(script, example_runs):
    returncode, out, stderr = example_runs.result(script)
    assert returncode == 0, stderr[-3000:]
    assert glob.glob(os.path.join(out, "checkpoints", "ckpt-*.index"))
    assert glob.glob(os.path.join(out, "plots", "*.png"))
