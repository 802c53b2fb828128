"""Images and labels in memory, and the one deterministic `tf.data` pipeline that batches them.

Every dataset of tfgen (plain, labelled/unlabelled split, class sets) is an
`ImageDataset` and batches through `ImageDataset.batches`:

    the epoch's order of example indices   (`epoch_order`: a tf.data shuffle
                                            fixed by (seed, epoch), or the
                                            subclass's own order)
    -> batches of indices -> (batch index, indices) -> skip the batches
       already seen (mid-epoch resume)
    -> gather the images (binarized with a stateless seed of
       (seed, epoch, batch index)) and the labels
    -> the subclass's per-example entries  (`example_entries`: the
                                            "labelled" mask, class sets...)

so the order of an epoch and every random draw in it are a function of
(seed, epoch) alone, and a run resumed in the middle of an epoch sees
exactly the batches it would have seen.

`shard=(index, count)` keeps only rows [index * m // count, (index + 1) *
m // count) of every batch of m examples (one worker's, or one replica's,
part of a global batch under `tf.distribute`): only those examples are
gathered, and every random draw is that of the same rows of the whole batch
(`BatchRows`), so the shards of a batch concatenate to exactly the batch.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen import labels as labels_lib

BINARIZATIONS = ("dynamic", "threshold", "none")
LABEL_FORMATS = ("int", "one_hot")


def epoch_seed(seed, epoch):
    """A 63-bit seed for `tf.data` shuffling from the run's seed and the epoch."""
    return int((seed * 1_000_003 + epoch * 7_919 + 12_345) % (2**63 - 1))


def batch_seed(seed, epoch, batch_index):
    """The stateless seed of one batch's random draws, from (seed, epoch, batch index)."""
    return tf.stack([tf.constant(seed, tf.int64), tf.constant(epoch, tf.int64) * (1 << 32) + batch_index])


def binarize(images, binarization, threshold=0.5, seed=None, rows=None):
    """uint8 images to float32 in [0, 1], binarized.

    Args:
        images: uint8 tensor.
        binarization: "dynamic" (pixel is 1 with probability equal to its
            intensity, drawn with the stateless `seed`), "threshold" (intensity >
            `threshold`) or "none".
        threshold: the cut for "threshold".
        seed: an int64 (2,) stateless seed, needed for "dynamic".
        rows: a `BatchRows` when `images` are these rows of a batch: they
            take the dynamic-binarization noise of those rows of the batch.
    """
    _checks.choice("binarization", binarization, BINARIZATIONS)
    if binarization == "dynamic" and seed is None:
        raise ValueError("binarization='dynamic' draws the pixels from a stateless seed: pass seed. Received: seed=None")
    images = tf.cast(images, tf.float32) / 255.0
    if binarization == "dynamic":
        noise = (tf.random.stateless_uniform(tf.shape(images), seed=seed) if rows is None
                 else rows.uniform(tf.shape(images)[1:], seed))
        return tf.cast(noise < images, tf.float32)
    if binarization == "threshold":
        return tf.cast(images > threshold, tf.float32)
    return images


