"""The one custom training loop that every tfgen model uses.

Design, for runs that must scale and resume:

* The step is the model's own `train_step(batch, seed)`: a pure function of
  the weights, the optimizer state, the batch and a stateless seed. The loop
  derives the seed from the run's seed, the global step and the replica id.
* The order of the data and its dynamic binarization are fixed by the run's
  seed and the epoch (`ImageDataset.batches`).
* All run state (weights, optimizer slots and iteration count, epoch, step
  within the epoch, global step, the running sums of the epoch's metrics)
  lives in one `tf.train.Checkpoint`. A run killed in the middle of an epoch
  resumes from its last checkpoint, skips the batches it has already seen and
  reaches the same weights as a run that was never interrupted.
* Everything runs under a `tf.distribute` strategy (the default strategy
  when none is given): the batch is split over the replicas, each replica's
  loss is divided by their number and the optimizer sums their gradients.
* `eager=True` runs the same functions without `tf.function`, for debugging.
"""

import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen.data import BINARIZATIONS, LABEL_FORMATS, ImageDataset
from tfgen.models import MODELS, GenerativeModel
from tfgen.training.callbacks import Callback
from tfgen.training import run_dir as run_dir_lib

# The replica id is folded into the step's seed as step * _MAX_REPLICAS + id.
_MAX_REPLICAS = 1024


