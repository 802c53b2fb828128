"""SIGINT and SIGTERM during training: a checkpoint at the next step boundary, then `TrainingInterrupted`.

`StopSignals` is the context manager `Trainer.fit` trains in: the first
signal only records its number (the loop checkpoints and stops at the next
step boundary, and in a multi-worker job every worker stops at the same
step, `tfgen.training.trainer`); a second one stops at once.
"""

import contextlib
import signal
import threading

import tensorflow as tf

from tfgen.training import distribute
from tfgen.training import run_dir as run_dir_lib


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped training at a step boundary, after a checkpoint.

    Attributes:
        signal_number: the signal received.
        checkpoint: the checkpoint written (or None when the weights were not finite).
    """

    def __init__(self, message, signal_number, checkpoint):
        super().__init__(message)
        self.signal_number = signal_number
        self.checkpoint = checkpoint


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM outside a training loop (`interrupt_on_signals`): the work stops where it is.

    Attributes:
        signal_number: the signal received.
    """

    def __init__(self, signal_number):
        super().__init__(signal.Signals(signal_number).name)
        self.signal_number = int(signal_number)


@contextlib.contextmanager
def interrupt_on_signals():
    """Inside: SIGINT and SIGTERM raise `Interrupted` in the main thread, wherever it is in Python code (a wait
    for the other workers, a classifier's training, an evaluation, an export), so the command line ends with
    one line and 128 + the signal's number (the first one's; more signals while it stops are ignored); every
    file is written whole or not at all, so nothing is half written. `StopSignals` replaces them while a
    training loop runs (a checkpoint first). Outside the main thread it changes nothing."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    received = []

    def handle(number, frame):
        del frame
        if received:  # a second signal while the work stops: it is stopping already
            return
        received.append(number)
        raise Interrupted(number)

    previous = {number: signal.signal(number, handle) for number in StopSignals.SIGNALS}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)


class StopSignals:
    """While training: SIGINT and SIGTERM ask the trainer to checkpoint and stop at the next step boundary.

    `received` is the number of the first signal received inside the
    `with` block (None before one comes). A second signal stops at once
    (KeyboardInterrupt). Only the main thread can own signal handlers;
    elsewhere this records nothing.

    In a multi-worker job every worker stops at the same step: before each
    step a worker sets its request (`before_step`), the step sums every
    replica's request (`vote`, inside the step), and all stop on the vote of
    the step, which every worker knows (a signal that came during a step is
    voted on at the next one).

    Args:
        strategy: the run's `tf.distribute.Strategy` (default: the current one).
    """

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))

    def __init__(self, strategy=None):
        self.received = None
        self._previous = {}
        self.strategy = strategy or tf.distribute.get_strategy()
        self.workers = distribute.worker_count(self.strategy)
        # Several workers: this worker's request (its signal's number) and, after each step, all replicas' sum.
        self._request = tf.Variable(0, dtype=tf.int64, trainable=False, name="stop_request")
        self._votes = tf.Variable(0, dtype=tf.int64, trainable=False, name="stop_votes")

    def before_step(self):
        """Several workers: puts this worker's stop request (0: none) where the next step's `vote` reads it."""
        if self.workers > 1:
            self._request.assign(0 if self.received is None else int(self.received))

    def vote(self):
        """Inside a step (any context a step's function runs in): several workers sum every replica's request."""
        if self.workers > 1:
            requests = self.strategy.run(lambda: tf.identity(self._request))
            self._votes.assign(self.strategy.reduce(tf.distribute.ReduceOp.SUM, requests, axis=None))

    def stop_requested(self):
        """After a step: whether to stop now (a signal here; in a job, a signal on any worker voted on)."""
        if self.workers <= 1:
            return self.received is not None
        return int(self._votes.numpy()) > 0

    def _handle(self, number, frame):
        del frame
        if self.received is not None:
            raise KeyboardInterrupt
        self.received = number

    def __enter__(self):
        self.received = None
        if threading.current_thread() is threading.main_thread():
            for number in self.SIGNALS:
                self._previous[number] = signal.signal(number, self._handle)
        return self

    def __exit__(self, *exc_info):
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}
        self.received = None



def interrupted(received, *, global_step, epoch, step, steps_per_epoch, checkpoint, latest):
    """The `TrainingInterrupted` of a stop at global step `global_step` (step `step` of `steps_per_epoch` in the
    0-based `epoch`), after the signal `received` (None: another worker of the job was signalled, which stops
    this one as SIGTERM); `checkpoint` is the checkpoint just written (None: the last step was not finite, and
    `latest` is the newest)."""
    number = received if received is not None else int(signal.SIGTERM)
    name = signal.Signals(number).name + ("" if received is not None else " (by another worker of the job)")
    command = run_dir_lib.command_line()
    if "--resume" not in command.split():
        command += " --resume"
    return TrainingInterrupted(
        f"{name} received: training stopped at step {global_step} (epoch {epoch + 1}, step {step} of "
        f"{steps_per_epoch}); "
        + (f"the checkpoint {checkpoint!r} was written. " if checkpoint else
           f"no checkpoint was written (the last step was not finite); the latest is {latest!r}. ")
        + f"Resume with: {command} (Python: Trainer(...).fit(resume=True)).",
        number,
        checkpoint,
    )
