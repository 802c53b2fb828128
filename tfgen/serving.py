"""Using an exported model without training: load `saved_models/<name>` and sample from it.

Only TensorFlow is needed to run an export; this module adds the choice of
version, the manifest, argument checks and the picture:

    tfgen sample --model saved_models/mnist_cgan --label 3 --out three.png
    tfgen sample --model saved_models/mnist_cgan --out classes.png   # one row per class
    tfgen sample --model saved_models/cifar_cgan --label cat --row-labels --out cats.png

The `sample` signature takes one int64 seed per image (and, for conditional
models, one int64 class id per image); the same seed gives the same image,
the image `GenerativeModel.sample_from_seeds` draws from the model itself.
Grids are grey or colour as the export's images are (`image_shape`: the
manifest's, else the signature's output shape); one row per class follows
the class ids, named by the manifest's `class_names` when it has them.
"""

import json
import os

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen import labels as labels_lib
from tfgen._files import check_output_file, check_replaceable, holds_format
from tfgen.export import latest_version, read_manifest
from tfgen.models.base import seeds_array
from tfgen.networks import IMAGE_SHAPE
from tfgen.training.run_dir import check_not_a_run_file, checkpoint_problem


class ExportedModel:
    """An export loaded with `tf.saved_model.load`, with its manifest.

    Args:
        model_dir: `saved_models/<name>` (its highest complete version is
            used) or one version folder.
    """

    def __init__(self, model_dir):
        self.path = latest_version(model_dir)
        self.manifest = read_manifest(self.path)
        try:
            self.loaded = tf.saved_model.load(self.path)
        except Exception as error:  # noqa: BLE001 - a corrupt SavedModel fails in many ways
            raise ValueError(f"Cannot load the SavedModel at {self.path!r} (corrupt or not a SavedModel): {error}") from error
        self.signatures = dict(self.loaded.signatures)
        problem = checkpoint_problem(os.path.join(self.path, "variables", "variables"))
        if problem is not None:
            raise ValueError(f"Cannot use the export at {self.path!r}: its variables are damaged ({problem}).")

    @property
    def name(self):
        return self.manifest.get("model", "model")

    @property
    def num_classes(self):
        return self.manifest.get("num_classes")

    @property
    def image_shape(self):
        """(height, width, channels) of the images: the manifest's `image_shape`, else the `sample`
        signature's output shape, else MNIST's (`tfgen.networks.IMAGE_SHAPE`)."""
        shape = self.manifest.get("image_shape")
        if not shape:
            shape = self.manifest.get("signatures", {}).get("sample", {}).get("outputs", {}).get("images", {}).get("shape")
            shape = shape[1:] if shape else None
        if (not shape or None in shape) and "sample" in self.signatures:
            output = self.signatures["sample"].structured_outputs.get("images")
            shape = list(output.shape[1:]) if output is not None else None
        if not shape or None in shape:
            return IMAGE_SHAPE
        return tuple(int(size) for size in shape)

    @property
    def class_names(self):
        """The classes' names: the manifest's `class_names`, else "0", "1", ...; None without classes."""
        names = self.manifest.get("class_names")
        if names and (self.num_classes is None or len(names) == self.num_classes):
            return [str(name) for name in names]
        return None if self.num_classes is None else [str(index) for index in range(self.num_classes)]

    def class_id(self, label):
        """The class id of `label`: an integer id, or a class name (a str of the manifest's `class_names`,
        or the decimal text of an id)."""
        if isinstance(label, str):
            names = self.class_names or []
            if label in names:
                return names.index(label)
            try:
                return int(label)
            except ValueError:
                raise ValueError(f"label must be a class id or one of the class names of {self.name!r} {names}. "
                                 f"Received: label={label!r}") from None
        return _checks.integer("label", label)

    def signature(self, name):
        if name not in self.signatures:
            raise ValueError(
                f"The export at {self.path!r} has no {name!r} signature. Its signatures: {sorted(self.signatures)}"
            )
        return self.signatures[name]

    def is_conditional(self):
        """True when `sample` takes a class id per image."""
        _, inputs = self.signature("sample").structured_input_signature
        return "label" in inputs

    def sample(self, seeds, labels=None, signature="sample", **settings):
        """Images (N, H, W, C) in [0, 1], one per seed (and label, for conditional models).

        Args:
            seeds, labels: one seed (and, conditional, one class id) per image.
            signature: the signature that draws them: "sample", or a sampler that takes settings besides (a
                diffusion model's "sample_ddim").
            **settings: the signature's scalar inputs by name (a diffusion model's `steps`, `eta`,
                `guidance_scale`), each in the signature's dtype.

        Raises:
            ValueError: a label for an unconditional model, none for a
                conditional one, a class id out of range, or a setting the signature does not take (or one it
                needs and was not given).
        """
        seeds = seeds_array(seeds)
        arguments = {"seed": tf.constant(seeds)}
        _, inputs = self.signature(signature).structured_input_signature
        scalars = sorted(name for name, spec in inputs.items() if spec.shape.rank == 0)
        if sorted(settings) != scalars:
            raise ValueError(f"The {signature!r} signature of {self.name!r} takes the settings {scalars}. "
                             f"Received: {sorted(settings)}")
        constants = {name: _setting(name, value, inputs[name].dtype) for name, value in settings.items()}
        if self.is_conditional():
            if labels is None:
                raise ValueError(f"{self.name!r} is conditional: pass one class id per seed (--label).")
            labels = labels_lib.class_ids_per_sample(labels, len(seeds), argument="label")
            if self.num_classes is not None:
                labels_lib.check_class_ids(labels, self.num_classes, argument=f"label of {self.name!r}")
            arguments["label"] = tf.constant(labels)
        elif labels is not None:
            raise ValueError(f"{self.name!r} is unconditional: its sample signature takes no label.")
        # In requests of SAMPLE_CHUNK images: the signature's work (a decoder's activations) grows with the
        # request, the grid only by its images (a 150 x 150 grid in one request needed ~5 GB and crashed in C++).
        function = self.signature(signature)
        images = np.concatenate([
            function(**{key: value[start:start + SAMPLE_CHUNK] for key, value in arguments.items()},
                     **constants)["images"].numpy()
            for start in range(0, len(seeds), SAMPLE_CHUNK)])
        if not np.all(np.isfinite(images)):
            raise ValueError(f"The export at {self.path!r} drew non-finite images: its weights are damaged.")
        return images


