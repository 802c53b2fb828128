"""Every example script runs in its smoke mode (a few steps on real data) and writes its figures."""

import glob
import os
import subprocess
import sys

import pytest

from conftest import REPO_ROOT, requires_real_data

EXAMPLES = sorted(glob.glob(os.path.join(REPO_ROOT, "examples", "*.py")))


@requires_real_data
@pytest.mark.parametrize("script", EXAMPLES, ids=os.path.basename)
def test_example_smoke(script, tmp_path):
    out = tmp_path / "run"
    result = subprocess.run([sys.executable, script, "--smoke", "--out", str(out)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": REPO_ROOT}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert glob.glob(str(out / "checkpoints" / "ckpt-*.index"))
    assert glob.glob(str(out / "plots" / "*.png"))
