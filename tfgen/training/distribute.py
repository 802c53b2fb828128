"""`tf.distribute` strategies by name, the checks of `TF_CONFIG`, and what each worker of a job does.

`make_strategy("multiworker")` makes a `tf.distribute.MultiWorkerMirroredStrategy`
from the `TF_CONFIG` environment variable (checked first: a missing or
malformed one is one clear `ValueError`). Such a strategy must be made when
the program starts, before TensorFlow runs any operation (it configures the
process's collective ops): `tfgen.runs.train(strategy="multiworker")` and
`tfgen train --strategy multiworker` make it first thing; a Python program
makes it at its start and passes it as `strategy=`.

In a multi-worker job:

* the data: each worker builds only its own part of every global batch
  (`distribute_batches`, `ImageDataset.batches(shard=...)`), so the global
  batches are exactly those of a single process;
* the chief (`is_chief`: task "chief", or worker 0 when there is none) is
  the one that writes the run folder; every worker takes part in every
  collective (steps, checkpoints: the others write theirs to a temporary
  folder and delete it) and reads the chief's checkpoints, so the run folder
  must be on a file system every worker sees;
* a value decided on the chief reaches the others with `broadcast_from_chief`;
* a worker that dies is noticed by TensorFlow's coordination service (its
  heartbeats stop, within about a minute) and every collective of the others
  then fails; a hung one by the collectives' timeout (`collective_timeout`,
  `--collective-timeout`, default `COLLECTIVE_TIMEOUT_S`). The trainer turns
  either into `WorkerLost`.

Before the strategy is made (TensorFlow's own wait for the other workers is
a C++ call that neither a timeout nor SIGINT/SIGTERM can end), each worker
prints one line, "waiting for N workers (TF_CONFIG) ...", listens on its own
port and waits until every other worker's port answers (`wait_for_workers`):
a Python loop that SIGINT and SIGTERM end at once, and that gives up after
`collective_timeout` seconds, naming the workers that never answered. A port
another program holds is refused first, in one line.
"""

import json
import os
import signal
import socket
import sys
import threading
import time

import numpy as np
import tensorflow as tf

# Re-exported: the choices and the timeout default of the options, declared with them.
from tfgen.config import COLLECTIVE_TIMEOUT_S, STRATEGIES  # noqa: E402,F401

TF_CONFIG = "TF_CONFIG"
#: The errors with which collectives fail when a worker is gone or cannot be reached.
COLLECTIVE_ERRORS = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError, tf.errors.AbortedError,
                     tf.errors.CancelledError)
_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}}')


class WorkerLost(RuntimeError):
    """A worker of a multi-worker job stopped or cannot be reached: the others stop too."""


def read_tf_config(environ=None):
    """The `TF_CONFIG` of this process, parsed and checked; raises one clear `ValueError` when it is unusable.

    It must be a JSON object with "cluster" ({job: ["host:port", ...]}, with
    a "worker" or "chief" job) and "task" ({"type": one of the cluster's
    jobs, "index": a position in that job's list}).
    """
    environ = os.environ if environ is None else environ
    text = environ.get(TF_CONFIG)
    if not text or not text.strip():
        raise ValueError(f"strategy 'multiworker' reads the cluster from the {TF_CONFIG} environment variable, which "
                         f"is not set. Set it on every worker, e.g. {TF_CONFIG}='{_EXAMPLE}'")
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ValueError(f"{TF_CONFIG} is not valid JSON ({error}). Expected e.g. {_EXAMPLE}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{TF_CONFIG} must be a JSON object. Received: {text!r}")
    cluster, task = config.get("cluster"), config.get("task")
    jobs = ("chief", "worker")
    if (not isinstance(cluster, dict) or not any(job in cluster for job in jobs)
            or not all(isinstance(cluster[job], list) and cluster[job]
                       and all(isinstance(address, str) and ":" in address for address in cluster[job])
                       for job in cluster)):
        raise ValueError(f"{TF_CONFIG}'s \"cluster\" must map \"worker\" (and optionally \"chief\") to lists of "
                         f"\"host:port\" addresses. Received: cluster={cluster!r}")
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ValueError(f"{TF_CONFIG}'s \"task\" must name this process's job, one of {sorted(cluster)}, and its "
                         f"index, e.g. {{\"type\": \"worker\", \"index\": 0}}. Received: task={task!r}")
    index = task.get("index", 0)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(cluster[task["type"]]):
        raise ValueError(f"{TF_CONFIG}'s task index must be an integer in [0, {len(cluster[task['type']])}) "
                         f"(the {task['type']!r} job's addresses). Received: index={index!r}")
    if len(cluster.get("chief", [])) > 1:
        raise ValueError(f"{TF_CONFIG}'s cluster may have one chief. Received: chief={cluster['chief']!r}")
    return config


