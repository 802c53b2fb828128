"""Labelled/unlabelled splits for semi-supervised training.

`labelled_split(dataset, labels_per_class, seed=...)` keeps the labels of N
examples per class, chosen reproducibly by the seed (the seed posts use
6000, 600, 60 and 6 per class; Kingma et al. report MNIST with 100 labels,
10 per class), and returns a `SemiSupervisedDataset`: an `ImageDataset`
whose batches also carry a "labelled" mask (float32 0/1) and in which the
labels of unlabelled examples are hidden (replaced by 0), so a model can
never use them by mistake.

With few labels, uniformly shuffled batches would almost never hold a
labelled example (100 in 60000). `labelled_per_batch=k` builds every batch
from k labelled examples (cycling through reshuffled copies of the labelled
set) and `batch_size - k` unlabelled ones; an epoch is one pass over the
unlabelled examples. The order of an epoch is a function of `(seed, epoch)` alone
(`epoch_order`), so the trainer resumes mid-epoch; the batches come from
`ImageDataset.batches`, the one pipeline, with the mask and the hidden labels
added by its hooks.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen.data.pipeline import ImageDataset


@dataclasses.dataclass
class SemiSupervisedDataset(ImageDataset):
    """An `ImageDataset` in which only some labels may be used.

    Attributes:
        labelled: bool array of shape (N,), True where the label may be used.
            The true labels of the other examples stay in `labels` (for
            evaluation) but `batches` hides them.
        labelled_per_batch: None (batches mix labelled and unlabelled examples
            in proportion) or the number of labelled examples in every batch.
    """

    labelled: np.ndarray = None
    labelled_per_batch: int = None

    def __post_init__(self):
        super().__post_init__()
        self.require_labels("A labelled/unlabelled split (SemiSupervisedDataset)")
        if self.labelled is None:
            self.labelled = np.ones(len(self.labels), dtype=bool)
        labelled = np.asarray(self.labelled)
        if labelled.shape != self.labels.shape:
            raise ValueError(
                f"labelled must have shape ({len(self.labels)},), one flag per image. Received: labelled.shape={labelled.shape}"
            )
        if labelled.dtype != bool:
            if not np.all((labelled == 0) | (labelled == 1)):
                raise ValueError(f"labelled must be bool or 0/1. Received values {np.unique(labelled)[:5]}")
            labelled = labelled.astype(bool)
        self.labelled = labelled
        if self.labelled_per_batch is not None:
            self.labelled_per_batch = _checks.positive_int("labelled_per_batch", self.labelled_per_batch)

    @property
    def num_labelled(self):
        return int(self.labelled.sum())

    @property
    def num_unlabelled(self):
        return len(self) - self.num_labelled

    def labelled_subset(self):
        """The labelled examples alone, as a plain `ImageDataset` (e.g. for a supervised CVAE baseline)."""
        return ImageDataset(self.images[self.labelled], self.labels[self.labelled], self.num_classes, f"{self.name}/labelled",
                            class_names=self.class_names)

    def _sliced(self, index):
        return {**super()._sliced(index), "labelled": self.labelled[index]}

    def _mixed(self, batch_size):
        """Whether batches have a fixed number of labelled examples."""
        if self.labelled_per_batch is None or self.num_labelled == 0 or self.num_unlabelled == 0:
            return False
        if self.labelled_per_batch >= batch_size:
            raise ValueError(
                f"labelled_per_batch={self.labelled_per_batch} leaves no room for unlabelled examples in batches of "
                f"{batch_size}. Expected labelled_per_batch < batch_size."
            )
        return True

    def num_batches(self, batch_size, drop_remainder=False):
        if self._mixed(batch_size):
            return self.num_unlabelled // (batch_size - self.labelled_per_batch)
        return super().num_batches(batch_size, drop_remainder)

    def epoch_order(self, batch_size, *, epoch=0, seed=0, shuffle=True):
        """The indices of the examples of one epoch, in batch order (a pure function of its arguments)."""
        if not shuffle:
            return np.arange(len(self))
        rng = np.random.default_rng([int(seed) % (1 << 63), int(epoch), 0x55D5])
        if not self._mixed(batch_size):
            return rng.permutation(len(self))
        labelled_count = self.labelled_per_batch
        unlabelled_count = batch_size - labelled_count
        num_batches = self.num_batches(batch_size)
        unlabelled = rng.permutation(np.flatnonzero(~self.labelled))[: num_batches * unlabelled_count]
        labelled_indices = np.flatnonzero(self.labelled)
        copies = -(-num_batches * labelled_count // len(labelled_indices))
        labelled = np.concatenate([rng.permutation(labelled_indices) for _ in range(copies)])
        labelled = labelled[: num_batches * labelled_count]
        return np.concatenate(
            [labelled.reshape(num_batches, labelled_count), unlabelled.reshape(num_batches, unlabelled_count)], axis=1
        ).reshape(-1)

    def batch_labels(self, index, batch_format):
        """The labels of labelled examples; 0 for the others (hidden, so that no model can use them)."""
        hidden_labels = np.where(self.labelled, self.labels, 0)
        return batch_format.labels(tf.gather(tf.constant(hidden_labels), index))

    def example_entries(self, index, noise_seed, images_at, rows=None):
        """The "labelled" mask (float32 0/1) of the batch's examples."""
        return {"labelled": tf.gather(tf.constant(self.labelled.astype(np.float32)), index)}


