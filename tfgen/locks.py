"""One writer per folder: an advisory lock file that names its holder.

A run folder (`tfgen.training.Trainer.fit`) and an export name
(`saved_models/<name>`, `tfgen.export`) each have one writer at a time. The
writer holds an exclusive `flock` on `<folder>/.tfgen.lock` and writes its
process id, host, start time and command into it:

* a second writer gets `FolderLockedError` naming the holder, before it
  changes anything;
* the kernel releases the lock when its holder dies, however it dies
  (kill -9 included), so a lock file left by a killed process is stale: the
  next writer takes it over and warns with the dead holder's details;
* a clean release empties the file (it is never deleted: a process waiting on
  a deleted file would lock a file nobody else sees).

Where `fcntl` is missing (Windows) or the file system refuses `flock` (some
network file systems), the lock is the file's existence (created
exclusively) and a holder on this host whose process is gone is stale.
This module imports nothing from TensorFlow or tfgen.
"""

import datetime
import errno
import json
import os
import shlex
import socket
import sys
import time
import warnings

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

LOCK_FILE = ".tfgen.lock"
#: What `flock` fails with on file systems that do not support it.
_NO_FLOCK = tuple(getattr(errno, name) for name in ("ENOLCK", "EOPNOTSUPP", "ENOTSUP", "ENOSYS", "EINVAL")
                  if hasattr(errno, name))


class FolderLockedError(RuntimeError):
    """Another live process holds the folder's lock."""


def _describe(holder):
    if not holder:
        return "another process"
    text = f"pid {holder.get('pid')} on host {holder.get('host')!r}"
    if holder.get("started"):
        text += f" since {holder['started']}"
    if holder.get("command"):
        text += f" ({holder['command']})"
    return text


def _parse(text):
    try:
        holder = json.loads(text) if text.strip() else None
    except ValueError:
        return {"pid": "?", "host": "?"}
    return holder if isinstance(holder, dict) else None


def _pid_alive(pid):
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError, TypeError, OverflowError):
        return True  # someone else's process, or unknown: assume alive
    return True


class FolderLock:
    """An exclusive lock on `folder` (a context manager).

    Args:
        folder: the folder to lock (created when missing).
        what: how messages name the folder ("run folder", "export name").
        wait: seconds to wait for a live holder to finish before refusing
            (0: refuse at once).
    """

    def __init__(self, folder, what="folder", wait=0.0):
        self.folder = folder
        self.what = what
        self.wait = float(wait)
        self.path = os.path.join(folder, LOCK_FILE)
        self._fd = None
        self._flock = fcntl is not None
        #: The previous holder's record when its lock was taken over as stale, else None.
        self.took_over = None

    @property
    def held(self):
        return self._fd is not None

    def _record(self):
        return {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": shlex.join([os.path.basename(sys.argv[0] or "python"), *sys.argv[1:]]) if sys.argv else "",
        }

    def _refuse(self, holder):
        return FolderLockedError(
            f"The {self.what} {self.folder!r} is in use by {_describe(holder)}. "
            f"Wait for it to finish or stop it; nothing was changed."
        )

    def acquire(self):
        """Takes the lock, or raises `FolderLockedError` naming the live holder."""
        if self.held:
            raise RuntimeError(f"The lock of {self.folder!r} is already held by this object.")
        os.makedirs(self.folder, exist_ok=True)
        self._flock = fcntl is not None
        if not self._flock:  # pragma: no cover - Windows
            return self._acquire_exclusive_file()
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as error:
                if error.errno in _NO_FLOCK:  # a file system without flock: the exclusive file instead
                    os.close(fd)
                    warnings.warn(f"{self.folder!r} is on a file system without flock ({error.strerror}); "
                                  f"its lock is an exclusive file instead.", RuntimeWarning, stacklevel=2)
                    self._flock = False
                    return self._acquire_exclusive_file()
                if error.errno not in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                    os.close(fd)
                    raise
                if time.monotonic() >= deadline:
                    holder = _parse(os.pread(fd, 65536, 0).decode("utf-8", "replace"))
                    os.close(fd)
                    raise self._refuse(holder) from None
                time.sleep(0.05)
        previous = _parse(os.pread(fd, 65536, 0).decode("utf-8", "replace"))
        self._fd = fd
        self._write(self._record())
        if previous:
            self._stale(previous)
        return self

    def _stale(self, previous):
        self.took_over = previous
        warnings.warn(
            f"Took over the stale lock of the {self.what} {self.folder!r} left by {_describe(previous)}, "
            f"which is no longer running.",
            RuntimeWarning,
            stacklevel=3,
        )

    def _write(self, record):
        data = json.dumps(record, sort_keys=True).encode("utf-8")
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, data, 0)
        os.fsync(self._fd)

    def _acquire_exclusive_file(self):
        """The lock as the file's existence: written whole beside it, then hard-linked into place (atomic,
        and it fails when the file exists), so nobody ever reads a half-written lock file."""
        deadline = time.monotonic() + self.wait
        record = json.dumps(self._record(), sort_keys=True)
        while True:
            temporary = f"{self.path}.{os.getpid()}.{time.monotonic_ns()}"
            with open(temporary, "w", encoding="utf-8") as stream:
                stream.write(record)
            try:
                os.link(temporary, self.path)
                self._fd = os.open(self.path, os.O_RDONLY)
                return self
            except FileExistsError:
                pass
            finally:
                os.remove(temporary)
            try:
                with open(self.path, encoding="utf-8", errors="replace") as stream:
                    holder = _parse(stream.read())
            except FileNotFoundError:
                continue  # released meanwhile
            same_host = holder and holder.get("host") == socket.gethostname()
            if not holder or (same_host and not _pid_alive(holder.get("pid"))):
                try:
                    os.remove(self.path)
                except FileNotFoundError:
                    pass
                if holder:
                    self._stale(holder)
                continue
            if time.monotonic() >= deadline:
                raise self._refuse(holder) from None
            time.sleep(0.05)

    def release(self):
        """Empties the lock file and releases the lock (idempotent)."""
        if not self.held:
            return
        fd, self._fd = self._fd, None
        if not self._flock:
            os.close(fd)
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass
            return
        try:
            try:
                os.ftruncate(fd, 0)
            except OSError:
                pass  # a read-only or full disk: the kernel still releases the lock below
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info):
        self.release()

    def __del__(self):
        if self._fd is not None and sys is not None:
            try:
                self.release()
            except Exception:  # noqa: BLE001 - interpreter shutdown
                pass


def holder(folder):
    """The record of the live holder of `folder`'s lock, or None when nobody holds it."""
    path = os.path.join(folder, LOCK_FILE)
    if not os.path.isfile(path):
        return None
    if fcntl is None:  # pragma: no cover - Windows
        with open(path, encoding="utf-8", errors="replace") as stream:
            return _parse(stream.read())
    fd = os.open(path, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _parse(os.pread(fd, 65536, 0).decode("utf-8", "replace")) or {}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
