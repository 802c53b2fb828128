"""Hooks into `Trainer.fit`: the base class, a periodic base, `TensorBoardImages`, which puts figures
beside the trainer's scalars in TensorBoard, and the deprecated `ReclusterCallback`.

Every callback sees the trainer (its model, data, run folder, history) and
the epoch's number, 1-based, in both hooks: `on_epoch_begin(trainer, 3)`
comes before the third epoch, `on_epoch_end(trainer, 3, logs)` after it.
"""

import os
import warnings

import tensorflow as tf

from tfgen import _checks

#: The run folder's TensorBoard log folder (the trainer writes its scalars there at step = epoch).
TENSORBOARD_DIR = "tensorboard"


def tensorboard_dir(run_dir):
    """The TensorBoard log folder of the run folder `run_dir`."""
    return os.path.join(run_dir, TENSORBOARD_DIR)


def write_scalars(writer, step, scalars):
    """Writes `scalars` ({tag: number}) with the TensorBoard `writer` at `step`, then flushes it."""
    with writer.as_default(step=step):
        for tag, value in scalars.items():
            tf.summary.scalar(tag, value)
    writer.flush()


class TensorBoardImages:
    """Writes images as `tf.summary.image` summaries into a run's TensorBoard folder.

    The trainer writes its scalars there at step = the 1-based epoch; write
    images at the same step and TensorBoard shows them side by side. The
    writer is opened on first use (one more event file in the folder) and
    flushed after every `write`.
    """

    def __init__(self):
        self._writer = None
        self._folder = None

    def _writer_for(self, run_dir):
        folder = os.path.abspath(tensorboard_dir(run_dir))
        if self._writer is None or folder != self._folder:
            self.close()
            self._writer = tf.summary.create_file_writer(folder)
            self._folder = folder
        return self._writer

    def write(self, run_dir, step, images):
        """Writes `images` ({tag: a PNG file, or an image (H, W, C) / (N, H, W, C) in [0, 1] or uint8}) at `step`.

        C is 1, 3 or 4 (PNG files decode to their own channels). Returns the tags written.
        """
        step = _checks.non_negative_int("step", step)
        with self._writer_for(run_dir).as_default(step=step):
            for tag, image in images.items():
                if isinstance(image, (str, os.PathLike)):
                    image = tf.io.decode_png(tf.io.read_file(os.fspath(image)))
                image = tf.convert_to_tensor(image)
                if image.shape.rank == 3:
                    image = image[None]
                if image.dtype != tf.uint8:
                    image = tf.image.convert_image_dtype(tf.clip_by_value(tf.cast(image, tf.float32), 0.0, 1.0),
                                                         tf.uint8, saturate=True)
                tf.summary.image(tag, image, max_outputs=int(image.shape[0]))
        self._writer.flush()
        return list(images)

    def close(self):
        """Flushes and closes the writer (the next `write` opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._folder = None


class Callback:
    """Hooks called by `Trainer.fit`; subclass and override what you need.

    In a multi-worker job only the chief runs a callback (the figures, the
    scores and the files are the chief's), unless its class sets
    `all_workers = True` (it must then do the same on every worker).
    """

    all_workers = False

    def on_epoch_begin(self, trainer, epoch, start_step=0):
        """Before epoch `epoch` (1-based) runs, its batches not yet built.

        `start_step` is the step within the epoch where training starts: 0,
        or the checkpoint's step when a run resumes in the middle of the epoch.
        """

    def on_epoch_end(self, trainer, epoch, logs):
        """After epoch `epoch` (1-based) has been evaluated and checkpointed.

        Entries added to `logs` go into the run's `history.json`.
        """

    def on_train_end(self, trainer, logs):
        """After the last epoch (not called when `max_steps` stops a run early)."""


class PeriodicCallback(Callback):
    """A callback whose work (`run(trainer, epoch, logs)`) is due every `every` epochs and after the last.

    Args:
        every: the period in epochs (a positive integer).
    """

    def __init__(self, every=1):
        self.every = _checks.positive_int("every", every)

    def is_due(self, trainer, epoch):
        """True after every `every`-th epoch and after the run's last epoch."""
        return epoch % self.every == 0 or epoch == trainer.epochs

    def on_epoch_end(self, trainer, epoch, logs):
        if self.is_due(trainer, epoch):
            self.run(trainer, epoch, logs)

    def run(self, trainer, epoch, logs):
        """The periodic work; `logs` may be extended."""
        raise NotImplementedError


class ReclusterCallback(Callback):
    """Deprecated: the trainer re-clusters the unsupervised VHE itself, with the model's epoch hook.

    Before every epoch the trainer runs `model.begin_epoch(epoch)`, which
    re-clusters `tfgen.models.UnsupervisedVHE`'s codes (on the chief of a
    multi-worker job, whose pseudo-labels every worker takes), and a
    `ClassSetDataset` made with `set_labels=model.pseudo_labels.numpy` reads
    them when the epoch's batches are built: train without this callback.

    Kept for one version for training data whose set labels are a fixed
    array (the first clustering, `model.update_clusters(0)`): before every
    epoch it gives the data the model's pseudo-labels of the epoch, as it
    did (`ClassSetDataset.with_set_labels`), after checking that the model
    keeps a code for every example of the data.

    Args:
        random_state: KMeans's seed; only 0, the seed of the model's own
            clustering, is accepted.
    """

    all_workers = True

    def __init__(self, random_state=0):
        warnings.warn("ReclusterCallback is deprecated: the trainer re-clusters the unsupervised VHE before every "
                      "epoch (UnsupervisedVHE.begin_epoch); give its ClassSetDataset "
                      "set_labels=model.pseudo_labels.numpy instead.", DeprecationWarning, stacklevel=2)
        self.random_state = _checks.integer("random_state", random_state)
        if self.random_state != 0:
            raise ValueError(f"The model's epoch hook clusters with KMeans's seed 0 (UnsupervisedVHE.update_clusters); "
                             f"ReclusterCallback cannot change it. Received: random_state={random_state}")

    def on_epoch_begin(self, trainer, epoch, start_step=0):
        model, data = trainer.model, trainer.train_data
        count = int(model.codes.shape[0])
        if count != len(data):
            raise ValueError(
                f"The model keeps codes for {count} examples but the training data holds {len(data)}. "
                f"Create the model with num_examples={len(data)}."
            )
        if not callable(data.set_labels):  # fixed set labels: this epoch's pseudo-labels (the trainer's hook ran)
            trainer.train_data = data.with_set_labels(model.pseudo_labels.numpy())
