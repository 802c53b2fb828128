"""A run's checkpoints: what one holds, writing and rotating them, restoring a run or its model, and
moving checkpoints aside (never deleting them).

* `make_checkpoint`: the `tf.train.Checkpoint` of a model (its random
  streams included), its optimizer and the loop's run state.
* `RunCheckpoints`: the checkpoints of one training run, as the trainer
  writes and restores them: only finite ones are written (the trainer checks
  with `nonfinite_variable` first); in a multi-worker job every worker saves
  (TensorFlow's collectives may run in a save) but only the chief's are kept;
  a resume checks that the checkpoint is whole and finite, and a damaged one
  is named with the newest intact older one; going back to an older
  checkpoint moves the newer ones to `checkpoints/superseded-<step>/`, and
  after a divergence the checkpoints holding the diverged weights go to
  `checkpoints/diverged-<step>/`.
* `restore_model`: the model of a run folder with its latest weights.

The files themselves (the `ckpt-<step>` names, TensorFlow's state file, the
check that a checkpoint is whole and finite) are `tfgen.training.run_dir`'s.
"""

import os
import shutil
import tempfile
import warnings

import tensorflow as tf

from tfgen.models.registry import model_class_of
from tfgen.training import precision as precision_lib
from tfgen.training import run_dir as run_dir_lib


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


def nonfinite_variable(variables):
    """The path (or name) of the first float variable holding a NaN or an infinity, or None."""
    for variable in variables:
        if tf.as_dtype(variable.dtype).is_floating and not bool(tf.reduce_all(tf.math.is_finite(variable))):
            return getattr(variable, "path", None) or variable.name
    return None


def older_checkpoint_hint(run_dir, path):
    """Where to go back to when the checkpoint `path` is damaged (a sentence for an error message)."""
    try:
        below = run_dir_lib.checkpoint_number(path)
    except run_dir_lib.RunDirectoryError:
        below = None
    good = run_dir_lib.newest_intact_checkpoint(run_dir, below=below)
    if good is None:
        return "No older intact checkpoint is left in the run."
    name = os.path.basename(good)
    return f"The newest intact older checkpoint is {good!r}: resume from it with --resume-from {name} (resume_from={name!r})."


def move_checkpoints(run_dir, prefixes, name):
    """Moves the files of the checkpoints `prefixes` into a new folder `checkpoints/<name>/` (`<name>-2/`,
    `<name>-3/`, ... when an earlier set-aside took the name: nothing is deleted or overwritten); returns it."""
    first_choice = os.path.join(run_dir_lib.checkpoint_dir(run_dir), name)
    folder, count = first_choice, 1
    while True:
        try:
            os.makedirs(folder)
            break
        except FileExistsError:
            count += 1
            folder = f"{first_choice}-{count}"
    for prefix in prefixes:
        base, source = os.path.basename(prefix), os.path.dirname(prefix)
        for entry in os.listdir(source):
            if entry == base + ".index" or entry.startswith(base + ".data-"):
                os.replace(os.path.join(source, entry), os.path.join(folder, entry))
    return folder


