"""Every example script runs in its smoke mode (a few steps on real data) and writes its figures.

Each script runs as a user runs it (`python examples/X.py --smoke --out
DIR`: as `__main__`, with that command line), through the session fixture
`example_runs` (tests/background.py): the runs start when the session
starts, in worker processes that run one script after another (one
TensorFlow start for several scripts), beside the in-process tests; these
tests run last and read each script's result. The CLI test that compares
`tfgen train dcgan` with examples/dcgan.py reads the same run of the example.
"""

import glob
import os

import pytest

from background import example_name
from conftest import EXAMPLES, requires_real_data


@requires_real_data
@pytest.mark.parametrize("script", EXAMPLES, ids=os.path.basename)
def test_example_smoke(script, example_runs):
    returncode, out, stderr = example_runs.result(example_name(script))
    assert returncode == 0, stderr[-3000:]
    assert glob.glob(os.path.join(out, "checkpoints", "ckpt-*.index"))
    assert glob.glob(os.path.join(out, "plots", "*.png"))
