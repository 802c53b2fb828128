"""The GAN figures of the seed posts and a per-epoch diagnostics callback.

Figures (PNG files, never windows): one row per class (CGAN), one class
across epochs (the seed's "digit 5 at epoch 10, 50, 100, 150"), InfoGAN rows
varying one code at a time, interpolation between latent vectors, and DCGAN
latent arithmetic (Radford et al. 2016, section 6.3).

`GANDiagnosticsCallback` scores the samples after every epoch with a
`tfgen.evaluation.Evaluator`: label accuracy of conditional samples, per-class
diversity against real data, and the classifier-feature Fréchet distance;
it logs them and warns when the label accuracy falls toward chance (the
seed's mode collapse, Day 10).
"""

import json
import os
import warnings

import numpy as np
import tensorflow as tf

from tfgen.evaluation.codes import categorical_code_accuracy
from tfgen.plotting import plot_images
from tfgen.training import Callback
from tfgen.training.run_dir import write_json_atomic


def _is_conditional(model):
    return bool(getattr(model, "conditional", False))


def _is_infogan(model):
    return hasattr(model, "num_categories") and hasattr(model, "q_head")


def _seed(seed):
    return tf.constant([int(seed), 0], tf.int64)


def _normal(count, dim, seed):
    return tf.random.stateless_normal([count, dim], seed=_seed(seed))


def generate_images(model, z, labels=None, categorical=None, continuous=None):
    """Images in [0, 1] from z for any tfgen GAN; labels / codes where the model takes them.

    Defaults: class 0 for a conditional model, category 0 and continuous
    codes 0 for InfoGAN.
    """
    z = tf.convert_to_tensor(z, tf.float32)
    count = int(z.shape[0])
    if _is_conditional(model):
        labels = np.zeros(count, np.int64) if labels is None else np.asarray(labels, np.int64)
        return model.generate(z, tf.constant(labels))
    if _is_infogan(model):
        categorical = np.zeros(count, np.int64) if categorical is None else np.asarray(categorical, np.int64)
        continuous = np.zeros((count, model.num_continuous), np.float32) if continuous is None else continuous
        return model.generate(z, tf.constant(categorical), tf.constant(continuous, tf.float32))
    return model.generate(z)


def plot_class_rows(model, path, per_class=10, seed=0, title=None):
    """One row per class of a conditional model (each column one z, shared by the rows)."""
    if not _is_conditional(model):
        raise ValueError(f"plot_class_rows needs a conditional model (e.g. ConditionalGAN). Received: {type(model).__name__}")
    classes = model.num_classes
    z = np.tile(_normal(per_class, model.latent_dim, seed).numpy(), (classes, 1))
    labels = np.repeat(np.arange(classes), per_class)
    images = generate_images(model, z, labels=labels)
    return plot_images(images, path, title=title or "one row per class", rows=classes)


def plot_class_across_epochs(images_by_epoch, path, label=None):
    """One row per epoch of the same class (and the same z): how a class evolves, or collapses.

    Args:
        images_by_epoch: {epoch: images (N, 28, 28, 1) in [0, 1]}, N the same for every epoch.
        path: the PNG file.
        label: the class shown, for the title.
    """
    if not images_by_epoch:
        raise ValueError("images_by_epoch is empty: record at least one epoch.")
    epochs = sorted(images_by_epoch)
    images = np.concatenate([np.asarray(images_by_epoch[epoch]) for epoch in epochs])
    title = f"class {label}, " if label is not None else ""
    return plot_images(images, path, title=f"{title}rows: epochs {epochs}", rows=len(epochs))


def plot_infogan_codes(model, path_prefix, num_rows=10, num_columns=10, limit=2.0, seed=0):
    """InfoGAN figures varying one code at a time (Chen et al. 2016, figure 2).

    Writes `{path_prefix}_categorical.png` (each row one z, the columns the
    categories) and `{path_prefix}_continuous{j}.png` for each continuous code
    j (each row one category, the columns code j from -limit to limit, the
    other continuous codes 0, z fixed). Returns the paths.
    """
    if not _is_infogan(model):
        raise ValueError(f"plot_infogan_codes needs an InfoGAN. Received: {type(model).__name__}")
    categories = model.num_categories
    paths = []
    z = np.repeat(_normal(num_rows, model.latent_dim, seed).numpy(), categories, axis=0)
    categorical = np.tile(np.arange(categories), num_rows)
    images = generate_images(model, z, categorical=categorical)
    paths.append(plot_images(images, f"{path_prefix}_categorical.png", title="rows: z; columns: categorical code",
                             rows=num_rows))
    values = np.linspace(-limit, limit, num_columns, dtype=np.float32)
    z = np.tile(_normal(1, model.latent_dim, seed + 1).numpy(), (categories * num_columns, 1))
    categorical = np.repeat(np.arange(categories), num_columns)
    for code in range(model.num_continuous):
        continuous = np.zeros((categories * num_columns, model.num_continuous), np.float32)
        continuous[:, code] = np.tile(values, categories)
        images = generate_images(model, z, categorical=categorical, continuous=continuous)
        paths.append(plot_images(images, f"{path_prefix}_continuous{code}.png",
                                 title=f"rows: category; columns: c{code} from {-limit} to {limit}", rows=categories))
    return paths


