"""Figures of the conditional and semi-supervised VAEs (seed Days 12-15), as PNG files.

* `plot_class_grid`: one row per class, the same z down each column, so a
  column shows one "style" rendered as every class.
* `plot_label_fractions`: the class grids of several models side by side,
  e.g. CVAEs trained with 6000, 600, 60 and 6 labels per class.
* `plot_accuracy`: the test accuracy of q(y|x) over training, one curve per run.
* `ClassGridCallback`: the class grid of a model after every few epochs.
"""

import os

import tensorflow as tf

from tfgen.plotting import save_figure, image_grid, plot_images, plt
from tfgen.training import Callback


def class_grid_images(model, num_columns=10, seed=0):
    """(num_classes * num_columns, 28, 28, 1) images: row c is class c, column j uses the j-th z."""
    z = tf.random.stateless_normal((num_columns, model.latent_dim), seed=tf.constant([seed, 0], tf.int64))
    z = tf.tile(z, [model.num_classes, 1])
    labels = tf.repeat(tf.range(model.num_classes, dtype=tf.int64), num_columns)
    return model.decode(z, labels).numpy()


def plot_class_grid(model, path, num_columns=10, seed=0, title=None):
    """One row per class, the same z down each column."""
    images = class_grid_images(model, num_columns, seed)
    return plot_images(images, path, title=title or "one row per class, same z per column", rows=model.num_classes)


def plot_label_fractions(models, path, num_columns=8, seed=0):
    """The class grids of several models (e.g. one per label fraction), side by side, with the same z.

    Args:
        models: {title: model}, e.g. {"60 labels/class": cvae_60, ...}.
    """
    figure, axes = plt.subplots(1, len(models), figsize=(3.2 * len(models), 4.2), squeeze=False)
    for axis, (title, model) in zip(axes[0], models.items()):
        axis.imshow(image_grid(class_grid_images(model, num_columns, seed), rows=model.num_classes),
                    cmap="gray", vmin=0.0, vmax=1.0)
        axis.set_title(title)
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


class ClassGridCallback(Callback):
    """Writes `run_dir/plots/classes_epochNNN.png` every `every` epochs, and the accuracy curve when present."""

    def __init__(self, every=1, num_columns=10, seed=1234):
        if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
            raise ValueError(f"every must be a positive integer. Received: every={every!r}")
        self.every = every
        self.num_columns = num_columns
        self.seed = seed

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch % self.every and epoch != trainer.epochs:
            return
        folder = os.path.join(trainer.run_dir, "plots")
        plot_class_grid(trainer.model, os.path.join(folder, f"classes_epoch{epoch:03d}.png"), self.num_columns,
                        self.seed, title=f"one row per class, epoch {epoch}")
        if any("test/accuracy" in entry for entry in trainer.history):
            plot_accuracy({trainer.model.registered_name: trainer.history}, os.path.join(folder, "accuracy.png"))


def error_rate(model, dataset, batch_size=500):
    """The classification error of q(y|x) (argmax) on an `ImageDataset`, as a fraction."""
    wrong = 0
    for batch in dataset.batches(batch_size, shuffle=False, binarization="dynamic", seed=1):
        predicted = tf.argmax(model.classify(batch["image"]), axis=-1)
        wrong += int(tf.reduce_sum(tf.cast(predicted != batch["label"], tf.int32)))
    return wrong / max(len(dataset), 1)


__all__ = ["ClassGridCallback", "class_grid_images", "error_rate", "plot_accuracy", "plot_class_grid",
           "plot_label_fractions"]
