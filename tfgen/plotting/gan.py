"""The GAN figures of the seed posts, as PNG files (never windows).

One row per class (CGAN), one class across epochs (the seed's "digit 5 at
epoch 10, 50, 100, 150"), InfoGAN rows varying one code at a time,
interpolation between latent vectors, and DCGAN latent arithmetic (Radford
et al. 2016, section 6.3). The samples' scores (label accuracy, diversity,
Fréchet distance) are in `tfgen.evaluation.gan`.
"""

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen import labels as labels_lib
from tfgen import random as tfgen_random
from tfgen.images import check_grid_size
from tfgen.plotting.common import class_names_for, plot_images


def _normal(count, dim, seed):
    return tfgen_random.normal([count, dim], tfgen_random.seed_tensor(seed))


def generate_images(model, z, labels=None, categorical=None, continuous=None):
    """Images in [0, 1] from z for any tfgen GAN; labels / codes where the model takes them (its `conditional`
    and `latent_codes` declarations).

    Defaults: class 0 for a conditional model, category 0 and continuous
    codes 0 for InfoGAN.
    """
    z = tf.convert_to_tensor(z, tf.float32)
    count = int(z.shape[0])
    if model.conditional:
        labels = np.zeros(count, np.int64) if labels is None else np.asarray(labels, np.int64)
        return model.generate(z, tf.constant(labels))
    if model.latent_codes:
        categorical = np.zeros(count, np.int64) if categorical is None else np.asarray(categorical, np.int64)
        continuous = np.zeros((count, model.num_continuous), np.float32) if continuous is None else continuous
        return model.generate(z, tf.constant(categorical), tf.constant(continuous, tf.float32))
    return model.generate(z)


def plot_class_rows(model, path, per_class=10, seed=0, title=None, class_names=None):
    """One row per class of a conditional model (each column one z, or one seed, shared by the rows).

    The rows are named by `class_names` (the dataset's; default "0", "1", ...).
    """
    if not model.conditional:
        raise ValueError(f"plot_class_rows needs a conditional model (e.g. ConditionalGAN). Received: {type(model).__name__}")
    per_class = _checks.positive_int("per_class", per_class)
    classes = model.num_classes
    check_grid_size(classes, per_class, *model.image_shape[:2], argument="per_class")  # before drawing
    labels = labels_lib.sample_class_ids(classes * per_class, classes, labels_lib.BLOCKS)  # one row per class
    if hasattr(model, "latent_dim"):
        z = np.tile(_normal(per_class, model.latent_dim, seed).numpy(), (classes, 1))
        images = generate_images(model, z, labels=labels)
    else:  # a model without a latent vector (diffusion): each column one seed, shared by the rows
        seeds = np.tile(np.arange(per_class, dtype=np.int64) + int(seed) * 1000, classes)
        images = model.sample_from_seeds(seeds, labels=labels)
    return plot_images(images, path, title=title or "one row per class", rows=classes,
                       row_labels=class_names_for(classes, class_names))


def plot_class_across_epochs(images_by_epoch, path, label=None):
    """One row per epoch of the same class (and the same z): how a class evolves, or collapses.

    Args:
        images_by_epoch: {epoch: images (N, H, W, 1 or 3) in [0, 1]}, N the same for every epoch.
        path: the PNG file.
        label: the class shown (its id or name), for the title.
    """
    if not images_by_epoch:
        raise ValueError("images_by_epoch is empty: record at least one epoch.")
    epochs = sorted(images_by_epoch)
    images = np.concatenate([np.asarray(images_by_epoch[epoch]) for epoch in epochs])
    title = f"class {label}, " if label is not None else ""
    return plot_images(images, path, title=f"{title}rows: epochs", rows=len(epochs),
                       row_labels=[f"epoch {epoch}" for epoch in epochs])


def plot_infogan_codes(model, path_prefix, num_rows=10, num_columns=10, limit=2.0, seed=0):
    """InfoGAN figures varying one code at a time (Chen et al. 2016, figure 2).

    Writes `{path_prefix}_categorical.png` (each row one z, the columns the
    categories) and `{path_prefix}_continuous{j}.png` for each continuous code
    j (each row one category, the columns code j from -limit to limit, the
    other continuous codes 0, z fixed). Returns the paths.
    """
    if not model.latent_codes:
        raise ValueError(f"plot_infogan_codes needs an InfoGAN. Received: {type(model).__name__}")
    num_rows = _checks.positive_int("num_rows", num_rows)
    num_columns = _checks.positive_int("num_columns", num_columns)
    limit = _checks.positive_number("limit", limit)
    categories = model.num_categories
    check_grid_size(num_rows, categories, *model.image_shape[:2], argument="num_rows")  # before drawing
    check_grid_size(categories, num_columns, *model.image_shape[:2], argument="num_columns")
    paths = []
    z = np.repeat(_normal(num_rows, model.latent_dim, seed).numpy(), categories, axis=0)
    categorical = labels_lib.sample_class_ids(num_rows * categories, categories)  # the categories in turn
    images = generate_images(model, z, categorical=categorical)
    paths.append(plot_images(images, f"{path_prefix}_categorical.png", title="rows: z; columns: categorical code",
                             rows=num_rows))
    values = np.linspace(-limit, limit, num_columns, dtype=np.float32)
    z = np.tile(_normal(1, model.latent_dim, seed + 1).numpy(), (categories * num_columns, 1))
    categorical = labels_lib.sample_class_ids(categories * num_columns, categories, labels_lib.BLOCKS)
    for code in range(model.num_continuous):
        continuous = np.zeros((categories * num_columns, model.num_continuous), np.float32)
        continuous[:, code] = np.tile(values, categories)
        images = generate_images(model, z, categorical=categorical, continuous=continuous)
        paths.append(plot_images(images, f"{path_prefix}_continuous{code}.png",
                                 title=f"rows: category; columns: c{code} from {-limit} to {limit}", rows=categories,
                                 row_labels=[f"category {category}" for category in range(categories)]))
    return paths


