"""Figures on any data: RGB grids pixel for pixel, rows named by class, unlabelled latent plots, figures in
TensorBoard, and `tfgen sample` on a colour export with class names."""

import json
import os
import types

import matplotlib
import matplotlib.image
import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from tfgen import cli
from tfgen.export import MANIFEST_FILE
from tfgen.plotting import PlotCallback, image_grid, save_image_grid
from tfgen.plotting.callback import class_names
from tfgen.plotting.common import label_rows, plt
from tfgen.plotting.vae import plot_latent_space


def _images(count, channels, seed=0, size=(5, 6)):
    return np.random.default_rng(seed).random((count, *size, channels), dtype=np.float32)


def test_rgb_grid_png_holds_the_pixels_and_grey_matches_its_rgb_copy(tmp_path):
    images = _images(5, 3)
    assert image_grid(images, rows=2).shape == (10, 18, 3)
    path = save_image_grid(images, str(tmp_path / "rgb.png"), rows=2)
    written = np.asarray(Image.open(path).convert("RGB"))
    expected = np.ones((10, 18, 3), np.float32)  # the sixth cell is white
    for index, image in enumerate(images):
        row, col = divmod(index, 3)
        expected[row * 5 : (row + 1) * 5, col * 6 : (col + 1) * 6] = image
    # Each channel quantized as the gray colormap does: 256 bins of width 1/256, the bin's level from its table.
    levels = matplotlib.colormaps["gray"](np.arange(256), bytes=True)[:, 0]
    np.testing.assert_array_equal(written, levels[np.minimum(np.floor(expected * 256), 255).astype(int)])
    # Binning by 1/256 instead of rounding to 1/255 moves a level by at most 1, the table's rounding by 1 more.
    assert np.abs(written.astype(int) - np.round(expected * 255)).max() <= 2
    # A grey image goes through the gray colormap; its 3-channel copy gives the very same pixels.
    grey = images[..., :1]
    grey_png = np.asarray(Image.open(save_image_grid(grey, str(tmp_path / "grey.png"), rows=2)).convert("RGB"))
    copy_png = np.asarray(Image.open(save_image_grid(np.repeat(grey, 3, -1), str(tmp_path / "copy.png"), rows=2))
                          .convert("RGB"))
    np.testing.assert_array_equal(grey_png, copy_png)
    with pytest.raises(ValueError, match="images"):
        image_grid(_images(2, 2))


def test_rows_are_named_by_class(tmp_path):
    figure, axis = plt.subplots()
    axis.imshow(image_grid(_images(6, 3), rows=3))
    label_rows(axis, ["cat", "dog", "ship"], 3, 5)
    assert [text.get_text() for text in axis.get_yticklabels()] == ["cat", "dog", "ship"]
    assert list(axis.get_yticks()) == [2.0, 7.0, 12.0]  # the middle of each 5-pixel row
    with pytest.raises(ValueError, match="row_labels"):
        label_rows(axis, ["cat"], 3, 5)
    plt.close(figure)
    # The callback takes the names from the data, else the known dataset's, else "0", "1", ...
    data = types.SimpleNamespace(class_names=["cat", "dog", "ship"], name="mine")
    assert class_names(types.SimpleNamespace(test_data=None, train_data=data), 3) == ["cat", "dog", "ship"]
    assert class_names(types.SimpleNamespace(test_data=None, train_data=data), 4) == ["0", "1", "2", "3"]
    mnist = types.SimpleNamespace(name="fashion_mnist/test")
    assert class_names(types.SimpleNamespace(test_data=mnist, train_data=None), 10)[0] == "T-shirt/top"


def test_latent_space_copes_with_unlabelled_data_and_many_classes(tmp_path):
    codes = np.random.default_rng(1).normal(size=(60, 3))
    assert os.path.isfile(plot_latent_space(codes, None, str(tmp_path / "unlabelled.png")))
    labels = np.arange(60) % 30
    assert os.path.isfile(plot_latent_space(codes, labels, str(tmp_path / "many.png"),
                                            class_names=[f"c{i}" for i in range(30)]))
    assert os.path.isfile(plot_latent_space(codes, labels % 15, str(tmp_path / "fifteen.png")))


class _RGBModel:
    """Just what PlotCallback's "samples" figure reads of a model."""

    figures = ("samples",)
    final_figures = ()
    registered_name = "stub"

    def sample(self, count, seed=None):
        return tf.random.stateless_uniform([count, 8, 8, 3], seed=[1, 2])


