"""Child process that makes the checks of several conformance children, one after another: one TensorFlow
start (~5 s of CPU) and one trace of the training loop's shared code instead of one each.

Usage: child_batch.py SUMMARY SPEC

SPEC is a JSON file: [[script, report, [arguments...]], ...]. Each script (a
child_*.py of this folder that needs no environment of its own) is imported
and its `main(report, *arguments)` called; a `main` may return a function to
call once every check has run (child_image_shapes.py: the wait for its
TensorFlow-only child, which meanwhile runs beside the next checks). A check
that raises leaves its report unwritten (its tests fail with this process's
log, which holds the traceback); the next ones still run. SUMMARY gets
{script: null, or the traceback}.
"""

import importlib
import json
import os
import sys
import traceback


def main(summary_path, spec_path):
    with open(spec_path) as stream:
        spec = json.load(stream)
    summary, finishers = {}, []
    for script, report, arguments in spec:
        try:
            finish = importlib.import_module(os.path.splitext(script)[0]).main(report, *arguments)
            if finish is not None:
                finishers.append((script, finish))
            summary[script] = None
        except Exception:  # noqa: BLE001 - in the log, for the tests of that check
            summary[script] = traceback.format_exc()
            print(f"{script} failed:\n{summary[script]}", file=sys.stderr, flush=True)
    for script, finish in finishers:
        try:
            finish()
        except Exception:  # noqa: BLE001
            summary[script] = traceback.format_exc()
            print(f"{script} failed:\n{summary[script]}", file=sys.stderr, flush=True)
    with open(summary_path, "w") as stream:
        json.dump(summary, stream)


if __name__ == "__main__":
    main(*sys.argv[1:3])