def labelled_split(dataset, labels_per_class=None, *, num_labels=None, seed=0, labelled_per_batch=None):
    """Keeps the labels of `labels_per_class` examples of every class, chosen by `seed`.

    Args:
        dataset: an `ImageDataset` (e.g. `tfgen.data.load("mnist", "train")`).
        labels_per_class: N labelled examples per class; None keeps every
            label (the seed's "100%").
        num_labels: alternatively, the total number of labels, a multiple of
            the number of classes (100 for MNIST = 10 per class).
        seed: the seed of the choice: the same seed and data give the same split.
        labelled_per_batch: see `SemiSupervisedDataset`.

    Returns:
        A `SemiSupervisedDataset`.

    Raises:
        ValueError: both or invalid counts, or a class with fewer than N examples.
    """
    if not isinstance(dataset, ImageDataset):
        raise TypeError(f"dataset must be a tfgen.data.ImageDataset. Received: {type(dataset).__name__}")
    dataset.require_labels("labelled_split")
    seed = _checks.seed("seed", seed)
    num_classes = dataset.num_classes
    if num_labels is not None:
        if labels_per_class is not None:
            raise ValueError(
                f"Pass labels_per_class or num_labels, not both. Received: labels_per_class={labels_per_class!r}, "
                f"num_labels={num_labels!r}"
            )
        num_labels = _checks.positive_int("num_labels", num_labels)
        if num_labels % num_classes:
            raise ValueError(
                f"num_labels must be a multiple of the number of classes ({num_classes}). Received: num_labels={num_labels}"
            )
        labels_per_class = num_labels // num_classes
    if labels_per_class is None:
        mask = np.ones(len(dataset), dtype=bool)
        name = f"{dataset.name}[all labels]"
    else:
        labels_per_class = _checks.positive_int("labels_per_class", labels_per_class)
        rng = np.random.default_rng(seed % (1 << 63))
        mask = np.zeros(len(dataset), dtype=bool)
        for label in range(num_classes):
            indices = np.flatnonzero(dataset.labels == label)
            if len(indices) < labels_per_class:
                raise ValueError(
                    f"Class {label} has only {len(indices)} examples in {dataset.name}, fewer than "
                    f"labels_per_class={labels_per_class}. Use labels_per_class=None to keep every label."
                )
            mask[rng.choice(indices, labels_per_class, replace=False)] = True
        name = f"{dataset.name}[{labels_per_class} labels/class]"
    return SemiSupervisedDataset(
        images=dataset.images,
        labels=dataset.labels,
        num_classes=num_classes,
        name=name,
        class_names=dataset.class_names,
        labelled=mask,
        labelled_per_batch=labelled_per_batch,
    )
