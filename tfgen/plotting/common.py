"""What every figure of tfgen shares: files (never windows), image grids, loss curves."""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfgen import _checks  # noqa: E402
from tfgen.training.run_dir import write_atomic  # noqa: E402


def save_figure(figure, path):
    """Writes `figure` to `path` as PNG (creating the folder, atomically) and closes it; returns the path."""
    if not isinstance(figure, plt.Figure):
        raise TypeError(f"figure must be a matplotlib Figure. Received: figure={type(figure).__name__}")
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
    """Tiles (N, H, W, 1) images in [0, 1] (N >= 1) into one (rows*H, cols*W) array of `rows` rows."""
    images = np.asarray(images)
    _checks.shape("images", images, ("N", "height", "width", 1))
    if len(images) == 0:
        raise ValueError(f"images must hold at least one image. Received: images.shape={images.shape}")
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"images must be float pixel intensities in [0, 1]. Received: dtype={images.dtype}")
    _checks.pixel_values("images", images)
    images = images[..., 0]
    count, height, width = images.shape
    rows = _checks.positive_int("rows", rows, allow_none=True) or int(np.ceil(np.sqrt(count)))
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


def plot_history(history, path, title=None):
    """The train and test curves of every metric in `history` (a list of per-epoch dicts)."""
    if not isinstance(history, (list, tuple)) or not all(isinstance(entry, dict) for entry in history):
        raise TypeError(f"history must be a list of per-epoch dicts. Received: history={type(history).__name__}")
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