#: The strategies made by name in this process (`make_strategy`).
_MADE = {}


def make_strategy(strategy=None, *, collective_timeout=COLLECTIVE_TIMEOUT_S):
    """The `tf.distribute.Strategy` named by `strategy`.

    Args:
        strategy: None or "default" (the current strategy: one device, or
            the one whose scope is entered), "mirrored" (every GPU of this
            host, or the CPU), "multiworker" (every worker of `TF_CONFIG`,
            with their local GPUs), or a `tf.distribute.Strategy`, returned
            as it is.
        collective_timeout: "multiworker": the seconds the start-up may wait
            for the other workers (`wait_for_workers`), and one collective op.

    Raises:
        ValueError: an unknown name, a missing or malformed `TF_CONFIG`, or
            "multiworker" asked after TensorFlow has run an operation.

    A name gives the same strategy object every time in a process.
    """
    if isinstance(strategy, tf.distribute.Strategy):
        return strategy
    if strategy is None or strategy == "default":
        return tf.distribute.get_strategy()
    if strategy not in ("mirrored", "multiworker"):
        raise ValueError(f"strategy must be one of {list(STRATEGIES)} or a tf.distribute.Strategy. "
                         f"Received: strategy={strategy!r}")
    # One strategy of each name per process: two strategies over the same devices number their collective
    # ops alike, and the second one's all-reduce then fails with a shape mismatch (seen with two
    # MirroredStrategy objects on two logical CPUs, when one process trains two models).
    if strategy not in _MADE:
        _MADE[strategy] = _make(strategy, collective_timeout)
    return _MADE[strategy]


def _task_name(job, index):
    return f"{job} {index}"


def wait_for_workers(config, timeout, *, poll_s=0.2, stream=None):
    """Waits, in Python, until the port of every other task of the `TF_CONFIG` `config` answers (module docstring).

    This task listens on its own port meanwhile (the others see it) and
    accepts and closes what connects. SIGINT and SIGTERM end the wait at once.

    Raises:
        ValueError: this task's port is in use (another program, or a worker
            of another job).
        WorkerLost: some tasks did not answer within `timeout` seconds (named).
    """
    stream = sys.stdout if stream is None else stream  # a progress line, as the epochs' (errors: stderr)
    cluster, task = config["cluster"], config["task"]
    me = (task["type"], task.get("index", 0))
    tasks = [(job, index, address) for job in ("chief", "worker") for index, address in enumerate(cluster.get(job, []))]
    port = int(cluster[me[0]][me[1]].rsplit(":", 1)[1])
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("", port))
        listener.listen(64)
    except OSError as error:
        listener.close()
        raise ValueError(f"port {port} of {_task_name(*me)} (TF_CONFIG) is in use ({error.strerror or error}): stop "
                         f"the program that holds it, or give this worker another port in TF_CONFIG") from None
    listener.setblocking(False)
    waiting = {(job, index): address for job, index, address in tasks if (job, index) != me}
    print(f"waiting for {len(tasks)} workers (TF_CONFIG) to start, timeout {timeout:g} s (--collective-timeout) ...",
          file=stream, flush=True)
    deadline = time.monotonic() + timeout
    try:
        while True:
            _drain(listener)
            for key, address in list(waiting.items()):
                host, peer_port = address.rsplit(":", 1)
                try:
                    socket.create_connection((host, int(peer_port)), timeout=min(1.0, timeout)).close()
                    del waiting[key]
                except OSError:
                    pass
            if not waiting:
                return
            if time.monotonic() >= deadline:
                names = ", ".join(f"{_task_name(*key)} ({address})" for key, address in sorted(waiting.items()))
                raise WorkerLost(f"{len(waiting)} of the {len(tasks)} workers of TF_CONFIG never answered within "
                                 f"{timeout:g} s: {names}. Start every worker (the same TF_CONFIG cluster), or "
                                 f"raise --collective-timeout (collective_timeout=).")
            time.sleep(poll_s)
    finally:
        _drain(listener)
        listener.close()


