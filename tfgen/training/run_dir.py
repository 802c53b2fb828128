"""The files of a training run: `config.json`, `history.json`, `checkpoints/`,
`tensorboard/`, `plots/`. Every JSON file is written atomically (a temporary
file, then a rename), so a crash never leaves one half-written."""

import json
import os
import shlex
import sys
import tempfile

import tensorflow as tf

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.json"
CHECKPOINT_DIR = "checkpoints"


class RunDirectoryError(ValueError):
    """A path that should be a tfgen run directory is not one, or does not fit the request."""


def write_atomic(path, write, suffix=""):
    """Calls `write(temporary_path)` on a file beside `path`, then renames it to `path`.

    A crash leaves either the old file or the new one there, never half a
    file. The folder is created when missing; `suffix` keeps the extension
    for writers that read it (matplotlib).
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path


def write_json_atomic(path, value):
    """Writes `value` as JSON to `path` through a temporary file and a rename."""

    def write(temporary):
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(value, stream, indent=2, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())

    return write_atomic(path, write, suffix=".json")


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


def read_json(path):
    with open(path, encoding="utf-8") as stream:
        return json.load(stream)


def checkpoint_dir(run_dir):
    return os.path.join(run_dir, CHECKPOINT_DIR)


def latest_checkpoint(run_dir):
    """The newest checkpoint prefix in `run_dir`, or None."""
    folder = checkpoint_dir(run_dir)
    return tf.train.latest_checkpoint(folder) if os.path.isdir(folder) else None


def load_run_config(run_dir, require_checkpoint=True):
    """The `config.json` of a run directory.

    Raises:
        RunDirectoryError: when `run_dir` does not exist, has no readable
            `config.json`, or (with `require_checkpoint`) no checkpoint.
    """
    if not os.path.isdir(run_dir):
        raise RunDirectoryError(f"Run directory {run_dir!r} does not exist or is not a folder.")
    path = os.path.join(run_dir, CONFIG_FILE)
    if not os.path.isfile(path):
        raise RunDirectoryError(
            f"{run_dir!r} is not a tfgen run directory: it has no {CONFIG_FILE}. "
            f"Pass the --out folder of a `tfgen train` run."
        )
    try:
        config = read_json(path)
    except (OSError, ValueError) as error:
        raise RunDirectoryError(f"Cannot read {path!r}: {error}") from error
    if not isinstance(config, dict) or "model" not in config or "model_config" not in config:
        raise RunDirectoryError(f"{path!r} is not a tfgen run configuration (no 'model' / 'model_config').")
    if require_checkpoint and latest_checkpoint(run_dir) is None:
        raise RunDirectoryError(f"Run directory {run_dir!r} has no checkpoint in {checkpoint_dir(run_dir)!r}.")
    return config


def check_run_dir(run_dir, resume):
    """Checks that `run_dir` fits the request before any work starts.

    With `resume`, it must be a run directory with a checkpoint: its config
    is returned. Without, it must not hold a run already (nothing is ever
    overwritten): None is returned.
    """
    if resume:
        return load_run_config(run_dir, require_checkpoint=True)
    if latest_checkpoint(run_dir) is not None or os.path.exists(os.path.join(run_dir, CONFIG_FILE)):
        raise RunDirectoryError(
            f"{run_dir!r} already holds a training run; pass resume=True (--resume) to continue it, "
            f"or choose another folder. Nothing was changed."
        )
    return None
