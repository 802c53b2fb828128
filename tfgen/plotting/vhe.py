"""The Variational Homoencoder's figures, written as PNG files.

* `plot_nats_per_epoch`: the loss per epoch in nats, beside a VAE's (the
  post's comparison: amortizing the class code costs fewer nats).
* `plot_gradient_norms`: the contributions of z and c over training, as the
  mean norm of each example's loss gradient with respect to its c and z.
* `plot_cluster_scores`: purity and NMI of the pseudo-labels per epoch (the
  unsupervised VHE).
* `plot_few_shot`: given 5 images of a class, more of it.
"""

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.images import check_grid_size
from tfgen.plotting.common import image_grid, plt, save_figure, show_grid


def _series(history, key):
    epochs = [entry["epoch"] for entry in history if key in entry]
    return epochs, [entry[key] for entry in history if key in entry]


def plot_nats_per_epoch(histories, path, key="train/loss", title=None):
    """The loss per epoch (nats per image) of each run in `histories` ({name: per-epoch dicts})."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for name, history in histories.items():
        epochs, values = _series(history, key)
        if values:
            axis.plot(epochs, values, marker="o", label=name)
    axis.set_xlabel("epoch")
    axis.set_ylabel(f"{key} (nats per image)")
    axis.set_title(title or "loss per epoch")
    axis.legend()
    return save_figure(figure, path)


def plot_gradient_norms(history, path, split="train", title=None):
    """The mean per-example gradient norms with respect to c and z, per epoch."""
    figure, axis = plt.subplots(figsize=(6, 4))
    for name in ("c", "z"):
        epochs, values = _series(history, f"{split}/grad_norm_{name}")
        if values:
            axis.plot(epochs, values, marker="o", label=f"|d loss / d {name}|")
    axis.set_xlabel("epoch")
    axis.set_ylabel("mean gradient norm")
    axis.set_title(title or "contributions of c and z")
    axis.legend()
    return save_figure(figure, path)


def cluster_scores_in(history):
    """The per-epoch cluster scores in a trainer's `history`, as `plot_cluster_scores` takes them.

    `tfgen.evaluation.ClusterScoresCallback` logs them in every epoch's
    entry ("clusters/purity", "clusters/nmi"); epochs without them are left out.
    """
    return [{"epoch": entry["epoch"], "purity": entry["clusters/purity"], "nmi": entry["clusters/nmi"]}
            for entry in history if "clusters/purity" in entry and "clusters/nmi" in entry]


def plot_cluster_scores(scores, path, baselines=None, title=None):
    """Purity and NMI per epoch (`scores`: dicts with "epoch", "purity", "nmi"); `baselines`: {name: scores dict}."""
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    epochs = [entry["epoch"] for entry in scores]
    for axis, metric in zip(axes, ("purity", "nmi")):
        axis.plot(epochs, [entry[metric] for entry in scores], marker="o", label="VHE pseudo-labels")
        for name, baseline in (baselines or {}).items():
            axis.axhline(baseline[metric], linestyle="--", color="gray")
            axis.annotate(name, (epochs[0] if epochs else 0, baseline[metric]), fontsize=8)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.legend()
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


def few_shot_support(data, shots=5, seed=0):
    """`shots` images of each class of `data` (a labelled ImageDataset), float32 in [0, 1]: (classes, shots, H, W, C)."""
    shots = _checks.positive_int("shots", shots)
    if data.labels is None:
        raise ValueError(f"few_shot_support needs labelled data. Received: the unlabelled dataset {data.name!r}")
    rng = np.random.default_rng(seed)
    support = []
    for label in np.unique(data.labels):
        members = np.flatnonzero(data.labels == label)
        if len(members) < shots:
            raise ValueError(f"shots={shots} needs {shots} examples of every class. Received: class {label} has {len(members)}")
        support.append(data.images[rng.choice(members, shots, replace=False)])
    return np.stack(support).astype(np.float32) / 255.0


def plot_few_shot(model, support, path, num_samples=10, seed=0, title=None):
    """One row per class: its `shots` given images, a blank, then `num_samples` generated ones."""
    support = np.asarray(support, dtype=np.float32)
    num_samples = _checks.positive_int("num_samples", num_samples)
    if support.ndim == 5:  # (classes, shots, H, W, C): refused before any image is generated
        check_grid_size(support.shape[0], support.shape[1] + 1 + num_samples, *support.shape[2:4],
                        argument="num_samples")
    generated = model.few_shot(tf.constant(support), num_samples, seed=tfgen_random.seed_tensor(seed)).numpy()
    classes, shots = support.shape[:2]
    blank = np.ones((classes, 1, *support.shape[2:]), dtype=np.float32)
    rows = np.concatenate([support, blank, generated], axis=1)
    figure, axis = plt.subplots(figsize=(rows.shape[1] * 0.6, classes * 0.6 + 0.5))
    show_grid(axis, image_grid(rows.reshape(-1, *rows.shape[2:]), rows=classes))
    axis.axis("off")
    axis.set_title(title or f"few-shot: {shots} given images | {num_samples} generated")
    return save_figure(figure, path)
