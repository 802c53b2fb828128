"""Files written whole or not at all: a temporary file beside the target, then a rename.

The one home of tfgen's atomic writes, on the package's lowest floor so that
every part can use it: the run folders (`tfgen.training.run_dir`, which
re-exports these names), the figures, the exports, the Inception feature
cache and the data's streaming cache. A crash leaves the old file or the new
one, never half of one; a written file gets the permissions of any file this
process creates (0666 less the umask).
"""

import json
import os
import shutil
import tempfile


def _umask():
    umask = os.umask(0)
    os.umask(umask)
    return umask


#: The permissions of the files a run writes: those of a plain `open(path, "w")` (and of TF's checkpoints).
FILE_MODE = 0o666 & ~_umask()
#: The permissions of the folders written through a temporary folder (exports): those of `os.makedirs`.
FOLDER_MODE = 0o777 & ~_umask()


def write_atomic(path, write, suffix=""):
    """Calls `write(temporary_path)` on a file beside `path`, then renames it to `path`.

    A crash leaves either the old file or the new one there, never half a
    file. The folder is created when missing; `suffix` keeps the extension
    for writers that read it (matplotlib).
    """
    check_output_file(path)
    folder = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(folder, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=suffix)
    except OSError as error:  # name the user's path, not the temporary one
        raise OSError(error.errno, f"Cannot write {path!r}: {error.strerror}") from None
    os.close(handle)
    try:
        write(temporary)
        os.chmod(temporary, FILE_MODE)  # mkstemp makes 0600 files
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.remove(temporary)
        raise
    return path


def check_output_file(path, argument="path"):
    """Raises a clear error when a file cannot be written at `path`: it names a folder, or a parent is a file."""
    if not isinstance(path, (str, os.PathLike)) or not str(path):
        raise ValueError(f"{argument} must be a file path. Received: {argument}={path!r}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"{argument} {str(path)!r} is a folder; name a file to write.")
    parent = _existing_ancestor(os.path.dirname(os.path.abspath(path)))
    if parent and not os.path.isdir(parent):
        raise NotADirectoryError(f"{argument} {str(path)!r} cannot be written: {parent!r} is a file, not a folder.")
    return path


def _existing_ancestor(path):
    """`path` or its nearest ancestor that exists ("" when none does)."""
    while path and not os.path.exists(path):
        parent = os.path.dirname(path)
        path = "" if parent == path else parent
    return path


def write_json_atomic(path, value):
    """Writes `value` as JSON to `path` through a temporary file and a rename."""

    def write(temporary):
        with open(temporary, "w", encoding="utf-8") as stream:
            json.dump(value, stream, indent=2, sort_keys=True)
            stream.flush()
            os.fsync(stream.fileno())

    return write_atomic(path, write, suffix=".json")


def marked_temporary_folder(parent, prefix, marker):
    """A new folder `parent/<prefix>XXXX` that holds an empty file named `marker`, tfgen's sign that the
    folder is its own temporary one: `remove_marked_temporaries` removes only folders that carry it, so a
    folder of the user's that happens to be named like one is never touched."""
    folder = tempfile.mkdtemp(dir=parent, prefix=prefix)
    try:
        open(os.path.join(folder, marker), "w").close()
    except BaseException:
        os.rmdir(folder)
        raise
    return folder


def remove_marked_temporaries(parent, prefix, marker):
    """Removes the folders `parent/<prefix>*` that carry `marker` (the leftovers of killed writers); the
    caller must be the only live writer of `parent` (it holds its lock). Returns the names removed."""
    removed = []
    if not os.path.isdir(parent):
        return removed
    for entry in sorted(os.listdir(parent)):
        path = os.path.join(parent, entry)
        if entry.startswith(prefix) and os.path.isfile(os.path.join(path, marker)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(entry)
    return removed
