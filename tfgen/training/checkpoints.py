"""A run's checkpoints: what one holds, writing and rotating them, restoring a run or its model, and
moving checkpoints aside (never deleting them).

* `make_checkpoint`: the `tf.train.Checkpoint` of a model (its random
  streams included), its optimizer and the loop's run state.
* `RunCheckpoints`: the checkpoints of one training run, as the trainer
  writes and restores them: each is written whole or not at all (into a
  temporary folder that carries a marker, then renamed into place, index
  last); only finite ones are written (the trainer checks
  with `nonfinite_variable` first); in a multi-worker job every worker saves
  (TensorFlow's collectives may run in a save) but only the chief's are kept;
  a resume checks that the checkpoint is whole and finite, and a damaged one
  is named with the newest intact older one; going back to an older
  checkpoint moves the newer ones to `checkpoints/superseded-<step>/`, and
  after a divergence the checkpoints holding the diverged weights go to
  `checkpoints/diverged-<step>/`.
* `restore_model`: the model of a run folder with its latest weights, read
  from a private link (or copy) of the checkpoint, so that a run training on
  beside it may rotate it away meanwhile.

The files themselves (the `ckpt-<step>` names, TensorFlow's state file, the
check that a checkpoint is whole and finite) are `tfgen.training.run_dir`'s.
"""

import os
import shutil
import tempfile
import warnings

import tensorflow as tf

from tfgen._files import marked_temporary_folder, remove_marked_temporaries
from tfgen.models.registry import model_class_of
from tfgen.training import precision as precision_lib
from tfgen.training import run_dir as run_dir_lib


#: The temporary folders of checkpoint saves, in `checkpoints/`, and the marker each carries (only a folder that
#: carries it is ever removed as a killed save's leftover).
TEMPORARY_PREFIX = ".tmp-ckpt-"
TEMPORARY_MARKER = ".tfgen-checkpoint-in-progress"


def _listed_checkpoints(run_dir):
    """The prefixes (oldest first) of the checkpoints that the run's state file lists and that exist: the ones
    a save rotates (checkpoints copied in by hand and the set-aside folders are never deleted)."""
    folder = run_dir_lib.checkpoint_dir(run_dir)
    state = tf.train.get_checkpoint_state(folder)
    if state is None:
        return []
    names = [os.path.basename(path) for path in state.all_model_checkpoint_paths]
    prefixes = [os.path.join(folder, name) for name in names]
    return [prefix for prefix in prefixes if os.path.isfile(prefix + ".index")]


def _delete_checkpoint(prefix):
    """Deletes the files of the checkpoint `prefix`: its index first, so that it is never seen half."""
    folder, base = os.path.dirname(prefix), os.path.basename(prefix)
    index = prefix + ".index"
    if os.path.exists(index):
        os.remove(index)
    for entry in os.listdir(folder):
        if entry.startswith(base + ".data-"):
            os.remove(os.path.join(folder, entry))


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

    def open(self):
        """Prepares the writes, once the run folder is locked and its checkpoints checked: removes the
        temporary folders that the saves of a killed run left (the lock holder is the only live writer)."""
        if self.chief:
            folder = run_dir_lib.checkpoint_dir(self.run_dir)
            os.makedirs(folder, exist_ok=True)
            remove_marked_temporaries(folder, TEMPORARY_PREFIX, TEMPORARY_MARKER)

    def save(self, number):
        """Writes a checkpoint numbered `number` (the global step); returns its path in the run folder.

        The caller checks first that every variable is finite. The files are
        written into a temporary folder (with its marker) and renamed into
        `checkpoints/` data first, index last, so a reader never sees half a
        checkpoint (TensorFlow writes the index in place); then the state file
        lists it and the oldest beyond `max_checkpoints` + 1 are deleted.
        """
        number = int(number)
        name = f"ckpt-{number}"
        self.checkpoint.save_counter.assign_add(1)  # as tf.train.CheckpointManager.save does
        if not self.chief:
            # Every worker saves (TensorFlow's collectives may run in a save); only the chief's is kept.
            folder = tempfile.mkdtemp(prefix="tfgen-worker-checkpoints-")
            try:
                self.checkpoint.write(os.path.join(folder, name))
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            return os.path.join(run_dir_lib.checkpoint_dir(self.run_dir), name)
        folder = run_dir_lib.checkpoint_dir(self.run_dir)
        temporary = marked_temporary_folder(folder, TEMPORARY_PREFIX, TEMPORARY_MARKER)
        try:
            self.checkpoint.write(os.path.join(temporary, name))
            written = sorted(entry for entry in os.listdir(temporary) if entry.startswith(name + "."))
            if os.path.exists(os.path.join(folder, name + ".index")):  # the same step again: the old one goes first
                _delete_checkpoint(os.path.join(folder, name))
            for entry in sorted(written, key=lambda entry: entry.endswith(".index")):  # the index last
                os.replace(os.path.join(temporary, entry), os.path.join(folder, entry))
        finally:
            shutil.rmtree(temporary, ignore_errors=True)
        path = os.path.join(folder, name)
        # As tf.train.CheckpointManager: the state file lists the new one first, then the oldest go, then it
        # lists the kept ones (a kill between leaves names of deleted ones, which the readers skip).
        listed = [prefix for prefix in _listed_checkpoints(self.run_dir) if prefix != path] + [path]
        run_dir_lib.write_checkpoint_index(self.run_dir, listed)
        keep = self.max_checkpoints + 1
        if len(listed) > keep:
            for old in listed[:-keep]:
                _delete_checkpoint(old)
            run_dir_lib.write_checkpoint_index(self.run_dir, listed[-keep:])
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


