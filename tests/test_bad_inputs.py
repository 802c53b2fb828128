"""A sweep of bad calls of tfgen's public API and command line (STYLE.md, rule 7).

Every case is one bad call: a wrong shape, rank, dtype, value range, label
range, empty data, a non-positive size, an unknown name or a bad path. It
must raise the exception type of the table, with a message that names the
argument (the `match` column), eagerly, before any work or file is done.
Command-line cases must end with a non-zero status and one line on stderr
naming the flag, without a traceback.

The objects the calls need are tiny and built lazily, once per module
(`functools.cache`): the whole file runs in seconds.
"""

import functools
import os
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen import cli, evaluation, export, labels, layers, losses, models, plotting, runs, serving
from tfgen import report as report_lib
from tfgen import data as data_lib
from tfgen import report as report_lib
from tfgen import random as tfgen_random
from tfgen.data import BINARIZATIONS, ClassSetDataset, ImageDataset, SemiSupervisedDataset
from tfgen.evaluation import likelihood as likelihood_lib
from tfgen.plotting import gan as gan_plots
from tfgen.plotting import vae as vae_plots
from tfgen.plotting import vhe as vhe_plots
from tfgen.training import PeriodicCallback, Trainer

NAN = float("nan")
INF = float("inf")
LEGACY = os.path.join(os.path.dirname(__file__), "fixtures", "legacy")

# ---------------------------------------------------------------- shared objects, built on first use

#: Tiny constructor arguments of every registered model (10 classes where there are classes).
TINY = {
    "vae": {"latent_dim": 2},
    "mmd_vae": {"latent_dim": 2},
    "cvae": {"latent_dim": 2, "num_classes": 10, "encoder_units": 8},
    "ssvae": {"latent_dim": 2, "num_classes": 10, "encoder_units": 8},
    "gumbel_ssvae": {"latent_dim": 2, "num_classes": 10, "encoder_units": 8},
    "dcgan": {"latent_dim": 4, "generator_filters": 4, "discriminator_filters": 4},
    "cgan": {"latent_dim": 4, "num_classes": 10, "hidden_units": (8,), "generator_filters": 4,
             "discriminator_filters": 4},
    "infogan": {"latent_dim": 4, "generator_filters": 4, "discriminator_filters": 4, "q_hidden_units": 8},
    "vhe": {"class_dim": 3, "latent_dim": 2, "hidden_units": 8},
    "vhe_unsupervised": {"num_examples": 16, "num_clusters": 2, "class_dim": 3, "latent_dim": 2, "hidden_units": 8},
    "diffusion": {"timesteps": 8, "base_filters": 4, "num_res_blocks": 1, "attention_max_side": 0, "num_levels": 1,
                  "sampling_steps": 2},
    "conditional_diffusion": {"num_classes": 10, "timesteps": 8, "base_filters": 4, "num_res_blocks": 1,
                              "attention_max_side": 0, "num_levels": 1, "sampling_steps": 2},
}


def test_every_registered_model_is_swept():
    assert sorted(TINY) == sorted(models.MODELS)


@functools.cache
def model(name):
    """A shared tiny (unbuilt) instance of the registered model `name`."""
    return models.MODELS[name](**TINY[name])


def new(name, **overrides):
    """A fresh tiny instance of the registered model `name` (for calls that may build or compile it)."""
    return models.MODELS[name](**{**TINY[name], **overrides})


def images(count=2, scale=1.0, dtype=np.float32):
    """`count` random images in [0, scale)."""
    return (np.random.default_rng(0).uniform(size=(count, 28, 28, 1)) * scale).astype(dtype)


def nan_images(count=2):
    pictures = images(count)
    pictures[0, 3, 4, 0] = NAN
    return pictures


def class_set(count=2, set_size=3, scale=1.0):
    return (np.random.default_rng(1).uniform(size=(count, set_size, 28, 28, 1)) * scale).astype(np.float32)


def zeros(*shape, dtype=np.float32):
    return np.zeros(shape, dtype)


def dataset(count=16, num_classes=10):
    """`count` random uint8 images with labels 0, 1, ..., num_classes - 1, 0, ..."""
    pictures = np.random.default_rng(2).integers(0, 256, size=(count, 28, 28, 1), dtype=np.uint8)
    return ImageDataset(pictures, np.arange(count) % num_classes, num_classes=num_classes, name="bad-inputs")


@functools.cache
def evaluator():
    return evaluation.Evaluator(evaluation.build_classifier())


@functools.cache
def exported(name):
    """A legacy fixture's export (cgan: conditional; vae: unconditional), loaded once."""
    return serving.ExportedModel(os.path.join(LEGACY, name, "export"))


_TEMPORARY = {}


@pytest.fixture(autouse=True)
def _temporary_folder(tmp_path):
    _TEMPORARY["path"] = tmp_path


def tmp(*parts):
    """A path in this test's own temporary folder."""
    return os.path.join(_TEMPORARY["path"], *parts)


