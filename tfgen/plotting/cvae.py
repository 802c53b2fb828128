"""Figures of the conditional and semi-supervised VAEs (seed Days 12-15), as PNG files.

* `plot_class_grid`: one row per class, the same z down each column, so a
  column shows one "style" rendered as every class.
* `plot_label_fractions`: the class grids of several models side by side,
  e.g. CVAEs trained with 6000, 600, 60 and 6 labels per class.
* `plot_accuracy`: the test accuracy of q(y|x) over training, one curve per run.
"""

import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.images import check_grid_size
from tfgen.plotting.common import class_names_for, image_grid, label_rows, plot_images, plt, save_figure, show_grid


def class_grid_images(model, num_columns=10, seed=0):
    """(num_classes * num_columns, H, W, C) images: row c is class c, column j uses the j-th z."""
    num_columns = _checks.positive_int("num_columns", num_columns)
    check_grid_size(model.num_classes, num_columns, *model.image_shape[:2], argument="num_columns")  # before drawing
    z = tfgen_random.normal((num_columns, model.latent_dim), tfgen_random.seed_tensor(seed))
    z = tf.tile(z, [model.num_classes, 1])
    labels = tf.repeat(tf.range(model.num_classes, dtype=tf.int64), num_columns)
    return model.decode(z, labels).numpy()


def plot_class_grid(model, path, num_columns=10, seed=0, title=None, class_names=None):
    """One row per class, the same z down each column; rows named by `class_names` (default "0", "1", ...)."""
    images = class_grid_images(model, num_columns, seed)
    return plot_images(images, path, title=title or "one row per class, same z per column", rows=model.num_classes,
                       row_labels=class_names_for(model.num_classes, class_names))


def plot_label_fractions(models, path, num_columns=8, seed=0, class_names=None):
    """The class grids of several models (e.g. one per label fraction), side by side, with the same z.

    Args:
        models: {title: model}, e.g. {"60 labels/class": cvae_60, ...}.
        class_names: the rows' names (default "0", "1", ...), on the first grid.
    """
    figure, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 4.2), squeeze=False)
    for index, (axis, (title, model)) in enumerate(zip(axes[0], models.items())):
        images = class_grid_images(model, num_columns, seed)
        show_grid(axis, image_grid(images, rows=model.num_classes))
        axis.set_title(title)
        if index == 0:
            label_rows(axis, class_names_for(model.num_classes, class_names), model.num_classes, images.shape[1])
        else:
            axis.axis("off")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_accuracy(histories, path, key="test/accuracy", title=None):
    """The test accuracy of q(y|x) per epoch, one curve per run.

    Args:
        histories: {run name: the `Trainer.fit` history (a list of per-epoch dicts)}.
        key: the history entry to plot.
    """
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, history in histories.items():
        epochs = [entry["epoch"] for entry in history if key in entry]
        axis.plot(epochs, [entry[key] for entry in history if key in entry], marker="o", label=name)
    axis.set_xlabel("epoch")
    axis.set_ylabel(key)
    axis.set_ylim(0.0, 1.0)
    axis.grid(alpha=0.3)
    axis.legend()
    axis.set_title(title or "test accuracy of q(y|x)")
    return save_figure(figure, path)