def _sampling_settings(model_class, settings):
    """`settings` checked against `model_class.sampling_options` (ValueError naming them)."""
    settings = dict(settings or {})
    unknown = sorted(set(settings) - set(model_class.sampling_options))
    if unknown:
        allowed = ", ".join(model_class.sampling_options) or "none"
        raise ValueError(f"{model_class.__name__} cannot export with other {', '.join(unknown)}: only the options that "
                         f"set how it samples can change after training (its: {allowed}).")
    return settings


def restore_model(run_dir, require_updates=False, settings=None):
    """Rebuilds the model of a run directory and loads its latest weights.

    The checkpoint is held against rotation while it is read
    (`run_dir.held_checkpoint`): a run that trains on beside the reader may
    delete it meanwhile.

    Args:
        run_dir: the run folder.
        require_updates: refuse a checkpoint whose optimizers never applied an
            update (the model is its initial weights: every update was skipped).
        settings: {option: value} of the model class's `sampling_options` to build the model with instead of
            the run's (no weight depends on them); a ValueError names the options when another is given.

    Returns:
        (model, config): the restored model and the run's `config.json`.

    Raises:
        tfgen.training.RunDirectoryError: when `run_dir` is not a run
            directory, has no checkpoint, or its latest checkpoint cannot be
            read or holds non-finite values (the message names the newest
            intact older one), or (`require_updates`) never received an update.
    """
    config = run_dir_lib.load_run_config(run_dir, require_checkpoint=True)
    with run_dir_lib.held_checkpoint(run_dir) as path:
        name = os.path.join(run_dir_lib.checkpoint_dir(run_dir), os.path.basename(path))  # for the messages
        problem = run_dir_lib.checkpoint_problem(path)
        if problem is not None:
            raise run_dir_lib.RunDirectoryError(
                f"Cannot use the checkpoint {name!r}: {problem}. " + older_checkpoint_hint(run_dir, name)
            )
        if require_updates and run_dir_lib.applied_updates(path) == 0:
            raise run_dir_lib.RunDirectoryError(
                f"The checkpoint {name!r} never received an update (every update before it was skipped as "
                f"non-finite): its weights are the initial ones, so it is not exported. Check the data and the "
                f"learning rate, and train again."
            )
        model_class = _model_class(config)
        model = model_class.from_config({**config["model_config"], **_sampling_settings(model_class, settings)})
        model.build_from_batch(model.zeros_batch())
        try:
            make_checkpoint(model).restore(path).expect_partial().assert_existing_objects_matched()
        except Exception as error:  # noqa: BLE001 - a corrupt file fails in many ways
            raise run_dir_lib.RunDirectoryError(f"Cannot restore the checkpoint {name!r}: {error}") from error
    return model, config
