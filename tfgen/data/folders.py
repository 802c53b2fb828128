"""A folder of images as a dataset: class sub-folders give labels, a flat folder none.

Layout (PNG, JPEG, BMP and GIF files, first frame; hidden files and folders
are skipped):

* ``DIR/CLASS/...``: one sub-folder per class (images anywhere below it);
  class ids follow the sorted folder names, which are the class names;
* ``DIR/*.png``: a flat folder, unlabelled (`ImageDataset.labels` is None);
* ``DIR/train/`` and ``DIR/test/`` (or ``DIR/validation/``, ``DIR/val/``),
  each laid out as above: those are the splits (the test split's classes
  must be among the training split's; ids follow the training split's names).

Without split folders the split is a deterministic hold-out: within each
class (or the flat folder), files sorted by path, every 10th file (the
10th, 20th, ...) is "test", the rest "train"; a class with 2 to 9 files
gives its last one to "test" (a class of one file gives it to "train").
Adding files to a class can move its later files between the splits, never
its earlier ones.

The examples are in sorted path order (class by class), so `examples=N`
reads the first N files, the same as `load(...).take(N)`.

Why a reader of our own (`tf.io.read_file` + `tf.io.decode_image` in a
`tf.data` map) rather than TFDS's `ImageFolder` or
`keras.utils.image_dataset_from_directory`: flat, unlabelled folders
(`ImageFolder` needs split and label folders), a fixed sorted order and our
split rule (Keras shuffles and splits by a seed), the same crop, resize and
channel conversion as every other source (`tfgen.data.transforms`, uint8,
while Keras gives float32 without a centre crop to the aspect ratio), errors
that name the file that cannot be read, and decoding straight into the
streaming cache (`tfgen.data.streaming`) for folders larger than memory.

Images of different sizes need `image_size` (they are cropped and resized
to it); without it, a clear error names two files of different sizes.

Symbolic links: a linked image file is read like any other; a linked
folder is never followed, wherever it points (a loop back to the folder
or one of its ancestors, which would read every image again as an extra
class; another folder inside it, a second copy; or a folder outside it):
it is skipped, with one `FolderWarning` line naming each skipped link and
where it points. Copy or move the images into the folder to include them.

A ``train/`` folder without a test folder beside it (or a test folder
without ``train/``) is refused, when it holds class sub-folders or is the
folder's only sub-folder: it would otherwise be read as one class named
"train". Give that folder itself as the dataset (a hold-out is then its
test split), or add the missing split folder.
"""

import hashlib
import logging
import os
import re
import warnings

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen._files import SIGNATURES, content_problem, holds_format
from tfgen.data import streaming as streaming_lib
from tfgen.data import transforms

EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
SPLITS = ("train", "test")
#: Folder names taken as the test split, in order of preference, next to a train/ folder.
TEST_FOLDERS = ("test", "validation", "val")
#: Every HOLD_OUT-th file of a class is a test file when the folder has no split folders.
HOLD_OUT = 10
_BATCH = 256


def _tfds_name(text):
    """Whether `text` reads as a TFDS "name/config[:version]" of a registered dataset (e.g. "celeb_a/align")."""
    import tensorflow_datasets as tfds

    base = text.split("/")[0].split(":")[0]
    try:
        tfds.builder_cls(base)
    except Exception:  # noqa: BLE001 - any failure to find it: not a TFDS name
        return False
    return True


def is_path(name_or_path):
    """Whether `name_or_path` names a folder of images.

    An existing directory, or text with a path separator or starting with
    "." or "~"; except "name/config" of a registered TFDS dataset (when no
    such folder exists).
    """
    if isinstance(name_or_path, os.PathLike):
        return True
    if not isinstance(name_or_path, str):
        return False
    text = name_or_path
    if os.path.isdir(text) or text.startswith(("~", ".", os.sep)):
        return True
    separators = [os.sep] + ([os.altsep] if os.altsep else [])
    return any(sep in text for sep in separators) and not _tfds_name(text)


