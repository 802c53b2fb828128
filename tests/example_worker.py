"""Worker process of the example runs (tests/background.py `ExampleRuns`): runs jobs one after another.

Usage: example_worker.py QUEUE CLAIMED

Takes the next job file from QUEUE/pending (moving it into CLAIMED, an atomic
rename, so two workers never take the same job) until none is left. A job
{"name", "argv", "log", "status"} is either an example script, run as a user
runs `python examples/X.py --smoke --out DIR` (as `__main__`, with that
command line in sys.argv and the script's folder first on sys.path), or
`tfgen ...` (argv[0] == "tfgen": `tfgen.cli.main`). The job's stderr goes to
its "log" file; its exit status is written to its "status" file when it ends.
Between jobs Keras' global state is cleared and the figures closed: each job
starts from what a fresh process has, but for the imported modules.
"""

import json
import os
import resource
import runpy
import sys
import traceback


def run(job):
    argv = job["argv"]
    log = os.open(job["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    sys.stderr.flush()
    saved_stderr, saved_argv, saved_path = os.dup(2), sys.argv, list(sys.path)
    os.dup2(log, 2)
    sys.argv = list(argv)
    try:
        if argv[0] == "tfgen":
            from tfgen import cli

            returncode = cli.main(argv[1:])
        else:
            sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
            runpy.run_path(argv[0], run_name="__main__")
            returncode = 0
    except SystemExit as exit_:
        returncode = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        if exit_.code not in (None, 0) and not isinstance(exit_.code, int):
            print(exit_.code, file=sys.stderr)
    except BaseException:  # noqa: BLE001 - the job's failure, in its log
        traceback.print_exc()
        returncode = 1
    finally:
        sys.stderr.flush()
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(log)
        sys.argv, sys.path[:] = saved_argv, saved_path
    return returncode


def reset():
    """What one job leaves in the process that a fresh process would not have."""
    import keras
    import matplotlib.pyplot as plt

    plt.close("all")
    keras.backend.clear_session()


def main(queue, claimed):
    pending = os.path.join(queue, "pending")
    while True:
        for entry in sorted(os.listdir(pending)):
            try:
                os.rename(os.path.join(pending, entry), os.path.join(claimed, entry))
            except FileNotFoundError:  # the other worker took it
                continue
            os.utime(os.path.join(claimed, entry))  # when the job started (ExampleRuns' time limit)
            break
        else:
            return
        with open(os.path.join(claimed, entry)) as stream:
            job = json.load(stream)
        before = resource.getrusage(resource.RUSAGE_SELF)
        returncode = run(job)
        after = resource.getrusage(resource.RUSAGE_SELF)
        temporary = job["status"] + ".tmp"
        with open(temporary, "w") as stream:  # its CPU seconds: benchmarks/suite_cpu.py reads them
            json.dump({"returncode": returncode, "cpu_s": after.ru_utime + after.ru_stime - before.ru_utime
                       - before.ru_stime}, stream)
        os.replace(temporary, job["status"])
        reset()


if __name__ == "__main__":
    if sys.path and os.path.abspath(sys.path[0]) == os.path.dirname(os.path.abspath(__file__)):
        del sys.path[0]  # tests/ is not on a user's path when the scripts run
    main(*sys.argv[1:3])
