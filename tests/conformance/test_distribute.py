"""Every registered model trains under tf.distribute.MirroredStrategy on two
logical CPU devices, and the replicas stay in sync."""

import json
import os
import subprocess
import sys

import pytest

from conftest import MODEL_NAMES, REPO_ROOT

_SCRIPT = r"""
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
sys.path.insert(0, sys.argv[3])
from conftest import create_model, synthetic_dataset
from tfgen.training import Trainer
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = create_model(sys.argv[1])
trainer = Trainer(model, synthetic_dataset(32), sys.argv[2], epochs=1, batch_size=8, learning_rate=1e-3,
                  strategy=strategy, verbose=0)
history = trainer.fit()
# Keras variables wrap the strategy's variables: .value is the MirroredVariable.
mirrored = [v.value for v in model.trainable_variables if isinstance(v.value, tf.distribute.DistributedValues)]
in_sync = all(all(bool(tf.reduce_all(value == v.values[0])) for value in v.values) for v in mirrored)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "loss": history[-1]["train/loss"],
                  "mirrored": len(mirrored), "variables": len(model.trainable_variables), "in_sync": in_sync}))
"""


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_trains_under_mirrored_strategy(name, tmp_path):
    script = tmp_path / "distributed.py"
    script.write_text(_SCRIPT)
    result = subprocess.run([sys.executable, str(script), name, str(tmp_path / "run"), os.path.join(REPO_ROOT, "tests")],
                            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": REPO_ROOT}, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2
    assert report["mirrored"] == report["variables"] > 0
    assert report["in_sync"]
    assert report["loss"] == report["loss"]  # not NaN