class Trainer:
    """Trains a tfgen model with a custom `GradientTape` loop.

    Any `tfgen.models.GenerativeModel` trains, registered or not: the
    trainer reads the model's data contract (`binarization`,
    `label_format`) from the model itself.

    Args:
        model: a `tfgen.models.GenerativeModel` (not yet trained or built).
        train_data: the training `ImageDataset`.
        run_dir: the folder for checkpoints, TensorBoard logs, plots and history.
        test_data: an optional `ImageDataset` evaluated after every epoch.
        epochs: the number of epochs to train for (in total, across resumes).
        batch_size: the global batch size (split over replicas).
        learning_rate: Adam's learning rate, when `optimizer` is not given.
        optimizer: a Keras optimizer (default Adam(`learning_rate`)).
        compile_kwargs: further arguments of the model's `compile`, e.g.
            `{"d_optimizer": keras.optimizers.Adam(2e-4, beta_1=0.5)}` for a
            GAN whose discriminator learns at another rate.
        seed: the run's seed: data order, binarization and every random draw
            of the steps derive from it.
        binarization: "dynamic", "threshold" or "none" (default: the
            model's own, `model.binarization`).
        eager: run the steps eagerly instead of under `tf.function`.
        strategy: a `tf.distribute.Strategy` (default: the current one).
        checkpoint_every_steps: also checkpoint every this many steps inside
            an epoch (checkpoints are always written at the end of an epoch).
        max_checkpoints: how many checkpoints to keep.
        steps_per_epoch: cut epochs short to this many steps (smoke runs).
        callbacks: `tfgen.training.Callback`s, e.g. `tfgen.plotting.PlotCallback`.
        run_info: extra JSON-serializable facts to record in `config.json`
            (the dataset name, the command line...).
        verbose: 0 silent, 1 progress bar and epoch summaries.
    """

    def __init__(
        self,
        model,
        train_data,
        run_dir,
        *,
        test_data=None,
        epochs=10,
        batch_size=32,
        learning_rate=1e-4,
        optimizer=None,
        compile_kwargs=None,
        seed=0,
        binarization=None,
        eager=False,
        strategy=None,
        checkpoint_every_steps=None,
        max_checkpoints=3,
        steps_per_epoch=None,
        callbacks=(),
        run_info=None,
        verbose=1,
    ):
        if not isinstance(model, GenerativeModel):
            raise TypeError(f"model must be a tfgen.models.GenerativeModel. Received: {type(model).__name__}")
        if not isinstance(train_data, ImageDataset):
            raise TypeError(f"train_data must be a tfgen.data.ImageDataset. Received: {type(train_data).__name__}")
        if test_data is not None and not isinstance(test_data, ImageDataset):
            raise TypeError(f"test_data must be a tfgen.data.ImageDataset or None. Received: {type(test_data).__name__}")
        if not run_dir:
            raise ValueError(f"run_dir must be a folder path. Received: run_dir={run_dir!r}")
        if os.path.exists(run_dir) and not os.path.isdir(run_dir):
            raise ValueError(f"run_dir {run_dir!r} exists and is not a folder.")
        self.model = model
        self.train_data = train_data
        self.test_data = test_data
        self.run_dir = run_dir
        self.epochs = _checks.positive_int("epochs", epochs)
        self.batch_size = _checks.positive_int("batch_size", batch_size)
        self.steps_per_epoch = _checks.positive_int("steps_per_epoch", steps_per_epoch, allow_none=True)
        self.checkpoint_every_steps = _checks.positive_int("checkpoint_every_steps", checkpoint_every_steps, allow_none=True)
        self.seed = _checks.integer("seed", seed)
        self.binarization = _checks.choice("binarization", binarization or model.binarization, BINARIZATIONS)
        self.label_format = _checks.choice("label_format", model.label_format, LABEL_FORMATS)
        self.eager = bool(eager)
        self.strategy = strategy or tf.distribute.get_strategy()
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be tfgen.training.Callback objects. Received: {type(callback).__name__}")
        self.run_info = dict(run_info or {})
        self.verbose = verbose
        if self.batch_size % self.strategy.num_replicas_in_sync:
            raise ValueError(
                f"batch_size={self.batch_size} must be divisible by the number of replicas "
                f"({self.strategy.num_replicas_in_sync})."
            )
        if len(train_data) < self.batch_size:
            raise ValueError(f"train_data has {len(train_data)} examples, fewer than batch_size={self.batch_size}.")
        self.history = []

        with self.strategy.scope():
            self.optimizer = optimizer or keras.optimizers.Adam(learning_rate)
            self.model.compile(optimizer=self.optimizer, **dict(compile_kwargs or {}))
            self.model.build_from_batch(self._example_batch())
        # Run state: plain variables, updated in cross-replica context.
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self._metric_sums = {
            name: tf.Variable(0.0, dtype=tf.float64, trainable=False, name=f"sum_{name}")
            for name in model.metric_names
        }
        self._metric_count = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="metric_count")
        self.checkpoint = make_checkpoint(
            self.model,
            self.optimizer,
            epoch=self.epoch,
            step_in_epoch=self.step_in_epoch,
            global_step=self.global_step,
            metric_sums=self._metric_sums,
            metric_count=self._metric_count,
        )
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, run_dir_lib.checkpoint_dir(run_dir), max_to_keep=max_checkpoints
        )
        self._train_batch = self._make_train_function()
        self._test_batch = self._make_test_function()

    # ------------------------------------------------------------------ steps

    def _example_batch(self):
        batch = next(iter(self.batches(self.train_data, epoch=0, shuffle=False)))
        return {key: value[: max(1, self.batch_size // self.strategy.num_replicas_in_sync)] for key, value in batch.items()}

    def batches(self, data, *, epoch, shuffle=True, skip_batches=0, training=True):
        """The batches this trainer feeds from `data` in `epoch`: its batch size, binarization,
        label format and seed (the run's seed for training, seed + 1 for evaluation)."""
        return data.batches(
            self.batch_size,
            epoch=epoch,
            seed=self.seed if training else self.seed + 1,
            shuffle=shuffle,
            binarization=self.binarization,
            label_format=self.label_format,
            drop_remainder=training,
            skip_batches=skip_batches,
        )

    def _make_batch_function(self, training):
        """A function (batch, seed_offset) -> ({metric: sum over the batch}, batch size).

        It runs the model's step on every replica with its own stateless seed
        and sums each metric weighted by the replica's batch size.
        """
        model = self.model
        strategy = self.strategy
        stream = self.seed if training else self.seed + 1

        def replica_step(batch, offset):
            replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int64)
            seed = tf.stack([tf.constant(stream, tf.int64), offset * _MAX_REPLICAS + replica])
            metrics = model.train_step(batch, seed) if training else model.test_step(batch, seed)
            size = tf.cast(tf.shape(batch["image"])[0], tf.float64)
            return {name: tf.cast(metrics[name], tf.float64) * size for name in model.metric_names}, size

        def batch_function(batch, offset):
            sums, size = strategy.run(replica_step, args=(batch, offset))
            reduce = lambda value: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)  # noqa: E731
            return {name: reduce(value) for name, value in sums.items()}, reduce(size)

        return batch_function

    def _make_train_function(self):
        """One training step that also advances the step counters and the epoch's metric sums."""
        batch_function = self._make_batch_function(training=True)

        def train_function(batch):
            sums, size = batch_function(batch, self.global_step.read_value())
            for name, value in sums.items():
                self._metric_sums[name].assign_add(value)
            self._metric_count.assign_add(size)
            self.global_step.assign_add(1)
            self.step_in_epoch.assign_add(1)

        return train_function if self.eager else tf.function(train_function)

    def _make_test_function(self):
        batch_function = self._make_batch_function(training=False)
        return batch_function if self.eager else tf.function(batch_function)

    def _distribute(self, dataset):
        if not tf.distribute.has_strategy() and self.strategy is tf.distribute.get_strategy():
            return dataset  # the default strategy: nothing to split
        return self.strategy.experimental_distribute_dataset(dataset)

    # ------------------------------------------------------------------- state

    def _check_run_dir(self, resume):
        """Checks `run_dir` against the request; returns the stored config.json when resuming (else None)."""
        stored = run_dir_lib.check_run_dir(self.run_dir, resume)
        if stored is None:
            return None
        # Instance names carry a per-process counter: compare everything else.
        unnamed = lambda config: {k: v for k, v in config.items() if k != "name"}  # noqa: E731
        stored_config = stored["model_config"]
        name = model_name(self.model)
        if stored["model"] == name:
            try:  # a run saved before an option was added stored no value for it: its default applies
                stored_config = _json_config(type(self.model).from_config(stored_config))
            except (TypeError, ValueError):
                pass
        if stored["model"] != name or unnamed(stored_config) != unnamed(_json_config(self.model)):
            raise run_dir_lib.RunDirectoryError(
                f"Cannot resume {self.run_dir!r}: it holds a {stored['model']!r} model with configuration "
                f"{stored['model_config']}, not {name!r} with {_json_config(self.model)}."
            )
        return stored

    def _restore(self):
        path = run_dir_lib.latest_checkpoint(self.run_dir)
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except Exception as error:  # noqa: BLE001 - a corrupt file fails in many ways
            raise run_dir_lib.RunDirectoryError(
                f"Cannot restore the checkpoint {path!r}: it is corrupt or belongs to another model ({error})."
            ) from error
        history_path = os.path.join(self.run_dir, run_dir_lib.HISTORY_FILE)
        history = run_dir_lib.read_json(history_path) if os.path.isfile(history_path) else []
        # The history may be one epoch ahead of a checkpoint (a crash between the two writes).
        self.history = [entry for entry in history if entry["epoch"] <= int(self.epoch.numpy())]

    def _write_config(self):
        config = {
            "model": model_name(self.model),
            "keras_class": keras.saving.get_registered_name(type(self.model)),
            "model_config": _json_config(self.model),
            "training": {
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "seed": self.seed,
                "binarization": self.binarization,
                "optimizer": keras.optimizers.serialize(self.optimizer),
                **({"discriminator_optimizer": keras.optimizers.serialize(self.model.d_optimizer)}
                   if getattr(self.model, "d_optimizer", None) is not None else {}),
                "eager": self.eager,
                "replicas": self.strategy.num_replicas_in_sync,
            },
            "dataset": self.train_data.name,
            "command": run_dir_lib.command_line(),
            **self.run_info,
        }
        run_dir_lib.write_json_atomic(os.path.join(self.run_dir, run_dir_lib.CONFIG_FILE), _jsonable(config))

    def _record_resume(self, config):
        """A resumed run's config.json keeps its first command and gains this one, with the new epoch target."""
        path = os.path.join(self.run_dir, run_dir_lib.CONFIG_FILE)
        config.setdefault("training", {})["epochs"] = self.epochs
        config["resume_commands"] = [*config.get("resume_commands", []), run_dir_lib.command_line()]
        run_dir_lib.write_json_atomic(path, _jsonable(config))

    def _reset_metrics(self):
        for variable in self._metric_sums.values():
            variable.assign(0.0)
        self._metric_count.assign(0.0)

    def _metric_averages(self):
        count = max(float(self._metric_count.numpy()), 1.0)
        return {name: float(variable.numpy()) / count for name, variable in self._metric_sums.items()}

    # -------------------------------------------------------------- the loop

    def evaluate(self, data=None):
        """Metrics averaged over `data` (default: the test set), with fixed seeds."""
        data = data or self.test_data
        sums = {name: 0.0 for name in self.model.metric_names}
        count = 0.0
        for index, batch in enumerate(self._distribute(self.batches(data, epoch=0, shuffle=False, training=False))):
            batch_sums, size = self._test_batch(batch, tf.constant(index, tf.int64))
            for name, value in batch_sums.items():
                sums[name] += float(value)
            count += float(size)
        return {name: value / max(count, 1.0) for name, value in sums.items()}

    def fit(self, resume=False, max_steps=None):
        """Trains until `epochs`; returns the per-epoch history (a list of dicts).

        Args:
            resume: continue the run in `run_dir` from its latest checkpoint.
            max_steps: stop (after checkpointing) once this many steps have
                run in this call; for smoke runs and interruption tests.
        """
        max_steps = _checks.positive_int("max_steps", max_steps, allow_none=True)
        stored = self._check_run_dir(resume)
        if resume:
            self._restore()
            self._record_resume(stored)
        else:
            os.makedirs(self.run_dir, exist_ok=True)
            self._write_config()
        writer = tf.summary.create_file_writer(os.path.join(self.run_dir, "tensorboard"))
        steps_this_call = 0
        full_steps = self.train_data.num_batches(self.batch_size, drop_remainder=True)
        steps_per_epoch = min(full_steps, self.steps_per_epoch or full_steps)
        names = list(self.model.metric_names)

        while int(self.epoch.numpy()) < self.epochs:
            epoch = int(self.epoch.numpy())
            start_step = int(self.step_in_epoch.numpy())
            if start_step == 0:
                self._reset_metrics()
            for callback in self.callbacks:
                callback.on_epoch_begin(self, epoch + 1, start_step=start_step)
            progress = keras.utils.Progbar(steps_per_epoch, stateful_metrics=names, verbose=self.verbose)
            if self.verbose:
                print(f"Epoch {epoch + 1}/{self.epochs}" + (f" (resuming at step {start_step})" if start_step else ""))
            dataset = self.batches(self.train_data, epoch=epoch, skip_batches=start_step).take(steps_per_epoch - start_step)
            update_every = max(1, steps_per_epoch // 50)
            step, global_step = start_step, int(self.global_step.numpy())
            started = time.perf_counter()
            for batch in self._distribute(dataset):
                self._train_batch(batch)
                steps_this_call += 1
                step += 1
                global_step += 1
                if self.verbose and (step % update_every == 0 or step == steps_per_epoch):
                    progress.update(step, values=list(self._metric_averages().items()))
                if self.checkpoint_every_steps and global_step % self.checkpoint_every_steps == 0:
                    self.manager.save(checkpoint_number=self.global_step)
                if max_steps is not None and steps_this_call >= max_steps and step < steps_per_epoch:
                    self.manager.save(checkpoint_number=self.global_step)
                    return self.history
            elapsed = time.perf_counter() - started
            logs = self._end_epoch(epoch, steps_per_epoch - start_step, elapsed, writer)
            written = dict(logs)
            for callback in self.callbacks:
                callback.on_epoch_end(self, epoch + 1, logs)
            if logs != written:  # callbacks logged more (e.g. sample scores): keep it in history.json too
                run_dir_lib.write_json_atomic(os.path.join(self.run_dir, run_dir_lib.HISTORY_FILE), self.history)
            if max_steps is not None and steps_this_call >= max_steps:
                return self.history
        for callback in self.callbacks:
            callback.on_train_end(self, self.history[-1] if self.history else {})
        return self.history

    def _end_epoch(self, epoch, steps, elapsed, writer):
        train_metrics = self._metric_averages()
        bad = {name: value for name, value in train_metrics.items() if not np.isfinite(value)}
        if bad:
            raise FloatingPointError(
                f"Training diverged in epoch {epoch + 1}: non-finite train metrics {bad}. No checkpoint was "
                f"written for this epoch; the last good one in {run_dir_lib.checkpoint_dir(self.run_dir)!r} is kept. "
                f"Check the data for NaNs or lower the learning rate."
            )
        logs = {"epoch": epoch + 1, "seconds": elapsed, "images_per_second": steps * self.batch_size / max(elapsed, 1e-9)}
        logs.update({f"train/{name}": value for name, value in train_metrics.items()})
        if self.test_data is not None:
            logs.update({f"test/{name}": value for name, value in self.evaluate().items()})
        with writer.as_default(step=epoch + 1):
            for key, value in logs.items():
                if "/" in key:
                    tf.summary.scalar(key, value)
            tf.summary.scalar("time/images_per_second", logs["images_per_second"])
        writer.flush()
        self.history.append(logs)
        self.epoch.assign_add(1)
        self.step_in_epoch.assign(0)
        self._reset_metrics()
        run_dir_lib.write_json_atomic(os.path.join(self.run_dir, run_dir_lib.HISTORY_FILE), self.history)
        self.manager.save(checkpoint_number=self.global_step)
        if self.verbose:
            print(" - ".join(f"{key}: {value:.4g}" for key, value in logs.items() if key != "epoch"))
        return logs


def make_checkpoint(model, optimizer=None, **extra):
    """A `tf.train.Checkpoint` of `model` (and `optimizer`), its random-stream states included.

    Keras 3's `SeedGenerator` states are variables of the model but are not
    reached by TensorFlow's object tracking, so they are added explicitly:
    a restored model then continues the same random streams.
    """
    # Keyed by position: the generators' own names carry a per-process counter.
    states = [variable for variable in model.variables if variable.path.endswith("seed_generator_state")]
    seed_states = {f"state_{index}": variable for index, variable in enumerate(states)}
    objects = {"model": model, "seed_states": seed_states, **extra}
    if optimizer is not None:
        objects["optimizer"] = optimizer
    return tf.train.Checkpoint(**objects)


def _jsonable(value):
    """`value` with NumPy scalars and tuples turned into plain JSON types."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _json_config(model):
    return _jsonable(model.get_config())


def model_name(model):
    """The name a run directory records for `model`: its registered name, else its Keras registered name."""
    return getattr(model, "registered_name", None) or keras.saving.get_registered_name(type(model))


def model_class(config):
    """The model class of a run's `config.json`: by registered name, else through Keras' registry.

    Raises:
        RunDirectoryError: when neither knows the class (e.g. a custom model
            whose module was not imported).
    """
    name = config.get("model")
    if name in MODELS:
        return MODELS[name]
    cls = keras.saving.get_registered_object(config.get("keras_class") or name)
    if cls is None:
        raise run_dir_lib.RunDirectoryError(
            f"The run's model {name!r} is neither a registered tfgen model ({sorted(MODELS)}) nor a Keras-registered "
            f"class; import the module that defines it first."
        )
    return cls


def restore_model(run_dir):
    """Rebuilds the model of a run directory and loads its latest weights.

    Returns:
        (model, config): the restored model and the run's `config.json`.

    Raises:
        tfgen.training.RunDirectoryError: when `run_dir` is not a run
            directory, has no checkpoint, or its checkpoint cannot be read.
    """
    config = run_dir_lib.load_run_config(run_dir, require_checkpoint=True)
    model = model_class(config).from_config(config["model_config"])
    model.build_from_batch(model.zeros_batch())
    path = run_dir_lib.latest_checkpoint(run_dir)
    try:
        make_checkpoint(model).restore(path).expect_partial().assert_existing_objects_matched()
    except Exception as error:  # noqa: BLE001 - a corrupt file fails in many ways
        raise run_dir_lib.RunDirectoryError(f"Cannot restore the checkpoint {path!r}: {error}") from error
    return model, config