def a_file(*parts):
    """A path in the temporary folder that holds a file."""
    path = tmp(*parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write("not a folder")
    return path


def a_folder(*parts):
    path = tmp(*parts)
    os.makedirs(path, exist_ok=True)
    return path


def trainer(**overrides):
    """A Trainer of a fresh tiny VAE on 16 examples, with `overrides`."""
    arguments = {"model": new("vae"), "train_data": dataset(16), "run_dir": tmp("run")}
    arguments.update({key: overrides.pop(key) for key in list(overrides) if key in arguments})
    options = {"epochs": 1, "batch_size": 8, "verbose": 0, **overrides}
    return Trainer(arguments["model"], arguments["train_data"], arguments["run_dir"], **options)


def train(model_name="vae", **overrides):
    """`tfgen.runs.train` on 16 MNIST examples for one step, with `overrides` (should fail before the data)."""
    options = {"out": tmp("run"), "dataset": "mnist", "train_examples": 16, "batch_size": 8, "epochs": 1,
               "max_steps": 1, "plot_every": 100, "verbose": 0, **overrides}
    return runs.train(model_name, **options)


def a_run_folder():
    """A folder that already holds a run's config.json."""
    from tfgen.training import write_json_atomic

    write_json_atomic(tmp("run", "config.json"), {"model": "vae", "model_config": {"latent_dim": 2}})
    return tmp("run")


def user_files(*parts, names=("notes.txt",)):
    """A folder holding files of the user's (`names`; a name ending in "/" is a sub-folder), its path."""
    folder = a_folder(*parts)
    for name in names:
        if name.endswith("/"):
            a_folder(*parts, name[:-1])
        else:
            with open(os.path.join(folder, name), "w", encoding="utf-8") as stream:
                stream.write(f"the user's {name}")
    return folder


def a_text_file(name, text=""):
    """A file named `name` in the temporary folder holding `text` (the wrong content for its extension)."""
    path = tmp(name)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    return path


def a_binary_file(name, data):
    path = tmp(name)
    with open(path, "wb") as stream:
        stream.write(data)
    return path


def a_text_file_in(parts, text=""):
    """A file at tmp(*parts) (or at the absolute path they join to) holding `text`; its path."""
    path = os.path.join(_TEMPORARY["path"], *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    return path


def an_export_copy():
    """A copy of the legacy VAE export (saved_models/<name>), to damage."""
    import shutil

    shutil.copytree(os.path.join(LEGACY, "vae", "export"), tmp("saved_models", "vae"))
    return tmp("saved_models", "vae")


def an_image_folder(bad_name, bad_bytes):
    """A flat folder of 12 PNG images, and the file `bad_name` (sorted first) holding `bad_bytes`."""
    folder = a_folder("images")
    for index in range(12):
        plotting.save_image_grid(images(1), os.path.join(folder, f"image{index:02d}.png"))
    with open(os.path.join(folder, bad_name), "wb") as stream:
        stream.write(bad_bytes)
    return folder


def case(case_id, error, match, call):
    return pytest.param(call, error, match, id=case_id)


def resolve(model_name="vae", **options):
    """`RunConfig.resolve` of `model_name` into this test's run folder (no data, no model: fast)."""
    from tfgen.config import RunConfig

    return RunConfig.resolve(model_name, out=tmp("run"), **options)


def config_file(content):
    """A --config file in the temporary folder holding `content` (a dict as JSON, or text as it is)."""
    import json

    path = tmp("config.json")
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(content if isinstance(content, str) else json.dumps(content))
    return path


def two_runs_with_checkpoint_5():
    """Two run folders, a/ and b/, each with the index file of a checkpoint ckpt-5 (enough to be found)."""
    for run in ("a", "b"):
        a_file(run, "checkpoints", "ckpt-5.index")
    return tmp("a"), tmp("b")


def find_checkpoint(name):
    from tfgen.training import run_dir

    run_a, _ = two_runs_with_checkpoint_5()
    return run_dir.find_checkpoint(run_a, name)


def a_folder_of_images(*layout, count=3, name="images"):
    """A folder `name` in the temporary folder with `count` 28x28 PNG files in each of the sub-folders `layout`."""
    from PIL import Image

    root = a_folder(name)
    for sub in layout:
        a_folder(name, sub)
        for index in range(count):
            Image.fromarray(np.full((28, 28), 20 * index, np.uint8)).save(os.path.join(root, sub, f"{index}.png"))
    return root


def a_corrupt_history():
    a_folder("run")
    with open(tmp("run", "history.json"), "w", encoding="utf-8") as stream:
        stream.write('[{"epoch": 1, "train/loss": 3.0}, {"epoch": 2,')  # cut short
    from tfgen.training import run_dir

    return run_dir.read_history(tmp("run"))


def one_class_data():
    from tfgen.data import ImageDataset as Images

    return Images(np.zeros((4, 28, 28, 1), np.uint8), np.zeros(4, np.int64), num_classes=1, name="images/train",
                  class_names=["cats"])


IMAGES_RANGE = r"images.*\[0, 1\]"

# ---------------------------------------------------------------------------------------- the table

CASES = [
    # ------------------------------------------------------------ models: constructors
    case("VAE-latent_dim=0", ValueError, "latent_dim", lambda: models.VAE(latent_dim=0)),
    case("VAE-latent_dim=2.0", ValueError, "latent_dim", lambda: models.VAE(latent_dim=2.0)),
    case("VAE-latent_dim=str", ValueError, "latent_dim", lambda: models.VAE(latent_dim="2")),
    case("VAE-analytic_kl=str", ValueError, "analytic_kl", lambda: models.VAE(analytic_kl="yes")),
    case("VAE-seed=1.5", ValueError, "seed", lambda: models.VAE(seed=1.5)),
    case("VAE-seed-beyond-int64", ValueError, "seed", lambda: models.VAE(seed=2**64)),
    case("MMDVAE-latent_dim=-1", ValueError, "latent_dim", lambda: models.MMDVAE(latent_dim=-1)),
    case("MMDVAE-mmd_weight=-1", ValueError, "mmd_weight", lambda: models.MMDVAE(mmd_weight=-1.0)),
    case("MMDVAE-mmd_weight=nan", ValueError, "mmd_weight", lambda: models.MMDVAE(mmd_weight=NAN)),
    case("CVAE-num_classes=1", ValueError, "num_classes", lambda: models.CVAE(num_classes=1)),
    case("CVAE-conditioning=unknown", ValueError, "conditioning", lambda: models.CVAE(conditioning="sum")),
    case("CVAE-likelihood=unknown", ValueError, "likelihood", lambda: models.CVAE(likelihood="poisson")),
    case("CVAE-beta=-1", ValueError, "beta", lambda: models.CVAE(beta=-1.0)),
    case("CVAE-beta=inf", ValueError, "beta", lambda: models.CVAE(beta=INF)),
    case("CVAE-encoder_units=0", ValueError, "encoder_units", lambda: models.CVAE(encoder_units=0)),
    case("CVAE-encoder_sees_label=str", ValueError, "encoder_sees_label",
         lambda: models.CVAE(encoder_sees_label="no")),
    case("CVAE-analytic_kl=1", ValueError, "analytic_kl", lambda: models.CVAE(analytic_kl=1)),
    case("SemiSupervisedVAE-alpha=-1", ValueError, "alpha", lambda: models.SemiSupervisedVAE(alpha=-1.0)),
    case("SemiSupervisedVAE-num_classes=0", ValueError, "num_classes",
         lambda: models.SemiSupervisedVAE(num_classes=0)),
    case("SemiSupervisedVAE-latent_dim=None", ValueError, "latent_dim",
         lambda: models.SemiSupervisedVAE(latent_dim=None)),
    case("kingma_alpha-num_labelled=0", ValueError, "num_labelled",
         lambda: models.ssvae.kingma_alpha(0, 100)),
    case("GumbelSSVAE-initial_temperature=0", ValueError, "initial_temperature",
         lambda: models.GumbelSemiSupervisedVAE(initial_temperature=0.0)),
    case("GumbelSSVAE-initial_temperature=-1", ValueError, "initial_temperature",
         lambda: models.GumbelSemiSupervisedVAE(initial_temperature=-1.0)),
    case("GumbelSSVAE-min_temperature=0", ValueError, "min_temperature",
         lambda: models.GumbelSemiSupervisedVAE(min_temperature=0.0)),
    case("GumbelSSVAE-anneal_rate=-1", ValueError, "anneal_rate",
         lambda: models.GumbelSemiSupervisedVAE(anneal_rate=-1.0)),
    case("GumbelSSVAE-anneal_every=0", ValueError, "anneal_every",
         lambda: models.GumbelSemiSupervisedVAE(anneal_every=0)),
    case("GumbelSSVAE-hard=str", ValueError, "hard", lambda: models.GumbelSemiSupervisedVAE(hard="yes")),
    case("DCGAN-latent_dim=0", ValueError, "latent_dim", lambda: models.DCGAN(latent_dim=0)),
    case("DCGAN-discriminator_steps=0", ValueError, "discriminator_steps",
         lambda: models.DCGAN(discriminator_steps=0)),
    case("DCGAN-label_smoothing=1", ValueError, "label_smoothing", lambda: models.DCGAN(label_smoothing=1.0)),
    case("DCGAN-label_smoothing=-0.1", ValueError, "label_smoothing", lambda: models.DCGAN(label_smoothing=-0.1)),
    case("DCGAN-generator_filters=0", ValueError, "generator_filters", lambda: models.DCGAN(generator_filters=0)),
    case("DCGAN-discriminator_filters=2.5", ValueError, "discriminator_filters",
         lambda: models.DCGAN(discriminator_filters=2.5)),
    case("DCGAN-discriminator_batch_norm=str", ValueError, "discriminator_batch_norm",
         lambda: models.DCGAN(discriminator_batch_norm="false")),
    case("DCGAN-loss=unknown", ValueError, r"Unknown loss 'wgan'. Expected one of \['minimax', 'non_saturating'",
         lambda: models.DCGAN(loss="wgan")),
    case("DCGAN-wgan_gp-with-batch-norm", ValueError,
         r"pass discriminator_batch_norm=False \(--no-discriminator-batch-norm\)\. Received: loss='wgan_gp', "
         r"discriminator_batch_norm=True", lambda: models.DCGAN(loss="wgan_gp")),
    case("ConditionalGAN-wgan_gp-with-batch-norm", ValueError, "discriminator_batch_norm=False",
         lambda: models.ConditionalGAN(loss="wgan_gp")),
    case("InfoGAN-wgan_gp-with-batch-norm", ValueError, "discriminator_batch_norm=False",
         lambda: models.InfoGAN(loss="wgan_gp")),
    case("DCGAN-hinge-label_smoothing", ValueError, r"loss='hinge' has no targets.*label_smoothing=0.1",
         lambda: models.DCGAN(loss="hinge", label_smoothing=0.1)),
    case("InfoGAN-wgan_gp-label_smoothing", ValueError, r"loss='wgan_gp' has no targets.*label_smoothing=0.2",
         lambda: models.InfoGAN(loss="wgan_gp", discriminator_batch_norm=False, label_smoothing=0.2)),
    case("DCGAN-gradient_penalty=-1", ValueError, "gradient_penalty must be a non-negative number",
         lambda: models.DCGAN(gradient_penalty=-1.0)),
    case("DCGAN-spectral_norm=str", ValueError, "spectral_norm must be True or False",
         lambda: models.DCGAN(spectral_norm="yes")),
    case("DCGAN.compile-loss", ValueError, r"constructor option loss= \(--loss",
         lambda: new("dcgan").compile(optimizer="adam", loss="mse")),
    case("ConditionalGAN-num_classes=1", ValueError, "num_classes", lambda: models.ConditionalGAN(num_classes=1)),
    case("ConditionalGAN-label_input=unknown", ValueError, "label_input",
         lambda: models.ConditionalGAN(label_input="image")),
    case("ConditionalGAN-hidden_units=(0,)", ValueError, "hidden_units",
         lambda: models.ConditionalGAN(hidden_units=(0,))),
    case("ConditionalGAN-hidden_units=int", ValueError, "hidden_units",
         lambda: models.ConditionalGAN(hidden_units=16)),
    case("ConditionalGAN-hidden_units=str", ValueError, "hidden_units",
         lambda: models.ConditionalGAN(hidden_units="64")),
    case("InfoGAN-num_categories=1", ValueError, "num_categories", lambda: models.InfoGAN(num_categories=1)),
    case("InfoGAN-num_continuous=-1", ValueError, "num_continuous", lambda: models.InfoGAN(num_continuous=-1)),
    case("InfoGAN-info_weight=-1", ValueError, "info_weight", lambda: models.InfoGAN(info_weight=-1.0)),
    case("InfoGAN-continuous_weight=nan", ValueError, "continuous_weight",
         lambda: models.InfoGAN(continuous_weight=NAN)),
    case("InfoGAN-q_hidden_units=0", ValueError, "q_hidden_units", lambda: models.InfoGAN(q_hidden_units=0)),
    case("InfoGAN-learn_std=str", ValueError, "learn_std", lambda: models.InfoGAN(learn_std="yes")),
    case("InfoGAN-discriminator_hidden_units=int", ValueError, "discriminator_hidden_units",
         lambda: models.InfoGAN(discriminator_hidden_units=1024)),
    case("VHE-class_dim=0", ValueError, "class_dim", lambda: models.VHE(class_dim=0)),
    case("VHE-latent_dim=-1", ValueError, "latent_dim", lambda: models.VHE(latent_dim=-1)),
    case("VHE-networks=unknown", ValueError, "networks", lambda: models.VHE(networks="resnet")),
    case("VHE-hidden_units=0", ValueError, "hidden_units", lambda: models.VHE(hidden_units=0)),
    case("VHE-class_size=0", ValueError, "class_size", lambda: models.VHE(class_size=0)),
    case("VHE-set_size=0", ValueError, "set_size", lambda: models.VHE(set_size=0)),
    case("UnsupervisedVHE-num_examples=0", ValueError, "num_examples",
         lambda: models.UnsupervisedVHE(num_examples=0)),
    case("UnsupervisedVHE-num_clusters=0", ValueError, "num_clusters",
         lambda: models.UnsupervisedVHE(num_examples=8, num_clusters=0)),
    case("get_model_class-unknown", ValueError, "model 'pixelcnn'", lambda: models.get_model_class("pixelcnn")),
    # ------------------------------------------------------------ models: images (shape, dtype, range, NaN)
    case("VAE.encode-rank-3", ValueError, "images", lambda: model("vae").encode(zeros(28, 28, 1))),
    case("VAE.encode-32x32", ValueError, "images", lambda: model("vae").encode(zeros(2, 32, 32, 1))),
    case("VAE.encode-uint8", TypeError, "images", lambda: model("vae").encode(images(dtype=np.uint8))),
    case("VAE.encode-images*255", ValueError, IMAGES_RANGE, lambda: model("vae").encode(images(scale=255.0))),
    case("VAE.encode-nan", ValueError, "images.*NaN", lambda: model("vae").encode(nan_images())),
    case("VAE.encode-negative", ValueError, IMAGES_RANGE, lambda: model("vae").encode(images() - 0.5)),
    case("VAE.call-images*255", ValueError, IMAGES_RANGE, lambda: model("vae")(images(scale=255.0))),
    case("VAE.compute_losses-images*255", ValueError, IMAGES_RANGE,
         lambda: model("vae").compute_losses({"image": images(scale=255.0)})),
    case("VAE.compute_losses-nan", ValueError, "images.*NaN", lambda: model("vae").compute_losses({"image": nan_images()})),
    case("MMDVAE.encode-images*255", ValueError, IMAGES_RANGE, lambda: model("mmd_vae").encode(images(scale=255.0))),
    case("MMDVAE.call-nan", ValueError, "images.*NaN", lambda: model("mmd_vae")(nan_images())),
    case("MMDVAE.compute_losses-images*255", ValueError, IMAGES_RANGE,
         lambda: model("mmd_vae").compute_losses({"image": images(scale=255.0)})),
    case("CVAE.encode-images*255", ValueError, IMAGES_RANGE, lambda: model("cvae").encode(images(scale=255.0))),
    case("CVAE.compute_losses-nan", ValueError, "images.*NaN",
         lambda: model("cvae").compute_losses({"image": nan_images(), "label": np.array([0, 1])})),
    case("SemiSupervisedVAE.classify-images*255", ValueError, IMAGES_RANGE,
         lambda: model("ssvae").classify(images(scale=255.0))),
    case("SemiSupervisedVAE.compute_losses-images*255", ValueError, IMAGES_RANGE,
         lambda: model("ssvae").compute_losses({"image": images(scale=255.0), "label": np.array([0, 1])})),
    case("GumbelSSVAE.compute_losses-nan", ValueError, "images.*NaN",
         lambda: model("gumbel_ssvae").compute_losses({"image": nan_images(), "label": np.array([0, 1])})),
    case("DCGAN.compute_losses-images*255", ValueError, r"image.*\[0, 1\]",
         lambda: model("dcgan").compute_losses({"image": images(scale=255.0)})),
    case("DCGAN.compute_losses-nan", ValueError, "image.*NaN", lambda: model("dcgan").compute_losses({"image": nan_images()})),
    case("DCGAN.compute_losses-not-a-dict", ValueError, "batch", lambda: model("dcgan").compute_losses(images())),
    case("ConditionalGAN.compute_losses-images*255", ValueError, r"image.*\[0, 1\]",
         lambda: model("cgan").compute_losses({"image": images(scale=255.0), "label": np.array([0, 1])})),
    case("InfoGAN.predict_codes-images*255", ValueError, IMAGES_RANGE,
         lambda: model("infogan").predict_codes(images(scale=255.0))),
    case("InfoGAN.predict_codes-rank-3", ValueError, "images", lambda: model("infogan").predict_codes(zeros(28, 28, 1))),
    case("VHE.call-images*255", ValueError, IMAGES_RANGE, lambda: model("vhe")(images(scale=255.0))),
    case("VHE.encode_example-nan", ValueError, "images.*NaN",
         lambda: model("vhe").encode_example(nan_images(), zeros(2, 3))),
    case("VHE.encode_set-rank-4", ValueError, "class_set", lambda: model("vhe").encode_set(zeros(2, 28, 28, 1))),
    case("VHE.encode_set-uint8", TypeError, "class_set",
         lambda: model("vhe").encode_set(zeros(2, 3, 28, 28, 1, dtype=np.uint8))),
    case("VHE.encode_set-class_set*255", ValueError, r"class_set.*\[0, 1\]",
         lambda: model("vhe").encode_set(class_set(scale=255.0))),
    case("VHE.compute_losses-class_set*255", ValueError, r"class_set.*\[0, 1\]",
         lambda: model("vhe").compute_losses({"image": images(), "class_set": class_set(scale=255.0)})),
    # ------------------------------------------------------------ models: codes, labels, sizes
    case("VAE.decode-z-wrong-size", ValueError, "z", lambda: model("vae").decode(zeros(2, 5))),
    case("VAE.decode-z-rank-1", ValueError, "z", lambda: model("vae").decode(zeros(2))),
    case("MMDVAE.decode-z-wrong-size", ValueError, "z", lambda: model("mmd_vae").decode(zeros(2, 3))),
    case("VAE.sample-0", ValueError, "num_samples", lambda: model("vae").sample(0)),
    case("VAE.sample--1", ValueError, "num_samples", lambda: model("vae").sample(-1)),
    case("VAE.sample-2.5", ValueError, "num_samples", lambda: model("vae").sample(2.5)),
    case("VAE.sample-seed-shape-3", ValueError, "seed",
         lambda: model("vae").sample(2, seed=tf.constant([1, 2, 3], tf.int64))),
    case("MMDVAE.sample-0", ValueError, "num_samples", lambda: model("mmd_vae").sample(0)),
    case("CVAE.sample-labels=10", ValueError, "labels", lambda: model("cvae").sample(4, labels=10)),
    case("CVAE.sample-labels=-1", ValueError, "labels", lambda: model("cvae").sample(4, labels=-1)),
    case("CVAE.sample-labels-count", ValueError, "labels", lambda: model("cvae").sample(4, labels=[1, 2])),
    case("CVAE.sample-labels-str", TypeError, "labels", lambda: model("cvae").sample(2, labels=["a", "b"])),
    case("CVAE.sample-one-hot-width", ValueError, "labels", lambda: model("cvae").sample(2, labels=zeros(2, 3))),
    case("CVAE.sample-labels-not-distributions", ValueError, "labels",
         lambda: model("cvae").sample(2, labels=np.full((2, 10), 0.5, np.float32))),
    case("CVAE.sample-labels-and-label", ValueError, "labels", lambda: model("cvae").sample(2, labels=1, label=1)),
    case("CVAE.sample-0", ValueError, "num_samples", lambda: model("cvae").sample(0)),
    case("CVAE.decode-labels=10", ValueError, "labels",
         lambda: model("cvae").decode(zeros(2, 2), np.array([0, 10]))),
    case("CVAE.decode-z-wrong-size", ValueError, "z", lambda: model("cvae").decode(zeros(2, 3), np.array([0, 1]))),
    case("CVAE.compute_losses-label=10", ValueError, "labels",
         lambda: model("cvae").compute_losses({"image": images(), "label": np.array([0, 10])})),
    case("CVAE.compute_losses-labelled-mask=2", ValueError, "labelled",
         lambda: model("cvae").compute_losses({"image": images(), "label": np.array([0, 1]),
                                               "labelled": np.array([1.0, 2.0])})),
    case("CVAE(encoder_sees_label).encode-no-labels", ValueError, "labels",
         lambda: new("cvae", encoder_sees_label=True).encode(images())),
    case("CVAE(encoder_sees_label).encode-labels=-3", ValueError, "labels",
         lambda: new("cvae", encoder_sees_label=True).encode(images(), np.array([0, -3]))),
    case("SemiSupervisedVAE.sample-labels=10", ValueError, "labels", lambda: model("ssvae").sample(3, labels=10)),
    case("GumbelSSVAE.sample-labels=10", ValueError, "labels", lambda: model("gumbel_ssvae").sample(3, labels=10)),
    case("SemiSupervisedVAE.compute_losses-label=11", ValueError, "labels",
         lambda: model("ssvae").compute_losses({"image": images(), "label": np.array([11, 0])})),
    case("DCGAN.generate-z-wrong-size", ValueError, "z", lambda: model("dcgan").generate(zeros(2, 3))),
    case("DCGAN.generate-int-z", TypeError, "z", lambda: model("dcgan").generate(zeros(2, 4, dtype=np.int32))),
    case("DCGAN.call-z-rank-3", ValueError, "z", lambda: model("dcgan")(zeros(2, 4, 1))),
    case("DCGAN.sample-0", ValueError, "num_samples", lambda: model("dcgan").sample(0)),
    case("DCGAN.sample-str", ValueError, "num_samples", lambda: model("dcgan").sample("4")),
    case("ConditionalGAN.sample-labels=10", ValueError, "labels", lambda: model("cgan").sample(4, labels=10)),
    case("ConditionalGAN.sample-labels=-1", ValueError, "labels", lambda: model("cgan").sample(4, labels=[0, 1, 2, -1])),
    case("ConditionalGAN.sample-labels-count", ValueError, "labels", lambda: model("cgan").sample(4, labels=[0, 1])),
    case("ConditionalGAN.sample-0", ValueError, "num_samples", lambda: model("cgan").sample(0)),
    case("ConditionalGAN.generate-labels-count", ValueError, "labels",
         lambda: model("cgan").generate(zeros(2, 4), np.array([0, 1, 2]))),
    case("ConditionalGAN.generate-one-hot-width", ValueError, "labels",
         lambda: model("cgan").generate(zeros(2, 4), zeros(2, 3))),
    case("ConditionalGAN.compute_losses-no-label", ValueError, "label",
         lambda: model("cgan").compute_losses({"image": images()})),
    case("ConditionalGAN.compute_losses-label=10", ValueError, r"batch\['label'\]",
         lambda: model("cgan").compute_losses({"image": images(), "label": np.array([0, 10])})),
    case("InfoGAN.generate-categorical=99", ValueError, "categorical",
         lambda: model("infogan").generate(zeros(2, 4), np.array([0, 99]), zeros(2, 2))),
    case("InfoGAN.generate-continuous-width", ValueError, "continuous",
         lambda: model("infogan").generate(zeros(2, 4), np.array([0, 1]), zeros(2, 3))),
    case("InfoGAN.generate-continuous-rows", ValueError, "continuous",
         lambda: model("infogan").generate(zeros(2, 4), np.array([0, 1]), zeros(3, 2))),
    case("InfoGAN.generate-z-wrong-size", ValueError, "z",
         lambda: model("infogan").generate(zeros(2, 9), np.array([0, 1]), zeros(2, 2))),
    case("InfoGAN.sample-0", ValueError, "num_samples", lambda: model("infogan").sample(0)),
    case("VHE.generate-c-wrong-size", ValueError, "c", lambda: model("vhe").generate(zeros(2, 5), zeros(2, 2))),
    case("VHE.generate-z-wrong-size", ValueError, "z", lambda: model("vhe").generate(zeros(2, 3), zeros(2, 7))),
    case("VHE.sample-0", ValueError, "num_samples", lambda: model("vhe").sample(0)),
    case("VHE.few_shot-num_samples=0", ValueError, "num_samples", lambda: model("vhe").few_shot(class_set(), 0)),
    case("VHE.few_shot-class_set-rank-4", ValueError, "class_set", lambda: model("vhe").few_shot(images(), 2)),
    case("UnsupervisedVHE.update_clusters-epoch=-1", ValueError, "epoch",
         lambda: model("vhe_unsupervised").update_clusters(-1)),
    # ------------------------------------------------------------ layers
    case("GaussianSampling-seed=str", ValueError, "seed", lambda: layers.GaussianSampling(seed="7")),
    case("SpectralNormalization-power_iterations=0", ValueError, "power_iterations",
         lambda: layers.SpectralNormalization(keras.layers.Dense(2), power_iterations=0)),
    case("SpectralNormalization-no-kernel", ValueError, "layer=ReLU",
         lambda: layers.SpectralNormalization(keras.layers.ReLU())(zeros(2, 3))),
    case("GaussianSampling.call-not-a-list", ValueError, "inputs", lambda: layers.GaussianSampling()(zeros(2, 3))),
    case("GaussianSampling.call-shapes-differ", ValueError, "z_log_var",
         lambda: layers.GaussianSampling()([zeros(2, 3), zeros(2, 4)])),
    case("GaussianSampling.call-int", TypeError, "z_mean",
         lambda: layers.GaussianSampling()([zeros(2, 3, dtype=np.int32), zeros(2, 3, dtype=np.int32)])),
    case("GumbelSoftmax-temperature=0", ValueError, "temperature", lambda: layers.GumbelSoftmax(temperature=0.0)),
    case("GumbelSoftmax-temperature=-1", ValueError, "temperature", lambda: layers.GumbelSoftmax(temperature=-1)),
    case("GumbelSoftmax-temperature=nan", ValueError, "temperature", lambda: layers.GumbelSoftmax(temperature=NAN)),
    case("GumbelSoftmax-hard=str", ValueError, "hard", lambda: layers.GumbelSoftmax(hard="no")),
    case("GumbelSoftmax-seed=1.5", ValueError, "seed", lambda: layers.GumbelSoftmax(seed=1.5)),
    case("GumbelSoftmax.set_temperature(0)", ValueError, "temperature",
         lambda: layers.GumbelSoftmax().set_temperature(0)),
    case("GumbelSoftmax.set_temperature(-1)", ValueError, "temperature",
         lambda: layers.GumbelSoftmax().set_temperature(-1)),
    case("GumbelSoftmax.set_temperature(nan)", ValueError, "temperature",
         lambda: layers.GumbelSoftmax().set_temperature(NAN)),
    case("GumbelSoftmax.set_temperature(str)", ValueError, "temperature",
         lambda: layers.GumbelSoftmax().set_temperature("hot")),
    case("GumbelSoftmax.set_temperature(tensor-0)", ValueError, "temperature",
         lambda: layers.GumbelSoftmax().set_temperature(tf.constant(0.0))),
    case("GumbelSoftmax.call-int-logits", TypeError, "logits",
         lambda: layers.GumbelSoftmax()(zeros(2, 3, dtype=np.int32))),
    case("GumbelSoftmax.call-one-class", ValueError, "inputs", lambda: layers.GumbelSoftmax()(zeros(2, 1))),
    case("annealed_temperature-rate=-1", ValueError, "rate", lambda: layers.annealed_temperature(5, rate=-1.0)),
    case("annealed_temperature-min_temperature=0", ValueError, "min_temperature",
         lambda: layers.annealed_temperature(5, rate=0.1, min_temperature=0.0)),
    case("annealed_temperature-initial_temperature=0", ValueError, "initial_temperature",
         lambda: layers.annealed_temperature(5, rate=0.1, initial_temperature=0.0)),
    case("annealed_temperature-update_every=0", ValueError, "update_every",
         lambda: layers.annealed_temperature(5, rate=0.1, update_every=0)),
    case("LabelProjection-num_classes=0", ValueError, "num_classes", lambda: layers.LabelProjection(0)),
    case("LabelProjection-mode=unknown", ValueError, "mode", lambda: layers.LabelProjection(10, mode="multiply")),
    case("LabelProjection.call-labels=10", ValueError, "labels",
         lambda: layers.LabelProjection(10, mode="concat")([zeros(2, 2), np.array([1, 10])])),
    case("LabelProjection.call-one-hot-width", ValueError, "labels",
         lambda: layers.LabelProjection(10, mode="concat")([zeros(2, 2), zeros(2, 4)])),
    case("LabelProjection.call-not-a-pair", ValueError, "inputs",
         lambda: layers.LabelProjection(10, mode="concat")(zeros(2, 2))),
    case("LabelPlanes-num_classes=1", ValueError, "num_classes", lambda: layers.LabelPlanes(num_classes=1)),
    case("LabelPlanes.call-images-rank-3", ValueError, "images",
         lambda: layers.LabelPlanes(10)([zeros(28, 28, 1), np.array([1])])),
    case("LabelPlanes.call-labels=10", ValueError, "labels",
         lambda: layers.LabelPlanes(10)([zeros(2, 28, 28, 1), np.array([0, 10])])),
    case("LabelPlanes.call-labels-count", ValueError, "labels",
         lambda: layers.LabelPlanes(10)([zeros(4, 28, 28, 1), np.array([0, 1, 2])])),
    case("LabelPlanes.call-float-labels", TypeError, "labels",
         lambda: layers.LabelPlanes(10)([zeros(2, 28, 28, 1), np.array(["a", "b"])])),
    # ------------------------------------------------------------ losses
    case("squared_error-reduction=unknown", ValueError, "reduction",
         lambda: losses.squared_error(zeros(2, 3), zeros(2, 3), reduction="max")),
    case("squared_error-shapes-differ", ValueError, "predictions",
         lambda: losses.squared_error(zeros(2, 3), zeros(2, 4))),
    case("bernoulli_log_likelihood-shapes-differ", ValueError, "targets",
         lambda: losses.bernoulli_log_likelihood(zeros(2, 3), zeros(2, 4))),
    case("gaussian_log_likelihood-shapes-differ", ValueError, "targets",
         lambda: losses.gaussian_log_likelihood(zeros(2, 3), zeros(2, 4), 0.0)),
    case("normal_log_density-shapes-differ", ValueError, "mean",
         lambda: losses.normal_log_density(zeros(2, 3), zeros(2, 4), 0.0)),
    case("kl_normal-shapes-differ", ValueError, "log_var", lambda: losses.kl_normal(zeros(2, 3), zeros(2, 4))),
    case("optimal_log_sigma-weights-count", ValueError, "weights",
         lambda: losses.optimal_log_sigma(zeros(2, 3), zeros(2, 3), weights=np.ones(3, np.float32))),
    case("mmd-rank-1", ValueError, "x", lambda: losses.mmd(zeros(3), zeros(3))),
    case("mmd-dims-differ", ValueError, "y", lambda: losses.mmd(zeros(2, 3), zeros(2, 4))),
    case("gaussian_kernel-rank-3", ValueError, "x", lambda: losses.gaussian_kernel(zeros(2, 3, 1), zeros(2, 3))),
    case("categorical_cross_entropy-widths-differ", ValueError, "labels",
         lambda: losses.categorical_cross_entropy(zeros(2, 3), zeros(2, 4))),
    case("enumerated_unlabelled_loss-widths-differ", ValueError, "per_class_losses",
         lambda: losses.enumerated_unlabelled_loss(zeros(2, 3), zeros(2, 4))),
    case("discriminator_loss-label_smoothing=1", ValueError, "label_smoothing",
         lambda: losses.discriminator_loss(zeros(2), zeros(2), label_smoothing=1.0)),
    case("discriminator_loss-label_smoothing=str", ValueError, "label_smoothing",
         lambda: losses.discriminator_loss(zeros(2), zeros(2), label_smoothing="a")),
    case("categorical_mutual_information_loss-codes=5", ValueError, "codes",
         lambda: losses.categorical_mutual_information_loss(zeros(2, 3), np.array([0, 5]))),
    case("categorical_mutual_information_loss-one-hot-width", ValueError, "codes",
         lambda: losses.categorical_mutual_information_loss(zeros(2, 3), zeros(2, 4))),
    case("gaussian_mutual_information_loss-shapes-differ", ValueError, "mean",
         lambda: losses.gaussian_mutual_information_loss(zeros(2, 3), zeros(2, 4), 0.0)),
    case("gradient_penalty-weights-count", ValueError, "interpolation_weights",
         lambda: losses.gradient_penalty(lambda x: x, zeros(2, 3), zeros(2, 3), zeros(3))),
    case("gradient_penalty-shapes-differ", ValueError, "fake",
         lambda: losses.gradient_penalty(lambda x: x, zeros(2, 3), zeros(2, 4), zeros(2))),
    case("gradient_penalty-rank-1", ValueError, "real", lambda: losses.gradient_penalty(lambda x: x, zeros(2), zeros(2),
                                                                                        zeros(2))),
    # ------------------------------------------------------------ tfgen.data
    case("load-dataset=unknown", ValueError, "dataset", lambda: data_lib.load("cifar100000")),
    case("load-split=unknown", ValueError, "split", lambda: data_lib.load("mnist", "validation")),
    case("load-examples=0", ValueError, "examples", lambda: data_lib.load("mnist", examples=0)),
    case("load-examples=-3", ValueError, "examples", lambda: data_lib.load("mnist", examples=-3)),
    case("load-examples=1.5", ValueError, "examples", lambda: data_lib.load("mnist", examples=1.5)),
    case("prepare-dataset=unknown", ValueError, "dataset", lambda: data_lib.prepare("svhn")),
    case("find_source_files-empty-folder", FileNotFoundError, "missing",
         lambda: data_lib.find_source_files("mnist", a_folder("empty"))),
    case("ImageDataset-images-rank-3", ValueError, "images", lambda: ImageDataset(zeros(4, 28, 28), np.arange(4))),
    case("ImageDataset-float-images*255", ValueError, r"images.*\[0, 1\]",
         lambda: ImageDataset(images(4, scale=255.0), np.arange(4))),
    case("ImageDataset-nan-images", ValueError, "images.*NaN", lambda: ImageDataset(nan_images(4), np.arange(4))),
    case("ImageDataset-int32-images", TypeError, "images",
         lambda: ImageDataset(zeros(4, 28, 28, 1, dtype=np.int32), np.arange(4))),
    case("ImageDataset-empty", ValueError, "images", lambda: ImageDataset(zeros(0, 28, 28, 1), np.arange(0))),
    case("ImageDataset-labels-count", ValueError, "labels", lambda: ImageDataset(images(4), np.arange(3))),
    case("ImageDataset-float-labels", TypeError, "labels", lambda: ImageDataset(images(4), np.zeros(4))),
    case("ImageDataset-labels=10", ValueError, "labels", lambda: ImageDataset(images(4), np.array([0, 1, 2, 10]))),
    case("ImageDataset-labels=-1", ValueError, "labels", lambda: ImageDataset(images(4), np.array([0, 1, 2, -1]))),
    case("ImageDataset-num_classes=0", ValueError, "num_classes",
         lambda: ImageDataset(images(4), np.zeros(4, np.int64), num_classes=0)),
    case("ImageDataset.take(-5)", ValueError, "count", lambda: dataset().take(-5)),
    case("ImageDataset.take(0)", ValueError, "count", lambda: dataset().take(0)),
    case("ImageDataset.take(2.5)", ValueError, "count", lambda: dataset().take(2.5)),
    case("ImageDataset.take(str)", ValueError, "count", lambda: dataset().take("3")),
    case("ImageDataset.take(True)", ValueError, "count", lambda: dataset().take(True)),
    case("ImageDataset.batches-batch_size=0", ValueError, "batch_size", lambda: dataset().batches(0)),
    case("ImageDataset.batches-batch_size=-1", ValueError, "batch_size", lambda: dataset().batches(-1)),
    case("ImageDataset.batches-batch_size=8.0", ValueError, "batch_size", lambda: dataset().batches(8.0)),
    case("ImageDataset.batches-binarization=unknown", ValueError, "binarization",
         lambda: dataset().batches(8, binarization="otsu")),
    case("ImageDataset.batches-label_format=unknown", ValueError, "label_format",
         lambda: dataset().batches(8, label_format="onehot")),
    case("ImageDataset.batches-threshold=1.5", ValueError, "threshold", lambda: dataset().batches(8, threshold=1.5)),
    case("ImageDataset.batches-skip_batches=-1", ValueError, "skip_batches",
         lambda: dataset().batches(8, skip_batches=-1)),
    case("ImageDataset.batches-seed=str", ValueError, "seed", lambda: dataset().batches(8, seed="a")),
    case("ImageDataset.batches-seed=1.5", ValueError, "seed", lambda: dataset().batches(8, seed=1.5)),
    case("ImageDataset.batches-seed-beyond-int64", ValueError, "seed", lambda: dataset().batches(8, seed=2**64)),
    case("ImageDataset.batches-epoch=-1", ValueError, "epoch", lambda: dataset().batches(8, epoch=-1)),
    case("ImageDataset.batches-shuffle=str", ValueError, "shuffle", lambda: dataset().batches(8, shuffle="no")),
    case("ImageDataset.batches-drop_remainder=str", ValueError, "drop_remainder",
         lambda: dataset().batches(8, drop_remainder="yes")),
    case("binarize-binarization=unknown", ValueError, "binarization",
         lambda: data_lib.binarize(zeros(2, 28, 28, 1, dtype=np.uint8), "otsu")),
    case("binarize-dynamic-without-seed", ValueError, "seed",
         lambda: data_lib.binarize(zeros(2, 28, 28, 1, dtype=np.uint8), "dynamic")),
    case("labelled_split-not-a-dataset", TypeError, "dataset", lambda: data_lib.labelled_split(images(4), 1)),
    case("labelled_split-labels_per_class=0", ValueError, "labels_per_class",
         lambda: data_lib.labelled_split(dataset(), 0)),
    case("labelled_split-labels_per_class-too-many", ValueError, "labels_per_class",
         lambda: data_lib.labelled_split(dataset(), 5)),
    case("labelled_split-num_labels-not-a-multiple", ValueError, "num_labels",
         lambda: data_lib.labelled_split(dataset(), num_labels=15)),
    case("labelled_split-both-counts", ValueError, "labels_per_class",
         lambda: data_lib.labelled_split(dataset(), 1, num_labels=10)),
    case("labelled_split-labelled_per_batch=0", ValueError, "labelled_per_batch",
         lambda: data_lib.labelled_split(dataset(), 1, labelled_per_batch=0)),
    case("labelled_split-seed=str", ValueError, "seed", lambda: data_lib.labelled_split(dataset(), 1, seed="a")),
    case("SemiSupervisedDataset-labelled-count", ValueError, "labelled",
         lambda: SemiSupervisedDataset(images(4), np.arange(4), labelled=np.ones(3, bool))),
    case("SemiSupervisedDataset-labelled=2", ValueError, "labelled",
         lambda: SemiSupervisedDataset(images(4), np.arange(4), labelled=np.array([0, 1, 2, 1]))),
    case("SemiSupervisedDataset.batches-labelled_per_batch>=batch_size", ValueError, "labelled_per_batch",
         lambda: data_lib.labelled_split(dataset(), 1, labelled_per_batch=8).batches(8)),
    case("ClassSetDataset-set_size=0", ValueError, "set_size",
         lambda: ClassSetDataset(images(4), np.zeros(4, np.int64), set_size=0)),
    case("ClassSetDataset-set_size-too-big", ValueError, "set_size",
         lambda: ClassSetDataset(images(4), np.array([0, 0, 1, 1]), set_size=3)),
    case("ClassSetDataset-set_labels-count", ValueError, "set_labels",
         lambda: ClassSetDataset(images(4), np.zeros(4, np.int64), set_size=1, set_labels=np.zeros(3, np.int64))),
    case("ClassSetDataset-set_labels-negative", ValueError, "set_labels",
         lambda: ClassSetDataset(images(4), np.zeros(4, np.int64), set_size=1, set_labels=np.array([-1, -1, 0, 0]))),
    case("ClassSetDataset.batches-batch_size=0", ValueError, "batch_size",
         lambda: ClassSetDataset(images(4), np.zeros(4, np.int64), set_size=1).batches(0)),
    case("cluster_codes-num_clusters=0", ValueError, "num_clusters", lambda: data_lib.cluster_codes(zeros(4, 2), 0)),
    case("cluster_codes-num_clusters>codes", ValueError, "num_clusters", lambda: data_lib.cluster_codes(zeros(4, 2), 5)),
    case("cluster_codes-nan", ValueError, "codes", lambda: data_lib.cluster_codes(np.full((4, 2), NAN), 2)),
    # ------------------------------------------------------------ tfgen.random
    case("random.normal-seed-shape-3", ValueError, "seed",
         lambda: tfgen_random.normal((2, 3), seed=tf.constant([1, 2, 3], tf.int64))),
    case("random.normal-float-seed", TypeError, "seed",
         lambda: tfgen_random.normal((2, 3), seed=tf.constant([1.5, 2.0]))),
    case("random.uniform-minval>=maxval", ValueError, "maxval",
         lambda: tfgen_random.uniform((2,), seed=tf.constant([1, 2], tf.int64), minval=1.0, maxval=0.0)),
    case("random.class_ids-num_classes=0", ValueError, "num_classes",
         lambda: tfgen_random.class_ids((3,), 0, seed=tf.constant([1, 2], tf.int64))),
    case("random.split_seed-num=0", ValueError, "num", lambda: tfgen_random.split_seed(tf.constant([1, 2], tf.int64), 0)),
    case("random.seed_tensor-str", ValueError, "seed", lambda: tfgen_random.seed_tensor("abc")),
    case("random.seed_tensor-1.5", ValueError, "seed", lambda: tfgen_random.seed_tensor(1.5)),
    case("random.normal_from_seeds-dim=0", ValueError, "dim", lambda: tfgen_random.normal_from_seeds([1, 2], 0)),
    case("random.categorical-logits-rank-1", ValueError, "logits",
         lambda: tfgen_random.categorical(zeros(3), 2, seed=tf.constant([1, 2], tf.int64))),
    # ------------------------------------------------------------ tfgen.labels
    case("labels.one_hot-id=10", ValueError, "labels", lambda: labels.one_hot(np.array([0, 10]), 10)),
    case("labels.one_hot-id=-1", ValueError, "labels", lambda: labels.one_hot(np.array([-1]), 10)),
    case("labels.one_hot-int-rank-2", ValueError, "labels", lambda: labels.one_hot(np.array([[0, 1]]), 10)),
    case("labels.one_hot-float-rank-1", ValueError, "labels", lambda: labels.one_hot(zeros(3), 10)),
    case("labels.one_hot-float-width", ValueError, "labels", lambda: labels.one_hot(zeros(2, 3), 10)),
    case("labels.one_hot-strings", TypeError, "labels", lambda: labels.one_hot(np.array(["a"]), 10)),
    case("labels.one_hot-float-not-allowed", TypeError, "labels",
         lambda: labels.one_hot(zeros(2, 10), 10, allow_float=False)),
    case("labels.one_hot-num_classes=0", ValueError, "num_classes", lambda: labels.one_hot(np.array([0]), 0)),
    case("labels.one_hot-batch_size", ValueError, "labels", lambda: labels.one_hot(np.array([0, 1]), 10, batch_size=3)),
    case("labels.one_hot-not-distributions", ValueError, "labels",
         lambda: labels.one_hot(np.full((2, 10), 0.5, np.float32), 10, check_distributions=True)),
    case("labels.one_hot-argument-named", ValueError, "class_of_sample",
         lambda: labels.one_hot(np.array([12]), 10, "class_of_sample")),
    case("labels.check_class_ids-float", TypeError, "labels", lambda: labels.check_class_ids(zeros(2), 10)),
    case("labels.check_class_ids-id=10", ValueError, "label", lambda: labels.check_class_ids(np.array([10]), 10, "label")),
    case("labels.labelled_mask-rank-2", ValueError, "labelled",
         lambda: labels.labelled_mask({"labelled": zeros(2, 1)}, 2)),
    case("labels.labelled_mask-value=2", ValueError, "labelled",
         lambda: labels.labelled_mask({"labelled": np.array([1.0, 2.0])}, 2)),
    case("labels.labelled_mask-strings", TypeError, "labelled",
         lambda: labels.labelled_mask({"labelled": np.array(["a", "b"])}, 2)),
    case("labels.labelled_mask-count", ValueError, "labelled",
         lambda: labels.labelled_mask({"labelled": np.array([1.0, 0.0])}, 3)),
    # ------------------------------------------------------------ tfgen.evaluation
    case("build_classifier-num_classes=1", ValueError, "num_classes", lambda: evaluation.build_classifier(1)),
    case("Evaluator-not-a-model", TypeError, "classifier", lambda: evaluation.Evaluator("classifier.h5")),
    case("Evaluator-no-features-layer", ValueError, "classifier",
         lambda: evaluation.Evaluator(keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]))),
    case("Evaluator-batch_size=0", ValueError, "batch_size",
         lambda: evaluation.Evaluator(evaluator().classifier, batch_size=0)),
    case("Evaluator.predict-rank-3", ValueError, "images", lambda: evaluator().predict(zeros(28, 28, 1))),
    case("Evaluator.predict-images*255", ValueError, IMAGES_RANGE, lambda: evaluator().predict(images(scale=255.0))),
    case("Evaluator.predict-nan", ValueError, "images.*NaN", lambda: evaluator().predict(nan_images())),
    case("Evaluator.label_accuracy-labels-count", ValueError, "labels",
         lambda: evaluator().label_accuracy(images(2), np.array([0, 1, 2]))),
    case("Evaluator.diversity-labels-count", ValueError, "labels",
         lambda: evaluator().diversity(images(2), np.array([0]))),
    case("frechet_distance_from_features-widths-differ", ValueError, "features_b",
         lambda: evaluation.frechet_distance_from_features(zeros(4, 3), zeros(4, 5))),
    case("frechet_distance_from_features-one-row", ValueError, "features_a",
         lambda: evaluation.frechet_distance_from_features(zeros(1, 3), zeros(4, 3))),
    case("save_classifier-path-suffix", ValueError, "path",
         lambda: evaluation.save_classifier(evaluator().classifier, tmp("classifier.h5"))),
    case("load_classifier-missing", FileNotFoundError, "classifier weights",
         lambda: evaluation.load_classifier(tmp("missing.weights.h5"))),
    case("train_classifier-not-data", TypeError, "ImageDataset", lambda: evaluation.train_classifier("mnist")),
    case("train_classifier-epochs=0", ValueError, "epochs", lambda: evaluation.train_classifier(dataset(), epochs=0)),
    case("train_classifier-batch_size=0", ValueError, "batch_size",
         lambda: evaluation.train_classifier(dataset(), batch_size=0)),
    case("purity-lengths-differ", ValueError, "clusters", lambda: evaluation.purity(np.arange(3), np.arange(4))),
    case("purity-empty", ValueError, "empty", lambda: evaluation.purity(np.arange(0), np.arange(0))),
    case("nmi-float-labels", TypeError, "labels", lambda: evaluation.nmi(zeros(3), np.arange(3))),
    case("matched_accuracy-float-clusters", TypeError, "clusters",
         lambda: evaluation.matched_accuracy(np.arange(3), zeros(3))),
    case("kmeans-num_clusters=0", ValueError, "num_clusters", lambda: evaluation.kmeans(zeros(4, 2), 0)),
    case("kmeans_pixels-num_clusters>images", ValueError, "num_clusters",
         lambda: evaluation.kmeans_pixels(images(4), np.arange(4), num_clusters=10)),
    case("error_rate-batch_size=0", ValueError, "batch_size",
         lambda: evaluation.error_rate(model("ssvae"), dataset(), batch_size=0)),
    case("categorical_code_accuracy-not-infogan", TypeError, "model",
         lambda: evaluation.categorical_code_accuracy(model("vae"), dataset())),
    case("categorical_code_accuracy-batch_size=0", ValueError, "batch_size",
         lambda: evaluation.categorical_code_accuracy(model("infogan"), dataset(), batch_size=0)),
    case("generated_code_accuracy-per_code=0", ValueError, "per_code",
         lambda: evaluation.generated_code_accuracy(model("infogan"), evaluator(), per_code=0)),
    case("generated_code_accuracy-batch_size=0", ValueError, "batch_size",
         lambda: evaluation.generated_code_accuracy(model("infogan"), evaluator(), per_code=2, batch_size=0)),
    case("sample_scores-num_samples=1", ValueError, "num_samples",
         lambda: evaluation.sample_scores(model("dcgan"), evaluator(), dataset(), num_samples=1)),
    case("GANDiagnosticsCallback-num_samples=10", ValueError, "num_samples",
         lambda: evaluation.GANDiagnosticsCallback(evaluator(), dataset(), num_samples=10)),
    case("GANDiagnosticsCallback-every=0", ValueError, "every",
         lambda: evaluation.GANDiagnosticsCallback(evaluator(), dataset(), every=0)),
    case("GANDiagnosticsCallback-code_samples=0", ValueError, "code_samples",
         lambda: evaluation.GANDiagnosticsCallback(evaluator(), dataset(), code_samples=0)),
    case("GANDiagnosticsCallback-warn_accuracy=nan", ValueError, "warn_accuracy",
         lambda: evaluation.GANDiagnosticsCallback(evaluator(), dataset(), warn_accuracy=NAN)),
    # ------------------------------------------------------------ tfgen.plotting
    case("save_image_grid-rank-3", ValueError, "images", lambda: plotting.save_image_grid(zeros(2, 28, 28), tmp("g.png"))),
    case("save_image_grid-empty", ValueError, "images",
         lambda: plotting.save_image_grid(zeros(0, 28, 28, 1), tmp("g.png"))),
    case("save_image_grid-images*255", ValueError, IMAGES_RANGE,
         lambda: plotting.save_image_grid(images(scale=255.0), tmp("g.png"))),
    case("save_image_grid-nan", ValueError, "images.*NaN", lambda: plotting.save_image_grid(nan_images(), tmp("g.png"))),
    case("save_image_grid-rows=0", ValueError, "rows", lambda: plotting.save_image_grid(images(), tmp("g.png"), rows=0)),
    case("save_image_grid-rows=-1", ValueError, "rows",
         lambda: plotting.save_image_grid(images(), tmp("g.png"), rows=-1)),
    case("save_image_grid-path-is-a-folder", IsADirectoryError, "path",
         lambda: plotting.save_image_grid(images(), a_folder("grid.png"))),
    case("save_image_grid-parent-is-a-file", NotADirectoryError, "path",
         lambda: plotting.save_image_grid(images(), os.path.join(a_file("file"), "g.png"))),
    case("plot_images-rank-5", ValueError, "images", lambda: plotting.plot_images(class_set(), tmp("p.png"))),
    case("image_grid-images*255", ValueError, IMAGES_RANGE, lambda: plotting.image_grid(images(scale=255.0))),
    case("save_figure-not-a-figure", TypeError, "figure", lambda: plotting.save_figure("figure", tmp("f.png"))),
    case("plot_history-not-a-list", TypeError, "history", lambda: plotting.plot_history({"loss": 1.0}, tmp("h.png"))),
    case("plot_latent_grid-latent_dim=0", ValueError, "latent_dim",
         lambda: vae_plots.plot_latent_grid(model("vae").decode, 0, tmp("grid.png"))),
    case("plot_latent_grid-size=0", ValueError, "size",
         lambda: vae_plots.plot_latent_grid(model("vae").decode, 2, tmp("grid.png"), size=0)),
    case("plot_latent_space-codes-rank-1", ValueError, "codes",
         lambda: vae_plots.plot_latent_space(zeros(4), np.arange(4), tmp("latent.png"))),
    case("plot_class_rows-unconditional", ValueError, "conditional model",
         lambda: gan_plots.plot_class_rows(model("dcgan"), tmp("rows.png"))),
    case("plot_class_rows-per_class=0", ValueError, "per_class",
         lambda: gan_plots.plot_class_rows(model("cgan"), tmp("rows.png"), per_class=0)),
    case("plot_class_across_epochs-empty", ValueError, "images_by_epoch",
         lambda: gan_plots.plot_class_across_epochs({}, tmp("across.png"))),
    case("plot_infogan_codes-not-infogan", ValueError, "InfoGAN",
         lambda: gan_plots.plot_infogan_codes(model("dcgan"), tmp("codes"))),
    case("interpolate-num_steps=0", ValueError, "num_steps", lambda: gan_plots.interpolate(zeros(3), zeros(3), 0)),
    case("interpolate-shapes-differ", ValueError, "end", lambda: gan_plots.interpolate(np.ones(3), np.ones(4), 5)),
    case("plot_latent_arithmetic-two-classes", ValueError, "classes",
         lambda: gan_plots.plot_latent_arithmetic(model("dcgan"), evaluator(), tmp("a.png"), classes=(1, 2))),
    case("few_shot_support-shots=0", ValueError, "shots", lambda: vhe_plots.few_shot_support(dataset(), shots=0)),
    case("few_shot_support-shots-too-many", ValueError, "shots", lambda: vhe_plots.few_shot_support(dataset(), shots=3)),
    case("PlotCallback-every=0", ValueError, "every", lambda: plotting.PlotCallback(every=0)),
    case("PlotCallback-figures=unknown", ValueError, "figures", lambda: plotting.PlotCallback(figures=["portrait"])),
    case("PlotCallback-num_samples=0", ValueError, "num_samples", lambda: plotting.PlotCallback(num_samples=0)),
    case("PeriodicCallback-every=-1", ValueError, "every", lambda: PeriodicCallback(every=-1)),
    # ------------------------------------------------------------ tfgen.serving
    case("ExportedModel-missing-folder", FileNotFoundError, "No exported model folder",
         lambda: serving.ExportedModel(tmp("missing"))),
    case("ExportedModel-empty-folder", FileNotFoundError, "no complete SavedModel",
         lambda: serving.ExportedModel(a_folder("saved_models", "vae"))),
    case("ExportedModel.signature-unknown", ValueError, "'encode_set' signature",
         lambda: exported("vae").signature("encode_set")),
    case("ExportedModel.sample-label=10", ValueError, "label", lambda: exported("cgan").sample([0, 1], [0, 10])),
    case("ExportedModel.sample-conditional-without-labels", ValueError, "class id",
         lambda: exported("cgan").sample([0, 1])),
    case("ExportedModel.sample-unconditional-with-labels", ValueError, "label",
         lambda: exported("vae").sample([0, 1], [1, 2])),
    case("ExportedModel.sample-seeds=str", ValueError, "seeds", lambda: exported("vae").sample("abc")),
    case("ExportedModel.sample-seeds-empty", ValueError, "seeds", lambda: exported("vae").sample([])),
    case("sample_grid-columns=0", ValueError, "columns",
         lambda: serving.sample_grid(os.path.join(LEGACY, "vae", "export"), tmp("g.png"), columns=0)),
    case("sample_grid-rows=-1", ValueError, "rows",
         lambda: serving.sample_grid(os.path.join(LEGACY, "vae", "export"), tmp("g.png"), rows=-1)),
    case("sample_grid-label=10", ValueError, "label",
         lambda: serving.sample_grid(os.path.join(LEGACY, "cgan", "export"), tmp("g.png"), label=10, columns=2)),
    case("sample_grid-label=2.5", ValueError, "label",
         lambda: serving.sample_grid(os.path.join(LEGACY, "cgan", "export"), tmp("g.png"), label=2.5, columns=2)),
    case("sample_grid-seed=str", ValueError, "seed",
         lambda: serving.sample_grid(os.path.join(LEGACY, "vae", "export"), tmp("g.png"), seed="x", columns=2)),
    case("sample_grid-out-is-a-folder", IsADirectoryError, "out",
         lambda: serving.sample_grid(os.path.join(LEGACY, "vae", "export"), a_folder("grid.png"), columns=2)),
    # ------------------------------------------------------------ tfgen.export
    case("check_model_name-parent", ValueError, "name", lambda: export.check_model_name("../evil")),
    case("check_model_name-separator", ValueError, "name", lambda: export.check_model_name("a/b")),
    case("check_model_name-empty", ValueError, "name", lambda: export.check_model_name("")),
    case("check_model_name-int", ValueError, "name", lambda: export.check_model_name(3)),
    case("export_model-version=-1", ValueError, "version",
         lambda: export.export_model(model("vae"), tmp("saved_models", "vae"), version=-1)),
    case("export_model-version=abc", ValueError, "version",
         lambda: export.export_model(model("vae"), tmp("saved_models", "vae"), version="abc")),
    case("export_model-version=0", ValueError, "version",
         lambda: export.export_model(model("vae"), tmp("saved_models", "vae"), version=0)),
    case("export_model-version=1.5", ValueError, "version",
         lambda: export.export_model(model("vae"), tmp("saved_models", "vae"), version=1.5)),
    case("export_model-version-exists", FileExistsError, "Version 1",
         lambda: export.export_model(model("vae"), os.path.dirname(a_folder("saved_models", "vae", "1")), version=1)),
    case("export_model-not-a-model", TypeError, "model",
         lambda: export.export_model("vae", tmp("saved_models", "vae"))),
    case("export_model-model_dir-is-a-file", ValueError, "model_dir",
         lambda: export.export_model(model("vae"), a_file("saved_models", "vae"))),
    case("export_run-name", ValueError, "name", lambda: export.export_run(tmp("run"), "../evil")),
    case("export_run-missing-run", ValueError, "does not exist", lambda: export.export_run(tmp("missing"), "vae")),
    case("export_run-not-a-run", ValueError, "not a tfgen run directory",
         lambda: export.export_run(a_folder("empty"), "vae")),
    # ------------------------------------------------------------ tfgen.training.Trainer
    case("Trainer-model=str", TypeError, "model", lambda: trainer(model="vae")),
    case("Trainer-train_data=array", TypeError, "train_data", lambda: trainer(train_data=images(16))),
    case("Trainer-test_data=array", TypeError, "test_data", lambda: trainer(test_data=images(16))),
    case("Trainer-run_dir=empty", ValueError, "run_dir", lambda: trainer(run_dir="")),
    case("Trainer-run_dir-is-a-file", ValueError, "run_dir", lambda: trainer(run_dir=a_file("run"))),
    case("Trainer-run_dir-checkpoints-is-a-file", ValueError, "checkpoints",
         lambda: trainer(run_dir=os.path.dirname(a_file("run", "checkpoints")))),
    case("Trainer-epochs=0", ValueError, "epochs", lambda: trainer(epochs=0)),
    case("Trainer-batch_size=0", ValueError, "batch_size", lambda: trainer(batch_size=0)),
    case("Trainer-batch_size>examples", ValueError, "batch_size", lambda: trainer(batch_size=32)),
    case("Trainer-steps_per_epoch=0", ValueError, "steps_per_epoch", lambda: trainer(steps_per_epoch=0)),
    case("Trainer-checkpoint_every_steps=0", ValueError, "checkpoint_every_steps",
         lambda: trainer(checkpoint_every_steps=0)),
    case("Trainer-max_checkpoints=0", ValueError, "max_checkpoints", lambda: trainer(max_checkpoints=0)),
    case("Trainer-seed=str", ValueError, "seed", lambda: trainer(seed="a")),
    case("Trainer-seed-beyond-int64", ValueError, "seed", lambda: trainer(seed=2**64)),
    case("Trainer-binarization=unknown", ValueError, "binarization", lambda: trainer(binarization="otsu")),
    case("Trainer-callbacks=str", TypeError, "callbacks", lambda: trainer(callbacks=["plots"])),
    case("Trainer-learning_rate=0", ValueError, "learning_rate", lambda: trainer(learning_rate=0)),
    case("Trainer-learning_rate=0.0", ValueError, "learning_rate", lambda: trainer(learning_rate=0.0)),
    case("Trainer-learning_rate=-1", ValueError, "learning_rate", lambda: trainer(learning_rate=-1.0)),
    case("Trainer-learning_rate=nan", ValueError, "learning_rate", lambda: trainer(learning_rate=NAN)),
    case("Trainer-learning_rate=str", ValueError, "learning_rate", lambda: trainer(learning_rate="fast")),
    case("Trainer.fit-max_steps=0", ValueError, "max_steps", lambda: trainer().fit(max_steps=0)),
    # ------------------------------------------------------------ tfgen.runs.train
    case("train-model=unknown", ValueError, "model 'pixelcnn'", lambda: train("pixelcnn")),
    case("train-unknown-option", ValueError, "latnt_dim", lambda: train(latnt_dim=3)),
    case("train-labels_per_class-unsupervised", ValueError, "labels_per_class", lambda: train(labels_per_class=10)),
    case("train-dataset=unknown", ValueError, "dataset", lambda: train(dataset="cifar100000")),
    case("train-epochs=0", ValueError, "epochs", lambda: train(epochs=0)),
    case("train-batch_size=-1", ValueError, "batch_size", lambda: train(batch_size=-1)),
    case("train-learning_rate=0", ValueError, "learning_rate", lambda: train(learning_rate=0.0)),
    case("train-learning_rate=nan", ValueError, "learning_rate", lambda: train(learning_rate=NAN)),
    case("train-beta_1=1", ValueError, "beta_1", lambda: train(beta_1=1.0)),
    case("train-seed=1.5", ValueError, "seed", lambda: train(seed=1.5)),
    case("train-seed-beyond-int64", ValueError, "seed", lambda: train(seed=2**64)),
    case("train-latent_dim=0", ValueError, "latent_dim", lambda: train(latent_dim=0)),
    case("train-discriminator_learning_rate=-1", ValueError, "discriminator_learning_rate",
         lambda: train("dcgan", discriminator_learning_rate=-1.0, sample_scores=False)),
    case("train-plot_every=0", ValueError, "plot_every", lambda: train(plot_every=0)),
    case("train-max_steps=0", ValueError, "max_steps", lambda: train(max_steps=0)),
    case("train-train_examples=0", ValueError, "train_examples", lambda: train(train_examples=0)),
    case("train-binarization=unknown", ValueError, "binarization", lambda: train(binarization="otsu")),
    case("train-out-holds-a-run", ValueError, "resume", lambda: train(out=a_run_folder())),
    case("train-resume-missing-run", ValueError, "does not exist", lambda: train(out=tmp("missing"), resume=True)),
    case("train-out-is-a-file", ValueError, "out", lambda: train(out=a_file("run"))),
    case("train-labels_per_class=0", ValueError, "labels_per_class",
         lambda: train("ssvae", labels_per_class=0, latent_dim=2, encoder_units=8)),
    # ------------------------------------------------------------ types: one strict reading of every value
    case("types:config-smoke-string", ValueError, r"smoke must be True or False.*'false'.*--config file",
         lambda: resolve(config_file=config_file({"smoke": "false"}))),
    case("types:config-epochs-float", ValueError, r"epochs.*2\.5.*--config file",
         lambda: resolve(config_file=config_file({"epochs": 2.5}))),
    case("types:config-epochs-bool", ValueError, r"epochs.*True.*--config file",
         lambda: resolve(config_file=config_file({"epochs": True}))),
    case("types:config-epochs-null", ValueError, r"epochs.*None.*--config file",
         lambda: resolve(config_file=config_file({"epochs": None}))),
    case("types:config-infinity", ValueError, r"--config file.*Infinity is not a JSON value",
         lambda: resolve(config_file=config_file('{"beta_1": Infinity}'))),
    case("types:config-unknown-key", ValueError, r"\['epoch'\].*Did you mean 'epochs'",
         lambda: resolve(config_file=config_file({"epoch": 3}))),
    case("types:config-image-size-bool", ValueError, r"image_size.*--config file",
         lambda: resolve(config_file=config_file({"image_size": True}))),
    case("types:set-eager-int", ValueError, r"eager must be True or False.*--set eager",
         lambda: resolve(assignments=[("eager", 1)])),
    case("types:set-strategy-int", ValueError, r"strategy.*tf\.distribute\.Strategy",
         lambda: resolve(assignments=[("strategy", 3)])),
    case("types:set-unknown-name", ValueError, r"latnt_dim.*Did you mean 'latent_dim'",
         lambda: resolve(assignments=[("latnt_dim", 3)])),
    case("types:Trainer-eager=no", ValueError, "eager must be True or False", lambda: trainer(eager="no")),
    case("types:Trainer-jit=1", ValueError, "jit must be True or False", lambda: trainer(jit=1)),
    case("types:Trainer-verbose=True", ValueError, "verbose", lambda: trainer(verbose=True)),
    case("types:Trainer-unknown-option", TypeError, "'epoch'.*Did you mean 'epochs'", lambda: trainer(epoch=1)),
    case("types:Trainer-optimizer=str", TypeError, "optimizer must be", lambda: trainer(optimizer="adam")),
    case("types:Trainer-run_info=list", TypeError, "run_info must be a dict", lambda: trainer(run_info=["x"])),
    case("types:Trainer-callbacks=str", TypeError, "callbacks must be a list", lambda: trainer(callbacks="plots")),
    case("types:Trainer-run_dir=int", ValueError, "run_dir", lambda: trainer(run_dir=5)),
    case("types:Trainer.fit-resume=str", ValueError, "resume must be True or False",
         lambda: trainer().fit(resume="no")),
    case("types:Trainer.fit-resume_from=float", ValueError, "resume_from", lambda: trainer().fit(resume_from=1.5)),
    case("types:ImageDataset-5-channels", ValueError, r"images must have 1 \(grey\) or 3 \(RGB\) channels",
         lambda: ImageDataset(zeros(4, 28, 28, 5, dtype=np.uint8), np.arange(4))),
    case("types:ImageDataset-height-0", ValueError, "images must be at least 1 pixel high",
         lambda: ImageDataset(zeros(4, 0, 28, 1, dtype=np.uint8), np.arange(4))),
    case("types:from_arrays-5-channels", ValueError, r"images must have .*4 \(RGBA\) channels",
         lambda: data_lib.from_arrays(zeros(4, 28, 28, 5))),
    case("types:from_arrays-width-0", ValueError, "images must be at least 1 pixel", lambda: data_lib.from_arrays(
        zeros(4, 28, 0))),
    case("types:VAE-hidden_units=str-conv", ValueError, "hidden_units", lambda: models.VAE(hidden_units="abc")),
    case("types:VAE-activation=unknown-conv", ValueError, "activation", lambda: models.VAE(activation="tahn")),
    # ------------------------------------------------------------ conflicts: two sources, one option
    case("conflicts:flag-and-set", ValueError, r"epochs is given twice.*2 \(--set\).*3 \(the flags\)",
         lambda: resolve(assignments=[("epochs", 2)], epochs=3)),
    case("conflicts:set-twice", ValueError, "epochs is given twice", lambda: resolve(assignments=[("epochs", 1),
                                                                                                  ("epochs", 2)])),
    case("conflicts:model-option-flag-and-set", ValueError, "latent_dim is given twice",
         lambda: resolve(assignments=[("latent_dim", 3)], latent_dim=4)),
    case("conflicts:resume-from-and-no-resume", ValueError, r"resume_from.*--no-resume.*choose one",
         lambda: resolve(resume_from="ckpt-5", resume=False)),
    case("conflicts:examples-and-labels-per-class", ValueError, "examples_per_class.*labels_per_class.*choose one",
         lambda: resolve("ssvae", examples_per_class=6, labels_per_class=10)),
    case("conflicts:config-of-another-model", ValueError, r"configuration of 'cgan'.*not of 'vae'",
         lambda: resolve(config_file=config_file({"model_name": "cgan", "epochs": 2}))),
    case("conflicts:jit-and-eager", ValueError, "choose one", lambda: trainer(jit=True, eager=True)),
    case("conflicts:resume-from-another-run", ValueError, r"not a checkpoint of the run.*its own --out",
         lambda: find_checkpoint(tmp("b", "checkpoints", "ckpt-5"))),
    case("conflicts:resume-from-a-superseded-checkpoint", ValueError, "not a checkpoint of the run",
         lambda: find_checkpoint(a_file("a", "checkpoints", "superseded-1", "ckpt-5.index")[:-len(".index")])),
    case("conflicts:resume-from-relative-path-of-another-run", ValueError, "not a checkpoint of the run",
         lambda: find_checkpoint(os.path.join("..", "b", "checkpoints", "ckpt-5"))),
    case("conflicts:lone-train-folder", ValueError, r"train/ folder but no test folder",
         lambda: data_lib.load(a_folder_of_images("train/cats", "train/dogs"), "train")),
    # ------------------------------------------------------------ messages: the real cause, named
    case("messages:train-only-image-folder", ValueError, r"has a train/ folder but no test folder.*read as one class",
         lambda: runs.load_data(a_folder_of_images("train/cats", "train/dogs"))),
    case("messages:one-class-folder-for-a-conditional-model", ValueError, r"cgan needs at least 2 classes.*'cats'",
         lambda: runs.check_labelled(models.ConditionalGAN, one_class_data())),
    case("messages:corrupt-history-json", ValueError, r"history\.json' is not valid JSON", a_corrupt_history),
    case("messages:non-json-config-value", ValueError, r"--config file .*config\.json.*NaN is not a JSON value",
         lambda: resolve(config_file=config_file('{"learning_rate": NaN}'))),
    case("messages:train-examples-beyond-the-data", ValueError, r"train_examples=20 .*more than the 16 examples",
         lambda: train(dataset=(dataset(16), None), train_examples=20)),
    # ------------------------------------------------------------ paths: only its own files (issue 27)
    case("paths:train-out-folder-holds-user-files", ValueError, "out .*holds files tfgen did not write.*notes.txt.*--force",
         lambda: train(out=user_files("mine"))),
    case("paths:train-out-names-five-then-how-many-more", ValueError, r"'f4.txt' and 3 more",
         lambda: train(out=user_files("mine", names=[f"f{index}.txt" for index in range(8)]))),
    case("paths:train-out-holds-a-user-subfolder", ValueError, "photos/",
         lambda: train(out=user_files("mine", names=("photos/",)))),
    case("paths:train-out-holds-a-hidden-user-file", ValueError, r"\.env",
         lambda: train(out=user_files("mine", names=(".env", ".tfgen.lock")))),
    case("paths:train-out-user-file-beside-a-classifier", ValueError, "data.csv",
         lambda: train(out=user_files("mine", names=("classifier.weights.h5", "data.csv")))),
    case("paths:Trainer.fit-run_dir-holds-user-files", ValueError, "run_dir .*holds files tfgen did not write",
         lambda: trainer(run_dir=user_files("mine")).fit()),
    case("paths:export_run-model-folder-holds-user-files", ValueError, "holds files an export does not write.*--force",
         lambda: export.export_run(os.path.join(LEGACY, "vae", "run"), "vae",
                                   os.path.dirname(user_files("saved_models", "vae")))),
    case("paths:export_model-model-folder-is-a-version-folder", ValueError, "saved_model.pb",
         lambda: export.export_model(model("vae"), os.path.join(an_export_copy(), "1"))),
    case("paths:sample_grid-out-is-a-user-text-file", FileExistsError, "out .*not a PNG or JPEG image.*--force",
         lambda: serving.sample_grid(os.path.join(LEGACY, "vae", "export"), a_text_file("g.png", "mine"), columns=2)),
    case("paths:check_report_path-out-is-a-user-json", FileExistsError, "out .*not an evaluation report.*--force",
         lambda: report_lib.check_report_path(a_text_file("scores.json", '{"mine": 1}'))),
    # ------------------------------------------------------------ formats: a file holds what its extension names
    case("formats:train-config-yaml", ValueError, "--config file .*not valid JSON.*YAML",
         lambda: train(config_file=a_text_file("run.yaml", "epochs: 3\n"))),
    case("formats:train-config-empty", ValueError, "--config file .*is empty",
         lambda: train(config_file=a_text_file("run.json"))),
    case("formats:train-config-binary", ValueError, "--config file .*not a JSON file",
         lambda: train(config_file=a_binary_file("run.json", b"\x89PNG\r\n\x1a\n\xff\xfe"))),
    case("formats:train-classifier-not-weights-h5", ValueError, r"classifier must name a \.weights\.h5",
         lambda: train("dcgan", classifier=tmp("classifier.h5"))),
    case("formats:train-classifier-keras-file", ValueError, r"classifier must name a \.weights\.h5",
         lambda: train("dcgan", classifier=os.path.join(LEGACY, "vae", "model.keras"))),
    case("formats:load_classifier-text-named-weights-h5", ValueError, r"not a \.weights\.h5 file: it holds text",
         lambda: evaluation.load_classifier(a_text_file("c.weights.h5", "mine"))),
    case("formats:evaluate-classifier-empty-weights-h5", ValueError, "classifier .*is empty",
         lambda: report_lib.evaluate(os.path.join(LEGACY, "vae", "run"), classifier=a_text_file("c.weights.h5"))),
    case("formats:check_report_path-out-png", ValueError, r"out must name a \.json file",
         lambda: report_lib.check_report_path(tmp("report.png"))),
    case("formats:export_run-config-json-list", ValueError, "config.json.*must hold a JSON object",
         lambda: export.export_run(os.path.dirname(a_text_file_in(("run", "config.json"), "[1, 2]")), "vae")),
    case("formats:export_run-config-empty", ValueError, "config.json.*is empty",
         lambda: export.export_run(os.path.dirname(a_text_file_in(("run", "config.json"))), "vae")),
    case("formats:export_run-keras-file-for-a-run", ValueError, "is a file, not a run folder",
         lambda: export.export_run(os.path.join(LEGACY, "vae", "model.keras"), "vae")),
    case("formats:ExportedModel-keras-file-for-an-export", ValueError, "is a file, not an export folder",
         lambda: serving.ExportedModel(os.path.join(LEGACY, "vae", "model.keras"))),
    case("formats:ExportedModel-manifest-empty", ValueError, "export manifest .*is empty",
         lambda: serving.ExportedModel(os.path.dirname(a_text_file_in((an_export_copy(), "1", "tfgen_manifest.json"))))),
    case("formats:load_folder-zero-byte-png", ValueError, r"image00.png.*is empty \(0 bytes\)",
         lambda: data_lib.folders.load_folder(an_image_folder("image00.png", b""))),
    case("formats:load_folder-text-named-png", ValueError, r"image00.png.*holds text$",
         lambda: data_lib.folders.load_folder(an_image_folder("image00.png", b"a text file, named .png"))),
    # ------------------------------------------------------------ sizes: bounded before any work (issue 27)
    case("sizes:evaluate-iw_samples=1e9", ValueError, r"iw_samples must be at most 1,000,000.*--iw-samples",
         lambda: report_lib.evaluate(model("vae"), iw_samples=10**9)),
    case("sizes:likelihood-chunks-past-2**16", ValueError, r"2\*\*16 chunks.*--iw-samples or --batch-size",
         lambda: likelihood_lib.likelihood_scores(new("vae"), dataset(16), num_samples=70_000, batch_size=16,
                                                  rows_per_call=16, progress=False)),
    case("sizes:evaluate-samples=1e9", ValueError, r"--samples 1000000000 needs about .*TiB.*at most .* fit in",
         lambda: report_lib.evaluate(os.path.join(LEGACY, "cgan", "export"), num_samples=10**9, progress=False)),
    case("sizes:evaluate-seed-plus-samples-past-int64", ValueError, "seed=.*int64",
         lambda: report_lib.evaluate(os.path.join(LEGACY, "cgan", "export"), seed=2**63 - 2, num_samples=100)),
    case("sizes:train-image_size=100000", ValueError, r"image_size=100000x100000 needs about .*GiB",
         lambda: train(image_size=100000)),
    case("sizes:train-image_size-batch-past-memory", ValueError, r"image_size.*(batch_size=100000|one image)",
         lambda: train(image_size=4000, batch_size=100_000, train_examples=None)),
    case("sizes:parse_image_size=1e6", ValueError, "image_size",
         lambda: data_lib.transforms.parse_image_size(10**6)),
    case("sizes:from_arrays-label=2**40", ValueError, r"labels must be class ids below 100,000",
         lambda: data_lib.from_arrays(np.zeros((2, 28, 28, 1), np.uint8), np.array([0, 2**40]))),
    case("sizes:ImageDataset-num_classes=2**40", ValueError, "num_classes must be at most 100,000",
         lambda: ImageDataset(np.zeros((2, 28, 28, 1), np.uint8), np.array([0, 2**40]), num_classes=2**40 + 1)),
    case("sizes:CVAE-num_classes=1e9", ValueError, "num_classes must be at most",
         lambda: models.CVAE(num_classes=10**9)),
    case("sizes:ConditionalGAN-num_classes=1e9", ValueError, "num_classes must be at most",
         lambda: models.ConditionalGAN(num_classes=10**9)),
    case("sizes:build_classifier-num_classes=1e9", ValueError, "num_classes must be at most",
         lambda: evaluation.build_classifier(num_classes=10**9)),
    case("sizes:image_grid-rows=1e6", ValueError, r"1000000 x 1 images.*Lower rows",
         lambda: plotting.image_grid(images(2), rows=10**6)),
    case("sizes:plot_latent_grid-size=10000", ValueError, r"10000 x 10000 images.*Lower size",
         lambda: vae_plots.plot_latent_grid(lambda z: np.zeros((len(z), 28, 28, 1), np.float32), 2, tmp("g.png"),
                                            size=10_000)),
    case("sizes:plot_class_rows-per_class=1e6", ValueError, "Lower per_class",
         lambda: gan_plots.plot_class_rows(model("cgan"), tmp("g.png"), per_class=10**6)),
    case("sizes:plot_infogan_codes-num_rows=1e6", ValueError, "Lower num_rows",
         lambda: gan_plots.plot_infogan_codes(model("infogan"), tmp("codes"), num_rows=10**6)),
]


