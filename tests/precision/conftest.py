"""Starts the child process that makes the runs of tests/precision (every model in mixed bfloat16, one of each
family under XLA, two in mixed float16) when the session starts, for the models whose tests are selected, so
that it runs beside the in-process tests. The child is the one of test_distribute.py too (both need two
logical CPUs: conformance/support.py `start_two_cpu_child`)."""

from conformance.support import TWO_CPUS, start_two_cpu_child, stop_two_cpu_child

#: The view of the child's precision report ("child"; absent when no test needs it).
STATE = {}


def pytest_collection_finish(session):
    if start_two_cpu_child(session) is not None:
        STATE["child"] = TWO_CPUS["precision"]


def pytest_sessionfinish(session):
    STATE.clear()
    stop_two_cpu_child()