def _drain(listener):
    """Accepts and closes the connections waiting on `listener` (the other workers' probes)."""
    while True:
        try:
            connection, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        connection.close()


def _make(strategy, collective_timeout):
    if strategy == "mirrored":
        return tf.distribute.MirroredStrategy()
    config = read_tf_config()
    wait_for_workers(config, collective_timeout)
    options = tf.distribute.experimental.CommunicationOptions(timeout_seconds=collective_timeout)
    handlers = _python_handlers()
    # Every worker answered; should one vanish now, TensorFlow's own wait would hang in C++: a watchdog ends the
    # process after the timeout, with the one line.
    made = threading.Event()
    threading.Thread(target=_watchdog, args=(made, collective_timeout), daemon=True).start()
    try:
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    except (RuntimeError, ValueError) as error:
        if "startup" in str(error) or "initialized" in str(error):
            raise ValueError(
                "strategy 'multiworker' must be made before TensorFlow runs any operation: make it at the start "
                "of the program (tfgen.training.distribute.make_strategy('multiworker')) and pass it as strategy="
            ) from error
        raise
    finally:
        made.set()
        _restore_handlers(handlers)


def _python_handlers():
    """{signal: handler} of SIGINT and SIGTERM as Python set them (the main thread only; else {})."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}


def _restore_handlers(handlers):
    """Puts back the Python handlers of SIGINT and SIGTERM: TensorFlow's coordination agent installs its own
    SIGTERM handler (a preemption notice), which would make the process ignore SIGTERM."""
    for number, handler in handlers.items():
        if handler is not None:
            signal.signal(number, handler)


def _watchdog(made, timeout):
    if not made.wait(timeout):
        print(f"tfgen: error: the workers of TF_CONFIG answered, but TensorFlow's cluster did not form within "
              f"{timeout:g} s (a worker stopped meanwhile?); stopping. Raise --collective-timeout if the workers "
              f"are slow to start.", file=sys.stderr, flush=True)
        os._exit(1)


def is_multi_worker(strategy):
    """True for a `MultiWorkerMirroredStrategy` (whose data is sharded per worker), of any number of workers."""
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)


def worker_count(strategy):
    """The number of processes (workers) that run `strategy`'s replicas."""
    if not is_multi_worker(strategy):
        return 1
    local = len(getattr(strategy.extended, "worker_devices", ()) or (None,))
    return max(1, strategy.num_replicas_in_sync // local)


def is_chief(strategy):
    """Whether this process writes the run's files: always, but for the workers of a multi-worker job other
    than its chief (the "chief" task, or worker 0 when there is none)."""
    return bool(strategy.extended.should_checkpoint) if is_multi_worker(strategy) else True


def distribute_batches(strategy, make_batches):
    """A distributed dataset whose replica r gets shard r of `num_replicas_in_sync` of every global batch.

    Args:
        make_batches: `make_batches(shard)` -> the `tf.data.Dataset` of the
            global batches with only `shard` = (index, count) of each
            (`ImageDataset.batches(shard=...)`).

    Each worker builds only the shards of its own replicas (replicas are
    numbered worker by worker, so worker w with L local replicas has
    replicas w * L ... w * L + L - 1; its input pipeline hands them its
    dataset's elements in turn), so every worker reads only its part.
    """

    def worker_dataset(context):
        replicas = context.num_replicas_in_sync
        local = replicas // context.num_input_pipelines
        first = context.input_pipeline_id * local
        shards = [make_batches((first + offset, replicas)) for offset in range(local)]
        if local == 1:
            return shards[0]
        return tf.data.Dataset.choose_from_datasets(shards, tf.data.Dataset.range(local).repeat())

    return strategy.distribute_datasets_from_function(worker_dataset)


def split_batches(strategy, dataset):
    """`dataset`'s global batches, each split over `strategy`'s replicas (the default strategy: as they are)."""
    if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
        return dataset  # the default strategy: nothing to split
    return strategy.experimental_distribute_dataset(dataset)


def replica_batches(strategy, make_batches):
    """The batches of `make_batches(shard)` as `strategy`'s replicas get them.

    Under a multi-worker strategy each worker builds only its replicas'
    shards of every global batch (`distribute_batches`); otherwise the
    global batches (`make_batches(None)`) are split (`split_batches`).
    """
    if is_multi_worker(strategy):
        return distribute_batches(strategy, make_batches)
    return split_batches(strategy, make_batches(None))


def all_reduce_sum(strategy, value):
    """The sum over every replica of `value` (each replica's own; NumPy in, NumPy out), for values decided
    outside the steps. Every worker must call it at the same point."""
    value = np.asarray(value)
    dtype = tf.float64 if np.issubdtype(value.dtype, np.floating) else tf.int64
    local = tf.constant(value, dtype)
    replicas = len(getattr(strategy.extended, "worker_devices", ()) or (None,))

    def replica_value():
        # One replica per worker contributes (the first local one), so a worker's value counts once.
        context = tf.distribute.get_replica_context()
        first = tf.equal(context.replica_id_in_sync_group % replicas, 0)
        return tf.where(first, local, tf.zeros_like(local))

    total = tf.function(lambda: strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(replica_value), axis=None))()
    return total.numpy().astype(value.dtype)