@pytest.mark.parametrize("call, error, match", CASES)
def test_bad_input_is_refused_naming_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_the_table_keeps_its_floor():
    assert len(CASES) >= 150


def test_the_case_ids_are_unique():
    ids = [param.id for param in CASES] + [param.id for param in CLI_CASES]
    assert len(ids) == len(set(ids))


# ---------------------------------------------------------------------------------------- what must pass


def test_trainer_accepts_an_integer_learning_rate():
    trained = trainer(learning_rate=1)
    assert float(keras.ops.convert_to_numpy(trained.optimizer.learning_rate)) == 1.0


@pytest.mark.parametrize("binarization", BINARIZATIONS)
def test_training_batches_pass_the_image_check_eagerly_and_compiled(binarization):
    """Every binarization of the one pipeline gives images the models take: {0, 1}, or [0, 1] with both ends."""
    pictures = np.zeros((8, 28, 28, 1), np.uint8)
    pictures[:, :14] = 255
    pictures[:, 14:, :3] = 77
    data = ImageDataset(pictures, np.arange(8) % 10)
    batch = next(iter(data.batches(8, binarization=binarization, shuffle=False)))
    vae = model("vae")
    vae.check_images(batch["image"])
    tf.function(vae.check_images)(batch["image"])


def test_images_out_of_range_fail_inside_tf_function_with_the_same_message():
    vae = new("vae")
    encode = tf.function(lambda pictures: vae.encode(pictures))
    encode(tf.constant(images()))  # legitimate images pass (and build the encoder)
    with pytest.raises(tf.errors.InvalidArgumentError, match=IMAGES_RANGE):
        encode(tf.constant(images(scale=255.0)))
    with pytest.raises(tf.errors.InvalidArgumentError, match=IMAGES_RANGE):
        encode(tf.constant(nan_images()))


