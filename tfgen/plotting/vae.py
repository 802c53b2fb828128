"""Figures of the models with an unconditional latent space (VAE, MMD-VAE): where the test set
lands in it, and what a grid of its points decodes to (the seed posts' "morph" grid)."""

import matplotlib
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen.images import check_grid_size
from tfgen.plotting.common import class_names_for, plot_images, plt, save_figure


def plot_latent_space(codes, labels, path, title=None, class_names=None):
    """The first two latent dimensions of each code, coloured by its label.

    Args:
        codes: (N, latent_dim) with latent_dim >= 2.
        labels: int (N,) class ids, or None for unlabelled data (one colour, no legend).
        path: the PNG file.
        title: the figure's title.
        class_names: the classes' names (their count sets the number of
            colours; default: 1 + the largest label, named "0", "1", ...).
            Up to 10 classes get tab10's colours, up to 20 tab20's, more a
            continuous colormap; the colour bar names at most 20 classes.
    """
    codes = np.asarray(codes)
    _checks.shape("codes", codes, ("N", "latent_dim"))
    if codes.shape[1] < 2:
        raise ValueError(f"codes must have at least two latent dimensions to plot. Received: codes.shape={codes.shape}")
    figure, axis = plt.subplots(figsize=(7, 6))
    if labels is None:
        axis.scatter(codes[:, 0], codes[:, 1], color="tab:blue", s=2, alpha=0.7)
    else:
        labels = np.asarray(labels)
        _checks.shape("labels", labels, (len(codes),))
        count = len(class_names) if class_names else max(int(labels.max(initial=0)) + 1, 10)
        colours = "tab10" if count <= 10 else "tab20" if count <= 20 else "viridis"
        cmap = matplotlib.colormaps[colours]
        cmap = cmap.resampled(count) if count <= 20 else cmap
        scatter = axis.scatter(codes[:, 0], codes[:, 1], c=labels, cmap=cmap, vmin=-0.5, vmax=count - 0.5, s=2,
                               alpha=0.7)
        if count <= 20:
            colorbar = figure.colorbar(scatter, ax=axis, ticks=range(count))
            colorbar.ax.set_yticklabels(class_names_for(count, class_names))
        else:
            figure.colorbar(scatter, ax=axis, label="class")
    axis.set_xlabel("z[0]")
    axis.set_ylabel("z[1]")
    axis.set_title(title or "test set in latent space")
    return save_figure(figure, path)


def plot_latent_grid(decode, latent_dim, path, size=15, limit=2.0, title=None):
    """Decodes a size x size grid of points spanning [-limit, limit] in the first two latent dimensions.

    Args:
        decode: a function from (N, latent_dim) codes to (N, H, W, 1 or 3) images.
        latent_dim: the code size; dimensions past the second are set to 0.
    """
    latent_dim = _checks.positive_int("latent_dim", latent_dim)
    size = _checks.positive_int("size", size)
    limit = _checks.positive_number("limit", limit)
    # The images' size is the decoder's: one point first, so the grid is refused before size**2 are decoded.
    check_grid_size(size, size, *np.asarray(decode(tf.zeros((1, latent_dim)))).shape[1:3], argument="size")
    values = np.linspace(-limit, limit, size)
    points = np.zeros((size * size, latent_dim), dtype=np.float32)
    for row, y in enumerate(values[::-1]):
        for col, x in enumerate(values):
            points[row * size + col, :2] = (x, y)[: min(2, latent_dim)]
    images = np.asarray(decode(tf.constant(points)))
    return plot_images(images, path, title=title or f"latent grid over [-{limit}, {limit}]^2", rows=size)
