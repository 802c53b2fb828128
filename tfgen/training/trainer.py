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
* `eager=True` runs the same functions without `tf.function`, for debugging;
  `jit=True` compiles each replica's step with XLA (`jit_compile=True`).
* `precision="mixed_bfloat16"` or `"mixed_float16"` trains in mixed
  precision (`tfgen.training.precision`: the layers' policy, the float32
  outputs, the loss-scale optimizers of float16).
* Under a multi-worker strategy (`tfgen.training.distribute`) each worker
  builds only its part of every global batch, the chief alone writes the
  run folder (the others write their checkpoints to a temporary folder and
  delete them), every worker resumes from the chief's checkpoints, a stop
  signal on any worker stops them all at the same step (an all-reduced vote
  every step), and a lost worker stops the others with `WorkerLost`.

And for runs that must survive every fault:

* a step whose loss or gradient is not finite changes nothing (the model's
  `train_step` skips that update, `GenerativeModel.apply_gradients_if_finite`)
  and is counted (`train/skipped_updates`); `max_nonfinite_steps` such steps
  in a row stop the run with `TrainingDiverged`, naming the step and the metric;
* no checkpoint with a non-finite variable is written, so the last finite one
  is never rotated out;
* one writer per run folder (`tfgen.locks.FolderLock`);
* `fit(resume=True)` refuses a changed recipe (seed, batch size, optimizer,
  binarization, dataset, model options) unless `allow_changes=True`, which
  records the changes in `config.json`; `resume_from="ckpt-N"` goes back to
  an older checkpoint, and a damaged one is named with the newest intact one;
* SIGINT and SIGTERM checkpoint at the next step boundary and raise
  `TrainingInterrupted`, which says how to resume;
