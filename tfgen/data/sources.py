"""The data sources: `load` a TFDS dataset by name, or a folder of images.

`load(name_or_path, split)` dispatches:

* "mnist" / "fashion_mnist": through TFDS, online or built offline from the
  original files (below);
* any other TFDS image dataset by name ("cifar10", "svhn_cropped",
  "celeb_a", "oxford_flowers102", "name:version", "name/config"): the image
  feature is the top-level `Image` (the key "image" preferred), the label the
  top-level `ClassLabel` "label", else the only top-level `ClassLabel`;
  without one (e.g. celeb_a's attributes) the data is unlabelled. The class
  names are the `ClassLabel`'s. Splits: "train" and "test"; a dataset
  without a "test" split tests on its "validation" split, and one with
  neither holds out its last 10% of "train" (`train[90%:]`, TFDS's
  deterministic slicing; "train" is then `train[:90%]`);
* a path (an existing folder, or text with a path separator, except a
  registered TFDS "name/config"): a folder of images, `tfgen.data.folders`.

Every source goes through the same crop, resize and channel conversion
(`tfgen.data.transforms`, `image_size=` and `channels=`) and, when larger
than memory, through the streaming cache (`tfgen.data.streaming`).
Datasets other than MNIST download as TFDS does when online; offline
(`TFGEN_OFFLINE=1`, or no network) a dataset that is not prepared fails at
once with a `DataUnavailableError`.

Two ways to get MNIST and Fashion-MNIST:

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

import logging
import os
import socket

from tfgen import _checks
from tfgen.data import folders
from tfgen.data import streaming as streaming_lib
from tfgen.data import transforms
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
#: The host probed before downloading any other TFDS dataset (TFDS's own storage).
_DEFAULT_DOWNLOAD_HOST = ("storage.googleapis.com", 443)
#: The share of "train" held out as "test" by a TFDS dataset with neither a "test" nor a "validation" split.
HOLD_OUT_PERCENT = 10
_BATCH = 256


class DataUnavailableError(RuntimeError):
    """The dataset is neither prepared, nor downloadable, nor buildable from local files."""


def _network_available(name, timeout=3.0):
    """True when the dataset's download host accepts a TCP connection within `timeout` seconds."""
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
        return False
    host, port = _DOWNLOAD_HOSTS.get(name, _DEFAULT_DOWNLOAD_HOST)
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


def _load_mnist(name, split="train", *, data_dir=None, source_dir=None, examples=None):
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
    if examples is not None:  # more than the split holds: all of it (as every other source does)
        examples = min(examples, builder.info.splits[split].num_examples)
    selection = split if examples is None else f"{split}[:{examples}]"
    arrays = tfds.as_numpy(builder.as_dataset(split=selection, batch_size=-1, shuffle_files=False))
    return ImageDataset(images=arrays["image"], labels=arrays["label"], num_classes=10, name=f"{name}/{split}",
                        class_names=list(CLASS_NAMES[name]))


def load(name_or_path, split="train", *, image_size=None, channels=None, examples=None, data_dir=None,
         source_dir=None, streaming=None):
    """Loads a split of a TFDS image dataset or of a folder of images (module docstring).

    Args:
        name_or_path: a TFDS name ("mnist", "cifar10", "celeb_a",
            "name:version", "name/config") or a folder of images (an existing
            folder, or text with a path separator; `tfgen.data.folders`).
        split: "train" or "test".
        image_size: None (the data's own size) or an int / (height, width) /
            "HxW": every image is centre-cropped to that aspect ratio and
            resized to it (`tfgen.data.transforms`).
        channels: None (the data's own; an alpha channel is dropped), 1 or 3.
        examples: only the first N examples (nothing more is read or decoded).
        data_dir: the TFDS data folder (also home of the streaming caches of
            TFDS datasets).
        source_dir: MNIST / Fashion-MNIST: a folder with the original `.gz`
            files for an offline build (default: `TFGEN_DATA_DIR`).
        streaming: True (decode once into a cache file on disk and read the
            batches from it), False (in memory), None (streams when the decoded
            images exceed `tfgen.data.streaming.memory_budget()`).

    Returns:
        An `ImageDataset` of uint8 images (N, height, width, channels), with
        int64 labels and class names, or unlabelled (`labels` None).

    Raises:
        ValueError: an unknown dataset name, split, size or channel count; a
            folder without images or with an unreadable file (named).
        DataUnavailableError: a TFDS dataset that is not prepared and cannot
            be downloaded (offline).
    """
    image_size = transforms.parse_image_size(image_size)
    channels = transforms.check_channels(channels)
    examples = _checks.positive_int("examples", examples, allow_none=True)
    if streaming is not None:
        streaming = _checks.boolean("streaming", streaming)
    if isinstance(name_or_path, os.PathLike) or folders.is_path(name_or_path):
        return folders.load_folder(name_or_path, split, image_size=image_size, channels=channels, examples=examples,
                                   data_dir=data_dir, streaming=streaming)
    if not isinstance(name_or_path, str) or not name_or_path:
        raise ValueError(f"dataset must be a TFDS dataset name or a folder of images. Received: {name_or_path!r}")
    _checks.choice("split", split, SPLITS)
    if name_or_path in DATASETS:
        dataset = _load_mnist(name_or_path, split, data_dir=data_dir, source_dir=source_dir, examples=examples)
        if image_size is None and channels is None and not streaming:
            return dataset  # today's exact arrays
        images = transforms.transform_images(dataset.images, image_size, channels)
        fingerprint = {"kind": "tfds", "dataset": name_or_path, "split": split, "examples": examples,
                       "image_size": image_size, "channels": channels}
        return streaming_lib.materialize(
            lambda: [(images, dataset.labels)], name=dataset.name, num_bytes=images.nbytes, streaming=streaming,
            cache_dir=os.path.join(streaming_lib.tfds_data_dir(data_dir), streaming_lib.TFDS_CACHE),
            fingerprint=fingerprint, class_names=dataset.class_names)
    return _load_tfds(name_or_path, split, image_size=image_size, channels=channels, examples=examples,
                      data_dir=data_dir, streaming=streaming)


