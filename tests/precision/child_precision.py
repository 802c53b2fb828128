"""The runs of tests/precision: every model family trains a few steps with XLA (--jit), the VAE and DCGAN in
mixed float16, and the DCGAN in mixed float16 under MirroredStrategy on two logical CPUs. (Every model's run in
mixed bfloat16 is conformance/child_distribute.py's, under MirroredStrategy.)

They run in the child process of conformance/child_distribute.py (`run_all`), started when the session starts
(conformance/support.py `start_two_cpu_child`): its XLA compilations (8-40 s per model on two cores) run beside
the in-process tests, and the logical devices must be configured before TensorFlow initializes its devices,
as that child does for test_distribute.py's runs too (one TensorFlow start for both). Writes
{model: {kind: {...}}} (or {model: {kind: {"error": traceback}}}) to its report.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from conftest import create_model, synthetic_dataset
from child_report import check_each, write_report
from tfgen.layers import SpectralNormalization
from tfgen.training import Trainer

#: Steps of each run: 32 examples, batch 8, two steps.
STEPS = 2


def train(name, folder, strategy=None, **options):
    keras.utils.set_random_seed(0)
    with (strategy or tf.distribute.get_strategy()).scope():
        model = create_model(name)
    trainer = Trainer(model, synthetic_dataset(32), os.path.join(folder, name), epochs=1, batch_size=8,
                      steps_per_epoch=STEPS, learning_rate=1e-3, strategy=strategy, verbose=0, **options)
    return {**fit_facts(trainer), "replicas": trainer.strategy.num_replicas_in_sync, "out_of_sync": out_of_sync(model)}


def fit_facts(trainer):
    """Runs `trainer.fit()`; what test_precision.py checks of the run (`_check_run`): its steps and last train
    metrics, how many trainable variables moved and whether all are finite, and the dtypes of the model's
    variables, layers and losses and its optimizers' classes (a loss scale or none) under the run's policy."""
    model = trainer.model
    before = [variable.numpy().copy() for variable in model.trainable_variables]
    history = trainer.fit()
    after = [variable.numpy() for variable in model.trainable_variables]
    batch = next(iter(trainer.batches(trainer.train_data, epoch=0)))
    losses = model.compute_losses(batch, seed=np.array([1, 2], np.int64), training=False)
    return {
        "steps": int(trainer.global_step.numpy()),
        "metrics": {key: value for key, value in history[-1].items() if key.startswith("train/")},
        "moved": sum(not np.array_equal(old, new) for old, new in zip(before, after)),
        "variables": len(before),
        "finite_variables": all(bool(np.all(np.isfinite(value))) for value in after),
        "variable_dtypes": sorted({variable.dtype for variable in model.variables if "float" in variable.dtype}),
        "compute_dtypes": sorted({layer.compute_dtype for layer in model._flatten_layers(include_self=False)}),
        "loss_dtypes": sorted({value.dtype.name for value in losses.values()}),
        "optimizers": sorted({type(optimizer).__name__ for optimizer in trainer._optimizers()}),
    }


def out_of_sync(model):
    """The trainable variables whose replicas hold different values (none outside MirroredStrategy), and the
    spectral normalizations' power-iteration vectors: written in each replica's forward pass (as batch norm's
    moving statistics, which replicas keep apart), they must stay equal, being functions of the synced weights."""
    vectors = [layer.vector_u for layer in model._flatten_layers() if isinstance(layer, SpectralNormalization)]
    mirrored = [v for v in [*model.trainable_variables, *vectors]
                if isinstance(v.value, tf.distribute.DistributedValues)]
    return [v.path for v in mirrored if not all(bool(tf.reduce_all(part == v.value.values[0])) for part in v.value.values)]


def run_all(report_path, lists, mirrored):
    """`lists`: the comma-separated models to train with XLA, in mixed float16, and in mixed float16 under
    `mirrored` (a MirroredStrategy on two logical CPUs). (The mixed bfloat16 runs are child_distribute.py's.)"""
    folder = tempfile.mkdtemp(prefix="tfgen-precision-")
    kinds = {"jit": {"jit": True}, "float16": {"precision": "mixed_float16"},
             "mirrored_float16": {"precision": "mixed_float16", "strategy": mirrored}}
    report = {}
    for (kind, options), names in zip(kinds.items(), lists):
        check_each(report, names, lambda name: train(name, os.path.join(folder, kind), **options), kind)
    write_report(report_path, report)