* the weights' initialisation follows the run's seed (`tfgen.random.seed_initializers`).
"""

import os
import re
import shutil
import signal
import tempfile
import threading
import time

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.data import BINARIZATIONS, LABEL_FORMATS, ImageDataset
from tfgen.models import MODELS, GenerativeModel
from tfgen.training.callbacks import Callback
from tfgen.locks import FolderLock
from tfgen.training import precision as precision_lib
from tfgen.training import distribute as distribute_lib
from tfgen.training import run_dir as run_dir_lib

# The replica id is folded into the step's seed as step * _MAX_REPLICAS + id.
_MAX_REPLICAS = 1024
#: Keys of config.json's "training" that a resume may change without being a change of recipe.
_FREE_TRAINING_KEYS = ("epochs", "eager", "replicas", "workers", "jit")


class TrainingDiverged(FloatingPointError):
    """Training stopped: too many steps in a row had a non-finite loss or gradient, or the weights became non-finite."""


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped training at a step boundary, after a checkpoint.

    Attributes:
        signal_number: the signal received.
        checkpoint: the checkpoint written (or None when the weights were not finite).
    """

    def __init__(self, message, signal_number, checkpoint):
        super().__init__(message)
        self.signal_number = signal_number
        self.checkpoint = checkpoint


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
        learning_rate: Adam's learning rate, when `optimizer` is not given
            (a positive finite number).
        optimizer: a Keras optimizer (default Adam(`learning_rate`)).
        compile_kwargs: further arguments of the model's `compile`, e.g.
            `{"d_optimizer": keras.optimizers.Adam(2e-4, beta_1=0.5)}` for a
            GAN whose discriminator learns at another rate.
        seed: the run's seed: the initial weights (of a model not yet
            built: every unseeded initializer is re-seeded from it), the data
            order, the binarization and every random draw of the steps derive
            from it. An int64 (below 2**63 - 1).
        binarization: "dynamic", "threshold" or "none" (default: the
            model's own, `model.binarization`).
        eager: run the steps eagerly instead of under `tf.function`.
        precision: "float32" (default), "mixed_bfloat16" or "mixed_float16"
            (`tfgen.training.precision`): the layers compute in 16 bits, the
            variables and the losses stay float32; float16 also wraps each
            optimizer in a `keras.optimizers.LossScaleOptimizer`. A resume
            may change it only with `allow_changes`, and never to or from
            "mixed_float16" (its checkpoints hold the loss scale).
        jit: compile each replica's training step with XLA
            (`tf.function(jit_compile=True)`); a step XLA cannot compile
            raises a ValueError that says so. Not with `eager`.
        strategy: a `tf.distribute.Strategy`, or its name ("default",
            "mirrored", "multiworker": `tfgen.training.distribute.make_strategy`;
            a multi-worker strategy must be made at the program's start);
            default: the current one.
        checkpoint_every_steps: also checkpoint every this many steps inside
            an epoch (checkpoints are always written at the end of an epoch).
        max_checkpoints: how many checkpoints to keep, plus the one before
            them (the newest is only known good once a finite step follows
            it). Only finite ones are written.
        max_nonfinite_steps: stop the run after this many steps in a row whose
            loss or gradient was not finite (their updates are skipped).
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
        precision="float32",
        jit=False,
        strategy=None,
        checkpoint_every_steps=None,
        max_checkpoints=3,
        max_nonfinite_steps=3,
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
        run_dir_lib.check_run_dir_paths(run_dir)
        self.model = model
        self.train_data = train_data
        self.test_data = test_data
        self.run_dir = run_dir
        self.epochs = _checks.positive_int("epochs", epochs)
        self.batch_size = _checks.positive_int("batch_size", batch_size)
        self.steps_per_epoch = _checks.positive_int("steps_per_epoch", steps_per_epoch, allow_none=True)
        self.checkpoint_every_steps = _checks.positive_int("checkpoint_every_steps", checkpoint_every_steps, allow_none=True)
        self.seed = _checks.run_seed("seed", seed)
        self.max_checkpoints = _checks.positive_int("max_checkpoints", max_checkpoints)
        self.max_nonfinite_steps = _checks.positive_int("max_nonfinite_steps", max_nonfinite_steps)
        if optimizer is None:
            learning_rate = _checks.positive_number("learning_rate", learning_rate)
        self.binarization = _checks.choice("binarization", binarization or model.binarization, BINARIZATIONS)
        self.label_format = _checks.choice("label_format", model.label_format, LABEL_FORMATS)
        self.eager = bool(eager)
        self.precision = precision_lib.check_precision(precision)
        self.jit = _checks.boolean("jit", jit)
        if self.jit and self.eager:
            raise ValueError("jit=True compiles the steps with XLA and eager=True runs them without tf.function: "
                             "choose one. Received: eager=True, jit=True")
        self.strategy = distribute_lib.make_strategy(strategy)
        #: The processes of the job, and whether this one writes the run folder (multi-worker: the chief only).
        self.workers = distribute_lib.worker_count(self.strategy)
        self.chief = distribute_lib.is_chief(self.strategy)
        if self.jit:
            _check_jit_strategy(self.strategy)
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

        if not model.built:
            # Keras draws an unseeded initializer's seed from Python's global stream when the layer is made;
            # re-seeding them from the run's seed makes the initial weights a function of the seed alone.
            tfgen_random.seed_initializers(model, self.seed)
        with self.strategy.scope():
            wrap = lambda value: precision_lib.wrap_optimizer(value, self.precision)  # noqa: E731
            self.optimizer = wrap(optimizer or keras.optimizers.Adam(learning_rate))
            compile_kwargs = {key: wrap(value) if isinstance(value, keras.optimizers.Optimizer) else value
                              for key, value in dict(compile_kwargs or {}).items()}
            precision_lib.apply_policy(self.model, self.precision)
            self.model.compile(optimizer=self.optimizer, **compile_kwargs)
            self.model.build_from_batch(self._example_batch())
            precision_lib.apply_policy(self.model, self.precision)  # the layers made while building
        # Run state: plain variables, updated in cross-replica context.
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.step_in_epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="step_in_epoch")
        self.global_step = tf.Variable(0, dtype=tf.int64, trainable=False, name="global_step")
        self._metric_sums = {
            name: tf.Variable(0.0, dtype=tf.float64, trainable=False, name=f"sum_{name}")
            for name in model.metric_names
        }
        self._metric_count = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="metric_count")
        # Not checkpointed (older checkpoints have no such values): the epoch's skipped updates and the
        # steps in a row with non-finite values.
        self._skipped_updates = tf.Variable(0.0, dtype=tf.float64, trainable=False, name="skipped_updates")
        self._nonfinite_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="nonfinite_steps")
        self._stop_signal = None
        # Several workers: this worker's stop request (its signal's number) and, after each step, the sum of
        # every replica's request, so that all stop at the same step.
        self._stop_request = tf.Variable(0, dtype=tf.int64, trainable=False, name="stop_request")
        self._stop_votes = tf.Variable(0, dtype=tf.int64, trainable=False, name="stop_votes")
        self._worker_checkpoints = None  # a worker other than the chief: its temporary checkpoint folder
        self._steps_done = 0  # the last step that ran in this process (for messages)
        self.checkpoint = make_checkpoint(
            self.model,
            self.optimizer,
            epoch=self.epoch,
            step_in_epoch=self.step_in_epoch,
            global_step=self.global_step,
            metric_sums=self._metric_sums,
            metric_count=self._metric_count,
        )
        self.manager = None  # made by `fit`, once the run folder is locked and its checkpoints checked
        self._train_batch = self._make_train_function()
        self._test_batch = self._make_test_function()

    # ------------------------------------------------------------------ steps

    def _example_batch(self):
        batch = next(iter(self.batches(self.train_data, epoch=0, shuffle=False)))
        return {key: value[: max(1, self.batch_size // self.strategy.num_replicas_in_sync)] for key, value in batch.items()}

    def batches(self, data, *, epoch, shuffle=True, skip_batches=0, training=True, shard=None):
        """The batches this trainer feeds from `data` in `epoch`: its batch size, binarization,
        label format and seed (the run's seed for training, seed + 1 for evaluation); `shard`:
        only that part of each (`ImageDataset.batches`)."""
        return data.batches(
            self.batch_size,
            epoch=epoch,
            seed=self.seed if training else self.seed + 1,
            shuffle=shuffle,
            binarization=self.binarization,
            label_format=self.label_format,
            drop_remainder=training,
            skip_batches=skip_batches,
            shard=shard,
        )

    def _make_batch_function(self, training):
        """A function (batch, seed_offset) -> ({metric: sum over the batch}, batch size, skipped updates).

        It runs the model's step on every replica with its own stateless seed
        and sums each metric weighted by the replica's batch size. The
        skipped updates (non-finite loss or gradient) are decided for all
        replicas at once, so every replica reports the same count.
        """
        model = self.model
        strategy = self.strategy
        stream = self.seed if training else self.seed + 1

        def replica_step(batch, offset):
            replica = tf.cast(tf.distribute.get_replica_context().replica_id_in_sync_group, tf.int64)
            seed = tf.stack([tf.constant(stream, tf.int64), offset * _MAX_REPLICAS + replica])
            metrics = model.train_step(batch, seed) if training else model.test_step(batch, seed)
            size = tf.cast(tf.shape(batch["image"])[0], tf.float64)
            skipped = tf.cast(metrics.get("skipped_updates", 0.0), tf.float64)
            # multiply_no_nan: a replica with no example (the end of a test set) adds 0, not 0 * NaN.
            return ({name: tf.math.multiply_no_nan(tf.cast(metrics[name], tf.float64), size)
                     for name in model.metric_names}, size, skipped)

        if training and self.jit:
            # Each replica's step is one XLA computation; strategy.run and the cross-replica sums around it are not
            # (a function that calls strategy.run cannot be compiled under MirroredStrategy). Given a jit-compiled
            # tf.function, MirroredStrategy on GPUs runs it per replica without merge_call (`_check_jit_strategy`).
            replica_step = tf.function(replica_step, jit_compile=True, autograph=False)

        def batch_function(batch, offset):
            sums, size, skipped = strategy.run(replica_step, args=(batch, offset))
            reduce = lambda value: strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)  # noqa: E731
            skipped = strategy.reduce(tf.distribute.ReduceOp.MEAN, skipped, axis=None)
            return {name: reduce(value) for name, value in sums.items()}, reduce(size), skipped

        return batch_function

    def _make_train_function(self):
        """One training step that also advances the step counters and the epoch's metric sums."""
        batch_function = self._make_batch_function(training=True)

        def train_function(batch):
            sums, size, skipped = batch_function(batch, self.global_step.read_value())
            # A step with a skipped update or a non-finite metric is left out of the epoch's averages.
            finite = tf.logical_and(tf.equal(skipped, 0.0),
                                    tf.reduce_all([tf.math.is_finite(value) for value in sums.values()]))
            for name, value in sums.items():
                self._metric_sums[name].assign_add(tf.where(finite, value, tf.zeros_like(value)))
            self._metric_count.assign_add(tf.where(finite, size, tf.zeros_like(size)))
            self._skipped_updates.assign_add(skipped)
            self._nonfinite_steps.assign(tf.where(finite, tf.constant(0, tf.int64), self._nonfinite_steps + 1))
            self.global_step.assign_add(1)
            self.step_in_epoch.assign_add(1)
            if self.workers > 1:  # any worker's stop request, known to all after the same step
                requests = self.strategy.run(lambda: tf.identity(self._stop_request))
                self._stop_votes.assign(self.strategy.reduce(tf.distribute.ReduceOp.SUM, requests, axis=None))
            return sums, size

        if self.eager:
            return train_function
        # No AutoGraph: the steps have no Python control flow on tensors (a model that needs some writes
        # tf.cond / tf.while_loop, as its serving signatures must: export.py traces them without it too), and
        # converting every function they call costs 1-3 s of CPU per model and process, the same graph made.
        compiled = tf.function(train_function, autograph=False)
        if not self.jit:
            return compiled

        def xla_train_function(batch):
            try:
                return compiled(batch)
            except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError, tf.errors.InternalError) as error:
                if not _is_xla_error(error):
                    raise
                raise ValueError(
                    f"jit=True (--jit): XLA cannot compile the training step of {type(self.model).__name__}: "
                    f"{_xla_problem(error)}. Train without --jit (jit=False)."
                ) from error

        return xla_train_function

    def _make_test_function(self):
        batch_function = self._make_batch_function(training=False)

        def test_function(batch, offset):
            sums, size, _ = batch_function(batch, offset)
            return sums, size

        return test_function if self.eager else tf.function(test_function, autograph=False)

    def _distribute(self, dataset):
        if not tf.distribute.has_strategy() and self.strategy is tf.distribute.get_strategy():
            return dataset  # the default strategy: nothing to split
        return self.strategy.experimental_distribute_dataset(dataset)

    def _distributed_batches(self, data, *, take=None, **options):
        """`batches(data, **options)` (their first `take`) as the replicas get them.

        Under a multi-worker strategy each worker builds only its replicas'
        shards of every global batch (`distribute.distribute_batches`);
        otherwise the global batches are split by `_distribute`.
        """
        def make(shard=None):
            dataset = self.batches(data, shard=shard, **options)
            return dataset if take is None else dataset.take(take)

        if distribute_lib.is_multi_worker(self.strategy):
            return distribute_lib.distribute_batches(self.strategy, make)
        return self._distribute(make())

    # ------------------------------------------------------------------- state

    def _check_run_dir(self, resume):
        """Checks `run_dir` against the request; returns the stored config.json when resuming (else None).

        The model must be the run's (its class, and its options unless they
        are among the recipe changes `_recipe_changes` lists).
        """
        stored = run_dir_lib.check_run_dir(self.run_dir, resume)
        if stored is None:
            return None
        name = model_name(self.model)
        if stored["model"] != name:
            raise run_dir_lib.RunDirectoryError(
                f"Cannot resume {self.run_dir!r}: it holds a {stored['model']!r} model with configuration "
                f"{stored['model_config']}, not {name!r} with {_json_config(self.model)}."
            )
        trained = stored.get("training", {}).get("precision", precision_lib.DEFAULT)
        if precision_lib.loss_scaled(trained) != precision_lib.loss_scaled(self.precision):
            raise run_dir_lib.RunDirectoryError(
                f"Cannot resume {self.run_dir!r} with precision={self.precision!r}: it was trained with "
                f"precision={trained!r}, and the loss scaling of mixed_float16 changes the optimizers in its "
                f"checkpoints (even with --allow-changes). Resume with --precision {trained} (precision={trained!r})."
            )
        return stored

    def _stored_model_config(self, stored):
        """The run's model configuration with the defaults of options added since it was written."""
        stored_config = stored["model_config"]
        try:  # a run saved before an option was added stored no value for it: its default applies
            stored_config = _json_config(type(self.model).from_config(stored_config))
        except (TypeError, ValueError):
            pass
        return stored_config

    def _config(self):
        """This trainer's `config.json`: the model, the training recipe, the dataset and the command."""
        return _jsonable({
            "model": model_name(self.model),
            "keras_class": keras.saving.get_registered_name(type(self.model)),
            "model_config": _json_config(self.model),
            "training": {
                "epochs": self.epochs,
                "batch_size": self.batch_size,
                "seed": self.seed,
                "binarization": self.binarization,
                # The optimizers' own settings: a LossScaleOptimizer (mixed float16) is recorded as "precision".
                "optimizer": keras.optimizers.serialize(precision_lib.inner_optimizer(self.optimizer)),
                **({"discriminator_optimizer": keras.optimizers.serialize(
                    precision_lib.inner_optimizer(self.model.d_optimizer))}
                   if getattr(self.model, "d_optimizer", None) is not None else {}),
                "eager": self.eager,
                "precision": self.precision,
                "jit": self.jit,
                "replicas": self.strategy.num_replicas_in_sync,
                "workers": self.workers,
            },
            "dataset": self.train_data.name,
            "data": data_facts(self.train_data),
            "command": run_dir_lib.command_line(),
            **self.run_info,
        })

    def _recipe_changes(self, stored):
        """{what: (stored value, requested value)} for every part of the recipe a resume would change.

        Compared: the model's options, the seed, batch size, binarization,
        the precision, both optimizers' settings (learning rate, beta_1,
        ...), the dataset and the run facts the caller recorded
        (`run_info`). Only keys both sides have are compared, so runs written
        by older versions resume (a run without "precision" trained in float32).
        """
        current = self._config()
        changes = {}

        def compare(prefix, old, new, ignore=()):
            for key in sorted(set(old) & set(new)):
                if key not in ignore and old[key] != new[key]:
                    changes[f"{prefix}{key}"] = (old[key], new[key])

        unnamed = ("name",)  # instance names carry a per-process counter
        compare("model.", self._stored_model_config(stored), current["model_config"], ignore=unnamed)
        old_training = {"precision": precision_lib.DEFAULT, **stored.get("training", {})}
        new_training = current["training"]
        compare("", old_training, new_training, ignore=(*_FREE_TRAINING_KEYS, "optimizer", "discriminator_optimizer"))
        for key in ("optimizer", "discriminator_optimizer"):
            old, new = old_training.get(key), new_training.get(key)
            if isinstance(old, dict) and isinstance(new, dict):
                compare(f"{key}.", old.get("config", {}), new.get("config", {}), ignore=unnamed)
                if old.get("class_name") != new.get("class_name"):
                    changes[key] = (old.get("class_name"), new.get("class_name"))
        compare("", {k: v for k, v in stored.items() if k in ("dataset", *self.run_info)},
                {k: v for k, v in current.items() if k in ("dataset", *self.run_info)})
        return changes

    def _resume_config(self, stored, changes):
        """The resumed run's config.json: its first command kept, this one added; accepted changes recorded."""
        config = self._config()
        config = {**stored, **config, "command": stored.get("command", config["command"])}
        config["resume_commands"] = [*stored.get("resume_commands", []), run_dir_lib.command_line()]
        if changes:
            config["changes"] = [*stored.get("changes", []), {
                "global_step": int(self.global_step.numpy()),
                "epoch": int(self.epoch.numpy()),
                "command": run_dir_lib.command_line(),
                "changed": {key: {"from": old, "to": new} for key, (old, new) in changes.items()},
            }]
        return config

    def _restore(self, resume_from=None):
        """Restores the run's latest checkpoint (or `resume_from`), after checking it is whole and finite;
        returns its path (every worker of a job reads the chief's)."""
        if self.chief:
            run_dir_lib.rebuild_checkpoint_index(self.run_dir)
        latest = run_dir_lib.latest_checkpoint(self.run_dir)
        path = latest if resume_from is None else run_dir_lib.find_checkpoint(self.run_dir, resume_from)
        problem = run_dir_lib.checkpoint_problem(path)
        if problem is not None:
            raise run_dir_lib.RunDirectoryError(
                f"Cannot resume from the checkpoint {path!r}: {problem}. " + _older_checkpoint_hint(self.run_dir, path)
            )
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except Exception as error:  # noqa: BLE001 - a corrupt file fails in many ways
            raise run_dir_lib.RunDirectoryError(
                f"Cannot restore the checkpoint {path!r}: it is corrupt or belongs to another model "
                f"({str(error).splitlines()[0]}). " + _older_checkpoint_hint(self.run_dir, path)
            ) from error
        history_path = os.path.join(self.run_dir, run_dir_lib.HISTORY_FILE)
        history = run_dir_lib.read_json(history_path) if os.path.isfile(history_path) else []
        # The history may be ahead of the checkpoint (a crash between the two writes, or an older checkpoint).
        self.history = [entry for entry in history if entry["epoch"] <= int(self.epoch.numpy())]
        return path

    def _set_aside_newer_checkpoints(self, path):
        """After resuming from an older checkpoint, moves the newer ones to `checkpoints/superseded-<step>/`.

        Nothing is deleted; the state file then lists the checkpoints up to
        `path`, so the new ones are numbered and rotated as usual.
        """
        number = run_dir_lib.checkpoint_number(path)
        prefixes = run_dir_lib.checkpoint_prefixes(self.run_dir)
        newer = [prefix for step, prefix in prefixes.items() if step > number]
        if newer:
            folder = _move_checkpoints(self.run_dir, newer, f"superseded-{number}")
            if self.verbose:
                print(f"Resuming from {os.path.basename(path)}: the newer checkpoints "
                      f"{[os.path.basename(p) for p in newer]} were moved to {folder!r}.")
        run_dir_lib.write_checkpoint_index(self.run_dir, [p for step, p in prefixes.items() if step <= number])

    def _restore_learning_rates(self, values):
        """Sets the optimizers' learning rates back to `values` after a restore (the checkpoint holds the old ones)."""
        for optimizer, value in zip(self._optimizers(), values):
            if isinstance(value, float):
                optimizer.learning_rate = value

    def _optimizers(self):
        d_optimizer = getattr(self.model, "d_optimizer", None)
        return [self.optimizer] + ([d_optimizer] if d_optimizer is not None else [])

    def _reset_metrics(self):
        for variable in self._metric_sums.values():
            variable.assign(0.0)
        self._metric_count.assign(0.0)
        self._skipped_updates.assign(0.0)

    def _metric_averages(self):
        count = max(float(self._metric_count.numpy()), 1.0)
        return {name: float(variable.numpy()) / count for name, variable in self._metric_sums.items()}

    def _nonfinite_variable(self):
        """The path of a model or optimizer variable holding a non-finite value, or None."""
        return nonfinite_variable(
            list(self.model.variables) + [v for optimizer in self._optimizers() for v in optimizer.variables]
        )

    def _in_nonfinite_streak(self):
        return bool(int(self._nonfinite_steps.numpy()))

    def _check_finite_variables(self):
        """Raises `TrainingDiverged` when a model or optimizer variable is not finite (nothing is written)."""
        bad = self._nonfinite_variable()
        if bad is not None:
            raise TrainingDiverged(
                f"Training stopped at step {int(self.global_step.numpy())}: the variable {bad!r} is no longer "
                f"finite, so no checkpoint was written. {self._last_checkpoint_text()} Lower the learning rate."
            )

    def _save(self, checked=False):
        """Writes a checkpoint of the run's state; returns its path.

        Not while the last step was non-finite (its weights are those that
        gave non-finite values: None is returned), never when a variable is
        not finite (`TrainingDiverged`; `checked`: the caller just checked).
        """
        if self._in_nonfinite_streak():
            return None
        if not checked:
            self._check_finite_variables()
        path = self.manager.save(checkpoint_number=self.global_step)
        if not self.chief:
            # Every worker saves (TensorFlow's collectives may run in a save); only the chief's is kept.
            shutil.rmtree(self._worker_checkpoints, ignore_errors=True)
            path = os.path.join(run_dir_lib.checkpoint_dir(self.run_dir), os.path.basename(path))
        return path

    def _last_checkpoint_text(self):
        latest = run_dir_lib.latest_checkpoint(self.run_dir)
        return (f"The last checkpoint, {latest!r}, holds finite weights; resume from it with a lower learning "
                f"rate (--resume --allow-changes)." if latest else "No checkpoint of this run was written before.")

    # -------------------------------------------------------------- the loop

    def evaluate(self, data=None):
        """Metrics averaged over `data` (default: the test set), with fixed seeds."""
        data = data or self.test_data
        sums = {name: 0.0 for name in self.model.metric_names}
        count = 0.0
        for index, batch in enumerate(self._distributed_batches(data, epoch=0, shuffle=False, training=False)):
            batch_sums, size = self._test_batch(batch, tf.constant(index, tf.int64))
            for name, value in batch_sums.items():
                sums[name] += float(value)
            count += float(size)
        return {name: value / max(count, 1.0) for name, value in sums.items()}

    def fit(self, resume=False, max_steps=None, resume_from=None, allow_changes=False):
        """Trains until `epochs`; returns the per-epoch history (a list of dicts).

        The run folder is locked for the whole call: a second writer gets
        `tfgen.locks.FolderLockedError` and changes nothing.

        Args:
            resume: continue the run in `run_dir` from its latest checkpoint.
            max_steps: stop (after checkpointing) once this many steps have
                run in this call; for smoke runs and interruption tests.
            resume_from: resume from this older checkpoint ("ckpt-N" or N)
                instead of the latest; the newer ones are moved to
                `checkpoints/superseded-N/`. Implies `resume`.
            allow_changes: let a resume change the recipe (seed, batch size,
                learning rates, binarization, dataset, model options);
                `config.json` records what changed and from which step.
                Without it such a resume raises `RunDirectoryError` listing
                the differences.

        Raises:
            TrainingDiverged: `max_nonfinite_steps` steps in a row had a
                non-finite loss or gradient, or a variable became non-finite.
            TrainingInterrupted: SIGINT or SIGTERM (a checkpoint was written).
        """
        max_steps = _checks.positive_int("max_steps", max_steps, allow_none=True)
        resume = bool(resume) or resume_from is not None
        allow_changes = _checks.boolean("allow_changes", allow_changes)
        created = not os.path.exists(self.run_dir)
        # Only the chief of a multi-worker job writes (and locks) the run folder.
        lock = FolderLock(self.run_dir, "run folder") if self.chief else None
        wrote = False
        try:
            try:
                stored, changes, path = self._start_run(resume, resume_from, allow_changes, lock)
                problem = None
            except Exception as error:  # noqa: BLE001 - raised below, once every worker has voted
                problem = error
            # Every worker checks the request before anything is written; one refusal stops them all.
            if not distribute_lib.agree(self.strategy, problem is None):
                if problem is not None:
                    raise problem
                raise run_dir_lib.RunDirectoryError(
                    f"Another worker of the job refused to train in {self.run_dir!r} (its message says why); "
                    f"nothing was changed.")
            if self.chief:
                if resume_from is not None:
                    self._set_aside_newer_checkpoints(path)
                config = _jsonable(self._resume_config(stored, changes)) if resume else self._config()
                run_dir_lib.write_json_atomic(os.path.join(self.run_dir, run_dir_lib.CONFIG_FILE), config)
            wrote = True
            # One more than asked: the newest checkpoint is only known to be good once a finite step has
            # followed it, and a run that diverges right after it must still have the one before.
            if self.chief:
                self.manager = tf.train.CheckpointManager(
                    self.checkpoint, run_dir_lib.checkpoint_dir(self.run_dir), max_to_keep=self.max_checkpoints + 1
                )
            else:  # TensorFlow's way: the other workers save too, to a temporary folder deleted after each save
                self._worker_checkpoints = tempfile.mkdtemp(prefix="tfgen-worker-checkpoints-")
                self.manager = tf.train.CheckpointManager(self.checkpoint, self._worker_checkpoints, max_to_keep=1)
            with _StopSignals(self):
                try:
                    return self._loop(max_steps)
                except distribute_lib.COLLECTIVE_ERRORS as error:
                    if self.workers <= 1:
                        raise
                    raise distribute_lib.WorkerLost(
                        f"A worker of the job stopped or cannot be reached ({type(error).__name__}: "
                        f"{_collective_problem(error.message)}); training stopped after step {self._steps_done}. "
                        f"Restart every worker with --resume (fit(resume=True)): they continue from the chief's last "
                        f"checkpoint, {run_dir_lib.latest_checkpoint(self.run_dir)!r}."
                    ) from error
        finally:
            if lock is not None and lock.held:
                lock.release()
            if created and not wrote and self.chief:  # a refused new run leaves nothing behind
                _remove_if_only_lock(self.run_dir)
            if self._worker_checkpoints is not None:
                shutil.rmtree(self._worker_checkpoints, ignore_errors=True)
                self._worker_checkpoints = None

    def _start_run(self, resume, resume_from, allow_changes, lock):
        """Checks the request against the run folder, locks it (`lock`: the chief's) and restores the run
        when resuming; returns (stored config.json, recipe changes, the checkpoint restored), nothing written."""
        run_dir_lib.check_run_dir(self.run_dir, resume)  # a refused request creates no folder and no lock
        if lock is not None:
            lock.acquire()
        stored = self._check_run_dir(resume)
        if not resume:
            return stored, {}, None
        changes = self._recipe_changes(stored)
        if changes and not allow_changes:
            listed = "; ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in changes.items())
            raise run_dir_lib.RunDirectoryError(
                f"Cannot resume {self.run_dir!r} with another recipe ({listed}). Resume with the run's "
                f"settings, or allow the changes explicitly (--allow-changes, fit(allow_changes=True)); "
                f"nothing was changed."
            )
        learning_rates = [precision_lib.inner_optimizer(optimizer).get_config().get("learning_rate")
                          for optimizer in self._optimizers()]
        path = self._restore(resume_from)
        self._restore_learning_rates(learning_rates)
        return stored, changes, path

    def _callbacks(self):
        """The callbacks this worker runs: all of them on the chief (or a single process), on the other
        workers of a job only those that keep the workers in step (`Callback.all_workers`)."""
        return [callback for callback in self.callbacks if self.chief or getattr(callback, "all_workers", False)]

    def _loop(self, max_steps):
        writer = (tf.summary.create_file_writer(os.path.join(self.run_dir, "tensorboard")) if self.chief
                  else tf.summary.create_noop_writer())
        callbacks = self._callbacks()
        self._steps_done = int(self.global_step.numpy())
        steps_this_call = 0
        full_steps = self.train_data.num_batches(self.batch_size, drop_remainder=True)
        steps_per_epoch = min(full_steps, self.steps_per_epoch or full_steps)
        names = list(self.model.metric_names)
        self._nonfinite_steps.assign(0)

        while int(self.epoch.numpy()) < self.epochs:
            epoch = int(self.epoch.numpy())
            start_step = int(self.step_in_epoch.numpy())
            if start_step == 0:
                self._reset_metrics()
            for callback in callbacks:
                callback.on_epoch_begin(self, epoch + 1, start_step=start_step)
            progress = keras.utils.Progbar(steps_per_epoch, stateful_metrics=names, verbose=self.verbose)
            if self.verbose:
                print(f"Epoch {epoch + 1}/{self.epochs}" + (f" (resuming at step {start_step})" if start_step else ""))
            dataset = self._distributed_batches(self.train_data, epoch=epoch, skip_batches=start_step,
                                                take=steps_per_epoch - start_step)
            update_every = max(1, steps_per_epoch // 50)
            step, global_step = start_step, int(self.global_step.numpy())
            started = time.perf_counter()
            for batch in dataset:
                if self.workers > 1:
                    self._stop_request.assign(0 if self._stop_signal is None else int(self._stop_signal))
                sums, size = self._train_batch(batch)
                steps_this_call += 1
                step += 1
                global_step += 1
                self._steps_done = global_step
                nonfinite = int(self._nonfinite_steps.numpy())
                if nonfinite:
                    self._report_nonfinite(sums, size, nonfinite, global_step, epoch, step, steps_per_epoch)
                if self.verbose and (step % update_every == 0 or step == steps_per_epoch):
                    progress.update(step, values=list(self._metric_averages().items()))
                # Several workers stop on the vote of the step, which every worker knows (a signal that came
                # during the step is voted on at the next one).
                if (self._stop_signal is not None if self.workers <= 1 else int(self._stop_votes.numpy()) > 0):
                    self._stop_for_signal(epoch, step, steps_per_epoch)
                if self.checkpoint_every_steps and global_step % self.checkpoint_every_steps == 0:
                    self._save()
                if max_steps is not None and steps_this_call >= max_steps and step < steps_per_epoch:
                    self._save()
                    return self.history
            elapsed = time.perf_counter() - started
            logs = self._end_epoch(epoch, steps_per_epoch - start_step, elapsed, writer)
            written = dict(logs)
            for callback in callbacks:
                callback.on_epoch_end(self, epoch + 1, logs)
            if logs != written and self.chief:  # callbacks logged more (e.g. sample scores): keep it in history.json too
                run_dir_lib.write_json_atomic(os.path.join(self.run_dir, run_dir_lib.HISTORY_FILE), self.history)
            if max_steps is not None and steps_this_call >= max_steps:
                return self.history
        for callback in callbacks:
            callback.on_train_end(self, self.history[-1] if self.history else {})
        return self.history

    def _report_nonfinite(self, sums, size, nonfinite, global_step, epoch, step, steps_per_epoch):
        """Warns of a step whose update was skipped; raises `TrainingDiverged` after `max_nonfinite_steps` in a row."""
        count = max(float(size), 1.0)
        values = {name: float(value) / count for name, value in sums.items()}
        bad = {name: value for name, value in values.items() if not np.isfinite(value)}
        what = (", ".join(f"{name}={value}" for name, value in bad.items()) if bad
                else "a non-finite gradient of a finite loss")
        where = f"step {global_step} (epoch {epoch + 1}, step {step} of {steps_per_epoch})"
        if nonfinite >= self.max_nonfinite_steps:
            set_aside = self._set_aside_diverged(global_step - nonfinite) if self.chief else ""
            raise TrainingDiverged(
                f"Training stopped at {where}: {nonfinite} steps in a row had non-finite values (last: {what}); "
                f"their updates were skipped. {set_aside}{self._last_checkpoint_text()} Or check the data for NaNs."
            )
        if self.verbose:
            print(f"\nWarning: {where}: {what}; the update was skipped ({nonfinite} in a row, the run stops at "
                  f"{self.max_nonfinite_steps}).")

    def _set_aside_diverged(self, last_update):
        """Moves the checkpoints holding the weights that just diverged (saved at or after step `last_update`,
        the last applied update) to `checkpoints/diverged-<step>/`; returns what it did, for the message."""
        prefixes = run_dir_lib.checkpoint_prefixes(self.run_dir)
        suspect = {step: prefix for step, prefix in prefixes.items() if step >= last_update}
        if not suspect:
            return ""
        folder = _move_checkpoints(self.run_dir, list(suspect.values()), f"diverged-{min(suspect)}")
        kept = [prefix for step, prefix in prefixes.items() if step not in suspect]
        if kept:
            run_dir_lib.write_checkpoint_index(self.run_dir, kept)
        else:
            os.remove(os.path.join(run_dir_lib.checkpoint_dir(self.run_dir), "checkpoint"))
        names = [os.path.basename(prefix) for prefix in suspect.values()]
        return f"The checkpoint {names} holds the weights that gave them: it was moved to {folder!r}. "

    def _stop_for_signal(self, epoch, step, steps_per_epoch):
        # A worker of a job stopped by another's signal reports SIGTERM (the job is being stopped).
        number = self._stop_signal if self._stop_signal is not None else int(signal.SIGTERM)
        name = signal.Signals(number).name + ("" if self._stop_signal is not None else " (by another worker of the job)")
        path = self._save()
        command = run_dir_lib.command_line()
        if "--resume" not in command.split():
            command += " --resume"
        raise TrainingInterrupted(
            f"{name} received: training stopped at step {int(self.global_step.numpy())} (epoch {epoch + 1}, step "
            f"{step} of {steps_per_epoch}); "
            + (f"the checkpoint {path!r} was written. " if path else
               f"no checkpoint was written (the last step was not finite); the latest is "
               f"{run_dir_lib.latest_checkpoint(self.run_dir)!r}. ")
            + f"Resume with: {command} (Python: Trainer(...).fit(resume=True)).",
            number,
            path,
        )

    def _end_epoch(self, epoch, steps, elapsed, writer):
        train_metrics = self._metric_averages()
        bad = {name: value for name, value in train_metrics.items() if not np.isfinite(value)}
        if bad:
            raise TrainingDiverged(
                f"Training diverged in epoch {epoch + 1}: non-finite train metrics {bad}. No checkpoint was "
                f"written for this epoch. {self._last_checkpoint_text()}"
            )
        logs = {"epoch": epoch + 1, "seconds": elapsed, "images_per_second": steps * self.batch_size / max(elapsed, 1e-9)}
        logs.update({f"train/{name}": value for name, value in train_metrics.items()})
        logs["train/skipped_updates"] = float(self._skipped_updates.numpy())
        if self.test_data is not None:
            logs.update({f"test/{name}": value for name, value in self.evaluate().items()})
        with writer.as_default(step=epoch + 1):
            for key, value in logs.items():
                if "/" in key:
                    tf.summary.scalar(key, value)
            tf.summary.scalar("time/images_per_second", logs["images_per_second"])
        writer.flush()
        streak = self._in_nonfinite_streak()
        if not streak:
            self._check_finite_variables()  # before anything of this epoch is written
        self.history.append(logs)
        self.epoch.assign_add(1)
        self.step_in_epoch.assign(0)
        self._reset_metrics()
        if self.chief:
            run_dir_lib.write_json_atomic(os.path.join(self.run_dir, run_dir_lib.HISTORY_FILE), self.history)
        if not streak:
            self._save(checked=True)
        if self.verbose:
            print(" - ".join(f"{key}: {value:.4g}" for key, value in logs.items() if key != "epoch"))
        return logs


class _StopSignals:
    """While training: SIGINT and SIGTERM ask the trainer to checkpoint and stop at the next step boundary.

    A second signal stops at once (KeyboardInterrupt). Only the main thread
    can own signal handlers; elsewhere this does nothing.
    """

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))

    def __init__(self, trainer):
        self.trainer = trainer
        self.previous = {}

    def _handle(self, number, frame):
        if self.trainer._stop_signal is not None:
            raise KeyboardInterrupt
        self.trainer._stop_signal = number

    def __enter__(self):
        self.trainer._stop_signal = None
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self.previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info):
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        self.previous = {}
        self.trainer._stop_signal = None


