"""The files of a training run: `config.json`, `history.json`, `checkpoints/`,
`tensorboard/`, `plots/`. Every JSON file is written atomically (a temporary
file, then a rename), so a crash never leaves one half-written, and gets the
permissions of any file this process creates (0666 less the umask), as the
checkpoints do.

Checkpoints are `checkpoints/ckpt-<global step>`. TensorFlow's state file
`checkpoints/checkpoint` lists them; when it is missing the list is rebuilt
from the files themselves (`rebuild_checkpoint_index`), and
`checkpoint_problem` tells whether one is whole and finite."""

import contextlib
import json
import os
import re
import shlex
import shutil
import sys
import tempfile

import numpy as np
import tensorflow as tf

# The atomic writes live on the lowest floor (the data package writes its cache with them); re-exported here.
from tfgen._files import (  # noqa: F401
    FILE_MODE,
    FOLDER_MODE,
    TEMPORARY_PREFIX,
    _existing_ancestor,
    check_output_file,
    foreign_entries,
    listed,
    read_json_file,
    write_atomic,
    write_json_atomic,
)
from tfgen.locks import LOCK_FILE

_CHECKPOINT_PATTERN = re.compile(r"^ckpt-(\d+)\.index$")

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
CHECKPOINT_DIR = "checkpoints"


#: What a run writes at its top level, besides the files of its callbacks (scores, the classifier): no other
#: command may write over them (`check_not_a_run_file`).
RUN_ENTRIES = (CONFIG_FILE, HISTORY_FILE, CHECKPOINT_DIR, "plots", "tensorboard", LOCK_FILE)
#: The sample classifier a run of `tfgen.runs` trains and saves in its folder before the run starts.
CLASSIFIER_FILE = "classifier.weights.h5"


def is_run_entry(name):
    """Whether tfgen writes an entry of this name at the top of a new run's folder: `RUN_ENTRIES`, the sample
    classifier, its temporary files."""
    return name in RUN_ENTRIES or name == CLASSIFIER_FILE or name.startswith(TEMPORARY_PREFIX)


def check_own_folder(run_dir, resume=False, force=False, argument="run_dir"):
    """Refuses (`RunDirectoryError`) a new run in a folder that holds files tfgen did not write (`is_run_entry`),
    naming a few, unless `force` (the run is written beside them; none of them is read, changed or removed).
    A resumed run, a folder that holds a run (`check_run_dir` answers for it) or a missing one passes."""
    if resume or force or os.path.exists(os.path.join(run_dir, CONFIG_FILE)):
        return
    foreign = foreign_entries(run_dir, is_run_entry)
    if foreign:
        raise RunDirectoryError(
            f"{argument} {os.fspath(run_dir)!r} holds files tfgen did not write ({listed(foreign)}): a new run "
            f"keeps its folder to itself. Choose a new or empty folder, or pass force=True (--force) to train "
            f"beside them (nothing of theirs is read, changed or removed).")


def run_folder_of(path):
    """The run folder that `path` lies in (an ancestor holding config.json and checkpoints/), or None."""
    folder = os.path.dirname(os.path.abspath(os.fspath(path)))
    while True:
        if os.path.isfile(os.path.join(folder, CONFIG_FILE)) and os.path.isdir(os.path.join(folder, CHECKPOINT_DIR)):
            return folder
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def check_not_a_run_file(path, argument="out", own=()):
    """Refuses, naming `argument`, an output path that is one of a run's own files: a file the run wrote (an
    existing file in its folder), or anything under what it writes (`RUN_ENTRIES`: its config, history,
    checkpoints, figures). `own`: the names at the run's top level that the command itself writes (e.g.
    `tfgen evaluate`'s evaluation.json). A new file beside the run's is allowed."""
    run = run_folder_of(path)
    if run is None:
        return path
    relative = os.path.relpath(os.path.abspath(os.fspath(path)), run)
    top = relative.split(os.sep)[0]
    if top in own:
        return path
    if top in RUN_ENTRIES or os.path.exists(path):
        raise ValueError(f"{argument} {os.fspath(path)!r} is the run {run!r}'s own {relative!r}: tfgen never writes "
                         f"over a run's files from another command. Name a new file (e.g. outside the run folder).")
    return path


