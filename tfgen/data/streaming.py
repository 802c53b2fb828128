"""Datasets larger than memory: decoded once into a cache file, read batch by batch.

A source (a TFDS dataset, a folder of images) is decoded, cropped and resized
once into an uncompressed uint8 cache file on disk, which the dataset opens
as a read-only `np.memmap`: `ImageDataset.batches` then gathers each batch's
examples from the file (`tf.numpy_function`) instead of from one in-memory
constant. The order of an epoch, every random draw of the pipeline and the
mid-epoch resume are those of the in-memory path, bit for bit: only where
the uint8 pixels come from differs.

The cache of one source is three files in its cache folder, named after a
hash of the source's fingerprint (what was read, and how: file names, sizes
and modification times, or the TFDS dataset's name, version and split; the
image size and channels; `CACHE_VERSION`):

* `NAME-HASH.images`: the images, raw uint8, C order (N, height, width, channels);
* `NAME-HASH.labels.npy`: the int64 labels (absent for unlabelled data);
* `NAME-HASH.json`: the fingerprint, the shape and the class names, written
  last: a cache without it, or whose JSON disagrees with the files (a partial
  or stale write), is rebuilt.

Every file is written to a temporary file in the same folder and moved into
place with `os.replace` (atomic), the JSON last, so a reader never sees a
partial cache and concurrent writers of the same source (which write the
same bytes) cannot corrupt it. A reader that already opened the old file
keeps reading it.

Where the caches live: `DIR/.tfgen_cache/` for a folder of images `DIR`
(when `DIR` is not writable: `DATA_DIR/tfgen_cache/`), and
`DATA_DIR/tfgen_cache/` for TFDS datasets, where `DATA_DIR` is TFDS's data
folder (`data_dir=`, `TFDS_DATA_DIR`, or `~/tensorflow_datasets`). A cache
folder can be deleted at any time.

`streaming=None` (the default of `tfgen.data.load`) streams when the
decoded images would take more than `memory_budget()` bytes: the environment
variable `TFGEN_MAX_IN_MEMORY_BYTES`, else a quarter of the machine's memory,
at most 2 GiB.
"""

import hashlib
import json
import os

import numpy as np

from tfgen._files import write_atomic

#: Bump when the cache's layout or the decoding changes: old caches are then rebuilt.
CACHE_VERSION = 1
#: The memory budget of the in-memory path, in bytes (see `memory_budget`).
MAX_IN_MEMORY_ENV = "TFGEN_MAX_IN_MEMORY_BYTES"
DEFAULT_MAX_IN_MEMORY_BYTES = 2 * 1024**3
#: The cache folder's name inside a folder of images, and inside TFDS's data folder.
FOLDER_CACHE = ".tfgen_cache"
TFDS_CACHE = "tfgen_cache"