def test_the_temperature_is_checked_inside_tf_function():
    gumbel = layers.GumbelSoftmax()
    set_temperature = tf.function(gumbel.set_temperature)
    set_temperature(tf.constant(0.5))
    assert float(gumbel.temperature.numpy()) == 0.5
    with pytest.raises(tf.errors.InvalidArgumentError, match="temperature"):
        set_temperature(tf.constant(0.0))
    assert float(gumbel.temperature.numpy()) == 0.5


def test_export_with_a_bad_version_creates_no_folder():
    for version in (-1, "abc"):
        with pytest.raises(ValueError, match="version"):
            export.export_model(model("vae"), tmp("saved_models", "vae"), version=version)
    assert not os.path.exists(tmp("saved_models", "vae", "-1"))
    assert not os.path.exists(tmp("saved_models", "vae", "abc"))


# ---------------------------------------------------------------------------------------- the command line


def cli_case(case_id, flag, argv):
    """`argv` (a list, or a function returning one) must fail with one stderr line matching `flag`."""
    # A case of a class (e.g. "paths:out-folder-holds-user-files") keeps its class first: "paths:cli-...".
    kind, _, rest = case_id.rpartition(":")
    rest = rest if rest.startswith("cli-") else f"cli-{rest}"
    return pytest.param(argv, flag, id=f"{kind}:{rest}" if kind else rest)