class RunDirectoryError(ValueError):
    """A path that should be a tfgen run directory is not one, or does not fit the request."""


def write_epoch_log(path, epoch, entry):
    """Adds `entry` for `epoch` to the per-epoch JSON log at `path` (a list of dicts with an "epoch").

    Entries of `epoch` and later are dropped first: a resumed run rewrites the
    epochs it repeats instead of listing them twice. Written atomically;
    returns the whole log.
    """
    entries = []
    if os.path.isfile(path):
        entries = [item for item in read_json(path) if item.get("epoch", 0) < epoch]
    entries.append({"epoch": epoch, **entry})
    write_json_atomic(path, entries)
    return entries


def command_line(argv=None):
    """The command that started this process, as a user would type it again.

    A script inside the working folder is named by its relative path
    (`python examples/cgan.py ...`), the console script by `tfgen`, so no
    path of the machine that ran it is recorded.
    """
    argv = list(sys.argv if argv is None else argv)
    if not argv:
        return ""
    program = argv[0]
    if os.path.basename(program) == "tfgen" or program.endswith(os.path.join("tfgen", "cli.py")):
        words = ["tfgen"]
    else:
        relative = os.path.relpath(os.path.abspath(program))
        words = ["python", os.path.basename(program) if relative.startswith("..") else relative]
    return shlex.join(words + argv[1:])


def read_json(path, expect=None):
    """The JSON value of a run's file at `path`; a ValueError naming the file when it is not JSON (`expect`: the
    type it must have)."""
    return read_json_file(path, "run file", expect)


def read_history(run_dir, last_epoch=None):
    """The run's `history.json` (a list of per-epoch dicts; [] when it has none), up to epoch `last_epoch` if given."""
    path = os.path.join(run_dir, HISTORY_FILE)
    history = read_json(path) if os.path.isfile(path) else []
    return [entry for entry in history if last_epoch is None or entry["epoch"] <= last_epoch]


def write_history(run_dir, history):
    """Writes the run's `history.json` (a list of per-epoch dicts), atomically."""
    write_json_atomic(os.path.join(run_dir, HISTORY_FILE), history)


def remove_if_only_lock(folder):
    """Removes `folder` when it holds nothing but its lock file (a new run refused before writing anything)."""
    try:
        if set(os.listdir(folder)) <= {LOCK_FILE}:
            for entry in os.listdir(folder):
                os.remove(os.path.join(folder, entry))
            os.rmdir(folder)
    except OSError:
        pass


def checkpoint_dir(run_dir):
    return os.path.join(run_dir, CHECKPOINT_DIR)


def checkpoint_prefixes(run_dir):
    """{global step: checkpoint prefix} of every checkpoint whose index file is in `run_dir`, from the files."""
    folder = checkpoint_dir(run_dir)
    if not os.path.isdir(folder):
        return {}
    found = {}
    for entry in os.listdir(folder):
        match = _CHECKPOINT_PATTERN.match(entry)
        if match:
            found[int(match.group(1))] = os.path.join(folder, entry[: -len(".index")])
    return dict(sorted(found.items()))


def checkpoint_number(prefix):
    """The global step of a checkpoint prefix `.../ckpt-N`."""
    match = re.search(r"ckpt-(\d+)$", prefix or "")
    if not match:
        raise RunDirectoryError(f"{prefix!r} is not a tfgen checkpoint (expected a name like 'ckpt-1200').")
    return int(match.group(1))


def latest_checkpoint(run_dir):
    """The newest checkpoint prefix in `run_dir`, or None.

    TensorFlow's state file names it; without a state file (deleted, or lost
    with a crash) the newest checkpoint on disk is taken.
    """
    folder = checkpoint_dir(run_dir)
    if not os.path.isdir(folder):
        return None
    latest = tf.train.latest_checkpoint(folder)
    if latest is None:
        prefixes = checkpoint_prefixes(run_dir)
        latest = prefixes[max(prefixes)] if prefixes else None
    return latest


