"""The report of a test child process: one entry per model, its check's result or the traceback that stopped it.

Every child of the suite (tests/conformance/child_*.py, tests/precision/child_precision.py) checks several
models in one process and writes one JSON report; a model whose check raised is reported with its traceback,
so the test of that model fails naming it while the others still run.
"""

import json
import os
import resource
import sys
import traceback

#: When set (benchmarks/suite_cpu.py sets it), a folder where each check's CPU seconds are written.
_CPU_DIR = os.environ.get("SUITE_CPU_DIR")


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def check_each(report, names, check, kind=None):
    """Runs `check(name)` for each name of the comma-separated `names`, into `report[name]` (or
    `report[name][kind]`): its result, or {"error": traceback} when it raised."""
    for name in filter(None, names.split(",")):
        before = _cpu_seconds()
        try:
            result = check(name)
        except Exception:  # noqa: BLE001 - reported against the model
            result = {"error": traceback.format_exc()}
        if _CPU_DIR:
            with open(os.path.join(_CPU_DIR, f"{os.getpid()}.jsonl"), "a") as stream:
                stream.write(json.dumps({"script": os.path.basename(sys.argv[0]), "kind": kind, "name": name,
                                         "cpu": _cpu_seconds() - before}) + "\n")
        if kind is None:
            report[name] = result
        else:
            report.setdefault(name, {})[kind] = result
    return report


def write_report(path, report):
    with open(path, "w") as stream:
        json.dump(report, stream)