def memory_budget():
    """The most bytes of decoded images `load` keeps in memory (`TFGEN_MAX_IN_MEMORY_BYTES`, or min(RAM / 4, 2 GiB))."""
    value = os.environ.get(MAX_IN_MEMORY_ENV, "").strip()
    if value:
        try:
            budget = int(float(value))
        except ValueError:
            raise ValueError(f"{MAX_IN_MEMORY_ENV} must be a number of bytes. Received: {value!r}") from None
        if budget < 0:
            raise ValueError(f"{MAX_IN_MEMORY_ENV} must be a non-negative number of bytes. Received: {value!r}")
        return budget
    from tfgen._memory import total_bytes  # the one home of the memory arithmetic

    ram = total_bytes()
    if ram is None:
        return DEFAULT_MAX_IN_MEMORY_BYTES
    return int(min(ram // 4, DEFAULT_MAX_IN_MEMORY_BYTES))


def should_stream(num_bytes, streaming=None):
    """Whether to stream `num_bytes` of decoded images: `streaming` when given, else more than the budget."""
    if streaming is not None:
        if not isinstance(streaming, (bool, np.bool_)):
            raise ValueError(f"streaming must be True, False or None (automatic). Received: streaming={streaming!r}")
        return bool(streaming)
    return num_bytes > memory_budget()


def _fingerprint_hash(fingerprint):
    text = json.dumps({"cache_version": CACHE_VERSION, **fingerprint}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _paths(cache_dir, name, fingerprint):
    slug = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)[:80] or "data"
    stem = os.path.join(cache_dir, f"{slug}-{_fingerprint_hash(fingerprint)}")
    return stem + ".images", stem + ".labels.npy", stem + ".json"


def open_cache(cache_dir, name, fingerprint):
    """(images memmap, labels or None, class_names) of a complete cache of `fingerprint`, or None if there is none."""
    images_path, labels_path, meta_path = _paths(cache_dir, name, fingerprint)
    try:
        with open(meta_path, encoding="utf-8") as stream:
            meta = json.load(stream)
        shape = tuple(int(side) for side in meta["shape"])
        if meta.get("fingerprint") != _fingerprint_hash(fingerprint) or len(shape) != 4:
            return None
        if os.path.getsize(images_path) != int(np.prod(shape)):
            return None
        labels = None
        if meta.get("labelled"):
            labels = np.load(labels_path)
            if labels.shape != (shape[0],):
                return None
        images = np.memmap(images_path, dtype=np.uint8, mode="r", shape=shape)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return images, labels, meta.get("class_names")


def write_cache(cache_dir, name, fingerprint, batches, class_names=None):
    """Writes the cache of `fingerprint` from `batches`, an iterable of (uint8 images, labels or None); opens it.

    Each file is written through a temporary file and a rename
    (`tfgen._files.write_atomic`), the description last: a cache whose
    description is there is whole.

    Returns:
        (images memmap, labels or None, class_names), as `open_cache`.
    """
    os.makedirs(cache_dir, exist_ok=True)
    images_path, labels_path, meta_path = _paths(cache_dir, name, fingerprint)
    written = {"shape": None, "count": 0, "labels": []}

    def write_images(temporary):
        with open(temporary, "wb") as stream:
            for images, batch_labels in batches:
                images = np.ascontiguousarray(images, dtype=np.uint8)
                if written["shape"] is None:
                    written["shape"] = images.shape[1:]
                stream.write(images.tobytes())
                written["count"] += len(images)
                if batch_labels is not None:
                    written["labels"].append(np.asarray(batch_labels, np.int64))
            if written["shape"] is None:
                raise ValueError(f"{name!r} holds no images")
            stream.flush()
            os.fsync(stream.fileno())

    write_atomic(images_path, write_images, suffix=".images")
    labelled = bool(written["labels"])
    if labelled:
        labels = np.concatenate(written["labels"])
        write_atomic(labels_path, lambda temporary: np.save(temporary, labels), suffix=".npy")
    description = json.dumps({
        "fingerprint": _fingerprint_hash(fingerprint), "shape": [written["count"], *map(int, written["shape"])],
        "labelled": labelled, "class_names": class_names, "source": fingerprint,
    }, indent=1, default=str)

    def write_description(temporary):
        with open(temporary, "w", encoding="utf-8") as stream:
            stream.write(description)
            stream.flush()
            os.fsync(stream.fileno())

    write_atomic(meta_path, write_description, suffix=".json")  # last: the cache is complete
    opened = open_cache(cache_dir, name, fingerprint)
    if opened is None:
        raise OSError(f"The cache of {name!r} in {cache_dir!r} was written but cannot be read back")
    return opened


def tfds_data_dir(data_dir=None):
    """TFDS's data folder: `data_dir`, else `TFDS_DATA_DIR`, else `~/tensorflow_datasets`."""
    return data_dir or os.environ.get("TFDS_DATA_DIR") or os.path.join(os.path.expanduser("~"), "tensorflow_datasets")


def materialize(read_batches, *, name, num_bytes, streaming, cache_dir, fingerprint, class_names=None,
                num_classes=None):
    """An `ImageDataset` of a source: in memory, or streamed from its cache (module docstring).

    Args:
        read_batches: a callable returning an iterable of (uint8 images
            (batch, h, w, c), int labels (batch,) or None), every example once, in order.
        name: the dataset's name.
        num_bytes: the decoded size, for `streaming=None`.
        streaming: True, False or None (automatic, `should_stream`).
        cache_dir: the cache folder (streaming only).
        fingerprint: a JSON-able dict identifying what is read and how.
        class_names: the names of the classes (labelled data).
        num_classes: the number of classes (default: len(class_names)).
    """
    from tfgen.data.pipeline import ImageDataset

    if should_stream(num_bytes, streaming):
        opened = open_cache(cache_dir, name, fingerprint)
        if opened is None:
            opened = write_cache(cache_dir, name, fingerprint, read_batches(), class_names)
        images, labels, _ = opened
    else:
        chunks, label_chunks = [], []
        for batch_images, batch_labels in read_batches():
            chunks.append(np.asarray(batch_images, np.uint8))
            if batch_labels is not None:
                label_chunks.append(np.asarray(batch_labels, np.int64))
        if not chunks:
            raise ValueError(f"{name!r} holds no images")
        images = np.concatenate(chunks)
        labels = np.concatenate(label_chunks) if label_chunks else None
    if labels is None:
        return ImageDataset(images, None, name=name)
    return ImageDataset(images, labels, num_classes or len(class_names), name=name, class_names=class_names)