def test_figures_go_to_tensorboard_as_images(tmp_path):
    trainer = types.SimpleNamespace(model=_RGBModel(), run_dir=str(tmp_path), epochs=2, history=[{"epoch": 1}],
                                    test_data=None, train_data=None)
    callback = PlotCallback(every=1, num_samples=4)
    callback.on_epoch_end(trainer, 1, {"epoch": 1})
    callback.on_train_end(trainer, {})
    assert os.path.isfile(tmp_path / "plots" / "samples_epoch001.png")
    found = []
    for name in os.listdir(tmp_path / "tensorboard"):
        for event in tf.compat.v1.train.summary_iterator(str(tmp_path / "tensorboard" / name)):
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "images":
                    found.append((value.tag, event.step, tf.make_ndarray(value.tensor)))
    assert [(tag, step) for tag, step, _ in found] == [("figures/samples", 1)]
    width, height, png = found[0][2]  # tf.summary.image stores [width, height, PNG bytes] per image
    drawn = np.asarray(Image.open(tmp_path / "plots" / "samples_epoch001.png"))
    assert (int(height), int(width)) == drawn.shape[:2]
    np.testing.assert_array_equal(tf.io.decode_png(png).numpy(), drawn)


class _ColourCGAN(tf.Module):
    """A stand-in export: 3 classes of 6x4 RGB images whose colour is the class (red, green, blue)."""

    def __init__(self):
        super().__init__()
        self.brightness = tf.Variable(0.8)

    @tf.function(input_signature=[tf.TensorSpec([None], tf.int64, name="seed"),
                                  tf.TensorSpec([None], tf.int64, name="label")])
    def sample(self, seed, label):
        colour = tf.one_hot(label, 3) * self.brightness + 0.1 * tf.cast(seed % 2, tf.float32)[:, None]
        return {"images": tf.tile(colour[:, None, None, :], [1, 6, 4, 1])}


def _colour_export(folder, class_names=None):
    module = _ColourCGAN()
    version = os.path.join(folder, "colours", "1")
    tf.saved_model.save(module, version, signatures={"sample": module.sample})
    manifest = {"model": "cgan", "num_classes": 3}
    if class_names:
        manifest["class_names"] = class_names
    with open(os.path.join(version, MANIFEST_FILE), "w", encoding="utf-8") as stream:
        json.dump(manifest, stream)
    return os.path.dirname(version)


def test_sample_draws_colour_rows_named_by_the_manifest(tmp_path, capsys):
    export = _colour_export(str(tmp_path), class_names=["red", "green", "blue"])
    out = tmp_path / "rows.png"
    assert cli.main(["sample", "--model", export, "--columns", "2", "--out", str(out)]) == 0
    picture = Image.open(out)
    assert json.loads(picture.info["Rows"]) == ["red", "green", "blue"]
    pixels = np.asarray(picture.convert("RGB"))
    assert pixels.shape == (3 * 6, 2 * 4, 3)
    for row, channel in enumerate(range(3)):  # row c is class c: its own channel bright, the others dark
        cell = pixels[row * 6 : (row + 1) * 6, :4]
        assert cell[..., channel].min() >= 200 and np.delete(cell, channel, -1).max() <= 30
    # A class by name, and a figure with the names beside the rows.
    assert cli.main(["sample", "--model", export, "--label", "blue", "--columns", "2", "--rows", "1",
                     "--out", str(tmp_path / "blue.png")]) == 0
    blue = np.asarray(Image.open(tmp_path / "blue.png").convert("RGB"))
    assert blue[..., 2].min() >= 200 and blue[..., :2].max() <= 30
    assert cli.main(["sample", "--model", export, "--row-labels", "--out", str(tmp_path / "named.png")]) == 0
    assert matplotlib.image.imread(str(tmp_path / "named.png")).shape[0] > 3 * 6
    assert cli.main(["sample", "--model", export, "--label", "purple", "--out", str(tmp_path / "no.png")]) == 2
    assert "purple" in capsys.readouterr().err


def test_cluster_scores_figure_reads_the_scores_logged_in_the_history(tmp_path):
    from tfgen.plotting.callback import FIGURES
    from tfgen.plotting.vhe import cluster_scores_in

    history = [{"epoch": 1, "train/loss": 3.0}, {"epoch": 2, "clusters/purity": 0.5, "clusters/nmi": 0.25},
               {"epoch": 3, "clusters/purity": 0.75, "clusters/nmi": 0.5}]
    assert cluster_scores_in(history) == [{"epoch": 2, "purity": 0.5, "nmi": 0.25},
                                          {"epoch": 3, "purity": 0.75, "nmi": 0.5}]
    trainer = types.SimpleNamespace(history=history)
    path = FIGURES["cluster_scores"](None, trainer, "final", str(tmp_path))
    assert path == str(tmp_path / "cluster_scores.png") and os.path.getsize(path) > 0
    assert FIGURES["cluster_scores"](None, types.SimpleNamespace(history=history[:1]), "final", str(tmp_path)) is None


def test_the_image_grid_helpers_have_one_home():
    import tfgen.images
    from tfgen.plotting import common

    for name in ("image_grid", "save_image_grid", "plot_images", "save_figure", "label_rows", "show_grid"):
        assert getattr(common, name) is getattr(tfgen.images, name), name
    assert matplotlib.get_backend().lower() == "agg"
