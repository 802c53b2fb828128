"""Figures of the models with an unconditional latent space (VAE, MMD-VAE): where the test set
lands in it, and what a grid of its points decodes to (the seed posts' "morph" grid)."""

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen.plotting.common import plot_images, plt, save_figure


def plot_latent_space(codes, labels, path, title=None, class_names=None):
    """The first two latent dimensions of each code, coloured by its label."""
    codes = np.asarray(codes)
    _checks.shape("codes", codes, ("N", "latent_dim"))
    if codes.shape[1] < 2:
        raise ValueError(f"codes must have at least two latent dimensions to plot. Received: codes.shape={codes.shape}")
    _checks.shape("labels", np.asarray(labels), (len(codes),))
    figure, axis = plt.subplots(figsize=(7, 6))
    scatter = axis.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=2, alpha=0.7)
    colorbar = figure.colorbar(scatter, ax=axis, ticks=range(len(class_names) if class_names else 10))
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
    latent_dim = _checks.positive_int("latent_dim", latent_dim)
    size = _checks.positive_int("size", size)
    limit = _checks.positive_number("limit", limit)
    values = np.linspace(-limit, limit, size)
    points = np.zeros((size * size, latent_dim), dtype=np.float32)
    for row, y in enumerate(values[::-1]):
        for col, x in enumerate(values):
            points[row * size + col, :2] = (x, y)[: min(2, latent_dim)]
    images = np.asarray(decode(tf.constant(points)))
    return plot_images(images, path, title=title or f"latent grid over [-{limit}, {limit}]^2", rows=size)