def broadcast_from_chief(strategy, value):
    """The chief's `value` (a NumPy array or number) on every worker, through a sum where the others add zeros.

    Integers travel as int64, floats as float64 (exactly). Every worker must
    call it at the same point, with a value of the same shape.
    """
    if worker_count(strategy) <= 1:
        return np.asarray(value)
    value = np.asarray(value)
    return all_reduce_sum(strategy, value if is_chief(strategy) else np.zeros_like(value))


def worker_lost(error, steps_done, latest_checkpoint):
    """The `WorkerLost` to raise for `error`, a collective op of a job's step that failed (`COLLECTIVE_ERRORS`):
    what happened, after which step (`steps_done`) training stopped, and how to resume from `latest_checkpoint`."""
    problem = error_line(getattr(error, "message", str(error)),
                         ("unhealthy", "aborted", "Deadline", "timed out", "heartbeat"))
    return WorkerLost(
        f"A worker of the job stopped or cannot be reached ({type(error).__name__}: {problem}); training stopped "
        f"after step {steps_done}. Restart every worker with --resume (fit(resume=True)): they continue from the "
        f"chief's last checkpoint, {latest_checkpoint!r}."
    )


def error_line(message, words):
    """The first line of a TensorFlow error `message` with one of `words` (its first line is often just "Graph
    execution error:"), else its first non-empty line, else ""."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    return next((line for line in lines if any(word in line for word in words)), lines[0] if lines else "")


def agree(strategy, ok):
    """True when `ok` is true on every worker (a vote; every worker must call it at the same point)."""
    if worker_count(strategy) <= 1:
        return bool(ok)
    return int(all_reduce_sum(strategy, np.int64(0 if ok else 1))) == 0


def raise_refusal(strategy, problem, refused_elsewhere):
    """Every worker's vote on a request each checked: raises `problem` (this worker's refusal, an exception),
    or `refused_elsewhere` when only another worker refused; returns when no worker refused (`agree`)."""
    if not agree(strategy, problem is None):
        raise problem if problem is not None else refused_elsewhere
