"""Scores of a GAN's samples, read by the project's classifier, and the callback that logs them every epoch.

`sample_scores` measures (with a `tfgen.evaluation.Evaluator`):

* `label_accuracy` (conditional models): the classifier's accuracy on
  samples generated for known classes, balanced over the classes;
* `predicted_classes` (unconditional models): how many classes the
  classifier finds in at least 1% of the samples (mode dropping);
* `diversity`, `real_diversity`, `diversity_ratio`: per class, the mean
  pairwise feature distance of the samples and of real images; the ratio is
  averaged over classes (near 0: collapsed classes);
* `frechet_distance`: the classifier-feature Fréchet distance to real data
  (not Inception FID, see `Evaluator.frechet_distance`);
* `code_error` (InfoGAN): the test error of Q's categorical code read as a
  classifier of the real images, after the best one-to-one matching of
  codes to labels (Chen et al. 2016 report 5%).

`GANDiagnosticsCallback` logs them every `every` epochs and warns when the
label accuracy falls toward chance (the seed's mode collapse, Day 10).
"""

import os
import warnings

import numpy as np

from tfgen import _checks
from tfgen import labels as labels_lib
from tfgen import random as tfgen_random
from tfgen._files import write_json_atomic
from tfgen.evaluation.codes import categorical_code_accuracy, generated_code_accuracy
from tfgen.training import PeriodicCallback
from tfgen.training.run_dir import write_epoch_log


def _float_images(images):
    images = np.asarray(images)
    return images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images


def _real_labels(evaluator, real, real_images):
    """The real images' labels, or the classifier's predictions for unlabelled data (`labels=None`)."""
    return real.labels if real.labels is not None else evaluator.predict(real_images)


def sample_scores(model, evaluator, real_data, num_samples=1000, seed=1234, real_diversity=None, samples=None):
    """The scores of `model`'s samples (module docstring), as a dict of floats (per-class ratios in a dict).

    Args:
        model: a tfgen model, or an export (`tfgen.report.ExportScorer`);
            what is read of it: its declarations `conditional` and
            `latent_codes`, and `sample` (conditional models are sampled
            class by class in turn).
        evaluator: a `tfgen.evaluation.Evaluator`.
        real_data: a `tfgen.data.ImageDataset` of real images; its first
            `num_samples` are compared with as many samples (unlabelled
            data: the classifier's predictions stand for the labels of the
            real diversity, and InfoGAN's `code_error` is left out).
        num_samples: how many samples (and real images) to score.
        seed: the samples' seed (the same seed gives the same samples).
        real_diversity: the real images' `evaluator.diversity`, when already known.
        samples: (images, labels) already drawn from `model` instead of
            `model.sample(num_samples, seed)` (labels: the requested class of
            each image for a conditional model, else None); `num_samples` and
            `seed` are then not used (`tfgen.report` draws them one seed per
            image, the same through a model and through its export).
    """
    if samples is not None:
        images, labels = np.asarray(samples[0]), samples[1]
        num_samples = len(images)
    num_samples = _checks.integer("num_samples", num_samples, minimum=2)
    real = real_data.take(num_samples)
    real_images = _float_images(real.images)
    num_classes = evaluator.num_classes
    entry = {}
    if model.conditional:
        if samples is None:
            labels = labels_lib.sample_class_ids(num_samples, num_classes)  # the classes in turn
            images = np.asarray(model.sample(num_samples, seed=tfgen_random.seed_tensor(seed), labels=labels))
        entry["label_accuracy"] = evaluator.label_accuracy(images, np.asarray(labels))
    else:
        if samples is None:
            images = np.asarray(model.sample(num_samples, seed=tfgen_random.seed_tensor(seed)))
        labels = evaluator.predict(images)
        counts = np.bincount(labels, minlength=num_classes)
        entry["predicted_classes"] = int(np.sum(counts >= 0.01 * num_samples))
    fake_diversity = evaluator.diversity(images, labels)
    if real_diversity is None:
        real_diversity = evaluator.diversity(real_images, _real_labels(evaluator, real, real_images))
    ratios = {label: fake_diversity.get(label, 0.0) / value for label, value in real_diversity.items() if value > 0}
    entry["diversity"] = float(np.mean(list(fake_diversity.values()))) if fake_diversity else 0.0
    entry["real_diversity"] = float(np.mean(list(real_diversity.values())))
    entry["diversity_ratio"] = float(np.mean(list(ratios.values())))
    entry["per_class_diversity_ratio"] = {str(label): ratio for label, ratio in sorted(ratios.items())}
    entry["frechet_distance"] = evaluator.frechet_distance(real_images, images)
    if model.latent_codes and real.labels is not None:
        entry["code_error"] = categorical_code_accuracy(model, real)["error"]
    return entry