TRAIN = ["train", "vae", "--dataset", "mnist", "--train-examples", "16", "--batch-size", "8", "--max-steps", "1",
         "--plot-every", "100"]

CLI_CASES = [
    cli_case("train-learning-rate=-1", "--learning-rate|learning_rate",
             lambda: TRAIN + ["--out", tmp("run"), "--learning-rate", "-1"]),
    cli_case("train-learning-rate=nan", "--learning-rate|learning_rate",
             lambda: TRAIN + ["--out", tmp("run"), "--learning-rate", "nan"]),
    cli_case("train-beta-1=1.5", "--beta-1|beta_1", lambda: TRAIN + ["--out", tmp("run"), "--beta-1", "1.5"]),
    cli_case("train-seed-beyond-int64", "--seed|seed",
             lambda: TRAIN + ["--out", tmp("run"), "--seed", "99999999999999999999"]),
    cli_case("train-epochs=0", "--epochs|epochs", lambda: TRAIN + ["--out", tmp("run"), "--epochs", "0"]),
    cli_case("train-batch-size=two", "--batch-size|batch_size", lambda: TRAIN + ["--out", tmp("run"), "--batch-size", "two"]),
    cli_case("train-dataset=unknown", "--dataset|dataset", lambda: TRAIN + ["--out", tmp("run"), "--dataset", "cifar100000"]),
    cli_case("train-binarization=unknown", "--binarization|binarization",
             lambda: TRAIN + ["--out", tmp("run"), "--binarization", "otsu"]),
    cli_case("train-latent-dim=0", "--latent-dim|latent_dim", lambda: TRAIN + ["--out", tmp("run"), "--latent-dim", "0"]),
    cli_case("train-set-unknown-option", "latnt_dim", lambda: TRAIN + ["--out", tmp("run"), "--set", "latnt_dim=3"]),
    cli_case("train-labels-per-class-unsupervised", "--labels-per-class|labels_per_class",
             lambda: TRAIN + ["--out", tmp("run"), "--set", "labels_per_class=3"]),
    cli_case("train-config-missing", "--config", lambda: TRAIN + ["--out", tmp("run"), "--config", tmp("missing.json")]),
    cli_case("train-out-checkpoints-is-a-file", "--out|checkpoints",
             lambda: TRAIN + ["--out", os.path.dirname(a_file("run", "checkpoints"))]),
    cli_case("train-out-is-a-file", "--out|out", lambda: TRAIN + ["--out", a_file("run")]),
    cli_case("train-resume-missing-run", "--resume|does not exist", lambda: TRAIN + ["--out", tmp("run"), "--resume"]),
    cli_case("train-label-smoothing=1.5", "--label-smoothing|label_smoothing",
             lambda: ["train", "dcgan", "--out", tmp("run"), "--label-smoothing", "1.5"]),
    cli_case("train-wgan-gp-with-batch-norm", r"--no-discriminator-batch-norm",
             lambda: ["train", "dcgan", "--out", tmp("run"), "--train-examples", "16", "--loss", "wgan_gp"]),
    cli_case("export-name-with-parent", "--name|name", lambda: ["export", a_folder("run"), "--name", "../evil"]),
    cli_case("export-missing-run", "run_dir|does not exist", lambda: ["export", tmp("missing"), "--name", "vae"]),
    cli_case("sample-missing-model", "--model|No exported model folder",
             lambda: ["sample", "--model", tmp("missing"), "--out", tmp("g.png")]),
    cli_case("sample-label=99", "--label|label",
             lambda: ["sample", "--model", os.path.join(LEGACY, "cgan", "export"), "--label", "99", "--columns", "2",
                      "--out", tmp("g.png")]),
    cli_case("train-dataset-capitals", "'MNIST'.*[Dd]id you mean 'mnist'",
             lambda: TRAIN + ["--out", tmp("run"), "--dataset", "MNIST"]),
    cli_case("train-dataset-hyphenated", "[Dd]id you mean 'fashion_mnist'",
             lambda: TRAIN + ["--out", tmp("run"), "--dataset", "Fashion-MNIST"]),
    cli_case("train-allow-changes-without-resume", "--allow-changes.*--resume",
             lambda: TRAIN + ["--out", tmp("run"), "--allow-changes"]),
    cli_case("sample-out-gif", "--out|out.*\\.png, \\.jpg",
             lambda: ["sample", "--model", os.path.join(LEGACY, "vae", "export"), "--out", tmp("g.gif")]),
    cli_case("sample-out-without-extension", "--out|out.*\\.png, \\.jpg",
             lambda: ["sample", "--model", os.path.join(LEGACY, "vae", "export"), "--out", tmp("grid")]),
    cli_case("sample-grid-3000x3000", "3000 x 3000.*at most.*--columns",
             lambda: ["sample", "--model", os.path.join(LEGACY, "vae", "export"), "--columns", "3000", "--rows", "3000",
                      "--out", tmp("g.png")]),
    cli_case("sample-columns=0", "--columns|columns",
             lambda: ["sample", "--model", os.path.join(LEGACY, "vae", "export"), "--columns", "0", "--out", tmp("g.png")]),
    cli_case("sample-seed=abc", "--seed|seed",
             lambda: ["sample", "--model", os.path.join(LEGACY, "vae", "export"), "--seed", "abc", "--out", tmp("g.png")]),
    cli_case("sample-out-is-a-folder", "--out|out",
             lambda: ["sample", "--model", os.path.join(LEGACY, "vae", "export"), "--columns", "2",
                      "--out", a_folder("grid.png")]),
    cli_case("types:cli-config-smoke-string", r"smoke must be True or False.*'false'.*config\.json",
             lambda: TRAIN + ["--out", tmp("run"), "--config", config_file({"smoke": "false"})]),
    cli_case("types:cli-set-epochs-float", r"epochs.*2\.5.*--set epochs",
             lambda: TRAIN + ["--out", tmp("run"), "--set", "epochs=2.5"]),
    cli_case("types:cli-set-learning-rate-nan", r"learning_rate.*'NaN'",
             lambda: TRAIN + ["--out", tmp("run"), "--set", "learning_rate=NaN"]),
    cli_case("conflicts:cli-flag-and-set", r"epochs is given twice.*--set.*the flags",
             lambda: TRAIN + ["--out", tmp("run"), "--set", "epochs=2", "--epochs", "3"]),
    cli_case("conflicts:cli-set-twice", "epochs is given twice",
             lambda: TRAIN + ["--out", tmp("run"), "--set", "epochs=1", "--set", "epochs=2"]),
    cli_case("conflicts:cli-tfds-dir-and-data-dir", "--tfds-dir.*--data-dir",
             lambda: TRAIN + ["--out", tmp("run"), "--tfds-dir", tmp("a"), "--data-dir", tmp("b")]),
    cli_case("conflicts:cli-resume-from-and-no-resume", "--resume-from.*--no-resume",
             lambda: TRAIN + ["--out", tmp("run"), "--resume-from", "ckpt-5", "--no-resume"]),
    cli_case("messages:cli-unknown-flag-after-the-model", r"^tfgen train vae: error: unrecognized arguments: --bogus",
             lambda: TRAIN + ["--out", tmp("run"), "--bogus"]),
    cli_case("messages:cli-near-miss-flag", r"^tfgen train vae: error: .*--learnig-rate.*Did you mean '--learning-rate'",
             lambda: TRAIN + ["--out", tmp("run"), "--learnig-rate", "0.1"]),
    cli_case("sizes:sample-label=2**70", r"label must be class ids; 1180591620717411303424 is beyond",
             lambda: ["sample", "--model", os.path.join(LEGACY, "cgan", "export"), "--label", str(2**70),
                      "--out", tmp("g.png")]),
    cli_case("paths:train-out-folder-holds-user-files", "out .*holds files tfgen did not write.*--force",
             lambda: TRAIN + ["--out", user_files("mine", names=("notes.txt", "thesis/"))]),
    cli_case("paths:export-model-folder-holds-user-files", "holds files an export does not write.*--force",
             lambda: ["export", os.path.join(LEGACY, "vae", "run"), "--name", "vae", "--saved-models-dir",
                      os.path.dirname(user_files("saved_models", "vae", names=("README.md",)))]),
    cli_case("paths:sample-out-is-a-user-file", "out .*not a PNG or JPEG image.*--force",
             lambda: ["sample", "--model", os.path.join(LEGACY, "vae", "export"), "--columns", "2",
                      "--out", a_text_file("holiday.jpg", "the user's photo, as text")]),
    cli_case("paths:evaluate-out-is-a-user-json", "out .*not an evaluation report.*--force",
             lambda: ["evaluate", os.path.join(LEGACY, "vae", "run"), "--out", a_text_file("results.json", "[1, 2]")]),
    cli_case("formats:train-config-yaml", "--config file .*YAML",
             lambda: TRAIN + ["--out", tmp("run"), "--config", a_text_file("run.yml", "epochs: 3\n")]),
    cli_case("formats:train-classifier-txt", r"classifier must name a \.weights\.h5",
             lambda: ["train", "dcgan", "--out", tmp("run"), "--classifier", a_text_file("classifier.txt", "mine")]),
    cli_case("formats:evaluate-out-without-extension", r"out must name a \.json file",
             lambda: ["evaluate", os.path.join(LEGACY, "vae", "run"), "--out", tmp("report")]),
    cli_case("formats:sample-model-keras-file", "is a file, not an export folder",
             lambda: ["sample", "--model", os.path.join(LEGACY, "vae", "model.keras"), "--out", tmp("g.png")]),
    cli_case("formats:train-dataset-folder-text-named-png", r"image00.png.*holds text",
             lambda: ["train", "vae", "--dataset", an_image_folder("image00.png", b"text"), "--batch-size", "4",
                      "--out", tmp("run")]),
    # sizes (issue 27): ids by class
    pytest.param(lambda: ["evaluate", os.path.join(LEGACY, "vae", "export"), "--iw-samples", "1000000000",
                          "--out", tmp("r.json")], "--iw-samples", id="sizes:cli-evaluate-iw-samples=1e9"),
    pytest.param(lambda: ["evaluate", os.path.join(LEGACY, "cgan", "export"), "--samples", "1000000000",
                          "--out", tmp("r.json")], "--samples.*at most", id="sizes:cli-evaluate-samples=1e9"),
    pytest.param(lambda: TRAIN + ["--out", tmp("run"), "--image-size", "100000"], "image_size",
                 id="sizes:cli-train-image-size=100000"),
    pytest.param(lambda: ["sample", "--model", os.path.join(LEGACY, "vae", "export"), "--seed", str(2**63 - 2),
                          "--out", tmp("g.png")], "--seed", id="sizes:cli-sample-seed-past-int64"),
    pytest.param(lambda: TRAIN + ["--out", tmp("run"), "--collective-timeout", "0"], "collective_timeout",
                 id="sizes:cli-train-collective-timeout=0"),
]


