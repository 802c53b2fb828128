"""Every registered model trains under tf.distribute.MirroredStrategy on two
logical CPU devices, the replicas stay in sync, and a non-finite value on one
replica skips the step on both. The runs are in mixed bfloat16: the same runs
are tests/precision's checks of that policy (float32 under MirroredStrategy is
test_multiworker.py's single-process reference).

All models train in one child process (tests/conformance/child_distribute.py,
started by conftest.py when the session starts); each test asserts on its
model's part of the report.
"""

import numpy as np
import pytest

from conftest import MODEL_NAMES
from conformance.support import child_models, model_report, started_child
from tfgen.models import MODELS, AdversarialModel


@pytest.mark.background
@pytest.mark.parametrize("name", child_models(MODEL_NAMES))
def test_trains_under_mirrored_strategy(name):
    report = model_report(started_child("distribute"), name)
    assert report["replicas"] == 2
    assert report["steps"] == 4  # 32 examples, global batch 8: every step ran
    assert report["mirrored"] == report["variables"] > 0, "every trainable variable is mirrored"
    assert report["out_of_sync"] == [], "replicas hold different values"
    assert report["metrics"] and "train/loss" in report["metrics"]
    bad = {key: value for key, value in report["metrics"].items() if not np.isfinite(value)}
    assert not bad, f"non-finite metrics {bad}"
    # A NaN weight on replica 0 alone: the step is skipped on both replicas (one update, or a GAN's two).
    assert report["skip_compared"] > report["variables"]
    assert report["skip_changed"] == 0, "a skipped step changed a value on some replica"
    assert report["skipped"] == (2.0 if issubclass(MODELS[name], AdversarialModel) else 1.0)
