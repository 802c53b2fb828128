"""`PlotCallback`: the figures a model declares (`model.figures`), drawn while it trains.

Each model class names the figures that show it (`GenerativeModel.figures`,
e.g. the VAE's `("losses", "samples", "latent_space", "latent_grid")`) and
those drawn once after training (`final_figures`); `FIGURES` maps each name
to the function that draws it from the trainer. One callback draws them
all, so every model's run folder gets its figures the same way, from the
CLI, the examples or Python.
"""

import os

import numpy as np

from tfgen import _checks
from tfgen import random as tfgen_random
from tfgen.data import CLASS_NAMES
from tfgen.plotting.common import class_names_for, plot_history, plot_images
from tfgen.plotting.cvae import plot_accuracy, plot_class_grid
from tfgen.plotting.gan import (
    generate_images,
    plot_class_across_epochs,
    plot_class_rows,
    plot_infogan_codes,
    plot_interpolation,
    plot_latent_arithmetic,
)
from tfgen.plotting.vae import plot_latent_grid, plot_latent_space
from tfgen.plotting.vhe import (
    cluster_scores_in,
    plot_cluster_scores,
    plot_few_shot,
    plot_gradient_norms,
    plot_nats_per_epoch,
)
from tfgen.training import PeriodicCallback, TensorBoardImages


def _losses(callback, trainer, tag, folder):
    return plot_history(trainer.history, os.path.join(folder, "losses.png"), title=trainer.model.registered_name)


def _samples(callback, trainer, tag, folder):
    images = trainer.model.sample(callback.num_samples, seed=tfgen_random.seed_tensor(callback.seed))
    return plot_images(images, os.path.join(folder, f"samples_{tag}.png"), title=f"random samples, {_words(tag)}")


def class_names(trainer, count=None):
    """The class names of the trainer's data: its `class_names`, else the known dataset's, else "0", "1", ...

    With `count`, a list of exactly `count` names (the default names when the data's do not fit).
    """
    names = None
    for data in (getattr(trainer, "test_data", None), getattr(trainer, "train_data", None)):
        if data is None:
            continue
        names = getattr(data, "class_names", None) or CLASS_NAMES.get(str(getattr(data, "name", "")).split("/")[0])
        if names:
            break
    if count is None:
        return list(names) if names else None
    return class_names_for(count, names)


def _latent_space(callback, trainer, tag, folder):
    if trainer.test_data is None:
        return None
    model = trainer.model
    data = trainer.test_data.take(callback.num_points)
    codes = [model.encode(batch["image"]) for batch in trainer.batches(data, epoch=0, shuffle=False, training=False)]
    codes = np.concatenate([c[0] if isinstance(c, (tuple, list)) else c for c in codes])
    labels = data.labels  # None for unlabelled data: one colour
    names = class_names(trainer, data.num_classes) if labels is not None and data.num_classes else None
    return plot_latent_space(codes, labels, os.path.join(folder, f"latent_{tag}.png"),
                             title=f"{data.name} in latent space (means), {_words(tag)}", class_names=names)


def _latent_grid(callback, trainer, tag, folder):
    model = trainer.model
    return plot_latent_grid(model.decode, model.latent_dim, os.path.join(folder, f"grid_{tag}.png"))


def _class_grid(callback, trainer, tag, folder):
    model = trainer.model
    return plot_class_grid(model, os.path.join(folder, f"classes_{tag}.png"), 10, callback.seed,
                           title=f"one row per class, {_words(tag)}", class_names=class_names(trainer, model.num_classes))


def _accuracy(callback, trainer, tag, folder):
    if not any("test/accuracy" in entry for entry in trainer.history):
        return None
    return plot_accuracy({trainer.model.registered_name: trainer.history}, os.path.join(folder, "accuracy.png"))


def _class_rows(callback, trainer, tag, folder):
    model = trainer.model
    return plot_class_rows(model, os.path.join(folder, f"class_rows_{tag}.png"), per_class=callback.per_class,
                           seed=callback.seed,
                           title=f"one row per class, {_words(tag)}", class_names=class_names(trainer, model.num_classes))


def _class_across_epochs(callback, trainer, tag, folder):
    model = trainer.model
    label = callback.track_class if callback.track_class < model.num_classes else 0  # fewer classes than usual
    z = tfgen_random.normal([10, model.latent_dim], tfgen_random.seed_tensor(callback.seed))
    callback.tracked[len(trainer.history)] = np.asarray(generate_images(model, z, labels=np.full(10, label)))
    name = class_names(trainer, model.num_classes)[label]
    return plot_class_across_epochs(callback.tracked, os.path.join(folder, f"class{label}_across_epochs.png"),
                                    name if name == str(label) else f"{label} ({name})")


def _infogan_codes(callback, trainer, tag, folder):
    return plot_infogan_codes(trainer.model, os.path.join(folder, f"infogan_{tag}"), seed=callback.seed)


def _interpolation(callback, trainer, tag, folder):
    return plot_interpolation(trainer.model, os.path.join(folder, f"interpolation_{tag}.png"), seed=callback.seed)


def _latent_arithmetic(callback, trainer, tag, folder):
    if callback.evaluator is None:
        return None
    try:
        return plot_latent_arithmetic(trainer.model, callback.evaluator, os.path.join(folder, "latent_arithmetic.png"),
                                      classes=callback.arithmetic)
    except ValueError as error:  # too few samples of a class: an untrained or collapsed generator
        print(f"latent arithmetic skipped: {error}")
        return None


def _nats_per_epoch(callback, trainer, tag, folder):
    histories = {trainer.model.registered_name: trainer.history, **callback.reference_histories}
    return plot_nats_per_epoch(histories, os.path.join(folder, "nats_per_epoch.png"))