def test_sizes_train_examples_beyond_the_split_take_all_of_it():
    # TFDS refused "Requested slice [:100000000] incompatible with 10000 examples"; every source takes all now.
    assert len(data_lib.load("mnist", "test", examples=10**8)) == 10_000


def test_a_bad_model_argument_fails_before_the_sample_classifier_trains_and_writes_nothing(capsys):
    # A DCGAN run scores its samples with a classifier it trains first (minutes on the full data, a file in the
    # run folder): the model's constructor must refuse its argument before that.
    out = tmp("bad-model-run")
    code = cli.main(["train", "dcgan", "--out", out, "--train-examples", "64", "--label-smoothing", "1.5"])
    assert code not in (0, None)
    assert "label_smoothing" in capsys.readouterr().err
    assert not os.path.exists(out), sorted(os.listdir(out))


@pytest.mark.parametrize("argv, flag", CLI_CASES)
def test_cli_bad_input_is_one_line_naming_the_flag(argv, flag, capsys):
    argv = argv() if callable(argv) else argv
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse's own errors
        code = exit_.code
    except Exception as error:  # noqa: BLE001 - a traceback is exactly what the case refuses
        pytest.fail(f"tfgen {' '.join(argv[:2])} raised {type(error).__name__}: {error}")
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code not in (0, None), err
    assert "Traceback" not in err
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}:\n{err}"
    assert re.search(flag, lines[0]), lines[0]