def interpolate(start, end, num_steps, spherical=True):
    """`num_steps` points from `start` to `end` (vectors): slerp (better for Gaussian z) or linear."""
    start, end = np.asarray(start, np.float64), np.asarray(end, np.float64)
    weights = np.linspace(0.0, 1.0, num_steps)[:, None]
    if spherical:
        cosine = np.dot(start, end) / (np.linalg.norm(start) * np.linalg.norm(end))
        omega = np.arccos(np.clip(cosine, -1.0, 1.0))
        if omega > 1e-6:
            return ((np.sin((1 - weights) * omega) * start + np.sin(weights * omega) * end) / np.sin(omega)).astype(np.float32)
    return ((1 - weights) * start + weights * end).astype(np.float32)


def plot_interpolation(model, path, num_rows=5, num_steps=10, seed=0, spherical=True):
    """Each row walks from one random z to another (a conditional model keeps class row % num_classes)."""
    ends = _normal(2 * num_rows, model.latent_dim, seed).numpy()
    z = np.concatenate([interpolate(ends[2 * row], ends[2 * row + 1], num_steps, spherical) for row in range(num_rows)])
    rows = np.repeat(np.arange(num_rows), num_steps)
    labels = rows % model.num_classes if _is_conditional(model) else None
    categorical = rows % model.num_categories if _is_infogan(model) else None
    images = generate_images(model, z, labels=labels, categorical=categorical)
    return plot_images(images, path, title="latent interpolation (rows: start -> end)", rows=num_rows)


def plot_latent_arithmetic(model, evaluator, path, classes=(7, 1, 3), num_candidates=1000, per_group=4, seed=0):
    """DCGAN vector arithmetic on z: mean z(a) - mean z(b) + mean z(c) (Radford et al. 2016).

    Samples `num_candidates` z, lets the classifier of `evaluator` label the
    generated images, and averages the z of the `per_group` most confidently
    classified images of each class in `classes`. The figure's rows: the
    images of group a, of group b, of group c, then images decoded from the
    result and from the result plus small noise. Returns the path.
    """
    if len(classes) != 3:
        raise ValueError(f"classes must be three class ids (a, b, c) for a - b + c. Received: classes={classes!r}")
    z = _normal(num_candidates, model.latent_dim, seed).numpy()
    images = np.asarray(generate_images(model, z))
    probabilities = evaluator.class_probabilities(images)
    groups, means = [], []
    for label in classes:
        order = np.argsort(-probabilities[:, label])
        chosen = [index for index in order if np.argmax(probabilities[index]) == label][:per_group]
        if len(chosen) < per_group:
            raise ValueError(
                f"Only {len(chosen)} of {num_candidates} samples are classified as {label}; "
                f"raise num_candidates or train the generator longer."
            )
        groups.append(images[chosen])
        means.append(z[chosen].mean(axis=0))
    result = means[0] - means[1] + means[2]
    noise = 0.25 * _normal(per_group - 1, model.latent_dim, seed + 1).numpy()
    result_images = np.asarray(generate_images(model, np.concatenate([result[None], result[None] + noise])))
    grid = np.concatenate([*groups, result_images])
    a, b, c = classes
    return plot_images(grid, path, title=f"rows: {a}, {b}, {c}, then z({a}) - z({b}) + z({c})", rows=4)