def rebuild_checkpoint_index(run_dir):
    """Writes the state file `checkpoints/checkpoint` from the checkpoints on disk when it is missing.

    Returns True when it was rebuilt. Without it TensorFlow's
    `CheckpointManager` would neither find nor rotate the checkpoints.
    """
    folder = checkpoint_dir(run_dir)
    prefixes = checkpoint_prefixes(run_dir)
    if not prefixes or os.path.isfile(os.path.join(folder, "checkpoint")):
        return False
    write_checkpoint_index(run_dir, list(prefixes.values()))
    return True


def write_checkpoint_index(run_dir, prefixes):
    """Makes `prefixes` (oldest first) the run's checkpoints in TensorFlow's state file (written atomically).

    The file is TensorFlow's `CheckpointState` text format. Each checkpoint
    gets its index file's time as its timestamp, and the "preserved" time is
    before them all, so `tf.train.CheckpointManager` rotates them as usual.
    """
    names = [os.path.basename(prefix) for prefix in prefixes]
    times = [os.path.getmtime(prefix + ".index") for prefix in prefixes]
    lines = [f'model_checkpoint_path: "{names[-1]}"']
    lines += [f'all_model_checkpoint_paths: "{name}"' for name in names]
    lines += [f"all_model_checkpoint_timestamps: {stamp!r}" for stamp in times]
    lines.append(f"last_preserved_timestamp: {min(times) - 1.0!r}")

    def write(temporary):
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write("\n".join(lines) + "\n")

    write_atomic(os.path.join(checkpoint_dir(run_dir), "checkpoint"), write)


def checkpoint_problem(prefix):
    """None when the checkpoint at `prefix` is whole and every float value in it is finite, else what is wrong.

    Every tensor is read, so a truncated or overwritten data file is found
    here, not halfway through a restore.
    """
    if not prefix or not os.path.isfile(prefix + ".index"):
        return "its files are missing"
    try:
        reader = tf.train.load_checkpoint(prefix)
        names = sorted(reader.get_variable_to_shape_map())
        for name in names:
            value = reader.get_tensor(name)
            if isinstance(value, np.ndarray) and np.issubdtype(value.dtype, np.floating) and not np.all(np.isfinite(value)):
                return f"it holds non-finite values (in {name})"
    except Exception as error:  # noqa: BLE001 - a damaged file fails in many ways
        return f"it cannot be read ({str(error).splitlines()[0] if str(error) else type(error).__name__})"
    return None


_ITERATIONS_KEY = re.compile(r"(^|/)_?iterations/\.ATTRIBUTES/VARIABLE_VALUE$")


def applied_updates(prefix):
    """The updates the optimizers of the checkpoint at `prefix` had applied (the sum of their `iterations`; a
    skipped non-finite update leaves them), or None when it holds no optimizer."""
    reader = tf.train.load_checkpoint(prefix)
    counts = [int(reader.get_tensor(name)) for name in reader.get_variable_to_shape_map()
              if _ITERATIONS_KEY.search(name)]
    return sum(counts) if counts else None


