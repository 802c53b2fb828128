"""The figures of the seed posts and papers, as PNG files (never windows), one module per model family.

* `common`: image grids and figure files (`tfgen.images`'s, re-exported), loss curves;
* `vae`: the latent space and the grid of decoded latent points (VAE, MMD-VAE);
* `cvae`: one row per class, label fractions, q(y|x)'s accuracy (CVAE, M2);
* `gan`: class rows, a class across epochs, InfoGAN codes, interpolation,
  latent arithmetic;
* `vhe`: nats per epoch, the contributions of c and z, cluster scores, few-shot;
* `callback`: `PlotCallback`, which draws the figures each model declares.
"""

from tfgen.plotting.common import image_grid, plot_history, plot_images, save_figure, save_image_grid
from tfgen.plotting.callback import FIGURES, PlotCallback

__all__ = ["FIGURES", "PlotCallback", "image_grid", "plot_history", "plot_images", "save_figure", "save_image_grid"]