def interpolate(start, end, num_steps, spherical=True):
    """`num_steps` points from `start` to `end` (vectors): slerp (better for Gaussian z) or linear."""
    num_steps = _checks.positive_int("num_steps", num_steps)
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    _checks.shape("start", start, ("dim",))
    _checks.same_shape("end", end, "start", start)
    weights = np.linspace(0.0, 1.0, num_steps)[:, None]
    if spherical:
        cosine = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end))
        omega = np.arccos(np.clip(cosine, -1.0, 1.0))
        if omega > 1e-6:
            return ((np.sin((1 - weights) * omega) * start + np.sin(weights * omega) * end) / np.sin(omega)).astype(np.float32)
    return ((1 - weights) * start + weights * end).astype(np.float32)


def plot_interpolation(model, path, num_rows=5, num_steps=10, seed=0, spherical=True):
    """Each row walks from one random z to another (a conditional model keeps class row % num_classes)."""
    num_rows = _checks.positive_int("num_rows", num_rows)
    num_steps = _checks.positive_int("num_steps", num_steps)
    check_grid_size(num_rows, num_steps, *model.image_shape[:2], argument="num_rows or num_steps")  # before drawing
    ends = _normal(2 * num_rows, model.latent_dim, seed).numpy()
    z = np.concatenate([interpolate(ends[2 * row], ends[2 * row + 1], num_steps, spherical) for row in range(num_rows)])
    # Row r keeps class (or category) r % K: the classes in turn, num_steps images each.
    labels = np.repeat(labels_lib.sample_class_ids(num_rows, model.num_classes), num_steps) \
        if model.conditional else None
    categorical = np.repeat(labels_lib.sample_class_ids(num_rows, model.num_categories), num_steps) \
        if model.latent_codes else None
    images = generate_images(model, z, labels=labels, categorical=categorical)
    return plot_images(images, path, title="latent interpolation (rows: start -> end)", rows=num_rows)


def plot_latent_arithmetic(model, evaluator, path, classes=(7, 1, 3), num_candidates=1000, per_group=4, seed=0):
    """DCGAN vector arithmetic on z: mean z(a) - mean z(b) + mean z(c) (Radford et al. 2016).

    Samples `num_candidates` z, lets the classifier of `evaluator` label the
    generated images, and averages the z of the `per_group` most confidently
    classified images of each class in `classes`. The figure's rows: the
    images of group a, of group b, of group c, then images decoded from the
    result and from the result plus small noise. Returns the path.
    """
    if len(classes) != 3:
        raise ValueError(f"classes must be three class ids (a, b, c) for a - b + c. Received: classes={classes!r}")
    if not all(0 <= int(label) < evaluator.num_classes for label in classes):
        raise ValueError(f"classes must be class ids in [0, {evaluator.num_classes}) of the evaluator's classifier. "
                         f"Received: classes={tuple(classes)!r}")
    z = _normal(num_candidates, model.latent_dim, seed).numpy()
    images = np.asarray(generate_images(model, z))
    probabilities = evaluator.class_probabilities(images)
    groups, means = [], []
    for label in classes:
        order = np.argsort(-probabilities[:, label])
        chosen = [index for index in order if np.argmax(probabilities[index]) == label][:per_group]
        if len(chosen) < per_group:
            raise ValueError(
                f"Only {len(chosen)} of {num_candidates} samples are classified as {label}; "
                f"raise num_candidates or train the generator longer."
            )
        groups.append(images[chosen])
        means.append(z[chosen].mean(axis=0))
    result = means[0] - means[1] + means[2]
    noise = 0.25 * _normal(per_group - 1, model.latent_dim, seed + 1).numpy()
    result_images = np.asarray(generate_images(model, np.concatenate([result[None], result[None] + noise])))
    grid = np.concatenate([*groups, result_images])
    a, b, c = classes
    return plot_images(grid, path, title=f"rows: {a}, {b}, {c}, then z({a}) - z({b}) + z({c})", rows=4)
