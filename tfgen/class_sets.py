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

`ClusteredClassSetDataset` is the unsupervised variant: the classes are
KMeans clusters of an `UnsupervisedVHE`'s latest codes, re-clustered at the
start of every epoch (`batches(epoch=...)` does it), with the cluster state
kept in the model's variables so that it is checkpointed with the weights.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tfgen._checks import positive_int
from tfgen.data import BINARIZATIONS, LABEL_FORMATS, ImageDataset, batch_seed, binarize, check_choice, epoch_seed


def check_class_sizes(set_labels, set_size, argument="labels"):
    """Raises a ValueError unless every class present has at least `set_size + 1` examples.

    A class set holds `set_size` distinct examples of x's class other than x,
    so every class needs x plus `set_size` others.
    """
    set_size = positive_int("set_size", set_size)
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


def sample_set_positions(positions, counts, set_size, seed):
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

    Returns:
        (batch, set_size) int64 positions.
    """
    positions = tf.cast(positions, tf.int64)
    counts = tf.cast(counts, tf.int64)
    uniforms = tf.random.stateless_uniform([tf.shape(positions)[0], set_size], seed=seed, dtype=tf.float64)
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
            `labels`); e.g. pseudo-labels from a clustering.

    Raises:
        ValueError: when `set_size` is not a positive integer or a class has
            fewer than `set_size + 1` examples.
    """

    set_size: int = 5
    set_labels: np.ndarray = None

    def __post_init__(self):
        super().__post_init__()
        self.set_size = positive_int("set_size", self.set_size)
        if self.set_labels is not None:
            set_labels = np.asarray(self.set_labels)
            if set_labels.shape != self.labels.shape or not np.issubdtype(set_labels.dtype, np.integer):
                raise ValueError(
                    f"set_labels must be integers of shape {self.labels.shape}. "
                    f"Received: set_labels.shape={set_labels.shape}, dtype={set_labels.dtype}"
                )
            self.set_labels = set_labels.astype(np.int64)
        self._check_classes()

    def _check_classes(self):
        argument = "labels" if self.set_labels is None else "set_labels"
        check_class_sizes(self._labels_for_epoch(None), self.set_size, argument=argument)

    def _labels_for_epoch(self, epoch):
        """The labels defining the classes of `epoch`'s sets."""
        return self.labels if self.set_labels is None else self.set_labels

    def take(self, count):
        set_labels = None if self.set_labels is None else self.set_labels[:count]
        return dataclasses.replace(self, images=self.images[:count], labels=self.labels[:count], set_labels=set_labels)

    def class_sizes(self, epoch=None):
        """(N,) the size of each example's class."""
        labels = self._labels_for_epoch(epoch)
        return np.bincount(labels)[labels]

    def batches(
        self,
        batch_size,
        *,
        epoch=0,
        seed=0,
        shuffle=True,
        binarization="dynamic",
        threshold=0.5,
        label_format="int",
        drop_remainder=False,
        skip_batches=0,
        cache=True,
    ):
        """One epoch of batches with "image", "label", "class_set", "class_size" and "index".

        The arguments are `ImageDataset.batches`'s; "image" and "label" are
        the same as that method's for the same arguments. `cache` is accepted
        for compatibility (the arrays are in memory already).
        """
        del cache
        check_choice("binarization", binarization, BINARIZATIONS)
        check_choice("label_format", label_format, LABEL_FORMATS)
        positive_int("batch_size", batch_size)
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1]. Received: threshold={threshold}")
        seed, epoch, set_size, num_classes = int(seed), int(epoch), self.set_size, self.num_classes
        set_labels = self._labels_for_epoch(epoch)
        check_class_sizes(set_labels, set_size, argument="labels" if self.set_labels is None else "set_labels")
        structure = ClassStructure.from_labels(set_labels)
        images = tf.constant(self.images)
        labels = tf.constant(self.labels)
        order, starts = tf.constant(structure.order), tf.constant(structure.starts)
        counts, positions = tf.constant(structure.counts), tf.constant(structure.positions)
        example_classes = tf.constant(structure.labels)

        def to_batch(batch_index, index):
            # The same noise seed as ImageDataset.batches: "image" is that method's batch.
            noise_seed = batch_seed(seed, epoch, batch_index)
            classes = tf.gather(example_classes, index)
            class_counts = tf.gather(counts, classes)
            picks = sample_set_positions(
                tf.gather(positions, index), class_counts, set_size, tf.random.experimental.stateless_fold_in(noise_seed, 2)
            )
            members = tf.gather(order, tf.gather(starts, classes)[:, None] + picks)
            batch_labels = tf.gather(labels, index)
            if label_format == "one_hot":
                batch_labels = tf.one_hot(batch_labels, num_classes, dtype=tf.float32)
            return {
                "image": binarize(tf.gather(images, index), binarization, threshold, noise_seed),
                "label": batch_labels,
                "class_set": binarize(
                    tf.gather(images, members), binarization, threshold, tf.random.experimental.stateless_fold_in(noise_seed, 1)
                ),
                "class_size": tf.cast(class_counts, tf.float32),
                "index": index,
            }

        dataset = tf.data.Dataset.range(len(self))
        if shuffle:
            # The permutation of ImageDataset.batches (same seed, same full buffer).
            dataset = dataset.shuffle(len(self), seed=epoch_seed(seed, epoch), reshuffle_each_iteration=False)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder).enumerate()
        if skip_batches:
            dataset = dataset.skip(skip_batches)
        dataset = dataset.map(to_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.prefetch(tf.data.AUTOTUNE)


def cluster_codes(codes, num_clusters, min_cluster_size=1, random_state=0):
    """KMeans pseudo-labels of `codes`, every cluster holding at least `min_cluster_size` examples.

    KMeans (scikit-learn, `n_init=1`, fixed `random_state`: the same codes
    give the same labels) may leave clusters too small for a class set; their
    members move to the nearest centre of a large enough cluster.

    Args:
        codes: (N, dim) float array.
        num_clusters: the number of KMeans clusters.
        min_cluster_size: the smallest allowed cluster (set_size + 1 for sets).
        random_state: KMeans's seed.

    Returns:
        (N,) int64 cluster ids in [0, num_clusters).
    """
    from sklearn.cluster import KMeans

    codes = np.asarray(codes, dtype=np.float64)
    if isinstance(num_clusters, bool) or not isinstance(num_clusters, (int, np.integer)) or not 1 <= num_clusters <= len(codes):
        raise ValueError(
            f"num_clusters must be an integer in [1, {len(codes)}] (the number of codes). Received: num_clusters={num_clusters!r}"
        )
    if not np.all(np.isfinite(codes)):
        raise ValueError(f"codes contain {int(np.sum(~np.isfinite(codes)))} NaN or infinite values")
    kmeans = KMeans(n_clusters=int(num_clusters), n_init=1, random_state=int(random_state)).fit(codes)
    clusters = kmeans.labels_.astype(np.int64)
    sizes = np.bincount(clusters, minlength=num_clusters)
    large = np.flatnonzero(sizes >= min_cluster_size)
    if len(large) == 0:
        raise ValueError(
            f"No cluster of the {len(codes)} codes holds min_cluster_size={min_cluster_size} examples; "
            f"use fewer clusters or a smaller set size. Received: cluster sizes {sizes.tolist()}"
        )
    if len(large) < num_clusters:
        # Reassigning only grows the large clusters, so one pass suffices.
        moved = np.flatnonzero(sizes[clusters] < min_cluster_size)
        distances = ((codes[moved, None, :] - kmeans.cluster_centers_[None, large, :]) ** 2).sum(-1)
        clusters[moved] = large[np.argmin(distances, axis=1)]
    return clusters


@dataclasses.dataclass
class ClusteredClassSetDataset(ClassSetDataset):
    """Class sets from KMeans clusters of a model's codes (the unsupervised VHE).

    Before the sets of epoch e are drawn, `batches(epoch=e)` clusters the
    model's latest codes (one per example, updated by every training step)
    and stores the pseudo-labels in the model, with e as its clustered epoch.
    A later call for the same (or an earlier) epoch reuses the stored
    pseudo-labels instead of re-clustering: a run resumed in the middle of
    epoch e, whose codes have moved since, gets the sets of the clustering
    done at the start of e (restored from the checkpoint), exactly as the
    uninterrupted run did. `labels` are only reported (e.g. for cluster
    purity), never used for the sets.

    Attributes:
        model: the model holding the cluster state: variables `codes` (N,
            dim), `pseudo_labels` (N,) and `clustered_epoch` (scalar), and
            `num_clusters` (an `UnsupervisedVHE`).
        random_state: KMeans's seed.
    """

    model: object = None
    random_state: int = 0

    def _check_classes(self):
        if self.model is None:
            raise ValueError("ClusteredClassSetDataset needs model=, the model whose codes are clustered. Received: model=None")
        count = int(self.model.codes.shape[0])
        if count != len(self):
            raise ValueError(
                f"The model keeps codes for {count} examples but the dataset holds {len(self)}. "
                f"Create the model with num_examples={len(self)}."
            )

    def take(self, count):
        raise ValueError("ClusteredClassSetDataset.take would break the link between examples and the model's codes; "
                         "take() the ImageDataset before building this dataset.")

    def update_clusters(self, epoch):
        """Clusters the model's codes for `epoch` unless already done; returns the pseudo-labels."""
        model = self.model
        if int(model.clustered_epoch.numpy()) < epoch or int(model.clustered_epoch.numpy()) < 0:
            clusters = cluster_codes(model.codes.numpy(), model.num_clusters, self.set_size + 1, self.random_state)
            model.pseudo_labels.assign(clusters)
            model.clustered_epoch.assign(max(int(epoch), 0))
        return model.pseudo_labels.numpy()

    def _labels_for_epoch(self, epoch):
        return self.update_clusters(0 if epoch is None else int(epoch))
