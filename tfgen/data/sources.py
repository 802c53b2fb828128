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

:func:`load` returns an :class:`~tfgen.data.pipeline.ImageDataset`, which
batches through the one pipeline of :mod:`tfgen.data.pipeline`.
"""

import os
import socket

from tfgen import _checks
from tfgen.data.pipeline import ImageDataset

DATASETS = ("mnist", "fashion_mnist")
SPLITS = ("train", "test")

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
    _checks.choice("dataset", name, DATASETS)
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

    _checks.choice("dataset", name, DATASETS)
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
            f"DIR/{name}/ and set {SOURCE_DIR_ENV}=DIR (or pass source_dir=DIR / --source-dir DIR)."
        )
    builder.download_and_prepare()
    return builder


def load(name, split="train", *, data_dir=None, source_dir=None, examples=None):
    """Loads a split of MNIST or Fashion-MNIST into memory.

    Args:
        name: "mnist" or "fashion_mnist".
        split: "train" or "test".
        data_dir: the TFDS data folder.
        source_dir: folder with the original `.gz` files for an offline build
            (default: the `TFGEN_DATA_DIR` environment variable).
        examples: only the first N examples (TFDS reads and decodes no
            more: smoke runs start in a fraction of the time); the same
            examples as `load(...).take(N)`.

    Returns:
        An `ImageDataset` of uint8 images (N, 28, 28, 1) and int64 labels.
    """
    import tensorflow_datasets as tfds

    _checks.choice("dataset", name, DATASETS)
    _checks.choice("split", split, SPLITS)
    examples = _checks.positive_int("examples", examples, allow_none=True)
    builder = prepare(name, data_dir=data_dir, source_dir=source_dir)
    selection = split if examples is None else f"{split}[:{examples}]"
    arrays = tfds.as_numpy(builder.as_dataset(split=selection, batch_size=-1, shuffle_files=False))
    return ImageDataset(images=arrays["image"], labels=arrays["label"], num_classes=10, name=f"{name}/{split}")
