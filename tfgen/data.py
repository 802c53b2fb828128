"""MNIST and Fashion-MNIST through TFDS, online or from the original files.

Two ways to get the data:

* With network access, TFDS downloads and prepares the datasets as usual.
* Offline, TFDS builds them from a folder holding the original ``.gz``
  files (``source_dir=`` or the ``TFGEN_DATA_DIR`` environment variable),
  still validating every file against its recorded SHA-256 checksum. The
  folder may hold the four files directly or one subfolder per dataset
  (``mnist/``, ``fashion_mnist/``).

With neither, :func:`load` fails within seconds with a message saying what to
do; it never hangs on a download.

The input pipeline is deterministic: the order of an epoch and its dynamic
binarization are a function of ``(seed, epoch)`` alone, so a training run can
resume in the middle of an epoch and see exactly the batches it would have
seen (``skip_batches``).
"""

import dataclasses
import os
import socket

import numpy as np
import tensorflow as tf

DATASETS = ("mnist", "fashion_mnist")
SPLITS = ("train", "test")
BINARIZATIONS = ("dynamic", "threshold", "none")
LABEL_FORMATS = ("int", "one_hot")

#: Class names, for plots.
CLASS_NAMES = {
    "mnist": [str(digit) for digit in range(10)],
    "fashion_mnist": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
}

#: Folder with the original ``.gz`` files, used to build the datasets offline.
SOURCE_DIR_ENV = "TFGEN_DATA_DIR"
#: Set to ``1`` to never try the network (fail at once if the data is missing).
OFFLINE_ENV = "TFGEN_OFFLINE"

_SOURCE_FILES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)
# Where TFDS downloads each dataset from: probed (one TCP connect, short
# timeout) before a download so that a machine without network fails fast.
_DOWNLOAD_HOSTS = {
    "mnist": ("storage.googleapis.com", 443),
    "fashion_mnist": ("fashion-mnist.s3-website.eu-central-1.amazonaws.com", 80),
}


class DataUnavailableError(RuntimeError):
    """The dataset is neither prepared, nor downloadable, nor buildable from local files."""


def check_choice(argument, value, choices):
    if value not in choices:
        raise ValueError(f"Unknown {argument} {value!r}. Expected one of {list(choices)}. Received: {argument}={value!r}")


def _network_available(name, timeout=3.0):
    """True when the dataset's download host accepts a TCP connection within `timeout` seconds."""
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
        return False
    host, port = _DOWNLOAD_HOSTS[name]
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def find_source_files(name, source_dir):
    """Returns the folder under `source_dir` that holds the four original files of `name`.

    Raises:
        FileNotFoundError: naming the folder and the missing files.
    """
    check_choice("dataset", name, DATASETS)
    candidates = [os.path.join(source_dir, name), source_dir]
    for folder in candidates:
        if all(os.path.isfile(os.path.join(folder, f)) for f in _SOURCE_FILES):
            return folder
    folder = candidates[0] if os.path.isdir(candidates[0]) else candidates[1]
    missing = [f for f in _SOURCE_FILES if not os.path.isfile(os.path.join(folder, f))]
    raise FileNotFoundError(
        f"The original {name} files are missing from {folder!r}: {missing}. Put the four "
        f"files {list(_SOURCE_FILES)} in {os.path.join(source_dir, name)!r} (or point "
        f"{SOURCE_DIR_ENV} / source_dir at the folder that holds them)."
    )


def prepare(name, data_dir=None, source_dir=None):
    """Makes sure the TFDS dataset `name` is prepared in `data_dir`; returns its builder.

    Args:
        name: "mnist" or "fashion_mnist".
        data_dir: the TFDS data folder (default: TFDS's own, `~/tensorflow_datasets`
            or `TFDS_DATA_DIR`).
        source_dir: a folder with the original `.gz` files to build from
            offline (default: the `TFGEN_DATA_DIR` environment variable).
    """
    import tensorflow_datasets as tfds

    check_choice("dataset", name, DATASETS)
    builder = tfds.builder(name, data_dir=data_dir)
    if builder.is_prepared():
        return builder
    source_dir = source_dir or os.environ.get(SOURCE_DIR_ENV)
    if source_dir:
        files_dir = find_source_files(name, source_dir)
        # One extract folder per dataset: TFDS names extractions after the
        # file name alone, which MNIST and Fashion-MNIST share.
        root = os.path.dirname(os.path.dirname(builder.data_dir))
        config = tfds.download.DownloadConfig(
            manual_dir=files_dir, extract_dir=os.path.join(root, "extracted", name)
        )
        builder.download_and_prepare(download_config=config)
        return builder
    if not _network_available(name):
        raise DataUnavailableError(
            f"Cannot get the {name!r} dataset: it is not prepared in {os.path.dirname(builder.data_dir)!r}, "
            f"no source folder was given, and the download host {_DOWNLOAD_HOSTS[name][0]} cannot be reached. "
            f"Either connect to the network, or put the original files {list(_SOURCE_FILES)} in a folder "
            f"DIR/{name}/ and set {SOURCE_DIR_ENV}=DIR (or pass source_dir=DIR / --data-dir DIR)."
        )
    builder.download_and_prepare()
    return builder


