"""Where the test suite's CPU goes: per test file (in process) and per child process, as a markdown table.

The suite's wall time on a shared machine is noise; its CPU seconds (user +
sys) are what a 2-core CI machine has to pay. This script runs pytest with
itself loaded as a plugin (`-p suite_cpu`), which records:

* in process: the CPU of the pytest process during each test (fixtures
  included), summed per test file, plus the start (TensorFlow and tfgen
  imports, collection, the background work's set-up) and the end;
* every child process the pytest process starts (conformance and precision
  children, example workers, multi-worker jobs, CLI runs, subprocesses of
  tests): its exact rusage when it is reaped (`os.wait4`; a child's own
  children are included in it), labelled by its script and arguments;
* per model in the children that report through tests/child_report.py, and
  per job in the example workers: CPU seconds (the `SUITE_CPU_DIR` hook).

Usage:
    python benchmarks/suite_cpu.py run RECORD.json [pytest arguments...]
    python benchmarks/suite_cpu.py table RECORD.json [BEFORE.json] [--tests N]

`run` runs the suite (the environment is passed on: PYTHONPATH, the data
folders) and prints the table; `table` prints the table of a record, with a
"before" column when a second record is given. Example, from the repo root:

    PYTHONPATH=$PWD TFGEN_DATA_DIR=../shared/data TFDS_DATA_DIR=../tfds nice \\
        python benchmarks/suite_cpu.py run /tmp/suite.json -q
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD_ENV = "SUITE_CPU_RECORD"
#: Where children that know the hook (tests/child_report.py, tests/example_worker.py) write per-model lines.
MODELS_ENV = "SUITE_CPU_DIR"


def _cpu(usage):
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- the pytest plugin (loaded by `run`)

_STATE = {"test": "(start)", "files": {}, "tests": {}, "children": {}, "reaped": [], "phases": {}}


def _recording_waitpid(pid, options):
    """os.waitpid that also keeps the reaped child's rusage (os.wait4 gives it)."""
    reaped, status, usage = os.wait4(pid, options)
    if reaped:
        started = _STATE["children"].pop(reaped, None)
        if started is not None:
            _STATE["reaped"].append({**started, "user": usage.ru_utime, "sys": usage.ru_stime,
                                     "wall": time.monotonic() - started["t0"]})
    return reaped, status


def _install_hooks():
    import subprocess as sp

    original_init = sp.Popen.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        command = args[0] if args else kwargs.get("args")
        command = [command] if isinstance(command, (str, bytes)) else list(command)
        _STATE["children"][self.pid] = {"argv": [str(part) for part in command], "started_by": _STATE["test"],
                                        "t0": time.monotonic()}

    sp.Popen.__init__ = init
    os.waitpid = _recording_waitpid  # Popen._try_wait looks it up on `os` at each call
    # Popen._internal_poll (poll()) bound os.waitpid as a default argument when subprocess was imported.
    poll = sp.Popen._internal_poll
    defaults = list(poll.__defaults__)
    names = poll.__code__.co_varnames[1:1 + poll.__code__.co_argcount - 1]
    defaults[list(names[-len(defaults):]).index("_waitpid")] = _recording_waitpid
    poll.__defaults__ = tuple(defaults)


def pytest_configure(config):
    if os.environ.get(RECORD_ENV):
        _install_hooks()


def pytest_collection_finish(session):
    _STATE["phases"]["start: imports and collection"] = _cpu(resource.getrusage(resource.RUSAGE_SELF))


def pytest_sessionstart(session):
    _STATE["t0"] = time.monotonic()


def _hookwrapper(function):
    import pytest

    return pytest.hookimpl(hookwrapper=True)(function)


def pytest_runtest_protocol(item, nextitem):
    before = _cpu(resource.getrusage(resource.RUSAGE_SELF))
    wall = time.monotonic()
    if "start: background set-up" not in _STATE["phases"]:  # the other plugins' collection_finish hooks ran
        _STATE["phases"]["start: background set-up"] = before - _STATE["phases"]["start: imports and collection"]
    _STATE["test"] = item.nodeid
    yield
    spent = _cpu(resource.getrusage(resource.RUSAGE_SELF)) - before
    module = item.nodeid.split("::")[0]
    entry = _STATE["files"].setdefault(module, {"cpu": 0.0, "wall": 0.0, "tests": 0})
    entry["cpu"] += spent
    entry["wall"] += time.monotonic() - wall
    entry["tests"] += 1
    _STATE["tests"][item.nodeid] = spent
    _STATE["test"] = "(end)"