class RunCheckpoints:
    """The checkpoints of one training run: written, rotated, restored and set aside.

    Args:
        checkpoint: the run's `tf.train.Checkpoint` (`make_checkpoint`).
        run_dir: the run folder (its `checkpoints/`).
        chief: whether this process writes the run folder (in a
            multi-worker job the chief only; the others save to a temporary
            folder, deleted after every save).
        max_checkpoints: how many to keep, plus the one before them (the
            newest is only known to be good once a finite step has followed
            it, and a run that diverges right after it must still have the
            one before).
        verbose: print what a resume from an older checkpoint moved.
    """

    def __init__(self, checkpoint, run_dir, *, chief=True, max_checkpoints=3, verbose=1):
        self.checkpoint = checkpoint
        self.run_dir = run_dir
        self.chief = chief
        self.max_checkpoints = max_checkpoints
        self.verbose = verbose
        self.manager = None  # made by `open`, once the run folder is locked and its checkpoints checked
        self._worker_folder = None  # a worker other than the chief: its temporary checkpoint folder

    def open(self):
        """Makes the `tf.train.CheckpointManager` that writes and rotates the checkpoints."""
        if self.chief:
            self.manager = tf.train.CheckpointManager(
                self.checkpoint, run_dir_lib.checkpoint_dir(self.run_dir), max_to_keep=self.max_checkpoints + 1
            )
        else:  # TensorFlow's way: the other workers save too, to a temporary folder deleted after each save
            self._worker_folder = tempfile.mkdtemp(prefix="tfgen-worker-checkpoints-")
            self.manager = tf.train.CheckpointManager(self.checkpoint, self._worker_folder, max_to_keep=1)

    def close(self):
        """Removes a worker's temporary checkpoint folder (the chief's checkpoints stay)."""
        if self._worker_folder is not None:
            shutil.rmtree(self._worker_folder, ignore_errors=True)
            self._worker_folder = None

    def save(self, number):
        """Writes a checkpoint numbered `number` (the global step); returns its path in the run folder.

        The caller checks first that every variable is finite.
        """
        path = self.manager.save(checkpoint_number=number)
        if not self.chief:
            # Every worker saves (TensorFlow's collectives may run in a save); only the chief's is kept.
            shutil.rmtree(self._worker_folder, ignore_errors=True)
            path = os.path.join(run_dir_lib.checkpoint_dir(self.run_dir), os.path.basename(path))
        return path

    def latest(self):
        """The run's newest checkpoint (the chief's), or None."""
        return run_dir_lib.latest_checkpoint(self.run_dir)

    def restore(self, resume_from=None, optimizers=()):
        """Restores the run's latest checkpoint (or `resume_from`, "ckpt-N" or N) after checking that it is
        whole and finite; returns its path (every worker of a job reads the chief's).

        The `optimizers` keep the learning rates they have (the checkpoint
        holds the run's old ones; a resume may change them, `allow_changes`).

        Raises:
            RunDirectoryError: the checkpoint is missing, damaged, not finite or
                of another model; the message names the newest intact older one.
        """
        if self.chief:
            run_dir_lib.rebuild_checkpoint_index(self.run_dir)
        latest = self.latest()
        path = latest if resume_from is None else run_dir_lib.find_checkpoint(self.run_dir, resume_from)
        problem = run_dir_lib.checkpoint_problem(path)
        if problem is not None:
            raise run_dir_lib.RunDirectoryError(
                f"Cannot resume from the checkpoint {path!r}: {problem}. " + older_checkpoint_hint(self.run_dir, path)
            )
        learning_rates = [precision_lib.inner_optimizer(optimizer).get_config().get("learning_rate")
                          for optimizer in optimizers]
        try:
            self.checkpoint.restore(path).assert_existing_objects_matched()
        except Exception as error:  # noqa: BLE001 - a corrupt file fails in many ways
            raise run_dir_lib.RunDirectoryError(
                f"Cannot restore the checkpoint {path!r}: it is corrupt or belongs to another model "
                f"({str(error).splitlines()[0]}). " + older_checkpoint_hint(self.run_dir, path)
            ) from error
        for optimizer, value in zip(optimizers, learning_rates):
            if isinstance(value, float):
                optimizer.learning_rate = value
        return path

    def set_aside_newer(self, path):
        """After resuming from an older checkpoint, moves the newer ones to `checkpoints/superseded-<step>/`.

        Nothing is deleted; the state file then lists the checkpoints up to
        `path`, so the new ones are numbered and rotated as usual.
        """
        number = run_dir_lib.checkpoint_number(path)
        prefixes = run_dir_lib.checkpoint_prefixes(self.run_dir)
        newer = [prefix for step, prefix in prefixes.items() if step > number]
        if newer:
            folder = move_checkpoints(self.run_dir, newer, f"superseded-{number}")
            if self.verbose:
                print(f"Resuming from {os.path.basename(path)}: the newer checkpoints "
                      f"{[os.path.basename(p) for p in newer]} were moved to {folder!r}.")
        run_dir_lib.write_checkpoint_index(self.run_dir, [p for step, p in prefixes.items() if step <= number])

    def set_aside_diverged(self, last_update):
        """Moves the checkpoints holding weights that just diverged (saved at or after step `last_update`,
        the last applied update) to `checkpoints/diverged-<step>/`; returns what it did, for the message."""
        prefixes = run_dir_lib.checkpoint_prefixes(self.run_dir)
        suspect = {step: prefix for step, prefix in prefixes.items() if step >= last_update}
        if not suspect:
            return ""
        folder = move_checkpoints(self.run_dir, list(suspect.values()), f"diverged-{min(suspect)}")
        kept = [prefix for step, prefix in prefixes.items() if step not in suspect]
        if kept:
            run_dir_lib.write_checkpoint_index(self.run_dir, kept)
        else:
            os.remove(os.path.join(run_dir_lib.checkpoint_dir(self.run_dir), "checkpoint"))
        names = [os.path.basename(prefix) for prefix in suspect.values()]
        return f"The checkpoint {names} holds the weights that gave them: it was moved to {folder!r}. "

    def last_checkpoint_text(self):
        """A sentence for a divergence's message: the last (finite) checkpoint to resume from, or that none was written."""
        latest = self.latest()
        return (f"The last checkpoint, {latest!r}, holds finite weights; resume from it with a lower learning "
                f"rate (--resume --allow-changes)." if latest else "No checkpoint of this run was written before.")


def _model_class(config):
    """`model_class_of(config)`, its ValueError a `RunDirectoryError` (a ValueError too), as run folders raise."""
    try:
        return model_class_of(config)
    except ValueError as error:
        raise run_dir_lib.RunDirectoryError(str(error)) from None


def model_class(config):
    """Deprecated: `tfgen.models.registry.model_class_of`, the one name-to-class lookup.

    Kept for one version; raises `RunDirectoryError` (a ValueError) when
    neither registry knows the class, as it did.
    """
    warnings.warn("tfgen.training.model_class is deprecated: use tfgen.models.registry.model_class_of.",
                  DeprecationWarning, stacklevel=2)
    return _model_class(config)


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
            f"Cannot use the checkpoint {path!r}: {problem}. " + older_checkpoint_hint(run_dir, path)
        )
    model = _model_class(config).from_config(config["model_config"])
    model.build_from_batch(model.zeros_batch())
    try:
        make_checkpoint(model).restore(path).expect_partial().assert_existing_objects_matched()
    except Exception as error:  # noqa: BLE001 - a corrupt file fails in many ways
        raise run_dir_lib.RunDirectoryError(f"Cannot restore the checkpoint {path!r}: {error}") from error
    return model, config