@contextlib.contextmanager
def held_checkpoint(run_dir, prefix=None, attempts=5):
    """Holds a checkpoint of `run_dir` (the latest, or `prefix`) against rotation while it is read: yields the
    prefix of a private copy of its files, removed at the end.

    A run that trains writes new checkpoints and deletes old ones while
    other commands (export, evaluate, sample) read them. The files are
    hard-linked (or, across file systems, copied) into a temporary folder
    first: the run may then delete its own names, the reader keeps the
    data. A checkpoint rotated away between the choice and the link is
    chosen again (the new latest), up to `attempts` times.

    Raises:
        RunDirectoryError: the run has no checkpoint, or `prefix` is gone.
    """
    folder = tempfile.mkdtemp(prefix="tfgen-read-checkpoint-")
    try:
        for attempt in range(attempts):
            chosen = prefix or latest_checkpoint(run_dir)
            if chosen is None:
                raise RunDirectoryError(f"Run directory {run_dir!r} has no checkpoint in {checkpoint_dir(run_dir)!r}.")
            copy = os.path.join(folder, f"{attempt}", os.path.basename(chosen))
            if _link_checkpoint(chosen, copy):
                break
            if prefix is not None:
                raise RunDirectoryError(f"The checkpoint {prefix!r} was removed while it was read (another "
                                        f"process rotated or moved it).")
        else:
            raise RunDirectoryError(f"The checkpoints of {run_dir!r} were rotated away {attempts} times while they "
                                    f"were read; try again once the run writes less often (--checkpoint-every-steps).")
        yield copy
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _link_checkpoint(prefix, copy):
    """Hard-links (or copies) the files of the checkpoint `prefix` to `copy`; False when they are gone."""
    source, base = os.path.dirname(prefix), os.path.basename(prefix)
    os.makedirs(os.path.dirname(copy))
    try:
        names = [entry for entry in os.listdir(source) if entry.startswith(base + ".data-")]
        shards = {int(name.rsplit("-of-", 1)[-1]) for name in names if name.rsplit("-of-", 1)[-1].isdigit()}
        if (len(shards) != 1 or len(names) != shards.pop()) and not os.path.isfile(prefix + ".index"):
            return False  # being removed (a damaged checkpoint, whose index stays, is read and found damaged)
        # The index last: our writer publishes it last, so data files listed before it are whole.
        for name in sorted(names) + [base + ".index"]:
            target = os.path.join(os.path.dirname(copy), name)
            try:
                os.link(os.path.join(source, name), target)
            except FileNotFoundError:
                raise
            except OSError:  # another file system, or links not allowed: a copy
                shutil.copyfile(os.path.join(source, name), target)
    except FileNotFoundError:
        return False
    return True


def newest_intact_checkpoint(run_dir, below=None):
    """The newest checkpoint prefix without `checkpoint_problem` (older than step `below` if given), or None."""
    for number, prefix in reversed(list(checkpoint_prefixes(run_dir).items())):
        if (below is None or number < below) and checkpoint_problem(prefix) is None:
            return prefix
    return None


def find_checkpoint(run_dir, name):
    """The prefix of the checkpoint `name` ("ckpt-1200", "1200" or a path ending in ckpt-1200) of `run_dir`.

    A path must lead to the run's own `checkpoints/` folder (relative to the
    working folder or to `run_dir`): a checkpoint of another run, or one set
    aside in `checkpoints/superseded-N/`, is refused.

    Raises:
        RunDirectoryError: the run has no such checkpoint (the message lists
            those it has), or the path leads elsewhere.
    """
    text = os.fspath(name) if isinstance(name, os.PathLike) else str(name)
    number = int(text) if text.isdigit() else checkpoint_number(os.path.basename(text.rstrip("/\\")))
    prefixes = checkpoint_prefixes(run_dir)
    folder = os.path.dirname(text.rstrip("/\\"))
    if folder:  # a path: it must be one of this run's checkpoints, not a file of another run with that number
        own = os.path.realpath(checkpoint_dir(run_dir))
        if own not in (os.path.realpath(folder), os.path.realpath(os.path.join(run_dir, folder))):
            names = [os.path.basename(prefix) for prefix in prefixes.values()]
            raise RunDirectoryError(
                f"resume_from {text!r} (--resume-from) is not a checkpoint of the run {run_dir!r}: it lies in "
                f"{folder!r}, not in {checkpoint_dir(run_dir)!r}. A run resumes from its own checkpoints only "
                f"(resume that run with its own --out). Its checkpoints: {names or 'none'}")
    if number not in prefixes:
        names = [os.path.basename(prefix) for prefix in prefixes.values()]
        raise RunDirectoryError(f"{run_dir!r} has no checkpoint {name!r}. Its checkpoints: {names or 'none'}")
    return prefixes[number]