pytest_runtest_protocol = _hookwrapper(pytest_runtest_protocol)


def _example_jobs():
    """{job: CPU seconds} of the example workers' jobs (their status files, before conftest removes them)."""
    background = sys.modules.get("background")
    runs = getattr(background, "BACKGROUND", {}).get("examples") if background else None
    jobs = {}
    for name, (job, _) in getattr(runs, "jobs", {}).items():
        try:
            with open(job["status"]) as stream:
                jobs[name] = json.load(stream).get("cpu_s")
        except (OSError, ValueError):
            pass
    return jobs


def _sessionfinish(session):
    _STATE["example_jobs"] = _example_jobs()
    _STATE["end_before_cleanup"] = _cpu(resource.getrusage(resource.RUSAGE_SELF))
    yield


pytest_sessionfinish = _hookwrapper(_sessionfinish)


def pytest_unconfigure(config):
    path = os.environ.get(RECORD_ENV)
    if not path:
        return
    own = _cpu(resource.getrusage(resource.RUSAGE_SELF))
    spent = sum(entry["cpu"] for entry in _STATE["files"].values()) + sum(_STATE["phases"].values())
    _STATE["phases"]["end: session finish, clean-up"] = own - spent
    models = []
    folder = os.environ.get(MODELS_ENV)
    if folder and os.path.isdir(folder):
        for entry in sorted(os.listdir(folder)):
            with open(os.path.join(folder, entry)) as stream:
                models += [json.loads(line) for line in stream if line.strip()]
    record = {"in_process": _STATE["files"], "tests": _STATE["tests"], "phases": _STATE["phases"],
              "children": _STATE["reaped"],
              "unreaped": [child["argv"] for child in _STATE["children"].values()],
              "models": models, "example_jobs": _STATE.get("example_jobs", {}),
              "pytest_self": own, "children_total": _cpu(resource.getrusage(resource.RUSAGE_CHILDREN)),
              "wall": time.monotonic() - _STATE.get("t0", time.monotonic())}
    with open(path, "w") as stream:
        json.dump(record, stream, indent=1)


# ---------------------------------------------------------------- labels and the table


def child_label(argv):
    """A short name for a child process: its script (and mode), or the CLI command."""
    parts = [part for part in argv if not part.endswith(("/nice", "nice")) and part != "-n" and part != "10"]
    for index, part in enumerate(parts):
        if part.endswith(".py"):
            # From the checkout's root (any checkout's: records of two trees compare row by row).
            script = part[part.rindex("tests/"):] if "tests/" in part else os.path.basename(part)
            if script.endswith("child_multiworker.py") and len(parts) > index + 2:
                return f"{script} {parts[index + 2]}"
            return script
        if part == "-m" and index + 1 < len(parts):
            return " ".join(parts[index + 1:index + 4])
        if part == "-c":
            return "python -c (" + " ".join(parts[index + 1][:60].split()) + "...)"
    return " ".join(parts)[:80]


def _group(label):
    """The table's row of a child: children of one kind together (the CLI runs, the multi-worker jobs)."""
    if label.startswith("tfgen.cli "):
        return "CLI runs (tfgen.cli, test_run_safety SIGKILL runs)"
    if "child_multiworker.py" in label:
        return "multi-worker jobs (tests/child_multiworker.py)"
    if "example_worker.py" in label:
        return "example workers (tests/example_worker.py)"
    return label


def summarize(record):
    """[(section, row, CPU seconds, count)] of a record."""
    rows = [("in process", name, value, None) for name, value in record["phases"].items()]
    rows += [("in process", name, entry["cpu"], entry["tests"]) for name, entry in record["in_process"].items()]
    groups = {}
    for child in record["children"]:
        key = _group(child_label(child["argv"]))
        cpu, count = groups.get(key, (0.0, 0))
        groups[key] = (cpu + child["user"] + child["sys"], count + 1)
    rows += [("children", name, cpu, count) for name, (cpu, count) in groups.items()]
    return rows


def _totals(record):
    in_process = record["pytest_self"]
    children = sum(child["user"] + child["sys"] for child in record["children"])
    return in_process, children