def check_dataset(dataset):
    """`dataset` if `tfgen.runs.load_data` can load it, else one clear ValueError (nothing is read or downloaded).

    Accepted: "mnist" / "fashion_mnist", any TFDS name (checked against
    TFDS's registry), an existing folder, an `ImageDataset`, or a (train,
    test) pair of them.
    """
    if isinstance(dataset, ImageDataset):
        return dataset
    if isinstance(dataset, (tuple, list)):
        if len(dataset) == 2 and isinstance(dataset[0], ImageDataset) and (
                dataset[1] is None or isinstance(dataset[1], ImageDataset)):
            return tuple(dataset)
        raise ValueError(f"dataset must be a name, a folder, an ImageDataset or a (train, test) pair of them. "
                         f"Received: a {type(dataset).__name__} of {len(dataset)}")
    if isinstance(dataset, os.PathLike) or folders.is_path(dataset):
        path = os.fspath(dataset)
        if not os.path.isdir(os.path.expanduser(path)):
            raise ValueError(f"No such folder of images: {path!r}. Received: dataset={path!r}")
        return path
    if not isinstance(dataset, str) or not dataset:
        raise ValueError(f"dataset must be a TFDS dataset name or a folder of images. Received: dataset={dataset!r}")
    if dataset not in DATASETS:
        _check_spelling(dataset)
        tfds_builder(dataset)
    return dataset


def _check_spelling(dataset):
    """Refuses a TFDS name that is not spelled as TFDS spells it ("MNIST", "Fashion-MNIST"), with the name meant.

    TFDS itself would take some of these (it folds case in places), and a run would then record a name that
    no other command or resume matches.
    """
    import difflib

    import tensorflow_datasets as tfds

    name = dataset.split(":")[0].split("/")[0]
    known = set(DATASETS) | set(tfds.list_builders())
    if name in known:
        return
    folded = {known_name.replace("_", "").replace("-", "").lower(): known_name for known_name in known}
    meant = folded.get(name.replace("_", "").replace("-", "").lower())
    if meant is None:
        close = difflib.get_close_matches(name.lower(), sorted(known), n=1, cutoff=0.8)
        meant = close[0] if close else None
    hint = f" Did you mean {dataset.replace(name, meant, 1)!r}?" if meant else ""
    raise ValueError(f"Unknown dataset {name!r}: TFDS names are spelled exactly (lower case, see "
                     f"tfds.list_builders()); a folder of images needs a separator (e.g. ./{name}).{hint} "
                     f"Received: dataset={dataset!r}")


def tfds_builder(name, data_dir=None):
    """`tfds.builder(name)`, with an unknown name a ValueError naming it."""
    import tensorflow_datasets as tfds

    try:
        return tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"Unknown dataset {name!r}: not a TensorFlow Datasets name (see tfds.list_builders()), and not a folder "
            f"of images (a path needs a separator, e.g. ./{name}). Received: dataset={name!r}"
        ) from None