class FolderWarning(UserWarning):
    """A folder of images holds something that is skipped (a symbolic link to a folder): one line."""


def _visible(names):
    return sorted(name for name in names if not name.startswith("."))


def _image_files(folder, recursive, links=None):
    """Sorted paths of the image files in `folder` (and below it, when `recursive`); the linked folders met
    below it are not followed but added to the set `links`."""
    found = []
    for current, dirs, files in os.walk(folder):
        if recursive:
            linked = {name for name in dirs if os.path.islink(os.path.join(current, name))}
            if links is not None:
                links.update(os.path.join(current, name) for name in _visible(linked))
            dirs[:] = [name for name in _visible(dirs) if name not in linked]
        else:
            dirs[:] = []
        found += [os.path.join(current, f) for f in _visible(files) if f.lower().endswith(EXTENSIONS)]
    return sorted(found)


def _subfolders(folder, links=None):
    """The visible sub-folders of `folder`, sorted; the linked ones are left out (added to the set `links`)."""
    names = []
    for name in _visible(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.islink(path) and os.path.isdir(path):
            if links is not None:
                links.add(path)
        elif os.path.isdir(path):
            names.append(name)
    return names


def _warn_links(folder, links):
    """One `FolderWarning` line naming the linked folders skipped in `folder` and where each points."""
    if not links:
        return
    root = os.path.realpath(folder)
    described = []
    for link in sorted(links):
        target = os.path.realpath(link)
        if root == target or root.startswith(target.rstrip(os.sep) + os.sep):
            why = "a loop: it holds the folder"
        elif target.startswith(root + os.sep):
            why = "inside the folder: a second copy"
        else:
            why = "out of the folder"
        described.append(f"{os.path.relpath(link, folder)!r} -> {target!r} ({why})")
    warnings.warn(f"The folder of images {folder!r}: skipped {len(described)} linked folder"
                  f"{'s' if len(described) > 1 else ''} (never followed): {', '.join(described)}. Copy or move "
                  f"the images into the folder to include them.", FolderWarning, stacklevel=2)


def scan(folder):
    """(files, labels or None, class_names) of a folder laid out as the module docstring says; linked folders
    are skipped, with one `FolderWarning` (module docstring).

    Raises:
        ValueError: no images, or images both loose and in sub-folders.
    """
    links = set()
    classes = [name for name in _subfolders(folder, links) if _image_files(os.path.join(folder, name), True, links)]
    loose = _image_files(folder, False)
    _warn_links(folder, links)
    if classes and loose:
        raise ValueError(
            f"The folder {folder!r} holds both images ({os.path.basename(loose[0])!r}, ...) and class sub-folders "
            f"({classes[0]!r}, ...). Put every image in a sub-folder of its class (labelled), or none (unlabelled)."
        )
    if loose:
        return loose, None, []
    if not classes:
        raise ValueError(
            f"The folder {folder!r} holds no images ({', '.join(EXTENSIONS)}), neither directly nor in class sub-folders."
        )
    files, labels = [], []
    for label, name in enumerate(classes):
        members = _image_files(os.path.join(folder, name), True)
        files += members
        labels += [label] * len(members)
    return files, np.asarray(labels, np.int64), classes


def hold_out(count):
    """Boolean mask of the test files among `count` sorted files of one class (module docstring)."""
    test = (np.arange(count) + 1) % HOLD_OUT == 0
    if 2 <= count < HOLD_OUT:
        test[-1] = True
    return test


def _split_folders(root):
    """(train folder, test folder) when `root` has split sub-folders, else None."""
    subfolders = set(_subfolders(root))
    test = next((name for name in TEST_FOLDERS if name in subfolders), None)
    if "train" in subfolders and test:
        return os.path.join(root, "train"), os.path.join(root, test)
    return None


def _refuse_a_lone_split_folder(root):
    """A ValueError when `root` has a train/ folder without a test folder, or a test folder without train/, that
    holds class sub-folders or is `root`'s only sub-folder (it would be read as one class named after it)."""
    subfolders = _subfolders(root)
    present = [name for name in ("train", *TEST_FOLDERS) if name in subfolders]
    if not present:
        return
    name = present[0]
    path = os.path.join(root, name)
    holds_classes = any(_image_files(os.path.join(path, sub), True) for sub in _subfolders(path))
    if not holds_classes and len(subfolders) > 1:
        return  # a class that happens to be called "train" among others
    missing = "test folder (test/, validation/ or val/)" if name == "train" else "train/ folder"
    raise ValueError(
        f"The folder of images {root!r} has a {name}/ folder but no {missing} beside it: split folders come in "
        f"pairs, and alone {name}/ would be read as one class named {name!r}. Add the missing split folder, or "
        f"give {path!r} itself as the dataset (every {HOLD_OUT}th file of each class is then held out for 'test')."
    )


def split_files(root, split):
    """(files, labels or None, class_names, how the split was made) of one split of the folder `root`."""
    _checks.choice("split", split, SPLITS)
    folders = _split_folders(root)
    if folders is not None:
        train_files, train_labels, class_names = scan(folders[0])
        if split == "train":
            return train_files, train_labels, class_names, f"the folder {folders[0]!r}"
        files, labels, names = scan(folders[1])
        if (labels is None) != (train_labels is None):
            raise ValueError(
                f"{folders[0]!r} and {folders[1]!r} must both hold class sub-folders, or both be flat. "
                f"Received: {'class sub-folders' if train_labels is not None else 'a flat folder'} and "
                f"{'class sub-folders' if labels is not None else 'a flat folder'}"
            )
        if labels is not None:
            unknown = sorted(set(names) - set(class_names))
            if unknown:
                raise ValueError(f"The test folder {folders[1]!r} has classes the training folder lacks: {unknown}")
            labels = np.asarray([class_names.index(names[label]) for label in labels], np.int64)
        return files, labels, class_names, f"the folder {folders[1]!r}"
    _refuse_a_lone_split_folder(root)
    files, labels, class_names = scan(root)
    groups = [np.arange(len(files))] if labels is None else [np.flatnonzero(labels == k) for k in range(len(class_names))]
    keep = np.zeros(len(files), bool)
    for members in groups:
        test = hold_out(len(members))
        keep[members] = test if split == "test" else ~test
    if not keep.any():
        raise ValueError(
            f"The folder {root!r} has too few images for a {split!r} split: every {HOLD_OUT}th file of each class "
            f"(its last when it has 2 to {HOLD_OUT - 1}) is held out for 'test'. Add images, or make "
            f"train/ and test/ sub-folders."
        )
    index = np.flatnonzero(keep)
    description = (f"a hold-out of {root!r}: every {HOLD_OUT}th file of each class in sorted order is 'test' "
                   f"(no train/ and test/ sub-folders)")
    return [files[i] for i in index], None if labels is None else labels[index], class_names, description


def _decode(path):
    return tf.io.decode_image(tf.io.read_file(path), channels=0, dtype=tf.uint8, expand_animations=False)


def _first_line(error):
    """The first line of an error's message, without TensorFlow's "{{function_node ...}}" and "[Op:...]" parts."""
    text = getattr(error, "message", None) or str(error)
    text = re.sub(r"\{\{[^}]*\}\}\s*|\s*\[Op:[^\]]*\].*$", "", (text.strip().splitlines() or [""])[0])
    return text.strip() or type(error).__name__


def read_image(path, image_size=None, channels=None):
    """One image file, decoded and transformed (`tfgen.data.transforms`), as a uint8 array.

    Raises:
        ValueError: naming the file, when it cannot be read or decoded.
    """
    try:
        return transforms.transform_image(_decode(path), image_size, channels).numpy()
    except (tf.errors.OpError, ValueError) as error:
        # A file that is no image at all (empty, text) is named as such; an image of another format than its
        # extension names is read as what it is.
        reason = None if holds_format(path, SIGNATURES) else content_problem(path)
        raise ValueError(f"Cannot read the image file {path!r}: {reason or _first_line(error)}") from None


def _mixed_error(reference_path, reference_shape, path, shape):
    what, flag = ("sizes", "image_size (--image-size N or HxW)")
    if reference_shape[:2] == shape[:2]:
        what, flag = ("channel counts", "channels (--channels 1 or 3)")
    return ValueError(
        f"The images have different {what}: {reference_path!r} is {'x'.join(map(str, reference_shape))} and "
        f"{path!r} is {'x'.join(map(str, shape))} (height x width x channels). Pass {flag} to convert them all."
    )


def _diagnose(paths, reference_path, reference_shape, image_size, channels):
    """Finds the file of a failed batch that cannot be read or differs from the first one; raises its error."""
    for path in paths:
        shape = read_image(path, image_size, channels).shape
        if shape != reference_shape:
            raise _mixed_error(reference_path, reference_shape, path, shape)


def _cache_dir(root, data_dir):
    cache = os.path.join(root, streaming_lib.FOLDER_CACHE)
    if os.access(root, os.W_OK):
        return cache
    return os.path.join(streaming_lib.tfds_data_dir(data_dir), streaming_lib.TFDS_CACHE)


def load_folder(path, split="train", *, image_size=None, channels=None, examples=None, data_dir=None,
                streaming=None):
    """One split of a folder of images as an `ImageDataset` (module docstring).

    Args:
        path: the folder.
        split: "train" or "test".
        image_size: None (the images' own size; they must all have it) or
            (height, width) / an int: centre-cropped and resized to it.
        channels: None (the images' own), 1 or 3.
        examples: only the first N files of the split (sorted order).
        data_dir: where the streaming cache goes when the folder is not writable.
        streaming: True (decode once into a cache file and read batches from
            it), False (in memory) or None (by size, `tfgen.data.streaming`).

    Raises:
        ValueError: a missing folder, no images, an unreadable file (named),
            images of mixed sizes without `image_size`.
    """
    root = os.path.abspath(os.path.expanduser(os.fspath(path)))
    if not os.path.isdir(root):
        raise ValueError(f"No such folder of images: {os.fspath(path)!r} (a dataset name has no path separator)")
    image_size = transforms.parse_image_size(image_size)
    channels = transforms.check_channels(channels)
    examples = _checks.positive_int("examples", examples, allow_none=True)
    files, labels, class_names, rule = split_files(root, split)
    if examples is not None:
        files = files[:examples]
        labels = None if labels is None else labels[:examples]
    first = read_image(files[0], image_size, channels)
    name = f"{os.path.basename(root)}/{split}"
    stats = [(os.path.relpath(f, root), os.stat(f).st_size, os.stat(f).st_mtime_ns) for f in files]
    fingerprint = {
        "kind": "folder", "folder": root, "split": split, "rule": rule,
        "files": hashlib.sha256(repr(stats).encode()).hexdigest(), "count": len(files),
        "labels": None if labels is None else hashlib.sha256(labels.tobytes()).hexdigest(),
        "class_names": class_names, "image_size": image_size, "channels": channels,
    }

    def read_batches():
        paths = tf.data.Dataset.from_tensor_slices(files)
        decoded = paths.map(lambda p: transforms.transform_image(_decode(p), image_size, channels),
                            num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
        iterator = iter(decoded.batch(_BATCH).prefetch(2))
        for start in range(0, len(files), _BATCH):
            batch_paths = files[start: start + _BATCH]
            try:
                images = next(iterator).numpy()
            except tf.errors.OpError:
                _diagnose(batch_paths, files[0], first.shape, image_size, channels)
                raise
            if images.shape[1:] != first.shape:
                _diagnose(batch_paths, files[0], first.shape, image_size, channels)
            yield images, None if labels is None else labels[start: start + _BATCH]

    logging.getLogger(__name__).info("%s: %d images from %s", name, len(files), rule)
    return streaming_lib.materialize(
        read_batches, name=name, num_bytes=len(files) * first.nbytes, streaming=streaming,
        cache_dir=_cache_dir(root, data_dir), fingerprint=fingerprint, class_names=class_names or None,
    )