def table(record, before=None, tests=0):
    lines = []
    now = {(section, name): (cpu, count) for section, name, cpu, count in summarize(record)}
    old = {(section, name): (cpu, count) for section, name, cpu, count in summarize(before)} if before else {}
    keys = sorted(set(now) | set(old), key=lambda key: (key[0] != "in process", -max(now.get(key, (0,))[0],
                                                                                        old.get(key, (0,))[0])))
    header = "| where | what | n | CPU s |" + (" before s | saved s |" if before else "")
    lines += [header, "|" + "---|" * (header.count("|") - 1)]
    for key in keys:
        cpu, count = now.get(key, (0.0, None))
        row = f"| {key[0]} | {key[1]} | {'' if count is None else count} | {cpu:.1f} |"
        if before:
            previous = old.get(key, (0.0, None))[0]
            row += f" {previous:.1f} | {previous - cpu:+.1f} |"
        lines.append(row)
    in_process, children = _totals(record)
    summary = [("in process (pytest)", in_process), ("children", children), ("total", in_process + children)]
    for name, value in summary:
        row = f"| **{name}** | | | **{value:.1f}** |"
        if before:
            previous = dict(zip(("in process (pytest)", "children", "total"),
                                (_totals(before)[0], _totals(before)[1], sum(_totals(before)))))[name]
            row += f" **{previous:.1f}** | **{previous - value:+.1f}** |"
        lines.append(row)
    lines.append("")
    if "whole_tree" in record:
        lines.append(f"the whole process tree (pytest and every child, exits included): {record['whole_tree']:.1f} s CPU"
                     + (f" (before: {before['whole_tree']:.1f} s)" if before and "whole_tree" in before else "")
                     + f"; pytest exit status {record.get('pytest_exit')}")
    lines.append(f"wall {record['wall']:.0f} s; children's rusage total (RUSAGE_CHILDREN) "
                 f"{record['children_total']:.1f} s; children never reaped: {len(record['unreaped'])}")
    if record.get("example_jobs"):
        jobs = sorted(record["example_jobs"].items(), key=lambda item: -(item[1] or 0))
        lines.append("")
        lines.append("example jobs (CPU s): " + ", ".join(f"{name} {cpu:.1f}" for name, cpu in jobs if cpu is not None))
    if record.get("models"):
        lines.append("")
        per = {}
        for entry in record["models"]:
            key = f"{entry['script']}:{entry['kind'] or '-'}"
            per.setdefault(key, []).append(f"{entry['name']} {entry['cpu']:.1f}")
        for key, values in sorted(per.items()):
            lines.append(f"{key}: " + ", ".join(values))
    if tests:
        lines += ["", f"| slowest in-process tests (CPU s, top {tests}) | CPU s |", "|---|---|"]
        for nodeid, cpu in sorted(record["tests"].items(), key=lambda item: -item[1])[:tests]:
            lines.append(f"| {nodeid} | {cpu:.1f} |")
    return "\n".join(lines)


def main(argv):
    if len(argv) < 2 or argv[0] not in ("run", "table"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "table":
        arguments = list(argv[1:])
        tests = 0
        if "--tests" in arguments:
            index = arguments.index("--tests")
            tests = int(arguments[index + 1])
            del arguments[index:index + 2]
        records = []
        for path in arguments:
            with open(path) as stream:
                records.append(json.load(stream))
        print(table(records[0], records[1] if len(records) > 1 else None, tests=tests))
        return 0
    record_path = os.path.abspath(argv[1])
    models = tempfile.mkdtemp(prefix="suite-cpu-models-")
    env = {**os.environ, RECORD_ENV: record_path, MODELS_ENV: models,
           "PYTHONPATH": os.pathsep.join(filter(None, [HERE, os.environ.get("PYTHONPATH")]))}
    # On a shared machine the children (started with `nice`) may wait long for a core: longer deadlines, so that
    # a slow run is measured instead of killed (tests/background.py).
    env.setdefault("TFGEN_TEST_TIMEOUT_SCALE", "4")
    start = time.monotonic()
    status = subprocess.call([sys.executable, "-m", "pytest", "-p", "suite_cpu", *argv[2:]], env=env,
                             cwd=os.path.dirname(HERE))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(record_path) as stream:
        record = json.load(stream)
    record["pytest_exit"] = status
    record["whole_tree"] = _cpu(usage)
    record["whole_wall"] = time.monotonic() - start
    with open(record_path, "w") as stream:
        json.dump(record, stream, indent=1)
    print(table(record, tests=15))
    print(f"\npytest exit {status}; the whole process tree: {_cpu(usage):.1f} s CPU "
          f"(user {usage.ru_utime:.1f}, sys {usage.ru_stime:.1f}), {record['whole_wall']:.0f} s wall")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
