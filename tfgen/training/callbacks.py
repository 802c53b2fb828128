"""Hooks into `Trainer.fit`: the base class, a periodic base, and the unsupervised VHE's re-clustering.

Every callback sees the trainer (its model, data, run folder, history) and
the epoch's number, 1-based, in both hooks: `on_epoch_begin(trainer, 3)`
comes before the third epoch, `on_epoch_end(trainer, 3, logs)` after it.
"""

from tfgen import _checks


class Callback:
    """Hooks called by `Trainer.fit`; subclass and override what you need."""

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

    Args:
        random_state: KMeans's seed.
    """

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
        pseudo_labels = model.update_clusters(epoch - 1, random_state=self.random_state)
        trainer.train_data = data.with_set_labels(pseudo_labels)