def _setting(name, value, dtype):
    """A scalar input of a signature as a tensor of its dtype; an integer input refuses a fractional value."""
    if dtype.is_integer:
        if isinstance(value, bool) or float(value) != int(value):
            raise ValueError(f"The setting {name!r} must be an integer. Received: {name}={value!r}")
        value = int(value)
    return tf.constant(value, dtype)


#: The most images `ExportedModel.sample` asks of the export in one request.
SAMPLE_CHUNK = 256


def is_image_file(path):
    """Whether the file at `path` holds a PNG or JPEG image (what `sample_grid` writes, and replaces)."""
    return holds_format(path, (".png", ".jpg"))


def sample_grid(model_dir, out, label=None, columns=8, rows=None, seed=0, row_labels=False, force=False):
    """Writes a PNG grid of samples from an export; returns (path, images).

    Conditional models: one row per class, in class-id order (`label=None`),
    or `rows` rows of one class (`label`: an id or a class name).
    Unconditional models: `rows` x `columns` samples. Seeds are
    `seed, seed + 1, ...`, so the same call draws the same grid.

    The PNG holds the samples pixel for pixel, grey or RGB as the export's
    images are; when the manifest names the classes, their names are in the
    PNG's "Rows" text entry (JSON, one name per row). With `row_labels`, a
    figure with each row's class name beside it is drawn instead. An existing
    file at `out` is replaced only when it is a PNG or JPEG image (an earlier
    grid), or with `force`.
    """
    from tfgen.images import check_grid_size, image_format, plot_images, save_image_grid  # matplotlib: when drawn

    columns = _checks.positive_int("columns", columns)
    rows = _checks.positive_int("rows", rows, allow_none=True)
    if label is not None and not isinstance(label, str):
        label = _checks.integer("label", label)
    seed = _checks.seed("seed", seed)
    row_labels = _checks.boolean("row_labels", row_labels)
    check_output_file(out, "out")
    check_not_a_run_file(out, "out")
    image_format(out, "out")
    check_replaceable(out, is_image_file, "a PNG or JPEG image", force=_checks.boolean("force", force))
    exported = ExportedModel(model_dir)
    labels, names = None, None
    if label is not None and exported.is_conditional():
        label = exported.class_id(label)
    elif isinstance(label, str):
        label = _checks.integer("label", int(label) if label.lstrip("-").isdigit() else label)
    if exported.is_conditional() and label is None:
        if exported.num_classes is None:
            raise ValueError(f"The export at {exported.path!r} has no manifest telling its classes: pass --label.")
        rows = exported.num_classes
        check_grid_size(rows, columns, *exported.image_shape[:2])  # before the labels of every cell are made
        labels = labels_lib.sample_class_ids(rows * columns, rows, labels_lib.BLOCKS)  # one row per class
        names = exported.class_names
    else:
        rows = rows or columns
        if label is not None:
            labels = np.full(rows * columns, int(label))
            known = exported.class_names or []
            names = [known[label]] * rows if 0 <= label < len(known) else None
    height, width = exported.image_shape[:2]
    check_grid_size(rows, columns, height, width)  # before any sample is drawn
    _checks.seed_span("seed", seed, rows * columns, "--seed")
    seeds = np.arange(seed, seed + rows * columns)
    images = exported.sample(seeds, labels)
    if row_labels:
        return plot_images(images, out, rows=rows, row_labels=names, title=exported.name), images
    named = "class_names" in exported.manifest and names is not None
    metadata = {"Rows": json.dumps(names)} if named else None
    return save_image_grid(images, out, rows=rows, metadata=metadata), images