@dataclasses.dataclass
class ImageDataset:
    """Images and labels held in memory, with a deterministic `tf.data` pipeline.

    Attributes:
        images: uint8 array of shape (N, height, width, channels).
        labels: int64 array of shape (N,), values in [0, num_classes).
        num_classes: the number of classes.
        name: a name for messages and plots.
    """

    images: np.ndarray
    labels: np.ndarray
    num_classes: int = 10
    name: str = "images"

    def __post_init__(self):
        images = np.asarray(self.images)
        labels = np.asarray(self.labels)
        if images.ndim != 4:
            raise ValueError(
                f"images must have shape (N, height, width, channels). Received: images.shape={images.shape}"
            )
        if images.dtype != np.uint8:
            if not np.issubdtype(images.dtype, np.floating):
                raise TypeError(f"images must be uint8 in [0, 255] or float in [0, 1]. Received: dtype={images.dtype}")
            if not np.all(np.isfinite(images)):
                raise ValueError(f"images contain {int(np.sum(~np.isfinite(images)))} NaN or infinite values")
            if images.min() < 0 or images.max() > 1:
                raise ValueError(
                    f"float images must lie in [0, 1]. Received: min={images.min()}, max={images.max()}"
                )
            images = np.round(images * 255).astype(np.uint8)
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
        self.images = images
        self.labels = labels.astype(np.int64)

    def __len__(self):
        return len(self.labels)

    @property
    def image_shape(self):
        return tuple(self.images.shape[1:])

    def num_batches(self, batch_size, drop_remainder=False):
        return len(self) // batch_size if drop_remainder else -(-len(self) // batch_size)

    def take(self, count):
        """The first `count` examples, as a new dataset (for smoke runs and tests)."""
        return dataclasses.replace(self, images=self.images[:count], labels=self.labels[:count])

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
        """One epoch of batches: dicts with "image" (float32) and "label".

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
            cache: cache the decoded examples in memory.
        """
        check_choice("binarization", binarization, BINARIZATIONS)
        check_choice("label_format", label_format, LABEL_FORMATS)
        if not isinstance(batch_size, (int, np.integer)) or batch_size <= 0:
            raise ValueError(f"batch_size must be a positive integer. Received: batch_size={batch_size!r}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must lie in [0, 1]. Received: threshold={threshold}")
        seed = int(seed)
        epoch = int(epoch)
        num_classes = self.num_classes

        def to_batch(batch_index, example):
            images = binarize(example["image"], binarization, threshold, batch_seed(seed, epoch, batch_index))
            labels = example["label"]
            if label_format == "one_hot":
                labels = tf.one_hot(labels, num_classes, dtype=tf.float32)
            return {"image": images, "label": labels}

        dataset = tf.data.Dataset.from_tensor_slices({"image": self.images, "label": self.labels})
        if cache:
            dataset = dataset.cache()
        if shuffle:
            # Full-buffer shuffle: a uniform permutation, fixed by (seed, epoch).
            dataset = dataset.shuffle(len(self), seed=epoch_seed(seed, epoch), reshuffle_each_iteration=False)
        dataset = dataset.batch(batch_size, drop_remainder=drop_remainder).enumerate()
        if skip_batches:
            dataset = dataset.skip(skip_batches)
        dataset = dataset.map(to_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        return dataset.prefetch(tf.data.AUTOTUNE)


def epoch_seed(seed, epoch):
    """A 63-bit seed for `tf.data` shuffling from the run's seed and the epoch."""
    return int((seed * 1_000_003 + epoch * 7_919 + 12_345) % (2**63 - 1))


def batch_seed(seed, epoch, batch_index):
    """The stateless seed of one batch's random draws, from (seed, epoch, batch index)."""
    return tf.stack([tf.constant(seed, tf.int64), tf.constant(epoch, tf.int64) * (1 << 32) + batch_index])


def binarize(images, binarization, threshold=0.5, seed=None):
    """uint8 images to float32 in [0, 1], binarized.

    Args:
        images: uint8 tensor.
        binarization: "dynamic" (pixel is 1 with probability equal to its
            intensity, drawn with the stateless `seed`), "threshold" (intensity >
            `threshold`) or "none".
        threshold: the cut for "threshold".
        seed: an int64 (2,) stateless seed, needed for "dynamic".
    """
    images = tf.cast(images, tf.float32) / 255.0
    if binarization == "dynamic":
        return tf.cast(tf.random.stateless_uniform(tf.shape(images), seed=seed) < images, tf.float32)
    if binarization == "threshold":
        return tf.cast(images > threshold, tf.float32)
    return images


def load(name, split="train", *, data_dir=None, source_dir=None):
    """Loads a split of MNIST or Fashion-MNIST into memory.

    Args:
        name: "mnist" or "fashion_mnist".
        split: "train" or "test".
        data_dir: the TFDS data folder.
        source_dir: folder with the original `.gz` files for an offline build
            (default: the `TFGEN_DATA_DIR` environment variable).

    Returns:
        An `ImageDataset` of uint8 images (N, 28, 28, 1) and int64 labels.
    """
    import tensorflow_datasets as tfds

    check_choice("dataset", name, DATASETS)
    check_choice("split", split, SPLITS)
    builder = prepare(name, data_dir=data_dir, source_dir=source_dir)
    arrays = tfds.as_numpy(builder.as_dataset(split=split, batch_size=-1, shuffle_files=False))
    return ImageDataset(images=arrays["image"], labels=arrays["label"], num_classes=10, name=f"{name}/{split}")
