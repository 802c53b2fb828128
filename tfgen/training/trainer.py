"""The one custom training loop that every tfgen model uses.

* The step is the model's own `train_step(batch, seed)`: a pure function of
  the weights, the optimizer state, the batch and a stateless seed that the
  loop derives from the run's seed, the global step and the replica id. The
  data's order and dynamic binarization are fixed by the seed and the epoch
  (`ImageDataset.batches`), and the weights' initialisation by the seed
  (`tfgen.random.seed_initializers`).
* All run state (weights, optimizer slots, epoch, step within the epoch,
  global step, the running sums of the epoch's metrics, the model's own
  state such as the unsupervised VHE's clusters) lives in one checkpoint
  (`tfgen.training.checkpoints`): a run killed mid-epoch resumes, skips the
  batches it has seen and reaches the weights of an uninterrupted run.
  Before every epoch the model's hook runs (`GenerativeModel.begin_epoch`).
* Everything runs under a `tf.distribute` strategy: the batch is split over
  the replicas (in a multi-worker job each worker builds only its part and
  the chief alone writes the run folder, `tfgen.training.distribute`).
  `eager=True` runs without `tf.function`; `jit=True` compiles each
  replica's step with XLA (`tfgen.training.jit`); `precision` trains in
  mixed precision (`tfgen.training.precision`).

And for runs that must survive every fault: a step whose loss or gradient
is not finite changes nothing and is counted (`train/skipped_updates`), and
`max_nonfinite_steps` of them in a row stop the run with `TrainingDiverged`;
no checkpoint with a non-finite variable is written; one writer per run
folder (`tfgen.locks.FolderLock`); a resume refuses a changed recipe unless
`allow_changes=True`, which `config.json` records (`tfgen.training.facts`);
SIGINT and SIGTERM checkpoint at the next step boundary and raise
`TrainingInterrupted` (`tfgen.training.signals`); a lost worker stops the
others with `WorkerLost`.
"""

import dataclasses
import os
import time

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.config import TrainingOptions
from tfgen.data import BINARIZATIONS, LABEL_FORMATS, ImageDataset
from tfgen.models import GenerativeModel
from tfgen.training.callbacks import Callback, tensorboard_dir, write_scalars
from tfgen.locks import FolderLock
from tfgen.training import facts
from tfgen.training import precision as precision_lib
from tfgen.training import distribute as distribute_lib
from tfgen.training import jit as jit_lib
from tfgen.training import run_dir as run_dir_lib
from tfgen.training.checkpoints import RunCheckpoints, make_checkpoint, nonfinite_variable
from tfgen.training import signals
from tfgen.training.signals import StopSignals, TrainingInterrupted  # noqa: F401 - raised by `fit`

# Names that lived in this module before the checkpoints and the run facts got their own: still importable
# from here (their homes: tfgen.training.checkpoints and tfgen.training.facts).
from tfgen.training.checkpoints import model_class, restore_model  # noqa: F401, E402
from tfgen.training.facts import data_facts, image_facts, model_name  # noqa: F401, E402

# The replica id is folded into the step's seed as step * _MAX_REPLICAS + id.
_MAX_REPLICAS = 1024


def _first(*values):
    """The first value that is not None (None when all are)."""
    return next((value for value in values if value is not None), None)