def load_run_config(run_dir, require_checkpoint=True):
    """The `config.json` of a run directory.

    Raises:
        RunDirectoryError: when `run_dir` does not exist, has no readable
            `config.json`, or (with `require_checkpoint`) no checkpoint.
    """
    if os.path.isfile(run_dir):
        raise RunDirectoryError(f"{run_dir!r} is a file, not a run folder: pass the --out folder of a `tfgen train` "
                                f"run.")
    if not os.path.isdir(run_dir):
        raise RunDirectoryError(f"Run directory {run_dir!r} does not exist or is not a folder.")
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise RunDirectoryError(
            f"{run_dir!r} is not a tfgen run directory: it has no {CONFIG_FILE}. "
            f"Pass the --out folder of a `tfgen train` run."
        )
    try:
        config = read_json(path, expect=dict)
    except ValueError as error:  # names the file and what is wrong with it
        raise RunDirectoryError(str(error)) from error
    except OSError as error:
        raise RunDirectoryError(f"Cannot read {path!r}: {error}") from error
    if not isinstance(config, dict) or "model" not in config or "model_config" not in config:
        raise RunDirectoryError(f"{path!r} is not a tfgen run configuration (no 'model' / 'model_config').")
    if require_checkpoint and latest_checkpoint(run_dir) is None:
        raise RunDirectoryError(f"Run directory {run_dir!r} has no checkpoint in {checkpoint_dir(run_dir)!r}.")
    return config


def check_run_dir_paths(run_dir, argument="run_dir"):
    """Raises `RunDirectoryError` (a ValueError) when `run_dir`, a folder above it or its `checkpoints` is a file."""
    existing = _existing_ancestor(os.path.abspath(run_dir))
    if existing and not os.path.isdir(existing):
        raise RunDirectoryError(f"{argument} {str(run_dir)!r} cannot be a run folder: {existing!r} is a file.")
    folder = checkpoint_dir(run_dir)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise RunDirectoryError(f"{folder!r} is a file, not the run's checkpoints folder; move it away or choose "
                                f"another run folder. Nothing was changed.")


def stopped_before_first_checkpoint(run_dir):
    """True when `run_dir` holds a run that ended (killed, refused by a full disk, diverged) before its first
    checkpoint: a folder with tfgen's start of a run (its config.json, its lock file, the temporary file of a
    config being written) but no checkpoint. Nothing of it can be resumed; it can be started again. A folder
    without the run's config.json must hold nothing else (the files of a user's are a new run's, `--force`)."""
    if not os.path.isdir(run_dir) or checkpoint_prefixes(run_dir):
        return False
    entries = os.listdir(run_dir)
    if CONFIG_FILE in entries:
        return True
    return bool(entries) and all(is_run_entry(entry) for entry in entries) and (
        LOCK_FILE in entries or any(entry.startswith(TEMPORARY_PREFIX) for entry in entries))


def check_run_dir(run_dir, resume, argument="run_dir"):
    """Checks that `run_dir` fits the request before any work starts.

    With `resume`, it must be a run directory with a checkpoint: its config
    is returned; or a run stopped before its first checkpoint
    (`stopped_before_first_checkpoint`): None is returned, and the run starts
    again from step 0. Without, it must not hold a run already (nothing is
    ever overwritten): None is returned.
    """
    check_run_dir_paths(run_dir, argument)
    if resume:
        if stopped_before_first_checkpoint(run_dir):
            return None
        return load_run_config(run_dir, require_checkpoint=True)
    if stopped_before_first_checkpoint(run_dir) and os.path.exists(os.path.join(run_dir, CONFIG_FILE)):
        raise RunDirectoryError(
            f"{run_dir!r} holds a run that stopped before its first checkpoint; pass resume=True (--resume) to "
            f"start it again from step 0, or choose another folder. Nothing was changed."
        )
    if latest_checkpoint(run_dir) is not None or os.path.exists(os.path.join(run_dir, CONFIG_FILE)):
        raise RunDirectoryError(
            f"{run_dir!r} already holds a training run; pass resume=True (--resume) to continue it, "
            f"or choose another folder. Nothing was changed."
        )
    return None
