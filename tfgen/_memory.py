"""The one home of the memory arithmetic: how much memory this machine has, and whether a request fits in it.

Every size a user gives that decides how much memory a piece of work
needs (`--image-size`, `--batch-size`, `--samples` of `tfgen evaluate`, ...)
is checked here before the work starts (`check_fits`): a request that does
not fit is one `ValueError` that says how much it needs, how much there is,
the most that would fit and which flag to lower, instead of a process that
runs out of memory, or crashes below Python, minutes later.

The memory available is the system's own count of it (psutil's
`virtual_memory().available` when psutil is installed, else the available
physical pages, `os.sysconf`), or `TFGEN_MEMORY_BYTES` when that is set (a
container whose limit the system does not report, or a test).
"""

import os

#: Overrides the memory available to tfgen's checks, in bytes (e.g. a container's limit).
MEMORY_ENV = "TFGEN_MEMORY_BYTES"
#: Where the system reports nothing: what is assumed available.
FALLBACK_BYTES = 4 * 1024**3
_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def _environment_bytes():
    text = os.environ.get(MEMORY_ENV, "").strip()
    if not text:
        return None
    try:
        value = int(float(text))
    except (ValueError, OverflowError):
        raise ValueError(f"{MEMORY_ENV} must be a number of bytes. Received: {text!r}") from None
    if value <= 0:
        raise ValueError(f"{MEMORY_ENV} must be a positive number of bytes. Received: {text!r}")
    return value


def available_bytes():
    """The memory this process can still use, in bytes (module docstring)."""
    value = _environment_bytes()
    if value is not None:
        return value
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except Exception:  # noqa: BLE001 - not installed, or no answer on this system: ask the system itself
        pass
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return FALLBACK_BYTES


def total_bytes():
    """The machine's physical memory in bytes (`TFGEN_MEMORY_BYTES` when set), or None when unknown."""
    value = _environment_bytes()
    if value is not None:
        return value
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(count):
    """`count` bytes in words: "512 bytes", "18 GiB", "3.7 TiB"."""
    value, unit = float(count), 0
    while value >= 1024 and unit < len(_UNITS) - 1:
        value, unit = value / 1024, unit + 1
    if unit == 0:
        return f"{int(count)} bytes"
    return f"{value:.2g} {_UNITS[unit]}" if value < 10 else f"{value:.0f} {_UNITS[unit]}"


def check_fits(what, count, bytes_each, *, per="", lower, fixed=0, available=None):
    """Refuses, before any work, `count` items of `bytes_each` bytes (plus `fixed`) that do not fit in memory.

    Args:
        what: the request as the user gave it, e.g. "--samples 1000000000".
        count: how many items the work holds at once (images, rows, ...).
        bytes_each: the bytes of one item.
        per: what the amount is per, e.g. " per batch of 100 images".
        lower: what the user can lower, e.g. "--samples or --batch-size".
        fixed: bytes needed whatever the count.
        available: the bytes available (default: `available_bytes()`).

    Raises:
        ValueError: e.g. "--samples 1000000000 needs about 2.9 TiB; at most
            6,000,000 fit in 18 GiB of available memory: lower --samples".
    """
    count, bytes_each = int(count), int(bytes_each)
    available = available_bytes() if available is None else int(available)
    needed = count * bytes_each + int(fixed)
    if needed <= available:
        return needed
    most = max(0, (available - int(fixed)) // max(bytes_each, 1))
    raise ValueError(f"{what} needs about {format_bytes(needed)}{per}; at most {most:,} "
                     f"{'fits' if most == 1 else 'fit'} in {format_bytes(available)} of available memory: "
                     f"lower {lower}")
