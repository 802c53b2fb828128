"""The Variational Homoencoder's figures, written as PNG files.

* `plot_nats_per_epoch`: the loss per epoch in nats, beside a VAE's (the
  post's comparison: amortizing the class code costs fewer nats).
* `plot_gradient_norms`: the contributions of z and c over training, as the
  mean norm of each example's loss gradient with respect to its c and z.
* `plot_cluster_scores`: purity and NMI of the pseudo-labels per epoch (the
  unsupervised VHE).
* `plot_few_shot`: given 5 images of a class, more of it.

`VHEPlotCallback` draws them during training.
"""

import json
import os

import numpy as np
import tensorflow as tf

from tfgen.evaluation.clustering import clustering_scores
from tfgen.plotting import save_figure, image_grid, plot_images, plt
from tfgen.training import Callback

CLUSTER_SCORES_FILE = "cluster_scores.json"


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
    """`shots` images of each class of `data` (an ImageDataset), float32 in [0, 1]: (classes, shots, 28, 28, 1)."""
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
    generated = model.few_shot(tf.constant(support), num_samples, seed=tf.constant([seed, 0], tf.int64)).numpy()
    classes, shots = support.shape[:2]
    blank = np.ones((classes, 1, *support.shape[2:]), dtype=np.float32)
    rows = np.concatenate([support, blank, generated], axis=1)
    figure, axis = plt.subplots(figsize=(rows.shape[1] * 0.6, classes * 0.6 + 0.5))
    axis.imshow(image_grid(rows.reshape(-1, *rows.shape[2:]), rows=classes), cmap="gray", vmin=0.0, vmax=1.0)
    axis.axis("off")
    axis.set_title(title or f"few-shot: {shots} given images | {num_samples} generated")
    return save_figure(figure, path)


class VHEPlotCallback(Callback):
    """Writes the VHE's figures to `run_dir/plots/` every `every` epochs and after the last.

    For an `UnsupervisedVHE` it also scores the pseudo-labels of every epoch
    against the training data's labels (purity, NMI) and keeps the scores in
    `run_dir/cluster_scores.json` (so a resumed run keeps its curve).

    Args:
        every: the plotting period in epochs.
        support: (classes, shots, 28, 28, 1) images for the few-shot figure
            (e.g. `few_shot_support(test_data)`), or None.
        reference_histories: {name: per-epoch history} drawn beside the
            VHE's loss, e.g. {"VAE": vae_trainer.history}.
        num_samples: random samples per figure.
        seed: the seed of the samples.
    """

    def __init__(self, every=1, support=None, reference_histories=None, num_samples=64, seed=1234):
        if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
            raise ValueError(f"every must be a positive integer. Received: every={every!r}")
        self.every = every
        self.support = support
        self.reference_histories = dict(reference_histories or {})
        self.num_samples = num_samples
        self.seed = seed

    def cluster_scores(self, trainer, epoch):
        """Scores the pseudo-labels used in `epoch` and appends them to the run's file; returns all scores."""
        path = os.path.join(trainer.run_dir, CLUSTER_SCORES_FILE)
        scores = []
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as stream:
                scores = [entry for entry in json.load(stream) if entry["epoch"] < epoch]
        scores.append({"epoch": epoch, **clustering_scores(trainer.train_data.labels, trainer.model.pseudo_labels.numpy())})
        with open(path + ".tmp", "w", encoding="utf-8") as stream:
            json.dump(scores, stream, indent=1)
        os.replace(path + ".tmp", path)
        return scores

    def on_epoch_end(self, trainer, epoch, logs):
        scores = self.cluster_scores(trainer, epoch) if hasattr(trainer.model, "pseudo_labels") else None
        if epoch % self.every == 0 or epoch == trainer.epochs:
            self.plot(trainer, epoch, scores)

    def plot(self, trainer, epoch, scores=None):
        model = trainer.model
        folder = os.path.join(trainer.run_dir, "plots")
        histories = {model.registered_name: trainer.history, **self.reference_histories}
        paths = [
            plot_nats_per_epoch(histories, os.path.join(folder, "nats_per_epoch.png")),
            plot_gradient_norms(trainer.history, os.path.join(folder, "gradient_norms.png")),
            plot_images(model.sample(self.num_samples, seed=tf.constant([self.seed, 0], tf.int64)),
                        os.path.join(folder, f"samples_epoch{epoch:03d}.png"), title=f"random samples, epoch {epoch}"),
        ]
        if self.support is not None:
            paths.append(plot_few_shot(model, self.support, os.path.join(folder, f"few_shot_epoch{epoch:03d}.png"),
                                       seed=self.seed))
        if scores:
            paths.append(plot_cluster_scores(scores, os.path.join(folder, "cluster_scores.png")))
        return paths
