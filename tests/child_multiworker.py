"""Child process of tests/test_multiworker.py: one worker of a two-worker job, or the single-process reference.

Usage: child_multiworker.py REPORT MODE FOLDER

* MODE "reference": one process, MirroredStrategy on two logical CPUs (the
  replica ids and so the step seeds of a two-worker job), trains `RUNS`;
* MODE "job": a worker of the job in TF_CONFIG: trains `RUNS`, then the
  VAE once more in FOLDER/preempt-vae, where worker 1 sends itself SIGTERM
  (every worker must stop at the same step, after one checkpoint) and then,
  resumed in the same process, SIGKILLs itself (the chief must stop with
  WorkerLost);
* MODE "restart": that job restarted with resume, to the end.

Every run trains a tiny model of tests/conftest.py on the same synthetic
data in FOLDER/<mode>-<run>/ and saves the final values of its variables to
FOLDER/<mode>-<replica>-<run>.npz; the report (JSON) says what each worker saw.
"""

import time

STARTED = time.time()

import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

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
from tfgen.data import ClassSetDataset  # noqa: E402
from tfgen.training import Trainer, TrainingInterrupted, restore_model  # noqa: E402
from tfgen.training.distribute import WorkerLost  # noqa: E402

#: {run: (model, Trainer options)}: 32 examples in global batches of 8, 2 epochs = 8 steps. The unsupervised
#: VHE re-clusters its codes before epoch 2 (on the chief, in a job). "runs_vae" is assembled by
#: tfgen.runs.train (the paper's VAE, its figures drawn by the chief), not by `make_trainer`. A GAN (two
#: optimizers, the discriminator's steps) trained here too until the suite had to fit its time again (~15 s of
#: CPU in the three processes): every model's replicas, a GAN's skipped step on every replica included, are
#: test_distribute.py's (MirroredStrategy), whose all-reduce is the workers' in one process.
RUNS = {
    "vae": ("vae", {"checkpoint_every_steps": 2}),
    "vhe_unsupervised": ("vhe_unsupervised", {}),
    "runs_vae": ("vae", {}),
}
EXAMPLES = 32


def task_index():
    if MODE == "reference":
        return 0
    return json.loads(os.environ["TF_CONFIG"])["task"]["index"]


def make_trainer(run, folder):
    import keras

    name, options = RUNS[run]
    keras.utils.set_random_seed(0)  # the seed generators' states (the weights follow the run's seed)
    data = synthetic_dataset(EXAMPLES)
    with STRATEGY.scope():
        if name == "vhe_unsupervised":  # as tfgen.runs assembles it
            model = create_model(name, num_examples=EXAMPLES)
            # The chief clusters before every epoch (the model's hook); every worker's sets read the result.
            data = ClassSetDataset(data.images, data.labels, data.num_classes, set_size=model.set_size,
                                   set_labels=model.pseudo_labels.numpy)
        else:
            model = create_model(name)
    return Trainer(model, data, folder, epochs=2, batch_size=8, learning_rate=1e-3, strategy=STRATEGY, verbose=0,
                   **options)


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
    run_dir = os.path.join(folder, f"{MODE if MODE != 'restart' else 'preempt'}-{run}")
    started = time.time(), time.process_time()
    if run == "runs_vae":
        from tfgen import runs

        trainer = runs.train("vae", out=run_dir, dataset=(synthetic_dataset(EXAMPLES), synthetic_dataset(16)),
                             epochs=1, batch_size=8, plot_every=1, strategy=STRATEGY, verbose=0, latent_dim=2)
    else:
        trainer = make_trainer(run, run_dir)
        trainer.fit(resume=resume)
    entry = {"steps": int(trainer.global_step.numpy()), "chief": trainer.chief, "workers": trainer.workers,
             "seconds": time.time() - started[0], "cpu": time.process_time() - started[1]}
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
    write_report(report, report_path)  # worker 1 dies below
    # A restarted worker builds its trainer afresh (the interrupted one still carries its step-3 signal hook).
    trainer = make_trainer("vae", os.path.join(folder, "preempt-vae"))
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
    report = {"index": index, "started": {"cpu": time.process_time(), "wall": time.time() - STARTED}}
    try:
        if mode in ("reference", "job"):
            for run in RUNS:
                try:
                    report[run] = train_run(run, folder, index)
                except Exception:  # noqa: BLE001 - reported against the run
                    report[run] = {"error": traceback.format_exc()}
                    raise
        if mode == "job":
            preempt(folder, index, report, report_path)
        elif mode == "restart":
            report["vae"] = train_run("vae", folder, index, resume=True)
    except Exception:  # noqa: BLE001 - reported to the test
        report["error"] = traceback.format_exc()
    report["ended"] = {"cpu": time.process_time(), "wall": time.time() - STARTED}
    write_report(report, report_path)
    sys.stdout.flush()
    os._exit(0)  # a job whose peer is gone may hang in TensorFlow's shutdown


if __name__ == "__main__":
    main(*sys.argv[1:4])