def _gradient_norms(callback, trainer, tag, folder):
    return plot_gradient_norms(trainer.history, os.path.join(folder, "gradient_norms.png"))


def _few_shot(callback, trainer, tag, folder):
    if callback.support is None:
        return None
    return plot_few_shot(trainer.model, callback.support, os.path.join(folder, f"few_shot_{tag}.png"),
                         seed=callback.seed)


def _cluster_scores(callback, trainer, tag, folder):
    # From the history, as the other VHE figures: `tfgen.evaluation.ClusterScoresCallback` logs the scores there.
    scores = cluster_scores_in(trainer.history)
    if not scores:
        return None
    return plot_cluster_scores(scores, os.path.join(folder, "cluster_scores.png"))


#: Figure name -> `draw(callback, trainer, tag, folder)` returning the written path(s), or None when it
#: does not apply (e.g. no test data). `tag` is "epochNNN" or "final".
FIGURES = {
    "losses": _losses,
    "samples": _samples,
    "latent_space": _latent_space,
    "latent_grid": _latent_grid,
    "class_grid": _class_grid,
    "accuracy": _accuracy,
    "class_rows": _class_rows,
    "class_across_epochs": _class_across_epochs,
    "infogan_codes": _infogan_codes,
    "interpolation": _interpolation,
    "latent_arithmetic": _latent_arithmetic,
    "nats_per_epoch": _nats_per_epoch,
    "gradient_norms": _gradient_norms,
    "few_shot": _few_shot,
    "cluster_scores": _cluster_scores,
}


def _words(tag):
    return "after training" if tag == "final" else f"epoch {int(tag[len('epoch'):])}"


class PlotCallback(PeriodicCallback):
    """Writes the model's figures to `run_dir/plots/` every `every` epochs and after the last.

    Args:
        every: the plotting period in epochs.
        figures: the names of the figures to draw (keys of `FIGURES`);
            default: the model's own `figures`.
        final_figures: drawn once after training (file names end in
            "final"); default: the model's `final_figures`.
        num_samples: how many random samples to draw.
        per_class: the samples of each class in the one-row-per-class figure (its columns).
        num_points: how many test images to place in the latent-space plot.
        seed: the seed of the samples (the same z every time, so the figures
            of successive epochs are comparable).
        support: (classes, shots, H, W, C) images for the VHE's few-shot
            figure (`tfgen.plotting.vhe.few_shot_support`), or None.
        reference_histories: {name: per-epoch history} drawn beside the
            model's loss in the "nats_per_epoch" figure.
        evaluator: a `tfgen.evaluation.Evaluator` for the figures that read
            samples with a classifier (DCGAN latent arithmetic).
        arithmetic: the classes (a, b, c) of the latent arithmetic a - b + c.
        track_class: the class drawn across epochs (conditional GANs;
            class 0 when the data has fewer classes).
        tensorboard: also write every figure drawn as an image summary into
            the run's TensorBoard folder (`run_dir/tensorboard`), tag
            "figures/<figure name>" at step = the epoch, beside the
            trainer's scalars ("figures_final/<figure name>" after training).

    Rows of class figures are named by the data's `class_names` (or the
    known dataset's names, or "0", "1", ...).
    """

    def __init__(self, every=10, figures=None, final_figures=None, num_samples=64, num_points=5000, seed=1234,
                 support=None, per_class=10, reference_histories=None, evaluator=None, arithmetic=(7, 1, 3), track_class=5,
                 tensorboard=True):
        super().__init__(every)
        for names in (figures, final_figures):
            unknown = sorted(set(names or ()) - set(FIGURES))
            if unknown:
                raise ValueError(f"Unknown figures {unknown}. Expected names from {sorted(FIGURES)}.")
        self.figures = None if figures is None else tuple(figures)
        self.final_figures = None if final_figures is None else tuple(final_figures)
        self.num_samples = _checks.positive_int("num_samples", num_samples)
        self.per_class = _checks.positive_int("per_class", per_class)
        self.num_points = _checks.positive_int("num_points", num_points)
        self.seed = seed
        self.support = support
        self.reference_histories = dict(reference_histories or {})
        self.evaluator = evaluator
        self.arithmetic = tuple(arithmetic)
        self.track_class = _checks.non_negative_int("track_class", track_class)
        self.tracked = {}
        self.tensorboard = _checks.boolean("tensorboard", tensorboard)
        self._images = TensorBoardImages()

    def run(self, trainer, epoch, logs):
        self.plot(trainer, epoch)

    def plot(self, trainer, epoch, figures=None):
        """Writes the figures for `epoch` ("final" after training); returns the paths written."""
        model = trainer.model
        names = figures or self.figures or model.figures
        tag = "final" if epoch == "final" else f"epoch{epoch:03d}"
        folder = os.path.join(trainer.run_dir, "plots")
        paths, summaries = [], {}
        for name in names:
            written = FIGURES[name](self, trainer, tag, folder)
            written = written if isinstance(written, list) else [written] if written else []
            paths.extend(written)
            for path in written:
                stem = os.path.splitext(os.path.basename(path))[0]
                part = stem.replace(f"_{tag}", "").replace(tag, "").strip("_")
                prefix = "figures_final" if tag == "final" else "figures"  # not mixed with the last epoch's
                summaries[f"{prefix}/{name}" if len(written) == 1 else f"{prefix}/{name}/{part}"] = path
        if self.tensorboard and summaries:
            self._images.write(trainer.run_dir, len(trainer.history) if epoch == "final" else epoch, summaries)
        return paths

    def on_train_end(self, trainer, logs):
        names = self.final_figures if self.final_figures is not None else trainer.model.final_figures
        if names:
            self.plot(trainer, "final", figures=names)
        self._images.close()