def _check_jit_strategy(strategy):
    """Raises a ValueError when `strategy` cannot run an XLA-compiled replica step.

    TensorFlow compiles a step that `strategy.run` gives to several
    replicas only when every replica is a GPU (then no replica needs
    `merge_call`, which cannot sit inside a compiled function); the default
    strategy (one device, any kind) always can.
    """
    if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
        return
    devices = list(getattr(strategy.extended, "worker_devices", ()))
    other = [device for device in devices if tf.DeviceSpec.from_string(device).device_type != "GPU"]
    if other:
        raise ValueError(
            f"jit=True (--jit) under {type(strategy).__name__} needs every replica on a GPU (TensorFlow compiles a "
            f"replica's step with XLA only then); this strategy has {other}. Train without --jit, or with the "
            f"default strategy. Received: jit=True"
        )


def _is_xla_error(error):
    """True when a TensorFlow error says XLA could not compile a function (e.g. an op without an XLA kernel)."""
    message = str(getattr(error, "message", error))
    return any(words in message for words in ("XLA", "unsupported operations", "must be a compile-time constant"))


def _xla_problem(error):
    """What XLA could not compile, in a few words, from a TensorFlow error's message."""
    message = str(getattr(error, "message", error))
    missing = sorted(set(re.findall(r"No registered '(\w+)' OpKernel for (\w+) devices", message)))
    if missing:
        return "; ".join(f"the op {op} has no XLA kernel on {device}" for op, device in missing)
    return (_telling_line(message, ("XLA", "compile")) or type(error).__name__).rstrip(".")