def image_features(builder):
    """(image key, label key or None) of a TFDS builder's features (module docstring).

    Raises:
        ValueError: when the dataset has no top-level image feature.
    """
    import tensorflow_datasets as tfds

    features = builder.info.features
    keys = list(features.keys()) if hasattr(features, "keys") else []
    images = [key for key in keys if isinstance(features[key], tfds.features.Image)]
    if not images:
        raise ValueError(f"The TFDS dataset {builder.name!r} has no top-level image feature. Its features: {keys}")
    image = "image" if "image" in images else images[0]
    labels = [key for key in keys if isinstance(features[key], tfds.features.ClassLabel)]
    label = "label" if "label" in labels else labels[0] if len(labels) == 1 else None
    return image, label


def _prepare_tfds(builder, name, data_dir):
    """Makes sure `builder` is prepared: TFDS's download online, a `DataUnavailableError` at once offline."""
    if builder.is_prepared():
        return
    where = streaming_lib.tfds_data_dir(data_dir)
    if os.environ.get(OFFLINE_ENV, "").strip() not in ("", "0"):
        raise DataUnavailableError(
            f"Cannot get the {name!r} dataset: it is not prepared in {where!r} and {OFFLINE_ENV} is set (no "
            f"download). Prepare it once with network access (tfgen.data.load({name!r}) or tfds build {name}), "
            f"or point --data-dir / data_dir at the TFDS folder that holds it."
        )
    if not _network_available(name):
        raise DataUnavailableError(
            f"Cannot get the {name!r} dataset: it is not prepared in {where!r} and the download host "
            f"{_DEFAULT_DOWNLOAD_HOST[0]} cannot be reached. Connect to the network, or point --data-dir / "
            f"data_dir at the TFDS folder that holds it."
        )
    builder.download_and_prepare()


def tfds_splits(builder):
    """{"train": selection, "test": selection} of a prepared builder (module docstring)."""
    known = set(builder.info.splits.keys())
    if not known or "test" in known:
        return {"train": "train", "test": "test"}
    if "validation" in known:
        return {"train": "train", "test": "validation"}
    keep = 100 - HOLD_OUT_PERCENT
    return {"train": f"train[:{keep}%]", "test": f"train[{keep}%:]"}


def _load_tfds(name, split, *, image_size, channels, examples, data_dir, streaming):
    """A split of any TFDS image dataset (module docstring)."""
    import tensorflow as tf
    import tensorflow_datasets as tfds

    builder = tfds_builder(name, data_dir)
    image_key, label_key = image_features(builder)
    feature_shape = builder.info.features[image_key].shape
    if image_size is None and (feature_shape[0] is None or feature_shape[1] is None):
        raise ValueError(
            f"The images of {name!r} have different sizes ({feature_shape}): pass image_size (--image-size N or "
            f"HxW) to crop and resize them all to one."
        )
    _prepare_tfds(builder, name, data_dir)
    selection = tfds_splits(builder)[split]
    if selection != split:
        logging.getLogger(__name__).info("%s: the %r split is %r (the dataset has no %r split)", name, split,
                                         selection, split)
    total = None
    try:
        total = builder.info.splits[selection].num_examples
    except (KeyError, ValueError, TypeError, AttributeError):
        pass
    if examples is not None:
        total = examples if total is None else min(total, examples)
    label_feature = builder.info.features[label_key] if label_key else None
    class_names = list(label_feature.names) if label_feature is not None else None

    def example(features):
        image = transforms.transform_image(features[image_key], image_size, channels)
        return (image, features[label_key]) if label_key else (image, tf.zeros([], tf.int64))

    def read_batches():
        dataset = builder.as_dataset(split=selection, shuffle_files=False)
        if examples is not None:
            dataset = dataset.take(examples)
        dataset = dataset.map(example, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True).batch(_BATCH)
        for images, labels in tfds.as_numpy(dataset.prefetch(2)):
            yield images, labels if label_key else None

    height, width = image_size or feature_shape[:2]
    depth = transforms.output_channels(feature_shape[2] or 3, channels)
    fingerprint = {"kind": "tfds", "dataset": builder.info.full_name, "split": selection, "examples": examples,
                   "image_size": image_size, "channels": channels, "image": image_key, "label": label_key}
    return streaming_lib.materialize(
        read_batches, name=f"{name}/{split}", num_bytes=(total or 0) * height * width * depth, streaming=streaming,
        cache_dir=os.path.join(streaming_lib.tfds_data_dir(data_dir), streaming_lib.TFDS_CACHE),
        fingerprint=fingerprint, class_names=class_names,
        num_classes=None if label_feature is None else label_feature.num_classes)
