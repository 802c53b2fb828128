"""Hooks into `Trainer.fit`: the base class, a periodic base, the unsupervised VHE's re-clustering,
and `TensorBoardImages`, which puts figures beside the trainer's scalars in TensorBoard.

Every callback sees the trainer (its model, data, run folder, history) and
the epoch's number, 1-based, in both hooks: `on_epoch_begin(trainer, 3)`
comes before the third epoch, `on_epoch_end(trainer, 3, logs)` after it.
"""

import os

import numpy as np
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
    `all_workers = True` (it must then do the same on every worker, e.g.
    `ReclusterCallback`).
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
    """Re-clusters the unsupervised VHE's codes before every epoch and hands the pseudo-labels to its data.

    Before epoch e it calls `trainer.model.update_clusters(e - 1)` (a model
    with `codes` and `pseudo_labels`, e.g. `tfgen.models.UnsupervisedVHE`),
    which clusters once per epoch and keeps the result in the model's
    checkpointed variables, and gives the pseudo-labels to the training data
    as the classes of its sets (`ClassSetDataset.with_set_labels`). A run
    resumed in the middle of an epoch gets the clustering of that epoch's
    start back from its checkpoint.

    In a multi-worker job the chief clusters and every worker gets its
    pseudo-labels (`tfgen.training.distribute.broadcast_from_chief`), so all
    build the same class sets.

    Args:
        random_state: KMeans's seed.
    """

    all_workers = True

    def __init__(self, random_state=0):
        self.random_state = _checks.integer("random_state", random_state)

    def on_epoch_begin(self, trainer, epoch, start_step=0):
        model, data = trainer.model, trainer.train_data
        count = int(model.codes.shape[0])
        if count != len(data):
            raise ValueError(
                f"The model keeps codes for {count} examples but the training data holds {len(data)}. "
                f"Create the model with num_examples={len(data)}."
            )
        workers = getattr(trainer, "workers", 1)
        if workers <= 1 or trainer.chief:
            pseudo_labels = model.update_clusters(epoch - 1, random_state=self.random_state)
        if workers > 1:
            from tfgen.training import distribute

            if not trainer.chief:
                pseudo_labels = np.zeros([count], np.int64)
            pseudo_labels = distribute.broadcast_from_chief(trainer.strategy, pseudo_labels)
            clustered = distribute.broadcast_from_chief(trainer.strategy, np.int64(model.clustered_epoch.numpy()))
            model.pseudo_labels.assign(pseudo_labels)
            model.clustered_epoch.assign(clustered)
        trainer.train_data = data.with_set_labels(pseudo_labels)
