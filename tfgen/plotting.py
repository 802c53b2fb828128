"""The figures of the seed posts, written as PNG files (never windows).

`PlotCallback` draws them during training: random samples, the test set in
latent space coloured by label, a grid of decoded latent points (the "morph"
grid) and the loss curves.
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfgen.data import CLASS_NAMES  # noqa: E402
from tfgen.training import Callback  # noqa: E402
from tfgen.training.run_dir import write_atomic  # noqa: E402


def save_figure(figure, path):
    """Writes `figure` to `path` as PNG (creating the folder, atomically) and closes it; returns the path."""
    try:
        return write_atomic(path, lambda temporary: figure.savefig(temporary, dpi=100, bbox_inches="tight"),
                            suffix=os.path.splitext(path)[1] or ".png")
    finally:
        plt.close(figure)


def save_image_grid(images, path, rows=None):
    """Writes (N, H, W, 1) images in [0, 1] as one tiled PNG, pixel for pixel (no axes); returns the path."""
    grid = np.clip(image_grid(images, rows), 0.0, 1.0)
    return write_atomic(path, lambda temporary: plt.imsave(temporary, grid, cmap="gray", vmin=0.0, vmax=1.0, format="png"),
                        suffix=".png")


def image_grid(images, rows=None):
    """Tiles (N, H, W, 1) images into one (rows*H, cols*W) array."""
    images = np.asarray(images)[..., 0]
    count, height, width = images.shape
    rows = rows or int(np.ceil(np.sqrt(count)))
    cols = int(np.ceil(count / rows))
    grid = np.ones((rows * height, cols * width), dtype=images.dtype)
    for index, image in enumerate(images):
        row, col = divmod(index, cols)
        grid[row * height : (row + 1) * height, col * width : (col + 1) * width] = image
    return grid


def plot_images(images, path, title=None, rows=None):
    """A grid of images in [0, 1]."""
    figure, axis = plt.subplots(figsize=(6, 6))
    axis.imshow(image_grid(images, rows), cmap="gray", vmin=0.0, vmax=1.0)
    axis.axis("off")
    if title:
        axis.set_title(title)
    return save_figure(figure, path)


def plot_latent_space(codes, labels, path, title=None, class_names=None):
    """The first two latent dimensions of each code, coloured by its label."""
    codes = np.asarray(codes)
    figure, axis = plt.subplots(figsize=(7, 6))
    scatter = axis.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=2, alpha=0.7)
    colorbar = figure.colorbar(scatter, ax=axis, ticks=range(10))
    if class_names:
        colorbar.ax.set_yticklabels(class_names)
    axis.set_xlabel("z[0]")
    axis.set_ylabel("z[1]")
    axis.set_title(title or "test set in latent space")
    return save_figure(figure, path)


def plot_latent_grid(decode, latent_dim, path, size=15, limit=2.0, title=None):
    """Decodes a size x size grid of points spanning [-limit, limit] in the first two latent dimensions.

    Args:
        decode: a function from (N, latent_dim) codes to (N, H, W, 1) images.
        latent_dim: the code size; dimensions past the second are set to 0.
    """
    values = np.linspace(-limit, limit, size)
    points = np.zeros((size * size, latent_dim), dtype=np.float32)
    for row, y in enumerate(values[::-1]):
        for col, x in enumerate(values):
            points[row * size + col, :2] = (x, y)[: min(2, latent_dim)]
    images = np.asarray(decode(tf.constant(points)))
    return plot_images(images, path, title=title or f"latent grid over [-{limit}, {limit}]^2", rows=size)


def plot_history(history, path, title=None):
    """The train and test curves of every metric in `history` (a list of per-epoch dicts)."""
    names = sorted({key.split("/", 1)[1] for entry in history for key in entry if key.startswith(("train/", "test/"))})
    if not names:
        return None
    figure, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.5), squeeze=False)
    epochs = [entry["epoch"] for entry in history]
    for axis, name in zip(axes[0], names):
        for split in ("train", "test"):
            key = f"{split}/{name}"
            if any(key in entry for entry in history):
                axis.plot(epochs, [entry.get(key, np.nan) for entry in history], marker="o", label=split)
        axis.set_title(name)
        axis.set_xlabel("epoch")
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


class PlotCallback(Callback):
    """Writes the seed's figures to `run_dir/plots/` every `every` epochs and after the last.

    Args:
        every: the plotting period in epochs.
        num_samples: how many random samples to draw.
        num_points: how many test images to place in the latent-space plot.
        seed: the seed of the random samples (the same z every time, so the
            figures of successive epochs are comparable).
    """

    def __init__(self, every=10, num_samples=64, num_points=5000, seed=1234):
        if every <= 0:
            raise ValueError(f"every must be a positive integer. Received: every={every}")
        self.every = every
        self.num_samples = num_samples
        self.num_points = num_points
        self.seed = seed

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch % self.every == 0 or epoch == trainer.epochs:
            self.plot(trainer, epoch)

    def plot(self, trainer, epoch):
        """Writes every figure the model supports for `epoch`; returns the paths."""
        model = trainer.model
        folder = os.path.join(trainer.run_dir, "plots")
        paths = [plot_history(trainer.history, os.path.join(folder, "losses.png"), title=model.registered_name)]
        seed = tf.constant([self.seed, 0], tf.int64)
        paths.append(
            plot_images(
                model.sample(self.num_samples, seed=seed),
                os.path.join(folder, f"samples_epoch{epoch:03d}.png"),
                title=f"random samples, epoch {epoch}",
            )
        )
        if model.unconditional_latent and trainer.test_data is not None:
            data = trainer.test_data.take(self.num_points)
            codes = [model.encode(batch["image"]) for batch in trainer.batches(data, epoch=0, shuffle=False, training=False)]
            codes = np.concatenate([c[0] if isinstance(c, (tuple, list)) else c for c in codes])
            paths.append(
                plot_latent_space(codes, data.labels, os.path.join(folder, f"latent_epoch{epoch:03d}.png"),
                                  title=f"{data.name} in latent space (means), epoch {epoch}",
                                  class_names=CLASS_NAMES.get(data.name.split("/")[0]))
            )
        if model.unconditional_latent:
            paths.append(
                plot_latent_grid(model.decode, model.latent_dim, os.path.join(folder, f"grid_epoch{epoch:03d}.png"))
            )
        return [path for path in paths if path]