class TrainingDiverged(FloatingPointError):
    """Training stopped: too many steps in a row had a non-finite loss or gradient, or the weights became non-finite."""


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
        options: the run's `tfgen.config.TrainingOptions` (a `RunConfig` is
            one); or give its fields as keyword arguments instead (`epochs`,
            `batch_size`, `learning_rate`, `beta_1`, `seed`, `binarization`,
            `eager`, `precision`, `jit`, `strategy`, `checkpoint_every_steps`,
            `max_checkpoints`, `max_nonfinite_steps`, `steps_per_epoch`,
            `force`, `verbose`; see `TrainingOptions`), each checked there.
            A new run's `run_dir` must be missing, empty or hold only what
            tfgen writes there; `force=True` trains beside other files. In short:
            the seed fixes the initial weights of a model not yet built
            (every unseeded initializer is re-seeded from it), the data order,
            the binarization and every random draw of the steps; the
            binarization defaults to the model's own (`model.binarization`);
            `precision` "mixed_float16" also wraps each optimizer in a
            `keras.optimizers.LossScaleOptimizer`, and a resume may change the
            precision only with `allow_changes`, never to or from
            "mixed_float16"; `jit` compiles each replica's step with XLA (a
            step XLA cannot compile raises a ValueError that says so); a
            multi-worker `strategy` must be made at the program's start;
            `max_checkpoints` keeps one more than asked (the newest is only
            known good once a finite step follows it).
        optimizer: a Keras optimizer (default: Adam(`learning_rate`,
            `beta_1`)).
        compile_kwargs: further arguments of the model's `compile`, e.g.
            `{"d_optimizer": keras.optimizers.Adam(2e-4, beta_1=0.5)}` for a
            GAN whose discriminator learns at another rate (default for a
            GAN: Adam(`discriminator_learning_rate`, `discriminator_beta_1`),
            each G's when not given).
        callbacks: a list of `tfgen.training.Callback`s (None: none), e.g. `tfgen.plotting.PlotCallback`.
        run_info: extra JSON-serializable facts to record in `config.json`
            (the dataset name, the command line...).
        **option_values: the fields of `options`, when it is not given.
    """

    def __init__(
        self,
        model,
        train_data,
        run_dir,
        *,
        test_data=None,
        options=None,
        optimizer=None,
        compile_kwargs=None,
        callbacks=(),
        run_info=None,
        **option_values,
    ):
        if options is None:
            known = [field.name for field in dataclasses.fields(TrainingOptions)]
            unknown = sorted(set(option_values) - set(known))
            if unknown:
                raise TypeError(f"Trainer takes no option {unknown[0]!r}.{_checks.did_you_mean(unknown[0], known)} "
                                f"Its options: {known}")
            options = TrainingOptions(**option_values)
        elif not isinstance(options, TrainingOptions):
            raise TypeError(f"options must be a tfgen.config.TrainingOptions. Received: {type(options).__name__}")
        elif option_values:
            raise TypeError(f"Pass the options as options= or as keyword arguments, not both. Received: options and "
                            f"{sorted(option_values)}")
        if not isinstance(model, GenerativeModel):
            raise TypeError(f"model must be a tfgen.models.GenerativeModel. Received: {type(model).__name__}")
        if not isinstance(train_data, ImageDataset):
            raise TypeError(f"train_data must be a tfgen.data.ImageDataset. Received: {type(train_data).__name__}")
        if test_data is not None and not isinstance(test_data, ImageDataset):
            raise TypeError(f"test_data must be a tfgen.data.ImageDataset or None. Received: {type(test_data).__name__}")
        if isinstance(run_dir, os.PathLike):
            run_dir = os.fspath(run_dir)
        if not isinstance(run_dir, str) or not run_dir:
            raise ValueError(f"run_dir must be a folder path. Received: run_dir={run_dir!r}")
        if optimizer is not None and not isinstance(optimizer, keras.optimizers.Optimizer):
            raise TypeError(f"optimizer must be a keras.optimizers.Optimizer or None. Received: "
                            f"{type(optimizer).__name__}")
        for argument, value in (("compile_kwargs", compile_kwargs), ("run_info", run_info)):
            if value is not None and not isinstance(value, dict):
                raise TypeError(f"{argument} must be a dict or None. Received: {type(value).__name__}")
        if callbacks is None:
            callbacks = ()
        elif not isinstance(callbacks, (list, tuple)):
            raise TypeError(f"callbacks must be a list of tfgen.training.Callback objects. Received: "
                            f"{type(callbacks).__name__}")
        run_dir_lib.check_run_dir_paths(run_dir)
        self.model = model
        self.train_data = train_data
        self.test_data = test_data
        self.run_dir = run_dir
        self.options = options
        self.epochs = options.epochs
        self.batch_size = options.batch_size
        self.steps_per_epoch = options.steps_per_epoch
        self.checkpoint_every_steps = options.checkpoint_every_steps
        self.seed = options.seed
        self.max_checkpoints = options.max_checkpoints
        self.max_nonfinite_steps = options.max_nonfinite_steps
        self.min_applied_updates = options.min_applied_updates
        self.binarization = _checks.choice("binarization", options.binarization or model.binarization, BINARIZATIONS)
        self.label_format = _checks.choice("label_format", model.label_format, LABEL_FORMATS)
        self.eager = options.eager
        self.precision = options.precision
        self.jit = options.jit
        self.strategy = distribute_lib.make_strategy(options.strategy)
        #: The processes of the job, and whether this one writes the run folder (multi-worker: the chief only).
        self.workers = distribute_lib.worker_count(self.strategy)
        self.chief = distribute_lib.is_chief(self.strategy)
        if self.jit:
            jit_lib.check_strategy(self.strategy)
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks must be tfgen.training.Callback objects. Received: {type(callback).__name__}")
        self.run_info = dict(run_info or {})
        self.verbose = options.verbose
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
            compile_kwargs = dict(compile_kwargs or {})
            if "d_optimizer" in model.optimizer_names and "d_optimizer" not in compile_kwargs and optimizer is None:
                compile_kwargs["d_optimizer"] = keras.optimizers.Adam(
                    _first(options.discriminator_learning_rate, options.learning_rate),
                    beta_1=_first(options.discriminator_beta_1, options.beta_1))
            self.optimizer = precision_lib.compile_model(
                self.model, optimizer or keras.optimizers.Adam(options.learning_rate, beta_1=options.beta_1),
                compile_kwargs, self.precision, self._example_batch)
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
        self._signals = StopSignals(self.strategy)  # SIGINT and SIGTERM: a stop at the next step boundary
        self._steps_done = 0  # the last step that ran in this process (for messages)
        self.checkpoint = make_checkpoint(self.model, self.optimizer, epoch=self.epoch, step_in_epoch=self.step_in_epoch,
                                          global_step=self.global_step, metric_sums=self._metric_sums,
                                          metric_count=self._metric_count)
        # Writes, restores and sets aside the run's checkpoints (opened by `fit`, once the run
        # folder is locked and its checkpoints checked).
        self._checkpoints = RunCheckpoints(self.checkpoint, run_dir, chief=self.chief,
                                           max_checkpoints=self.max_checkpoints, verbose=self.verbose)
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
            # tf.function, MirroredStrategy on GPUs runs it per replica without merge_call (`jit.check_strategy`).
            replica_step = tf.function(replica_step, jit_compile=True, autograph=self.model.autograph)

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
            self._signals.vote()
            return sums, size

        if self.eager:
            return train_function
        # AutoGraph only for a model that declares it needs it (`GenerativeModel.autograph`): converting every
        # function the steps call costs 1-3 s of CPU per model and process, for the same graph.
        compiled = tf.function(train_function, autograph=self.model.autograph)
        return jit_lib.explain_errors(compiled, self.model) if self.jit else compiled

    def _make_test_function(self):
        batch_function = self._make_batch_function(training=False)

        def test_function(batch, offset):
            sums, size, _ = batch_function(batch, offset)
            return sums, size

        return test_function if self.eager else tf.function(test_function, autograph=self.model.autograph)

    def _distribute(self, dataset):
        return distribute_lib.split_batches(self.strategy, dataset)

    def _distributed_batches(self, data, *, take=None, **options):
        """`batches(data, **options)` (their first `take`) as the replicas get them (`distribute.replica_batches`)."""
        def make(shard=None):
            dataset = self.batches(data, shard=shard, **options)
            return dataset if take is None else dataset.take(take)

        return distribute_lib.replica_batches(self.strategy, make)

    # ------------------------------------------------------------------- state

    def _config(self):
        """This trainer's `config.json`: the model, the training recipe, the dataset and the command (`facts`)."""
        return facts.run_config(self.model, self.train_data, facts.training_facts(self), self.run_info)

    def _optimizers(self):
        """The model's optimizers, in `model.optimizer_names`' order (the first is `self.optimizer`)."""
        return [self.optimizer] + [getattr(self.model, name) for name in self.model.optimizer_names[1:]]

    def _reset_metrics(self):
        for variable in self._metric_sums.values():
            variable.assign(0.0)
        self._metric_count.assign(0.0)
        self._skipped_updates.assign(0.0)

    def _metric_averages(self):
        count = max(float(self._metric_count.numpy()), 1.0)
        return {name: float(variable.numpy()) / count for name, variable in self._metric_sums.items()}

    def _in_nonfinite_streak(self):
        return bool(int(self._nonfinite_steps.numpy()))

    def _check_finite_variables(self):
        """Raises `TrainingDiverged` when a model or optimizer variable is not finite (nothing is written)."""
        bad = nonfinite_variable([*self.model.variables, *(v for optimizer in self._optimizers() for v in optimizer.variables)])
        if bad is not None:
            raise TrainingDiverged(
                f"Training stopped at step {int(self.global_step.numpy())}: the variable {bad!r} is no longer "
                f"finite, so no checkpoint was written. {self._checkpoints.last_checkpoint_text()} Lower the learning rate."
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
        return self._checkpoints.save(self.global_step)

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
            resume: continue the run in `run_dir` from its latest checkpoint
                (a run stopped before its first checkpoint starts again from
                step 0).
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
        resume = _checks.boolean("resume", resume) or resume_from is not None
        if resume_from is not None and (isinstance(resume_from, (bool, np.bool_))
                                        or not isinstance(resume_from, (str, int, np.integer))):
            raise ValueError(f"resume_from must be a checkpoint's name ('ckpt-N') or its step N. "
                             f"Received: resume_from={resume_from!r}")
        allow_changes = _checks.boolean("allow_changes", allow_changes)
        created = not os.path.exists(self.run_dir)
        # Only the chief of a multi-worker job writes (and locks) the run folder.
        lock = FolderLock(self.run_dir, "run folder") if self.chief else None
        wrote = False
        try:
            try:
                run_dir_lib.check_own_folder(self.run_dir, resume, self.options.force)  # a new run's folder is its own
                stored, changes, path = self._start_run(resume, resume_from, allow_changes, lock)
                problem = None
            except Exception as error:  # noqa: BLE001 - raised below, once every worker has voted
                problem = error
            # Every worker checks the request before anything is written; one refusal stops them all.
            distribute_lib.raise_refusal(self.strategy, problem, run_dir_lib.RunDirectoryError(
                f"Another worker of the job refused to train in {self.run_dir!r} (its message says why); "
                f"nothing was changed."))
            if self.chief:
                if path is not None and resume_from is not None:
                    self._checkpoints.set_aside_newer(path)
                config = (facts.resume_config(stored, self._config(), changes, global_step=self.global_step.numpy(),
                                              epoch=self.epoch.numpy()) if stored is not None else self._config())
                run_dir_lib.write_json_atomic(os.path.join(self.run_dir, run_dir_lib.CONFIG_FILE), config)
            wrote = True
            self._checkpoints.open()
            with self._signals:
                try:
                    return self._loop(max_steps)
                except distribute_lib.COLLECTIVE_ERRORS as error:
                    if self.workers <= 1:
                        raise
                    raise distribute_lib.worker_lost(error, self._steps_done, self._checkpoints.latest()) from error
        finally:
            if lock is not None and lock.held:
                lock.release()
            if created and not wrote and self.chief:  # a refused new run leaves nothing behind
                run_dir_lib.remove_if_only_lock(self.run_dir)

    def _start_run(self, resume, resume_from, allow_changes, lock):
        """Checks the request against the run folder, locks it (`lock`: the chief's) and restores the run
        when resuming; returns (stored config.json, recipe changes, the checkpoint restored), nothing written."""
        run_dir_lib.check_run_dir(self.run_dir, resume)  # a refused request creates no folder and no lock
        if lock is not None:
            lock.acquire()
        stored = run_dir_lib.check_run_dir(self.run_dir, resume)  # again, now that no other writer can change it
        if resume and stored is None:  # the run stopped before its first checkpoint: it starts again
            if resume_from is not None:
                run_dir_lib.find_checkpoint(self.run_dir, resume_from)  # raises: it has none
            if self.verbose:
                print(f"{self.run_dir!r} has no checkpoint yet (its run stopped before the first): training starts "
                      f"again from step 0.")
        if not resume or stored is None:
            return stored, {}, None
        changes = facts.check_resume(stored, self._config(), self.model, precision=self.precision, run_dir=self.run_dir,
                                     run_info_keys=tuple(self.run_info), allow_changes=allow_changes)
        path = self._checkpoints.restore(resume_from, optimizers=self._optimizers())
        # The history may be ahead of the checkpoint (a crash between the two writes, or an older checkpoint).
        self.history = run_dir_lib.read_history(self.run_dir, last_epoch=int(self.epoch.numpy()))
        return stored, changes, path

    def _loop(self, max_steps):
        writer = (tf.summary.create_file_writer(tensorboard_dir(self.run_dir)) if self.chief
                  else tf.summary.create_noop_writer())
        # On the other workers of a job only the callbacks that keep the workers in step (`Callback.all_workers`).
        callbacks = [callback for callback in self.callbacks if self.chief or getattr(callback, "all_workers", False)]
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
            self._begin_epoch(epoch)  # before the epoch's batches are built: they may read the model's state
            for callback in callbacks:
                callback.on_epoch_begin(self, epoch + 1, start_step=start_step)
            progress = keras.utils.Progbar(steps_per_epoch, stateful_metrics=names, verbose=self.verbose)
            if self.verbose:
                print(f"Epoch {epoch + 1}/{self.epochs}" + (f" (resuming at step {start_step})" if start_step else ""))
            dataset = self._distributed_batches(self.train_data, epoch=epoch, skip_batches=start_step,
                                                take=steps_per_epoch - start_step)
            update_every = max(1, steps_per_epoch // 50)
            applied_at_start = self._applied_updates()
            step, global_step = start_step, int(self.global_step.numpy())
            started = time.perf_counter()
            for batch in dataset:
                self._signals.before_step()
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
                if self._signals.stop_requested():
                    self._stop_for_signal(epoch, step, steps_per_epoch)
                if self.checkpoint_every_steps and global_step % self.checkpoint_every_steps == 0:
                    self._save()
                if max_steps is not None and steps_this_call >= max_steps and step < steps_per_epoch:
                    self._save()
                    return self.history
            elapsed = time.perf_counter() - started
            logs = self._end_epoch(epoch, steps_per_epoch - start_step, elapsed, writer,
                                   applied=self._applied_updates() - applied_at_start)
            written = dict(logs)
            for callback in callbacks:
                callback.on_epoch_end(self, epoch + 1, logs)
            if logs != written and self.chief:  # callbacks logged more (e.g. sample scores): keep it in history.json too
                run_dir_lib.write_history(self.run_dir, self.history)
            if max_steps is not None and steps_this_call >= max_steps:
                return self.history
        self._check_applied_updates()
        for callback in callbacks:
            callback.on_train_end(self, self.history[-1] if self.history else {})
        return self.history

    def _applied_updates(self):
        """The updates the model's optimizers have applied (their `iterations`: a skipped update leaves them)."""
        return sum(int(optimizer.iterations.numpy()) for optimizer in self._optimizers())

    def _check_applied_updates(self):
        """Raises `TrainingDiverged` when the run, ended, applied less than `min_applied_updates` of its updates
        (the others skipped as non-finite): a run that learned little must not end as a success."""
        applied = self._applied_updates()
        skipped = sum(entry.get("train/skipped_updates", 0.0) for entry in self.history)
        total = applied + skipped
        if total and applied < self.min_applied_updates * total:
            raise TrainingDiverged(
                f"The run applied {applied} of its {total:g} updates ({applied / total:.0%}); the others were "
                f"skipped as non-finite. A run must apply at least {self.min_applied_updates:.0%} of them "
                f"(min_applied_updates, --min-applied-updates) to end as a success; its checkpoints are kept. "
                f"Check the data and the learning rate."
            )

    def _begin_epoch(self, epoch):
        """The model's hook before `epoch` (`GenerativeModel.begin_epoch`). A multi-worker job runs it on the
        chief, and every worker takes the chief's values of the variables it sets (`model.epoch_state`)."""
        if self.chief:
            self.model.begin_epoch(epoch)
        if self.workers > 1:
            for variable in self.model.epoch_state:
                variable.assign(distribute_lib.broadcast_from_chief(self.strategy, variable.numpy()))

    def _report_nonfinite(self, sums, size, nonfinite, global_step, epoch, step, steps_per_epoch):
        """Warns of a step whose update was skipped; raises `TrainingDiverged` after `max_nonfinite_steps` in a row."""
        count = max(float(size), 1.0)
        values = {name: float(value) / count for name, value in sums.items()}
        bad = {name: value for name, value in values.items() if not np.isfinite(value)}
        what = (", ".join(f"{name}={value}" for name, value in bad.items()) if bad
                else "a non-finite gradient of a finite loss")
        where = f"step {global_step} (epoch {epoch + 1}, step {step} of {steps_per_epoch})"
        if nonfinite >= self.max_nonfinite_steps:
            set_aside = self._checkpoints.set_aside_diverged(global_step - nonfinite) if self.chief else ""
            raise TrainingDiverged(
                f"Training stopped at {where}: {nonfinite} steps in a row had non-finite values (last: {what}); "
                f"their updates were skipped. {set_aside}{self._checkpoints.last_checkpoint_text()} Or check the data for NaNs."
            )
        if self.verbose:
            print(f"\nWarning: {where}: {what}; the update was skipped ({nonfinite} in a row, the run stops at "
                  f"{self.max_nonfinite_steps}).")

    def _stop_for_signal(self, epoch, step, steps_per_epoch):
        """Checkpoints (unless the last step was not finite) and raises `TrainingInterrupted`."""
        path = self._save()
        raise signals.interrupted(self._signals.received, global_step=int(self.global_step.numpy()), epoch=epoch,
                                  step=step, steps_per_epoch=steps_per_epoch, checkpoint=path,
                                  latest=self._checkpoints.latest())

    def _end_epoch(self, epoch, steps, elapsed, writer, applied):
        """Logs, checks and checkpoints the epoch (`steps` run in this call, `applied` updates applied in them)."""
        train_metrics = self._metric_averages()
        bad = {name: value for name, value in train_metrics.items() if not np.isfinite(value)}
        if bad:
            raise TrainingDiverged(
                f"Training diverged in epoch {epoch + 1}: non-finite train metrics {bad}. No checkpoint was "
                f"written for this epoch. {self._checkpoints.last_checkpoint_text()}"
            )
        skipped = float(self._skipped_updates.numpy())
        if steps > 0 and applied == 0:
            raise TrainingDiverged(
                f"Epoch {epoch + 1} applied no update: every update of its {steps} steps was skipped (non-finite "
                f"loss or gradient), so the model learned nothing. No checkpoint was written for this epoch. "
                f"{self._checkpoints.last_checkpoint_text()} Check the data and the learning rate."
            )
        logs = {"epoch": epoch + 1, "seconds": elapsed, "images_per_second": steps * self.batch_size / max(elapsed, 1e-9)}
        logs.update({f"train/{name}": value for name, value in train_metrics.items()})
        logs["train/skipped_updates"] = skipped
        if self.test_data is not None:
            logs.update({f"test/{name}": value for name, value in self.evaluate().items()})
        write_scalars(writer, epoch + 1, {**{key: value for key, value in logs.items() if "/" in key},
                                          "time/images_per_second": logs["images_per_second"]})
        streak = self._in_nonfinite_streak()
        if not streak:
            self._check_finite_variables()  # before anything of this epoch is written
        self.history.append(logs)
        self.epoch.assign_add(1)
        self.step_in_epoch.assign(0)
        self._reset_metrics()
        if self.chief:
            run_dir_lib.write_history(self.run_dir, self.history)
        if not streak:
            self._save(checked=True)
        if self.verbose:
            print(" - ".join(f"{key}: {value:.4g}" for key, value in logs.items() if key != "epoch"))
        return logs
