"""Image grids as PNG (or JPEG) files: the one home of writing images, below every part that writes them.

`image_grid` tiles (N, H, W, C) images; `save_image_grid` writes a grid
pixel for pixel (grey through matplotlib's gray colormap, RGB as is);
`plot_images` draws one as a figure, with a title and optionally each row's
name; `save_figure` writes any matplotlib figure. Every file is written
whole or not at all (`tfgen._files.write_atomic`), in the format its
extension names (`image_format`: .png, .jpg or .jpeg), never a
window (matplotlib's "Agg" backend is selected here).

On the package's lowest floor, so that `tfgen.serving` (a grid of an
export's samples) and `tfgen.plotting` (every figure, which import these
through `tfgen.plotting.common`) share it without serving importing the
figures.
"""

import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from tfgen import _checks  # noqa: E402
from tfgen._files import extension, write_atomic  # noqa: E402


#: The image formats a grid or figure is written in, by the file's extension: the format follows the name.
FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg"}
#: The most pixels one written grid may hold (8192 x 8192): a documented cap, far above any figure, below what
#: the image writers handle (a 3000 x 3000 grid of 28x28 images, 7 billion pixels, crashed below Python).
MAX_GRID_PIXELS = 8192 * 8192


def image_format(path, argument="path"):
    """The format of the image file `path` from its extension ("png" or "jpeg"); a ValueError naming `argument`
    for any other extension (a file named .jpg holds JPEG bytes, never PNG ones)."""
    found = FORMATS.get(extension(path))
    if found is None:
        raise ValueError(f"{argument} must name a .png, .jpg or .jpeg file (the format follows the extension). "
                         f"Received: {argument}={os.fspath(path)!r}")
    return found


def check_grid_size(rows, columns, height, width, argument="--columns"):
    """Refuses, before any image is drawn, a grid of rows x columns images of height x width pixels that holds
    more than `MAX_GRID_PIXELS` pixels; the error says which square grid would fit and names `argument` (the
    flag or argument to lower). Every path that draws a grid checks it (`image_grid` last of all)."""
    rows, columns, height, width = (int(value) for value in (rows, columns, height, width))
    pixels = rows * columns * height * width
    if pixels > MAX_GRID_PIXELS:
        side = int(np.sqrt(MAX_GRID_PIXELS // (height * width)))
        raise ValueError(f"A grid of {rows} x {columns} images of {height}x{width} pixels holds {pixels:,} pixels; "
                         f"one image holds at most {MAX_GRID_PIXELS:,} (e.g. {side} x {side} of these). Lower "
                         f"{argument}. Received: rows={rows}, columns={columns}")


def save_figure(figure, path):
    """Writes `figure` to `path` as PNG (creating the folder, atomically) and closes it; returns the path."""
    if not isinstance(figure, plt.Figure):
        raise TypeError(f"figure must be a matplotlib Figure. Received: figure={type(figure).__name__}")
    try:
        kind = image_format(path)
        return write_atomic(path, lambda temporary: figure.savefig(temporary, dpi=100, bbox_inches="tight",
                                                                   format=kind),
                            suffix=os.path.splitext(path)[1])
    finally:
        plt.close(figure)


def save_image_grid(images, path, rows=None, metadata=None):
    """Writes (N, H, W, 1 or 3) images in [0, 1] as one tiled PNG, pixel for pixel (no axes); returns the path.

    Grey images are written through matplotlib's gray colormap (as before
    colour support); each channel of RGB ones through the same 256-entry
    lookup (`gray_levels`), so a grey image and its 3-channel copy give
    equal pixels. `metadata`: PNG text entries ({key: str}), e.g. the rows'
    class names.
    """
    kind = image_format(path)
    metadata = metadata if kind == "png" else None  # JPEG files hold no text entries
    grid = np.clip(image_grid(images, rows), 0.0, 1.0)
    if grid.ndim == 3:
        grid = gray_levels(grid)
        write = lambda temporary: plt.imsave(temporary, grid, format=kind, metadata=metadata)  # noqa: E731
    else:
        # JPEG has no alpha: the grey levels go in as RGB, as the gray colormap would draw them.
        grid = np.repeat(gray_levels(grid)[..., None], 3, axis=-1) if kind == "jpeg" else grid
        write = lambda temporary: plt.imsave(temporary, grid, cmap="gray", vmin=0.0, vmax=1.0,  # noqa: E731
                                             format=kind, metadata=metadata)
    return write_atomic(path, write, suffix=os.path.splitext(path)[1])


def gray_levels(values):
    """Intensities in [0, 1] -> the uint8 levels matplotlib's gray colormap gives them (256 bins of width 1/256)."""
    levels = matplotlib.colormaps["gray"](np.arange(256), bytes=True)[:, 0]
    return levels[np.minimum(np.floor(np.asarray(values) * 256.0), 255).astype(np.int64)]


def image_grid(images, rows=None):
    """Tiles (N, H, W, C) images in [0, 1] (N >= 1, C 1 or 3) into `rows` rows.

    Returns:
        (rows*H, cols*W) for grey images, (rows*H, cols*W, 3) for RGB ones;
        unused cells are white.
    """
    images = _checks.float_images("images", images)
    if images.shape[-1] == 1:
        images = images[..., 0]
    count, height, width = images.shape[:3]
    rows = _checks.positive_int("rows", rows, allow_none=True) or int(np.ceil(np.sqrt(count)))
    cols = int(np.ceil(count / rows))
    check_grid_size(rows, cols, height, width, argument="rows")
    grid = np.ones((rows * height, cols * width, *images.shape[3:]), dtype=images.dtype)
    for index, image in enumerate(images):
        row, col = divmod(index, cols)
        grid[row * height : (row + 1) * height, col * width : (col + 1) * width] = image
    return grid


def show_grid(axis, grid):
    """Draws an `image_grid` on a matplotlib axis: grey with the gray colormap over [0, 1], RGB as is."""
    if grid.ndim == 2:
        return axis.imshow(grid, cmap="gray", vmin=0.0, vmax=1.0)
    return axis.imshow(np.clip(grid, 0.0, 1.0))


def label_rows(axis, row_labels, num_rows, row_height):
    """Names the rows of a grid drawn on `axis` (ticks on the left, no frame); `row_labels`: one str per row."""
    row_labels = [str(label) for label in row_labels]
    if len(row_labels) != num_rows:
        raise ValueError(f"row_labels must name each of the {num_rows} rows. Received: {len(row_labels)} labels")
    axis.set_yticks([(row + 0.5) * row_height - 0.5 for row in range(num_rows)], row_labels)
    axis.set_xticks([])
    axis.tick_params(length=0)
    for spine in axis.spines.values():
        spine.set_visible(False)


def plot_images(images, path, title=None, rows=None, row_labels=None):
    """A grid of images in [0, 1] (grey or RGB), its rows optionally named (`row_labels`, one per row)."""
    grid = image_grid(images, rows)
    figure, axis = plt.subplots(figsize=(6, 6))
    show_grid(axis, grid)
    if row_labels is not None:
        count = len(np.asarray(images))
        label_rows(axis, row_labels, rows or int(np.ceil(np.sqrt(count))), np.asarray(images).shape[1])
    else:
        axis.axis("off")
    if title:
        axis.set_title(title)
    return save_figure(figure, path)