def test_sample_writes_the_format_its_extension_names(capsys):
    """formats: issue 27's example, `tfgen sample --out s.jpg` wrote PNG bytes; an extension in capitals too."""
    export_dir = os.path.join(LEGACY, "vae", "export")
    for name, magic in (("g.jpg", b"\xff\xd8\xff"), ("g.jpeg", b"\xff\xd8\xff"), ("g.png", b"\x89PNG"),
                        ("G.PNG", b"\x89PNG"), ("G.JPG", b"\xff\xd8\xff")):
        assert cli.main(["sample", "--model", export_dir, "--columns", "2", "--out", tmp(name)]) == 0
        with open(tmp(name), "rb") as stream:
            assert stream.read(len(magic)) == magic, name


def test_tf_config_without_the_multiworker_strategy_is_one_warning_line(capsys, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", '{"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 0}}')
    monkeypatch.setattr(runs, "run", lambda config: None)  # the warning comes from the config, before any run
    cli.main(["train", "vae", "--out", tmp("tf-config-run"), "--smoke"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "warning: TF_CONFIG is set" in lines[0] and "--strategy multiworker" in lines[0], lines


# ---------------------------------------------------------------------------------------- conflicts reported, causes named


def test_conflicts_smoke_and_a_config_value_replaced_are_one_warning_line_each(capsys, monkeypatch):
    """conflicts: --smoke with --epochs, and a --config value that a flag or --set replaces: reported, not silent."""
    monkeypatch.setattr(runs, "run", lambda config: None)  # the warnings come from the config, before any run
    path = config_file({"epochs": 2, "model": {"latent_dim": 3}})
    cli.main(["train", "vae", "--out", tmp("run"), "--smoke", "--epochs", "5", "--config", path, "--set", "latent_dim=4"])
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 2, lines
    assert "latent_dim=4 (--set) replaces 3" in lines[0] and "epochs=5 (the flags) replaces 2" in lines[0], lines
    assert "smoke" in lines[1] and "epochs=5 is ignored" in lines[1], lines


def test_conflicts_resume_with_changed_train_examples_is_refused_naming_it():
    """conflicts: a resume that would train on other examples is a change of recipe (--allow-changes)."""
    from tfgen.training.run_dir import RunDirectoryError

    train()
    with pytest.raises(RunDirectoryError, match=r"train_examples: 16 -> 32.*--allow-changes"):
        train(resume=True, train_examples=32, epochs=2)
    train(resume=True, train_examples=32, epochs=2, allow_changes=True)  # accepted when asked


def test_a_checkpoint_path_of_the_run_itself_is_found():
    run_a, _ = two_runs_with_checkpoint_5()
    from tfgen.training import run_dir

    expected = os.path.join(run_a, "checkpoints", "ckpt-5")
    assert run_dir.find_checkpoint(run_a, os.path.join(run_a, "checkpoints", "ckpt-5")) == expected
    assert run_dir.find_checkpoint(run_a, os.path.join("checkpoints", "ckpt-5")) == expected  # relative to the run
    assert run_dir.find_checkpoint(run_a, "ckpt-5") == run_dir.find_checkpoint(run_a, 5) == expected


@pytest.mark.parametrize("target", ["loop", "out"], ids=["paths:folder-symlink-loop", "paths:folder-symlink-out"])
def test_a_linked_folder_is_skipped_with_one_warning(target):
    """A folder link (a loop back to the folder, or out of it) is never followed: one FolderWarning names it."""
    root = a_folder_of_images("cats", "dogs")
    outside = a_folder_of_images("elsewhere", name="outside") if target == "out" else None
    os.symlink(root if target == "loop" else os.path.join(outside, "elsewhere"), os.path.join(root, "linked"))
    os.symlink(root, os.path.join(root, "cats", "nested"))  # a loop below a class folder too
    with pytest.warns(data_lib.FolderWarning) as caught:
        files, labels, class_names = data_lib.folders.scan(root)
    assert class_names == ["cats", "dogs"]  # no extra class of duplicates
    assert len(files) == 6 and sorted(np.bincount(labels)) == [3, 3]
    assert len(caught) == 1
    message = str(caught[0].message)
    assert "'linked'" in message and os.path.join("cats", "nested") in message
    assert ("a loop" if target == "loop" else "out of the folder") in message


def test_a_linked_image_file_is_read():
    root = a_folder_of_images("cats", "dogs")
    os.symlink(os.path.join(root, "cats", "0.png"), os.path.join(root, "dogs", "linked.png"))
    files, labels, _ = data_lib.folders.scan(root)
    assert len(files) == 7 and list(np.bincount(labels)) == [3, 4]


def test_5_channels_through_a_tf_dataset_is_one_line():
    with pytest.raises(ValueError, match="channels"):
        data_lib.from_tf_dataset(tf.data.Dataset.from_tensor_slices(np.zeros((2, 8, 8, 5), np.uint8)))


def _oom_chain():
    """An AbortedError (what a replica sees) caused by an allocation failure on another."""
    try:
        try:
            raise tf.errors.ResourceExhaustedError(None, None, "OOM when allocating tensor with shape[512,256,56,56] "
                                                               "[Op:Conv2DBackpropInput]")
        except tf.errors.ResourceExhaustedError as cause:
            raise tf.errors.AbortedError(None, None, "Collective ops is aborted by: ... while running "
                                                     "generator/conv2d_transpose") from cause
    except tf.errors.AbortedError as error:
        return error


@pytest.mark.parametrize("error", [
    pytest.param(_oom_chain, id="messages:oom-in-the-cause"),
    pytest.param(lambda: tf.errors.InternalError(None, None, "Conv2DTranspose failed\nfailed to allocate memory "
                                                             "for the output"), id="messages:oom-in-a-later-line"),
    pytest.param(lambda: ValueError("the step failed"), id="messages:no-oom-is-left-alone"),
])
def test_out_of_memory_is_named_with_what_to_lower(error):
    error = error()
    status, line = cli._describe_error(error)
    if "oom" not in str(error).lower() and "allocate" not in str(error) and error.__cause__ is None:
        assert line == "the step failed"
        return
    assert status == 2 and "\n" not in line
    assert line.startswith("out of memory while running ") and "lower --batch-size or --image-size" in line, line
    assert "Conv2DBackpropInput" in line or "Conv2DTranspose" in line, line


def test_the_type_and_conflict_floors():
    ids = [param.id for param in CASES] + [param.id for param in CLI_CASES]
    for kind in ("types:", "conflicts:"):
        assert sum(case_id.startswith(kind) for case_id in ids) >= 10, kind


def test_messages_train_examples_beyond_a_tfds_split_reads_the_split():
    """messages: the test split of --train-examples 20000 was TFDS's "Requested slice [:20000] incompatible with
    10000 examples"; a split is read up to N (the training split's shortfall is refused, naming its size)."""
    assert len(data_lib.load("mnist", "test", examples=10001)) == 10000


# ---------------------------------------------------------------------------------------- only its own files: what passes


def _contents(folder):
    """{relative path: bytes} of every file below `folder`."""
    found = {}
    for current, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(current, name)
            with open(path, "rb") as stream:
                found[os.path.relpath(path, folder)] = stream.read()
    return found


def test_force_trains_beside_the_users_files_and_leaves_them_byte_identical():
    folder = user_files("mine", names=("notes.txt", ".env", "thesis/"))
    with open(os.path.join(folder, "thesis", "chapter1.tex"), "w", encoding="utf-8") as stream:
        stream.write("the user's chapter")
    before = _contents(folder)
    trainer(run_dir=folder, force=True).fit()
    after = _contents(folder)
    assert {name: after[name] for name in before} == before
    assert "config.json" in after and any(name.startswith("checkpoints") for name in after)
    # A resume needs no --force (the folder holds its run), and force is no part of the recipe it compares.
    resumed = trainer(run_dir=folder, epochs=2)
    resumed.fit(resume=True)
    assert len(resumed.history) == 2
    assert {name: _contents(folder)[name] for name in before} == before


def test_a_new_run_takes_an_empty_folder_or_one_of_tfgens_own_entries():
    trainer(run_dir=a_folder("empty")).fit()
    own = user_files("own", names=("classifier.weights.h5", ".tmp-abc123.json", ".tfgen.lock", "plots/"))
    with pytest.warns(RuntimeWarning, match="stale lock"):  # the lock file of no live process
        trainer(run_dir=own).fit()
    assert os.path.isfile(os.path.join(own, "config.json"))


def test_the_force_flag_reaches_the_run_config(monkeypatch):
    seen = []
    monkeypatch.setattr(runs, "run", lambda config: seen.append(config))
    cli.main(["train", "vae", "--out", tmp("run"), "--smoke", "--force"])
    cli.main(["train", "vae", "--out", tmp("run"), "--smoke"])
    assert [config.force for config in seen] == [True, False]
    assert seen[0].training_options().force is True


def test_export_with_force_adds_a_version_beside_the_users_files():
    saved_models = os.path.dirname(user_files("saved_models", "vae", names=("README.md", "old/")))
    before = _contents(saved_models)
    path = export.export_run(os.path.join(LEGACY, "vae", "run"), "vae", saved_models, force=True)
    assert os.path.basename(path) == "1" and export.is_complete_version(path)
    after = _contents(saved_models)
    assert {name: after[name] for name in before} == before


def test_sample_replaces_its_own_grid_and_a_users_file_only_with_force():
    export_dir = os.path.join(LEGACY, "vae", "export")
    out = tmp("grid.png")
    assert cli.main(["sample", "--model", export_dir, "--columns", "2", "--out", out]) == 0
    assert cli.main(["sample", "--model", export_dir, "--columns", "2", "--seed", "5", "--out", out]) == 0
    user = a_text_file("photo.jpg", "the user's photo")
    assert cli.main(["sample", "--model", export_dir, "--columns", "2", "--out", user]) == 2
    with open(user, encoding="utf-8") as stream:
        assert stream.read() == "the user's photo"
    assert cli.main(["sample", "--model", export_dir, "--columns", "2", "--out", user, "--force"]) == 0
    with open(user, "rb") as stream:
        assert stream.read(3) == b"\xff\xd8\xff"


def test_an_earlier_report_is_replaced_and_a_users_json_only_with_force():
    earlier = a_text_file("report.json", '{"model": "vae", "kind": "run", "target": "run", "dataset": "mnist", '
                                         '"split": "test", "seed": 0}')
    assert report_lib.check_report_path(earlier) == earlier
    user = a_text_file("mine.json", '{"mine": 1}')
    assert report_lib.check_report_path(user, force=True) == user