class GANDiagnosticsCallback(Callback):
    """Scores a GAN's samples after every `every` epochs and warns about label collapse.

    Logged (into the epoch's `logs`, hence `history.json`, with the prefix
    "gan/", and into `run_dir/gan_diagnostics.json`):

    * `label_accuracy` (conditional models): the classifier's accuracy on
      samples generated for known classes, balanced over the classes.
    * `predicted_classes` (unconditional models): how many classes the
      classifier finds in at least 1% of the samples (mode dropping).
    * `diversity`, `real_diversity`, `diversity_ratio`: per class, the mean
      pairwise feature distance of the samples and of real images; the
      ratio is averaged over classes (near 0: collapsed classes).
    * `frechet_distance`: classifier-feature Fréchet distance to real data
      (not Inception FID, see `Evaluator.frechet_distance`).
    * `code_error` (InfoGAN): the test error of Q's categorical code read as
      a classifier of the `num_samples` real images, after the best
      one-to-one matching of codes to labels (Chen et al. 2016 report 5%).

    It also writes one row per class (conditional models) and the row of
    `track_class` across all epochs so far, with fixed z, to `run_dir/plots/`.

    Args:
        evaluator: a `tfgen.evaluation.Evaluator`.
        real_data: a `tfgen.data.ImageDataset` of real images (the test set).
        num_samples: how many samples (and real images) to score.
        every: the period in epochs.
        seed: the samples' seed (the same every epoch, so epochs compare).
        warn_accuracy: warn when the label accuracy is below this (default:
            twice chance, 2 / num_classes).
        track_class: the class shown across epochs (conditional models).
        plot: write the figures.
    """

    file_name = "gan_diagnostics.json"

    def __init__(self, evaluator, real_data, num_samples=1000, every=1, seed=1234, warn_accuracy=None, track_class=5,
                 plot=True):
        if isinstance(every, bool) or not isinstance(every, int) or every <= 0:
            raise ValueError(f"every must be a positive integer. Received: every={every!r}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 20:
            raise ValueError(f"num_samples must be an integer >= 20. Received: num_samples={num_samples!r}")
        self.evaluator = evaluator
        self.num_samples = num_samples
        self.every = every
        self.seed = seed
        chance = 1.0 / evaluator.num_classes
        self.warn_accuracy = 2.0 * chance if warn_accuracy is None else float(warn_accuracy)
        self.track_class = track_class
        self.plot = plot
        real = real_data.take(num_samples)
        self.real = real
        self.real_images = real.images.astype(np.float32) / 255.0 if real.images.dtype == np.uint8 else real.images
        self.real_labels = real.labels
        self._real_diversity = None
        self._tracked = {}

    def real_diversity(self):
        if self._real_diversity is None:
            self._real_diversity = self.evaluator.diversity(self.real_images, self.real_labels)
        return self._real_diversity

    def evaluate(self, model):
        """The diagnostics of `model`'s current samples, as a dict of floats (per-class ratios in a dict)."""
        seed = _seed(self.seed)
        num_classes = self.evaluator.num_classes
        entry = {}
        if _is_conditional(model):
            labels = np.arange(self.num_samples) % num_classes
            images = np.asarray(model.sample(self.num_samples, seed=seed, labels=labels))
            entry["label_accuracy"] = self.evaluator.label_accuracy(images, labels)
        else:
            images = np.asarray(model.sample(self.num_samples, seed=seed))
            labels = self.evaluator.predict(images)
            counts = np.bincount(labels, minlength=num_classes)
            entry["predicted_classes"] = int(np.sum(counts >= 0.01 * self.num_samples))
        fake_diversity = self.evaluator.diversity(images, labels)
        real_diversity = self.real_diversity()
        ratios = {label: fake_diversity.get(label, 0.0) / value for label, value in real_diversity.items() if value > 0}
        entry["diversity"] = float(np.mean(list(fake_diversity.values()))) if fake_diversity else 0.0
        entry["real_diversity"] = float(np.mean(list(real_diversity.values())))
        entry["diversity_ratio"] = float(np.mean(list(ratios.values())))
        entry["per_class_diversity_ratio"] = {str(label): ratio for label, ratio in sorted(ratios.items())}
        entry["frechet_distance"] = self.evaluator.frechet_distance(self.real_images, images)
        if _is_infogan(model) and self.real.labels is not None:
            entry["code_error"] = categorical_code_accuracy(model, self.real)["error"]
        return entry

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch % self.every and epoch != trainer.epochs:
            return
        model = trainer.model
        entry = self.evaluate(model)
        logs.update({f"gan/{key}": value for key, value in entry.items() if not isinstance(value, dict)})
        path = os.path.join(trainer.run_dir, self.file_name)
        entries = []
        if os.path.isfile(path):
            with open(path, encoding="utf-8") as stream:
                entries = [e for e in json.load(stream) if e.get("epoch", 0) < epoch]  # a resumed run rewrites later epochs
        entries.append({"epoch": epoch, **entry})
        write_json_atomic(path, entries)
        accuracy = entry.get("label_accuracy")
        if accuracy is not None and accuracy < self.warn_accuracy:
            warnings.warn(
                f"Epoch {epoch}: the classifier recognizes the requested class in only {accuracy:.1%} of the "
                f"conditional samples (chance: {1.0 / self.evaluator.num_classes:.1%}). The generator is ignoring "
                f"its label (mode collapse); see the discriminator's label input (label_input='planes').",
                RuntimeWarning,
                stacklevel=2,
            )
        if self.plot:
            self._plot(trainer, epoch)

    def _plot(self, trainer, epoch):
        model = trainer.model
        folder = os.path.join(trainer.run_dir, "plots")
        if _is_conditional(model):
            plot_class_rows(model, os.path.join(folder, f"class_rows_epoch{epoch:03d}.png"), seed=self.seed,
                            title=f"one row per class, epoch {epoch}")
            z = _normal(10, model.latent_dim, self.seed)
            self._tracked[epoch] = np.asarray(generate_images(model, z, labels=np.full(10, self.track_class)))
            plot_class_across_epochs(self._tracked, os.path.join(folder, f"class{self.track_class}_across_epochs.png"),
                                     label=self.track_class)
        elif _is_infogan(model):
            plot_infogan_codes(model, os.path.join(folder, f"infogan_epoch{epoch:03d}"), seed=self.seed)
        else:
            plot_interpolation(model, os.path.join(folder, f"interpolation_epoch{epoch:03d}.png"), seed=self.seed)
