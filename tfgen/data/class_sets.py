"""Class sets for the Variational Homoencoder: for each example x, a set D of
other examples of x's class.

Hewitt, Nye, Gane, Jaakkola and Tenenbaum, "The Variational Homoencoder:
Learning to learn high capacity generative models from few examples", UAI
2018. The VHE encodes a class code c from D (x excluded) and charges the KL
of q(c|D) to the whole class: `ClassSetDataset` supplies D, and the size of
x's class, with every batch.

`ClassSetDataset.batches` yields dicts with

* "image": (batch, 28, 28, 1) float32, exactly the images (order and dynamic
  binarization) that `ImageDataset.batches` yields for the same arguments;
* "label": the dataset's labels ("int" or "one_hot");
* "class_set": (batch, set_size, 28, 28, 1) float32, `set_size` distinct
  examples of x's class, x excluded, binarized like "image";
* "class_size": (batch,) float32, the number of examples in x's class;
* "index": (batch,) int64, the position of x in the dataset.

The sets are drawn inside the `tf.data` pipeline, vectorised over the batch,
from stateless seeds derived from `(seed, epoch, batch index)`: an epoch is a
function of `(seed, epoch)` alone, so a run resumed with `skip_batches` sees
the same sets.

The classes of the sets are `set_labels` (default: the labels): an array,
or a callable that returns one, read whenever an epoch's batches are built.
The unsupervised VHE gives a callable of its pseudo-labels
(`model.pseudo_labels.numpy`): KMeans clusters of its latest codes
(`cluster_codes`), which the model re-clusters before every epoch (its
`begin_epoch` hook, run by the trainer before the epoch's batches are
built), so the dataset follows the clusters without being replaced; the
cluster state lives in the model's variables, so it is checkpointed with
the weights.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen.data.kmeans import kmeans
from tfgen.data.pipeline import ImageDataset


def check_class_sizes(set_labels, set_size, argument="labels"):
    """Raises a ValueError unless every class present has at least `set_size + 1` examples.

    A class set holds `set_size` distinct examples of x's class other than x,
    so every class needs x plus `set_size` others.
    """
    set_size = _checks.positive_int("set_size", set_size)
    set_labels = np.asarray(set_labels)
    classes, counts = np.unique(set_labels, return_counts=True)
    small = counts < set_size + 1
    if np.any(small):
        details = ", ".join(f"class {int(k)}: {int(n)}" for k, n in zip(classes[small], counts[small]))
        raise ValueError(
            f"set_size={set_size} needs at least {set_size + 1} examples in every class of {argument} "
            f"(the example itself plus {set_size} others). Received: {details} example(s)."
        )


@dataclasses.dataclass(frozen=True)
class ClassStructure:
    """The classes of a labelling, arranged for vectorised set sampling.

    Attributes:
        order: (N,) example indices sorted by class (stable).
        starts: (K,) where each class begins in `order`.
        counts: (K,) the size of each class.
        positions: (N,) each example's position within its class in `order`.
        labels: (N,) the class of each example.
    """

    order: np.ndarray
    starts: np.ndarray
    counts: np.ndarray
    positions: np.ndarray
    labels: np.ndarray

    @classmethod
    def from_labels(cls, set_labels):
        set_labels = np.asarray(set_labels, dtype=np.int64)
        if set_labels.ndim != 1 or (len(set_labels) and set_labels.min() < 0):
            raise ValueError(f"set labels must be non-negative integers of shape (N,). Received: shape={set_labels.shape}")
        order = np.argsort(set_labels, kind="stable")
        counts = np.bincount(set_labels, minlength=1)
        starts = np.cumsum(counts) - counts
        positions = np.empty_like(order)
        positions[order] = np.arange(len(order)) - starts[set_labels[order]]
        return cls(order, starts.astype(np.int64), counts.astype(np.int64), positions.astype(np.int64), set_labels)


def sample_set_positions(positions, counts, set_size, seed, rows=None):
    """`set_size` distinct positions in [0, count) per row, each row's own position excluded.

    Vectorised sequential sampling without replacement: draw t picks the
    r-th free position, r uniform in [0, count - t - 1), and skips over the
    positions already taken (x's own first) in ascending order. Every subset
    of the other positions is equally likely.

    Args:
        positions: (batch,) int64, x's position within its class.
        counts: (batch,) int64, the size of x's class (> set_size).
        set_size: how many positions to draw.
        seed: a stateless seed, int tensor of shape (2,).
        rows: a `tfgen.data.pipeline.BatchRows` when the rows are a shard of
            a batch: they draw what the same rows of the whole batch draw.

    Returns:
        (batch, set_size) int64 positions.
    """
    positions = tf.cast(positions, tf.int64)
    counts = tf.cast(counts, tf.int64)
    if rows is None:
        uniforms = tf.random.stateless_uniform([tf.shape(positions)[0], set_size], seed=seed, dtype=tf.float64)
    else:
        uniforms = rows.uniform([set_size], seed, dtype=tf.float64)
    taken = positions[:, None]
    picks = []
    for draw in range(set_size):
        free = counts - 1 - draw
        pick = tf.minimum(tf.cast(tf.floor(uniforms[:, draw] * tf.cast(free, tf.float64)), tf.int64), free - 1)
        ascending = tf.sort(taken, axis=1)
        for column in range(draw + 1):
            pick += tf.cast(pick >= ascending[:, column], tf.int64)
        picks.append(pick)
        taken = tf.concat([taken, pick[:, None]], axis=1)
    return tf.stack(picks, axis=1)


@dataclasses.dataclass
class ClassSetDataset(ImageDataset):
    """An `ImageDataset` whose batches carry a class set for every example.

    Attributes:
        set_size: the number of other examples of x's class in each set.
        set_labels: the labels that define the classes of the sets (default:
            `labels`); e.g. pseudo-labels from a clustering. An array, or a
            callable returning one, called whenever the labels are needed
            (once per `batches` call, i.e. per epoch): e.g. a model's
            pseudo-label variable's `numpy`, which the model updates between
            epochs.

    Raises:
        ValueError: when `set_size` is not a positive integer, `set_labels`
            (or what it returns) is not N non-negative integers, or a class
            has fewer than `set_size + 1` examples.
    """

    set_size: int = 5
    set_labels: np.ndarray = None

    def __post_init__(self):
        super().__post_init__()
        self.set_size = _checks.positive_int("set_size", self.set_size)
        if self.set_labels is None and self.labels is None:
            raise ValueError(
                f"Class sets are sets of examples of one class: they need labels, or set_labels (e.g. pseudo-labels "
                f"of a clustering); {self.name!r} has neither (unlabelled data)."
            )
        if self.set_labels is None:
            check_class_sizes(self.labels, self.set_size, argument="labels")
        elif callable(self.set_labels):
            self._checked_set_labels(self.set_labels())  # what it returns now, checked now
        else:
            self.set_labels = self._checked_set_labels(self.set_labels)

    def _checked_set_labels(self, set_labels):
        """`set_labels` as (N,) int64 class ids, checked (shape, dtype, sign and the classes' sizes)."""
        set_labels = np.asarray(set_labels)
        if set_labels.shape != (len(self),) or not np.issubdtype(set_labels.dtype, np.integer):
            raise ValueError(
                f"set_labels must be integers of shape {(len(self),)}. "
                f"Received: set_labels.shape={set_labels.shape}, dtype={set_labels.dtype}"
            )
        if set_labels.min() < 0:
            raise ValueError(f"set_labels must be non-negative class ids. Received: min={set_labels.min()}")
        check_class_sizes(set_labels, self.set_size, argument="set_labels")
        return set_labels.astype(np.int64)

    @property
    def class_labels(self):
        """The labels defining the classes of the sets: `set_labels` (a callable's current value), or the labels."""
        if callable(self.set_labels):
            return self._checked_set_labels(self.set_labels())
        return self.labels if self.set_labels is None else self.set_labels

    @classmethod
    def of(cls, data, set_size, set_labels=None):
        """`data` (an `ImageDataset`) with a class set for every example."""
        return cls(data.images, data.labels, data.num_classes, data.name, data.class_names, set_size=set_size,
                   set_labels=set_labels)

    def with_set_labels(self, set_labels):
        """The same examples with other set labels (an array, or a callable that returns one)."""
        return dataclasses.replace(self, set_labels=set_labels)

    def batches(self, batch_size, **options):
        """`ImageDataset.batches`, the sets of the classes `set_labels` holds now (a callable is read once, here:
        the pipeline is built from its current value, so the whole epoch keeps those classes)."""
        if callable(self.set_labels):
            return self.with_set_labels(self.class_labels).batches(batch_size, **options)
        return super().batches(batch_size, **options)

    def _sliced(self, index):
        source = self.set_labels
        if callable(source):
            set_labels = lambda: np.asarray(source())[index]  # noqa: E731 - still read when the batches are built
        else:
            set_labels = None if source is None else source[index]
        return {**super()._sliced(index), "set_labels": set_labels}

    def class_sizes(self):
        """(N,) the size of each example's class."""
        labels = self.class_labels
        return np.bincount(labels)[labels]

    def example_entries(self, index, noise_seed, images_at, rows=None):
        """"class_set", "class_size" and "index" of the batch's examples (module docstring)."""
        structure = ClassStructure.from_labels(self.class_labels)
        order, starts = tf.constant(structure.order), tf.constant(structure.starts)
        counts, positions = tf.constant(structure.counts), tf.constant(structure.positions)
        classes = tf.gather(tf.constant(structure.labels), index)
        class_counts = tf.gather(counts, classes)
        picks = sample_set_positions(
            tf.gather(positions, index), class_counts, self.set_size,
            tf.random.experimental.stateless_fold_in(noise_seed, 2), rows=rows,
        )
        members = tf.gather(order, tf.gather(starts, classes)[:, None] + picks)
        return {
            "class_set": images_at(members, tf.random.experimental.stateless_fold_in(noise_seed, 1)),
            "class_size": tf.cast(class_counts, tf.float32),
            "index": index,
        }


def cluster_codes(codes, num_clusters, min_cluster_size=1, random_state=0):
    """KMeans pseudo-labels of `codes`, every cluster holding at least `min_cluster_size` examples.

    `tfgen.data.kmeans.kmeans` in float64 (scikit-learn, `n_init=1`, fixed
    `random_state`: the same codes give the same labels); the members of
    clusters too small for a class set move to the nearest centre of a
    large enough cluster.

    Args:
        codes: (N, dim) float array.
        num_clusters: the number of KMeans clusters.
        min_cluster_size: the smallest allowed cluster (set_size + 1 for sets).
        random_state: KMeans's seed.

    Returns:
        (N,) int64 cluster ids in [0, num_clusters).
    """
    return kmeans(np.asarray(codes, dtype=np.float64), num_clusters, random_state=int(random_state),
                  min_cluster_size=min_cluster_size, argument="codes")
