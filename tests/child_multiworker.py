"""Child process of tests/test_multiworker.py: one worker of a two-worker job, or the single-process reference.

Usage: child_multiworker.py REPORT MODE FOLDER

* MODE "reference": one process, MirroredStrategy on two logical CPUs (the
  replica ids and so the step seeds of a two-worker job);
* MODE "job": a worker of the job in TF_CONFIG, which trains the same runs;
* MODE "preempt": a worker of another job in which worker 1 sends itself
  SIGTERM during the VAE's run (every worker must stop at the same step,
  after one checkpoint), then, resumed in the same process, SIGKILLs itself
  (the chief must stop with WorkerLost);
* MODE "restart": that job restarted with resume, to the end.

Every run trains `RUNS` (tiny models of tests/conftest.py on the same
synthetic data) in FOLDER/<mode>-<run>/ and saves the final weights to
FOLDER/<mode>-<task>-<run>.npz; the report (JSON) says what each worker saw.
"""

import json
import os
import signal
import sys
import time
import traceback

import numpy as np
import tensorflow as tf

MODE = sys.argv[2]
if MODE == "reference":
    # Before TensorFlow initializes its devices.
    CPU = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(CPU, [tf.config.LogicalDeviceConfiguration()] * 2)
    STRATEGY = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
else:
    from tfgen.training import distribute

    STRATEGY = distribute.make_strategy("multiworker")  # first: before any TensorFlow operation

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # tests/, for conftest

from conftest import create_model, synthetic_dataset  # noqa: E402
from tfgen.training import Trainer, TrainingInterrupted, restore_model  # noqa: E402
from tfgen.training.distribute import WorkerLost  # noqa: E402

#: {run: (model, Trainer options)}: 32 examples in global batches of 8, 2 epochs = 8 steps.
RUNS = {
    "vae": ("vae", {"checkpoint_every_steps": 2}),
    "dcgan": ("dcgan", {}),
}


def task_index():
    if MODE == "reference":
        return 0
    return json.loads(os.environ["TF_CONFIG"])["task"]["index"]


def make_trainer(run, folder):
    import keras

    name, options = RUNS[run]
    keras.utils.set_random_seed(0)  # the seed generators' states (the weights follow the run's seed)
    with STRATEGY.scope():
        model = create_model(name)
    return Trainer(model, synthetic_dataset(32), folder, epochs=2, batch_size=8, learning_rate=1e-3,
                   strategy=STRATEGY, verbose=0, **options)


def weights(trainer, replica):
    """Every model and optimizer variable's value on `replica` (this process's own, in a job), and whether
    each is trainable. Batch-norm statistics are each replica's own (Keras does not synchronize them)."""
    trainable = {id(v) for v in trainer.model.trainable_variables}
    values, flags = [], []
    for optimizer_variable, variables in ((False, trainer.model.variables),
                                          (True, [v for opt in trainer._optimizers() for v in opt.variables])):
        for variable in variables:
            inner = getattr(variable, "value", variable)
            if MODE == "reference" and isinstance(inner, tf.distribute.DistributedValues):
                inner = inner.values[replica]
            values.append(np.array(inner.numpy()))
            flags.append(optimizer_variable or id(variable) in trainable)
    return values, flags


def save_weights(trainer, folder, run, index):
    for replica in (0, 1) if MODE == "reference" else (index,):
        values, flags = weights(trainer, replica)
        np.savez(os.path.join(folder, f"{MODE}-{replica}-{run}.npz"), *values, synced=np.array(flags))


def act_at_step(trainer, step, action):
    """Runs `action()` when the trainer is about to run global step `step` + 1 (after `step` steps)."""
    original = trainer._train_batch

    def train_batch(batch):
        if int(trainer.global_step.numpy()) == step:
            action()
        return original(batch)

    trainer._train_batch = train_batch


def run_files(folder):
    found = []
    for root, _, files in os.walk(folder):
        found += [os.path.relpath(os.path.join(root, name), folder) for name in files]
    return sorted(found)


def train_run(run, folder, index, resume=False):
    trainer = make_trainer(run, os.path.join(folder, f"{MODE if MODE != 'restart' else 'preempt'}-{run}"))
    trainer.fit(resume=resume)
    entry = {"steps": int(trainer.global_step.numpy()), "chief": trainer.chief, "workers": trainer.workers}
    save_weights(trainer, folder, run, index)
    if trainer.chief:
        restored, _ = restore_model(trainer.run_dir)
        entry["restored_equal"] = all(np.array_equal(a.numpy(), b.numpy())
                                      for a, b in zip(restored.variables, trainer.model.variables))
        entry["files"] = run_files(trainer.run_dir)
    return entry


def preempt(folder, index, report, report_path):
    """Worker 1 sends itself SIGTERM after step 3; then, resumed, SIGKILLs itself after step 6."""
    entry = report["preempt"] = {}
    trainer = make_trainer("vae", os.path.join(folder, "preempt-vae"))
    if index == 1:
        act_at_step(trainer, 3, lambda: os.kill(os.getpid(), signal.SIGTERM))
    try:
        trainer.fit()
        entry["interrupted"] = None
    except TrainingInterrupted as error:
        entry["interrupted"] = {"step": int(trainer.global_step.numpy()), "signal": error.signal_number,
                                "checkpoint": os.path.basename(error.checkpoint or ""), "message": str(error)}
    write_report(report, report_path)  # worker 1 dies below    trainer = make_trainer("vae", os.path.join(folder, "preempt-vae"))
    if index == 1:
        act_at_step(trainer, 6, lambda: os.kill(os.getpid(), signal.SIGKILL))
    started = time.monotonic()
    try:
        trainer.fit(resume=True)
        entry["lost"] = None
    except WorkerLost as error:
        entry["lost"] = {"message": str(error), "seconds": time.monotonic() - started}
    return entry


def write_report(report, path):
    with open(path + ".tmp", "w") as stream:
        json.dump(report, stream)
    os.replace(path + ".tmp", path)


def main(report_path, mode, folder):
    index = task_index()
    report = {"index": index}
    try:
        if mode in ("reference", "job"):
            for run in RUNS:
                report[run] = train_run(run, folder, index)
        elif mode == "preempt":
            preempt(folder, index, report, report_path)
        elif mode == "restart":
            report["vae"] = train_run("vae", folder, index, resume=True)
    except Exception:  # noqa: BLE001 - reported to the test
        report["error"] = traceback.format_exc()
    write_report(report, report_path)
    sys.stdout.flush()
    os._exit(0)  # a job whose peer is gone may hang in TensorFlow's shutdown


if __name__ == "__main__":
    main(*sys.argv[1:4])