@dataclasses.dataclass(frozen=True)
class BatchRows:
    """Where a shard's rows lie in its whole batch: rows [start, stop) of a batch of `size` examples.

    A draw of the shard is the same rows of the draw of the whole batch, so
    a shard gets exactly the values its examples get in the unsharded batch
    (the rows are drawn for the whole batch, which costs random numbers,
    not reads).

    Attributes:
        start, stop, size: int64 scalar tensors.
    """

    start: tf.Tensor
    stop: tf.Tensor
    size: tf.Tensor

    @classmethod
    def of_shard(cls, size, index, count):
        """Shard `index` of `count` of a batch of `size` rows: balanced, contiguous, in order."""
        size = tf.cast(size, tf.int64)
        return cls(size * index // count, size * (index + 1) // count, size)

    def take(self, values):
        """The shard's rows of `values`, a tensor whose first dimension is the whole batch."""
        return values[self.start:self.stop]

    def uniform(self, shape, seed, dtype=tf.float32):
        """The shard's rows of `tf.random.stateless_uniform([size, *shape], seed)`."""
        full_shape = tf.concat([[self.size], tf.cast(shape, tf.int64)], axis=0)
        return self.take(tf.random.stateless_uniform(full_shape, seed=seed, dtype=dtype))


@dataclasses.dataclass(frozen=True)
class BatchFormat:
    """How the pipeline turns gathered examples into a batch.

    Attributes:
        binarization, threshold: see `binarize`.
        label_format: "int" (int64 class ids) or "one_hot" (float32 rows).
        num_classes: the number of classes, for one-hot labels.
    """

    binarization: str
    threshold: float
    label_format: str
    num_classes: int

    def images(self, images, seed, rows=None):
        """`images` (uint8) formatted; `rows`: the images are these rows of a batch (`BatchRows`), whose
        dynamic binarization they take."""
        return binarize(images, self.binarization, self.threshold, seed, rows)

    def labels(self, labels):
        if self.label_format == "one_hot":
            return labels_lib.one_hot(labels, self.num_classes, allow_float=False)
        return labels


def memory_mapped(images):
    """True when `images` is a view of a file on disk (`np.memmap`): the pipeline then gathers batches from it."""
    while isinstance(images, np.ndarray):
        if isinstance(images, np.memmap):
            return True
        images = images.base
    return False


def check_shard(shard):
    """`shard` as None or a pair of Python ints (index, count) with 0 <= index < count."""
    if shard is None:
        return None
    try:
        index, count = shard
        index, count = _checks.non_negative_int("shard index", index), _checks.positive_int("shard count", count)
    except (TypeError, ValueError):
        raise ValueError(f"shard must be None or (index, count) with 0 <= index < count. Received: shard={shard!r}") from None
    if index >= count:
        raise ValueError(f"shard must be None or (index, count) with 0 <= index < count. Received: shard={shard!r}")
    return index, count


def as_uint8(images, argument="images", channels=(1, 3)):
    """`images` as a uint8 array (N, height, width, C), checked: at least one image, height and width >= 1, C in
    `channels` (grey or RGB; the readers also take 2 and 4, an alpha channel they drop), uint8 in [0, 255] or
    float in [0, 1] (rounded to uint8). A memory-mapped cache file is returned as it is."""
    images = images if memory_mapped(images) else np.asarray(images)
    if images.ndim != 4:
        raise ValueError(
            f"{argument} must have shape (N, height, width, channels). Received: {argument}.shape={images.shape}"
        )
    if images.shape[0] == 0:
        raise ValueError(f"{argument} must hold at least one example. Received: {argument}.shape={images.shape}")
    if images.shape[1] == 0 or images.shape[2] == 0:
        raise ValueError(f"{argument} must be at least 1 pixel high and wide. Received: {argument}.shape={images.shape}")
    if images.shape[3] not in channels:
        kinds = {1: "grey", 2: "grey and alpha", 3: "RGB", 4: "RGBA"}
        expected = " or ".join(f"{count} ({kinds[count]})" for count in channels)
        raise ValueError(f"{argument} must have {expected} channels (the last axis). "
                         f"Received: {argument}.shape={images.shape}")
    if images.dtype != np.uint8:
        if not np.issubdtype(images.dtype, np.floating):
            raise TypeError(f"{argument} must be uint8 in [0, 255] or float in [0, 1]. Received: dtype={images.dtype}")
        _checks.pixel_values(argument, images)
        images = np.round(images * 255).astype(np.uint8)
    return images


@dataclasses.dataclass
class ImageDataset:
    """Images and (optionally) labels, with a deterministic `tf.data` pipeline.

    Attributes:
        images: uint8 array of shape (N, height, width, channels), in memory
            or a read-only `np.memmap` of a cache file (`tfgen.data.streaming`:
            batches are then gathered from the file, with exactly the same
            order and draws).
        labels: int64 array of shape (N,), values in [0, num_classes); or None
            for unlabelled data (`labelled` is False, `num_classes` is 0 and
            batches carry no "label").
        num_classes: the number of classes (default: `len(class_names)` when
            given, else 10; 0 for unlabelled data).
        name: a name for messages, plots and a run's `config.json`.
        class_names: one name per class, for plots (default: "0", "1", ...).
    """

    images: np.ndarray
    labels: np.ndarray = None
    num_classes: int = None
    name: str = "images"
    class_names: list = None

    def __post_init__(self):
        self.images = images = as_uint8(self.images, "images", channels=(1, 3))
        if self.labels is None:
            if self.num_classes not in (None, 0) or self.class_names:
                raise ValueError(
                    f"Unlabelled data (labels=None) has no classes. Received: num_classes={self.num_classes!r}, "
                    f"class_names={self.class_names!r}"
                )
            self.num_classes, self.class_names = 0, []
            return
        labels = np.asarray(self.labels)
        if self.num_classes is None:
            self.num_classes = len(self.class_names) if self.class_names else 10
        self.num_classes = _checks.class_count("num_classes", self.num_classes)
        if labels.shape != (images.shape[0],):
            raise ValueError(
                f"labels must have shape ({images.shape[0]},), one integer per image. Received: labels.shape={labels.shape}"
            )
        if not np.issubdtype(labels.dtype, np.integer):
            raise TypeError(f"labels must be integers. Received: dtype={labels.dtype}")
        if len(labels) and (labels.min() < 0 or labels.max() >= self.num_classes):
            raise ValueError(
                f"labels must lie in [0, {self.num_classes}). Received: min={labels.min()}, max={labels.max()}"
            )
        self.labels = labels.astype(np.int64)
        if self.class_names is None:
            self.class_names = [str(i) for i in range(self.num_classes)]
        names = list(self.class_names)
        if len(names) != self.num_classes or not all(isinstance(n, str) for n in names):
            raise ValueError(
                f"class_names must be {self.num_classes} strings, one per class. Received: class_names={names!r}"
            )
        self.class_names = names

    def __len__(self):
        return len(self.images)

    @property
    def labelled(self):
        """Whether the examples have labels (False for a flat folder, an unlabelled TFDS dataset...).

        `SemiSupervisedDataset` (always labelled) replaces it with its
        per-example mask; code that may see one tests `labels is not None`.
        """
        return self.labels is not None

    @property
    def streaming(self):
        """Whether the images are read from a file on disk batch by batch (a memory-mapped cache)."""
        return memory_mapped(self.images)

    @property
    def image_shape(self):
        return tuple(self.images.shape[1:])

    def require_labels(self, purpose):
        """Raises a ValueError saying that `purpose` needs labels, unless the data has them."""
        if self.labels is None:
            raise ValueError(f"{purpose} needs labelled data; {self.name!r} has no labels.")

    def num_batches(self, batch_size, drop_remainder=False):
        return len(self) // batch_size if drop_remainder else -(-len(self) // batch_size)

    def _sliced(self, index):
        """The fields of the examples at `index` (a slice or an index array), as replace() arguments."""
        return {"images": self.images[index], "labels": None if self.labels is None else self.labels[index]}

    def take(self, count):
        """The first `count` examples (a positive integer; all of them when there are fewer), as a new dataset."""
        count = _checks.positive_int("count", count)
        return dataclasses.replace(self, **self._sliced(slice(None, count)))

    # ------------------------------------------------------------------ the pipeline's hooks

    def epoch_order(self, batch_size, *, epoch=0, seed=0, shuffle=True):
        """The example indices of one epoch in batch order, or None for a uniform `tf.data` shuffle.

        Subclasses that order their examples themselves (e.g. a fixed number
        of labelled examples per batch) return a NumPy array, a pure
        function of the arguments.
        """
        del batch_size, epoch, seed, shuffle
        return None

    def example_entries(self, index, noise_seed, images_at, rows=None):
        """Entries added to every batch, a dict of tensors (batch, ...); the base dataset adds none.

        Args:
            index: (batch,) int64, the positions of the batch's examples in the dataset.
            noise_seed: the batch's stateless seed; fold it in with a salt of
                your own for draws other than the images' binarization.
            images_at: `images_at(index, seed)`, the images at `index` (any
                shape of indices whose first dimension is the batch's)
                formatted as the batch's "image" is, with the stateless `seed`
                for dynamic binarization.
            rows: a `BatchRows` when the batch is a shard of a whole batch
                (`batches(shard=...)`, passed only then): draw per-example
                values with `rows.uniform`, so that a shard gets the values
                its examples get in the whole batch.
        """
        del index, noise_seed, images_at, rows
        return {}

    def batch_labels(self, index, batch_format):
        """The "label" entry of a batch: the labels at `index`, formatted (None: no "label", unlabelled data)."""
        if self.labels is None:
            return None
        return batch_format.labels(tf.gather(tf.constant(self.labels), index))

    # ------------------------------------------------------------------ the pipeline

    def _gather_images(self):
        """`gather(index)`: the uint8 images at `index` (any shape of indices), as a tensor.

        In memory, a `tf.gather` from one constant; from a memory-mapped
        cache, a NumPy gather from the file (`tf.numpy_function`), which
        reads only the batch's examples. Both give the same uint8 values, so
        batches (and every draw made from them) are identical.
        """
        if not self.streaming:
            images = tf.constant(self.images)
            return lambda index: tf.gather(images, index)
        source, shape = self.images, self.image_shape

        def read(index):
            return np.ascontiguousarray(source[index])

        def gather(index):
            index = tf.convert_to_tensor(index, tf.int64)
            gathered = tf.numpy_function(read, [index], tf.uint8, stateful=False)
            gathered = tf.reshape(gathered, tf.concat([tf.shape(index, out_type=tf.int32), shape], axis=0))
            gathered.set_shape(index.shape.concatenate(shape))
            return gathered

        return gather

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
        shard=None,
        cache=True,
    ):
        """One epoch of batches: dicts with "image" (float32), "label" (labelled data) and the dataset's own entries.

        Args:
            batch_size: examples per batch.
            epoch: the epoch index; with `seed` it fixes the order and the
                dynamic binarization of this epoch.
            seed: the run's seed.
            shuffle: shuffle the examples (order fixed by `seed` and `epoch`).
            binarization: "dynamic" (each pixel is 1 with probability equal
                to its intensity, resampled every epoch), "threshold" (pixel >
                `threshold`), or "none" (intensities in [0, 1]).
            threshold: the cut for "threshold" binarization.
            label_format: "int" (int64 class ids) or "one_hot" (float32).
            drop_remainder: drop the last, smaller batch.
            skip_batches: skip this many batches at the start (to resume
                in the middle of an epoch).
            shard: None, or (index, count): only rows [index * m // count,
                (index + 1) * m // count) of every batch of m examples, with
                the values they have in the whole batch (one worker's or
                replica's part of a global batch; see the module docstring).
            cache: accepted for compatibility (in memory, or gathered from
                the memory-mapped cache file when `streaming`).
        """
        del cache
        _checks.choice("binarization", binarization, BINARIZATIONS)
        _checks.choice("label_format", label_format, LABEL_FORMATS)
        batch_size = _checks.positive_int("batch_size", batch_size)
        skip_batches = _checks.non_negative_int("skip_batches", skip_batches)
        threshold = _checks.number("threshold", threshold, minimum=0.0, maximum=1.0)
        seed = _checks.seed("seed", seed)
        epoch = _checks.non_negative_int("epoch", epoch)
        shuffle = _checks.boolean("shuffle", shuffle)
        drop_remainder = _checks.boolean("drop_remainder", drop_remainder)
        shard = check_shard(shard)
        batch_format = BatchFormat(binarization, threshold, label_format, self.num_classes)
        order = self.epoch_order(batch_size, epoch=epoch, seed=seed, shuffle=shuffle)
        if order is None:
            indices = tf.data.Dataset.range(len(self))
            if shuffle:
                # Full-buffer shuffle: a uniform permutation, fixed by (seed, epoch).
                indices = indices.shuffle(len(self), seed=epoch_seed(seed, epoch), reshuffle_each_iteration=False)
        else:
            indices = tf.data.Dataset.from_tensor_slices(np.asarray(order, np.int64))
        gather = self._gather_images()

        def to_batch(batch_index, index):
            rows = None
            if shard is not None:
                rows = BatchRows.of_shard(tf.shape(index, out_type=tf.int64)[0], *shard)
                index = rows.take(index)  # only this shard's examples are gathered

            def images_at(index, noise_seed):
                return batch_format.images(gather(index), noise_seed, rows)

            noise_seed = batch_seed(seed, epoch, batch_index)
            batch = {"image": images_at(index, noise_seed)}
            labels = self.batch_labels(index, batch_format)
            if labels is not None:
                batch["label"] = labels
            batch.update(self.example_entries(index, noise_seed, images_at,
                                              **({} if rows is None else {"rows": rows})))
            return batch

        dataset = indices.batch(batch_size, drop_remainder=drop_remainder).enumerate()
        if skip_batches:
            dataset = dataset.skip(skip_batches)
        dataset = dataset.map(to_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.prefetch(tf.data.AUTOTUNE)
