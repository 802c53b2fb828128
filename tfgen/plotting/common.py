"""What every figure of tfgen shares: files (never windows), image grids, loss curves.

Image grids and figure files are `tfgen.images`'s (re-exported here, with
its "Agg" pyplot `plt`); this module adds the class names of grid rows and
the loss curves.
"""

import numpy as np

from tfgen.images import (  # noqa: F401 - re-exported: the figures and users import them from here
    gray_levels,
    image_grid,
    label_rows,
    plot_images,
    plt,
    save_figure,
    save_image_grid,
    show_grid,
)


def class_names_for(count, class_names=None):
    """`class_names` when it names `count` classes, else ["0", "1", ...] (the dataset contract's default)."""
    if class_names is not None and len(class_names) == count:
        return [str(name) for name in class_names]
    return [str(index) for index in range(count)]


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