class GANDiagnosticsCallback(PeriodicCallback):
    """Scores a GAN's samples after every `every` epochs and warns about label collapse.

    Logged into the epoch's `logs` (hence `history.json`) with the prefix
    "gan/", and into `run_dir/gan_diagnostics.json` (per-class ratios
    included). After the last epoch, an InfoGAN's codes are also scored on all
    of `real_data` and by drawing `code_samples` samples per code
    (`run_dir/code_accuracy.json`, see `tfgen.evaluation.codes`).

    Args:
        evaluator: a `tfgen.evaluation.Evaluator`.
        real_data: a labelled `tfgen.data.ImageDataset` of real images (the test set).
        num_samples: how many samples (and real images) to score every epoch (>= 20).
        every: the period in epochs.
        seed: the samples' seed (the same every epoch, so epochs compare).
        warn_accuracy: warn when the label accuracy is below this (default:
            twice chance, 2 / num_classes).
        code_samples: an InfoGAN's samples per code in the final scoring.
    """

    file_name = "gan_diagnostics.json"
    code_file_name = "code_accuracy.json"

    def __init__(self, evaluator, real_data, num_samples=1000, every=1, seed=1234, warn_accuracy=None,
                 code_samples=500):
        super().__init__(every)
        self.num_samples = _checks.integer("num_samples", num_samples, minimum=20)
        self.code_samples = _checks.positive_int("code_samples", code_samples)
        self.evaluator = evaluator
        self.real_data = real_data
        self.seed = seed
        chance = 1.0 / evaluator.num_classes
        # Any finite threshold: above 1 always warns, which tests use.
        self.warn_accuracy = 2.0 * chance if warn_accuracy is None else _checks.number("warn_accuracy", warn_accuracy)
        self._real_diversity = None

    def real_diversity(self):
        if self._real_diversity is None:
            real = self.real_data.take(self.num_samples)
            images = _float_images(real.images)
            self._real_diversity = self.evaluator.diversity(images, _real_labels(self.evaluator, real, images))
        return self._real_diversity

    def evaluate(self, model):
        """The scores of `model`'s current samples (`sample_scores`)."""
        return sample_scores(model, self.evaluator, self.real_data, self.num_samples, self.seed,
                             real_diversity=self.real_diversity())

    def run(self, trainer, epoch, logs):
        entry = self.evaluate(trainer.model)
        logs.update({f"gan/{key}": value for key, value in entry.items() if not isinstance(value, dict)})
        write_epoch_log(os.path.join(trainer.run_dir, self.file_name), epoch, entry)
        accuracy = entry.get("label_accuracy")
        if accuracy is not None and accuracy < self.warn_accuracy:
            warnings.warn(
                f"Epoch {epoch}: the classifier recognizes the requested class in only {accuracy:.1%} of the "
                f"conditional samples (chance: {1.0 / self.evaluator.num_classes:.1%}). The generator is ignoring "
                f"its label (mode collapse); see the discriminator's label input (label_input='planes').",
                RuntimeWarning,
                stacklevel=2,
            )

    def on_train_end(self, trainer, logs):
        model = trainer.model
        if not model.latent_codes or self.real_data.labels is None:
            return
        scores = categorical_code_accuracy(model, self.real_data)
        drawn = generated_code_accuracy(model, self.evaluator, per_code=self.code_samples)
        write_json_atomic(os.path.join(trainer.run_dir, self.code_file_name), {
            **{key: scores[key] for key in ("accuracy", "error", "mapping")},
            "generated": drawn,
        })
        if trainer.verbose:
            print(f"categorical code as a classifier, after the best matching of codes to labels: test error "
                  f"{scores['error']:.4f} (Chen et al. 2016: 0.05); each code's samples drawn as its matched digit: "
                  f"{drawn['accuracy']:.4f}")
