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
#: The suffix Keras requires of a weights file (`model.save_weights`): the sample classifier's.
WEIGHTS_SUFFIX = ".weights.h5"
#: The names of tfgen's temporary files and folders (renamed into place when whole).
TEMPORARY_PREFIX = ".tmp-"
#: The first bytes of the binary formats tfgen reads and writes, by extension: a file holds the format its
#: extension names (`holds_format`).
SIGNATURES = {".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",), ".jpeg": (b"\xff\xd8\xff",),
              ".gif": (b"GIF87a", b"GIF89a"), ".bmp": (b"BM",), ".h5": (b"\x89HDF\r\n\x1a\n",)}


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
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=TEMPORARY_PREFIX, suffix=suffix)
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


def extension(path):
    """The extension of `path` in lower case (".png"; ".h5" for "a.weights.h5"; "" without one)."""
    return os.path.splitext(os.fspath(path))[1].lower()


def holds_format(path, extensions):
    """Whether the file at `path` starts with the signature of one of `extensions` (keys of `SIGNATURES`)."""
    try:
        with open(path, "rb") as stream:
            head = stream.read(16)
    except OSError:
        return False
    return any(head.startswith(signature) for name in extensions for signature in SIGNATURES[name])


def content_problem(path):
    """None when the file at `path` holds what its extension names (`SIGNATURES`; other extensions are not
    looked at), else what it holds instead, in words ("it is empty", "it holds text", ...)."""
    expected = extension(path)
    if expected not in SIGNATURES or holds_format(path, (expected,)):
        return None
    try:
        with open(path, "rb") as stream:
            head = stream.read(512)
    except OSError as error:
        return f"it cannot be read ({error.strerror or error})"
    if not head:
        return "it is empty (0 bytes)"
    found = next((name for name, signatures in SIGNATURES.items() if any(head.startswith(s) for s in signatures)), None)
    if found is not None:
        return f"it holds {found[1:].upper()} data, not {expected[1:].upper()}"
    try:
        head.decode("utf-8")
        return "it holds text"
    except UnicodeDecodeError:
        return f"its bytes are not {expected[1:].upper()}"


def check_file_format(path, suffixes, argument="path", must_exist=False):
    """`path` if it names a file of one of the formats `suffixes` (e.g. (".weights.h5",); any case) and, when the
    file exists, holds that format (`content_problem`); a ValueError naming `argument` otherwise (a file is
    written and read in the format its extension names). `must_exist`: a missing file is a FileNotFoundError."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path):
        raise ValueError(f"{argument} must be a file path. Received: {argument}={path!r}")
    text = os.fspath(path)
    matched = next((suffix for suffix in suffixes if text.lower().endswith(suffix.lower())), None)
    if matched is None:
        raise ValueError(f"{argument} must name a {' or '.join(suffixes)} file (the format follows the extension). "
                         f"Received: {argument}={text!r}")
    if os.path.isdir(text):
        raise IsADirectoryError(f"{argument} {text!r} is a folder, not a {' or '.join(suffixes)} file.")
    if not os.path.exists(text):
        if must_exist:
            raise FileNotFoundError(f"{argument}: no file at {text!r}.")
        return path
    problem = content_problem(text)
    if problem is not None:
        raise ValueError(f"{argument} {text!r} is not a {matched} file: {problem}.")
    return path


def listed(names, limit=5):
    """Up to `limit` of `names`, quoted, then "and N more": for messages that name a few of many."""
    names = list(names)
    shown = ", ".join(repr(name) for name in names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def foreign_entries(folder, own):
    """The sorted names in `folder` that `own(name)` does not claim as tfgen's ([] when there is no such folder);
    a folder's name ends in "/"."""
    if not os.path.isdir(folder):
        return []
    return sorted(name + ("/" if os.path.isdir(os.path.join(folder, name)) else "")
                  for name in os.listdir(folder) if not own(name))


def check_replaceable(path, ours, what, *, force=False, argument="out"):
    """Refuses (`FileExistsError`) to write over an existing file at `path` that `ours(path)` does not take for an
    earlier output of tfgen (`what` names that output: "a PNG or JPEG image"), unless `force`."""
    if force or not os.path.isfile(path) or ours(path):
        return path
    raise FileExistsError(f"{argument} {os.fspath(path)!r} exists and is not {what}: tfgen replaces only its own "
                          f"earlier output. Name another file, or pass force=True (--force) to replace it.")


def read_json_file(path, what="file", expect=None, parse_constant=None):
    """The JSON value in the file at `path`; a ValueError naming `what` and `path` for a file that is not JSON
    (empty, binary, YAML, cut short) or (with `expect`, a type) not a JSON value of that type. `parse_constant`:
    `json.loads`'s (called on NaN and Infinity, which JSON does not have)."""
    described = f"{what} {os.fspath(path)!r}"
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except UnicodeDecodeError:
        raise ValueError(f"The {described} is not a JSON file: its bytes are not text.") from None
    if not text.strip():
        raise ValueError(f"The {described} is empty: it must hold JSON.")
    try:
        value = json.loads(text, parse_constant=parse_constant)
    except json.JSONDecodeError as error:
        hint = " (YAML is not read: write the file as JSON)" if extension(path) in (".yaml", ".yml") else ""
        raise ValueError(f"The {described} is not valid JSON{hint}: {error.msg} at line {error.lineno}, "
                         f"column {error.colno}.") from None
    except ValueError as error:  # what `parse_constant` refuses
        raise ValueError(f"The {described} is not valid JSON: {error}.") from None
    if expect is not None and not isinstance(value, expect):
        names = {dict: "a JSON object", list: "a JSON list"}
        raise ValueError(f"The {described} must hold {names.get(expect, expect.__name__)}. Received: "
                         f"{_json_kind(value)}")
    return value


def _json_kind(value):
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")