def _collective_problem(message):
    """The line of a failed collective's error message that says what happened."""
    return _telling_line(message, ("unhealthy", "aborted", "Deadline", "timed out", "heartbeat"))


def _telling_line(message, words):
    """The first line of a TensorFlow error `message` with one of `words` (its first line is often just "Graph
    execution error:"), else its first non-empty line, else ""."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return next((line for line in lines if any(word in line for word in words)), lines[0] if lines else "")


def _older_checkpoint_hint(run_dir, path):
    """Where to go back to when the checkpoint `path` is damaged."""
    try:
        below = run_dir_lib.checkpoint_number(path)
    except run_dir_lib.RunDirectoryError:
        below = None
    good = run_dir_lib.newest_intact_checkpoint(run_dir, below=below)
    if good is None:
        return "No older intact checkpoint is left in the run."
    name = os.path.basename(good)
    return f"The newest intact older checkpoint is {good!r}: resume from it with --resume-from {name} (resume_from={name!r})."


def _move_checkpoints(run_dir, prefixes, name):
    """Moves the files of the checkpoints `prefixes` into `checkpoints/<name>/` (nothing is deleted); returns it."""
    folder = os.path.join(run_dir_lib.checkpoint_dir(run_dir), name)
    os.makedirs(folder, exist_ok=True)
    for prefix in prefixes:
        base, source = os.path.basename(prefix), os.path.dirname(prefix)
        for entry in os.listdir(source):
            if entry == base + ".index" or entry.startswith(base + ".data-"):
                os.replace(os.path.join(source, entry), os.path.join(folder, entry))
    return folder


def _remove_if_only_lock(folder):
    """Removes `folder` when it holds nothing but its lock file (a new run refused before writing anything)."""
    from tfgen.locks import LOCK_FILE

    try:
        if set(os.listdir(folder)) <= {LOCK_FILE}:
            for entry in os.listdir(folder):
                os.remove(os.path.join(folder, entry))
            os.rmdir(folder)
    except OSError:
        pass


def nonfinite_variable(variables):
    """The path (or name) of the first float variable holding a NaN or an infinity, or None."""
    for variable in variables:
        if tf.as_dtype(variable.dtype).is_floating and not bool(tf.reduce_all(tf.math.is_finite(variable))):
            return getattr(variable, "path", None) or variable.name
    return None


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


def image_facts(source):
    """{"image_shape": [h, w, c], "num_classes": n} of a dataset or a model, those it has, as JSON values:
    what a run's `config.json` ("data") and an export's manifest record of the images."""
    facts = {}
    image_shape = getattr(source, "image_shape", None)
    if image_shape is not None:
        facts["image_shape"] = [int(size) for size in image_shape]
    num_classes = getattr(source, "num_classes", None)
    if num_classes is not None:
        facts["num_classes"] = int(num_classes)
    return facts


def data_facts(dataset):
    """What a run records of its training data: its name, image shape, number of classes and class names.

    `config.json` keeps them so that exports (their manifest) and figures
    can name the classes and know the images without the data.
    """
    facts = {"name": getattr(dataset, "name", None), **image_facts(dataset)}
    class_names = getattr(dataset, "class_names", None)
    if class_names is not None:
        facts["class_names"] = [str(name) for name in class_names]
    return facts


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
            directory, has no checkpoint, or its latest checkpoint cannot be
            read or holds non-finite values (the message names the newest
            intact older one).
    """
    config = run_dir_lib.load_run_config(run_dir, require_checkpoint=True)
    path = run_dir_lib.latest_checkpoint(run_dir)
    problem = run_dir_lib.checkpoint_problem(path)
    if problem is not None:
        raise run_dir_lib.RunDirectoryError(
            f"Cannot use the checkpoint {path!r}: {problem}. " + _older_checkpoint_hint(run_dir, path)
        )
    model = model_class(config).from_config(config["model_config"])
    model.build_from_batch(model.zeros_batch())
    try:
        make_checkpoint(model).restore(path).expect_partial().assert_existing_objects_matched()
    except Exception as error:  # noqa: BLE001 - a corrupt file fails in many ways
        raise run_dir_lib.RunDirectoryError(f"Cannot restore the checkpoint {path!r}: {error}") from error
    return model, config
