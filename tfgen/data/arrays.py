"""Your own arrays or `tf.data.Dataset` as an `ImageDataset` (in memory).

Both go through the crop, resize and channel conversion of every other
source (`tfgen.data.transforms`). Images may be uint8 in [0, 255] or float
in [0, 1], of shape (N, height, width, channels) or (N, height, width)
(grey).
"""

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen.data import transforms
from tfgen.data.pipeline import ImageDataset, as_uint8


def _uint8(images, argument="images"):
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4:
        raise ValueError(
            f"{argument} must have shape (N, height, width, channels) or (N, height, width). "
            f"Received: {argument}.shape={images.shape}"
        )
    # The dtype, the range, the sizes and the channels (an alpha channel is dropped later, by the transform).
    return as_uint8(images, argument, channels=(1, 2, 3, 4))


def from_arrays(images, labels=None, *, class_names=None, name="arrays", image_size=None, channels=None):
    """An `ImageDataset` of arrays.

    Args:
        images: (N, height, width[, channels]) uint8 in [0, 255] or float in [0, 1]; 1 to 4 channels
            (grey, grey and alpha, RGB, RGBA: an alpha channel is dropped); height and width at least 1.
        labels: None (unlabelled) or (N,) integer class ids.
        class_names: one name per class (default: "0", "1", ..., up to the
            largest label); sets the number of classes.
        name: the dataset's name (messages, plots, `config.json`).
        image_size: None, an int or (height, width): centre-crop and resize.
        channels: None, 1 or 3.

    Raises:
        ValueError, TypeError: bad shapes, values or labels (named).
    """
    image_size = transforms.parse_image_size(image_size)
    channels = transforms.check_channels(channels)
    images = transforms.transform_images(_uint8(images), image_size, channels)
    if labels is None:
        if class_names:
            raise ValueError(f"class_names needs labels. Received: labels=None, class_names={class_names!r}")
        return ImageDataset(images, None, name=name)
    labels = np.asarray(labels)
    if class_names is not None:
        class_names = [str(n) for n in class_names]
        num_classes = len(class_names)
    else:
        largest = int(labels.max()) if labels.size and np.issubdtype(labels.dtype, np.integer) else 0
        if largest >= _checks.MAX_CLASSES:  # before a name is made for every class up to it
            raise ValueError(f"labels must be class ids below {_checks.MAX_CLASSES:,} (a documented cap on the "
                             f"classes). Received: a label of {largest}")
        num_classes = max(largest + 1, 1)
    return ImageDataset(images, labels, num_classes, name=name, class_names=class_names)


def _element_parts(element):
    """(image, label or None) of one element of a dataset: a tensor, a tuple or a dict."""
    if isinstance(element, dict):
        if "image" not in element:
            raise ValueError(f"dataset elements that are dicts need an 'image' entry. Received keys: {sorted(element)}")
        return element["image"], element.get("label")
    if isinstance(element, (tuple, list)):
        if len(element) not in (1, 2):
            raise ValueError(f"dataset elements must be an image, (image, label) or a dict. Received a tuple of "
                             f"{len(element)}")
        return element[0], element[1] if len(element) == 2 else None
    return element, None


def from_tf_dataset(dataset, *, class_names=None, name="tf_dataset", image_size=None, channels=None,
                    examples=None):
    """An `ImageDataset` of a finite `tf.data.Dataset` of single examples, read once into memory.

    Args:
        dataset: elements are an image tensor (height, width[, channels]),
            an (image, label) tuple, or a dict with "image" and optionally
            "label" (TFDS's layout); images uint8 or float in [0, 1].
        class_names, name, image_size, channels: see `from_arrays`.
        examples: only the first N elements.

    Raises:
        TypeError: `dataset` is not a `tf.data.Dataset`.
        ValueError: infinite datasets, images of different sizes without
            `image_size`, a label in some elements only.
    """
    if not isinstance(dataset, tf.data.Dataset):
        raise TypeError(f"dataset must be a tf.data.Dataset. Received: {type(dataset).__name__}")
    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise ValueError("dataset is infinite (e.g. .repeat()): pass a finite dataset, or .take(N) of it")
    examples = _checks.positive_int("examples", examples, allow_none=True)
    if examples is not None:
        dataset = dataset.take(examples)
    image_size = transforms.parse_image_size(image_size)
    channels = transforms.check_channels(channels)
    images, labels = [], []
    for element in dataset.as_numpy_iterator():
        image, label = _element_parts(element)
        image = _uint8(np.asarray(image)[None], "dataset images")[0]
        images.append(transforms.transform_image(image, image_size, channels).numpy() if (image_size or channels)
                      else image)
        labels.append(label)
    if not images:
        raise ValueError("dataset holds no elements")
    shapes = sorted({image.shape for image in images})
    if len(shapes) > 1:
        raise ValueError(f"The images of dataset have different shapes {shapes[:2]}...: pass image_size (and channels) "
                         f"to convert them all")
    has_label = [label is not None for label in labels]
    if any(has_label) and not all(has_label):
        raise ValueError("Some elements of dataset have a label and others not")
    return from_arrays(np.stack(images), np.asarray(labels) if all(has_label) else None, class_names=class_names,
                       name=name)
