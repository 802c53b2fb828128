"""`tfgen evaluate`: one report of the test scores of any run or export, for every registered model.

    report = evaluate("runs/vae")                          # a training run (its latest checkpoint)
    report = evaluate("saved_models/mnist_cgan")           # an export (its newest complete version)
    tfgen evaluate runs/vae --iw-samples 5000 --out vae.json
    tfgen evaluate runs/diffusion --bound-samples 4      # a diffusion model's bound, 4 timesteps per image

What is scored is what the model declares (`GenerativeModel.scores`;
nothing here reads its name or probes it):

* `likelihood`: the VAE family (VAE, CVAE, M2 and its Gumbel variant, the
  VHE), the importance-weighted test log-likelihood with K codes per image,
  its ELBO and bits per dimension (`tfgen.evaluation.likelihood.likelihood_scores`);
* `mmd`: the MMD-VAE, reconstruction error and MMD (`mmd_scores`);
* `classification_error`: the semi-supervised models' q(y|x) (`error_rate`);
* `variational_bound`: the diffusion models, Ho et al.'s bound on -log p(x)
  (-log p(x|y) given the label) of the 8-bit test images, in nats and bits
  per dimension, from K timesteps drawn per image (`bound_samples`, default
  1: the estimate is unbiased, its standard error says how precise it is;
  `variational_bound_scores`);
* `samples`: the GANs, the diffusion and the conditional models, the classifier's label
  accuracy, diversity and Fréchet distance of `num_samples` samples
  (`sample_scores`); `fid`/`kid` on Inception features with `fid=True`.

The samples are drawn one int64 seed per image, `seed, seed + 1, ...`, as
the export's `sample` signature and `tfgen sample` draw them; a conditional
model's classes are class-major (`num_samples / num_classes` samples of class
0, then of class 1, ...: seeds 0..999 draw class 0 of 10,000 samples), as
benchmarks/score_exports.py does. A run and its export therefore draw the
same images and get the same scores.

The test split of the dataset the model was trained on is scored (the
run's `config.json`, the export's manifest `training.dataset`); `dataset`
names it when that record is missing or not loadable (a folder of images is
recorded by its base name), and must agree with it when both are known.
The sample scores read the images with the project's classifier
(`tfgen.evaluation.Evaluator`): `classifier`, else the run's own
`classifier.weights.h5`, else one cached per dataset and image shape in
`classifier_cache_dir()`, trained there on first use.

An export is used through its signatures only (`ExportScorer`): what the
scores need to know of the model (its declarations, binarization, classes,
set size) is read off the registered class rebuilt from the manifest's
`model_config`, without weights.
"""

import hashlib
import os
import re

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen._files import check_file_format, check_replaceable, extension, read_json_file
from tfgen import data as data_lib
from tfgen import labels as labels_lib
from tfgen._memory import check_fits
from tfgen.evaluation import (
    Evaluator,
    InceptionScorer,
    error_rate,
    inception_model,
    load_classifier,
    sample_scores,
)
from tfgen.evaluation import likelihood as likelihood_lib
from tfgen._files import WEIGHTS_SUFFIX
from tfgen.export import existing_versions, is_complete_version, latest_version
from tfgen.models import GenerativeModel
from tfgen.models.base import SCORES, seeds_array
from tfgen.serving import ExportedModel
from tfgen.models.registry import model_class_of
from tfgen.training import restore_model
from tfgen.training.run_dir import CONFIG_FILE, check_not_a_run_file, check_output_file

#: Samples scored by default (1,000 per class of a 10-class dataset, as the papers' 10k sets).
DEFAULT_SAMPLES = 10_000
#: The report a run folder keeps of its evaluation (`tfgen evaluate RUN` writes it there by default).
REPORT_FILE = "evaluation.json"
#: Where the classifiers trained for the sample scores are kept (default: the user's cache folder).
CACHE_ENV = "TFGEN_CACHE_DIR"
_SAMPLE_CHUNK = 500
_SPLIT_SUFFIX = re.compile(r"/(train|test)(\[[^\]]*\])?$")


def classifier_cache_dir():
    """`$TFGEN_CACHE_DIR/classifiers`, else `$XDG_CACHE_HOME/tfgen/classifiers`, else `~/.cache/tfgen/classifiers`."""
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "tfgen")
    return os.path.join(root, "classifiers")


def recorded_dataset(name):
    """The dataset a recorded data name came from: "mnist/train[3 labels/class]" -> "mnist"; None stays None."""
    if not name:
        return None
    return _SPLIT_SUFFIX.sub("", str(name))


def _same_dataset(asked, recorded):
    """True when `asked` (a name or a folder) is the recorded dataset (a name, or a folder's base name)."""
    if asked == recorded:
        return True
    if data_lib.folders.is_path(asked) or os.path.isdir(os.path.expanduser(str(asked))):
        return os.path.basename(os.path.normpath(os.path.expanduser(str(asked)))) == recorded
    return False


# ------------------------------------------------------------------ an export presented as a model


class ExportScorer:
    """An export (`tfgen.serving.ExportedModel`) presented as a model: the declarations and methods the scores read.

    The declarations are those of the registered class the manifest names
    (`tfgen.models.GenerativeModel`: `registered_name`, `recipe`, the data
    contract, `conditional`, `num_classes`, `likelihood_kind`, `classifies`,
    `latent_codes`, `scores`), read off the class and the instance rebuilt
    from the manifest's `model_config` without weights (`binarization`,
    `num_classes`, `decoder_likelihood`, `set_size`), and narrowed to what
    the export can do: an export written before a signature existed (e.g.
    `log_importance_weights`) does not declare what that signature gives,
    and `latent_codes` is False (no export has a `predict_codes` signature).
    So code reads a run's model and an export alike.

    The methods call the signatures: `log_importance_weights(images, seeds,
    num_samples, labels=None, class_set=None)` (the VHE without labels:
    `marginal_log_importance_weights`), `variational_bound(images, seeds,
    labels=None)` (the diffusion models' signature of that name), `classify(images)` ->
    log-probabilities (the signature gives probabilities; the scores take
    logits, and a softmax of log-probabilities gives them back),
    `encode`/`reconstruct` and `sample_from_seeds(seeds, labels=None)`.

    Args:
        exported: an `ExportedModel`, or the path of an export.
    """

    def __init__(self, exported):
        self.exported = exported if isinstance(exported, ExportedModel) else ExportedModel(exported)
        manifest = self.exported.manifest
        if not manifest.get("model_config"):
            raise ValueError(f"The export at {self.exported.path!r} has no tfgen manifest with the model's "
                             f"configuration: it cannot be scored (re-export the run with `tfgen export`).")
        self.model_class = model_class = model_class_of(manifest)
        self.registered_name = model_class.registered_name or manifest.get("model")
        try:
            template = model_class.from_config(manifest["model_config"])
        except Exception as error:  # noqa: BLE001 - a config of another version fails in many ways
            raise ValueError(f"Cannot rebuild {self.registered_name!r} from the manifest of {self.exported.path!r}: "
                             f"{type(error).__name__}: {error}") from error
        self.image_shape = tuple(int(size) for size in self.exported.image_shape)
        self.recipe = model_class.recipe
        # The data contract and the labels, as the model declares them.
        self.binarization = template.binarization
        self.label_format = model_class.label_format
        self.requires_labels = model_class.requires_labels
        self.semi_supervised = model_class.semi_supervised
        self.class_sets = model_class.class_sets
        self.set_size = template.set_size if model_class.class_sets else None
        self.conditional = model_class.conditional
        self.num_classes = template.num_classes or self.exported.num_classes
        self.decoder_likelihood = template.decoder_likelihood
        # What it computes: the class's declarations, where the export has the signatures they need.
        signatures = self.exported.signatures
        self.likelihood_signature = "marginal_log_importance_weights" \
            if model_class.likelihood_kind == "marginal_vhe" else "log_importance_weights"
        has_likelihood = model_class.likelihood_kind is not None and self.likelihood_signature in signatures
        self.likelihood_kind = model_class.likelihood_kind if has_likelihood else None
        self.classifies = model_class.classifies and "classify" in signatures
        self.latent_codes = model_class.latent_codes and "predict_codes" in signatures
        available = {"likelihood": has_likelihood, "classification_error": self.classifies,
                     "mmd": "encode" in signatures and "reconstruct" in signatures,
                     "variational_bound": "variational_bound" in signatures, "samples": "sample" in signatures}
        self.scores = tuple(section for section in model_class.scores if available[section])

    @property
    def path(self):
        return self.exported.path

    def _takes(self, signature, name):
        _, inputs = self.exported.signature(signature).structured_input_signature
        return name in inputs

    def _call(self, signature, **inputs):
        return self.exported.signature(signature)(**{key: tf.convert_to_tensor(value) for key, value in inputs.items()})

    def log_importance_weights(self, images, seeds, num_samples, labels=None, class_set=None):
        inputs = {"images": tf.cast(images, tf.float32), "seed": tf.cast(seeds, tf.int64),
                  "num_samples": tf.constant(int(num_samples), tf.int32)}
        if self._takes(self.likelihood_signature, "label"):
            inputs["label"] = tf.cast(labels, tf.int64)
        if self._takes(self.likelihood_signature, "class_set"):
            inputs["class_set"] = tf.cast(class_set, tf.float32)
        return self._call(self.likelihood_signature, **inputs)["log_weights"]

    def variational_bound(self, images, seeds, labels=None):
        """`variational_bound(images, seeds, labels=None)` of the diffusion models through the export's signature:
        nats per image, one timestep per int64 seed."""
        inputs = {"images": tf.cast(images, tf.float32), "seed": tf.cast(seeds, tf.int64)}
        if self._takes("variational_bound", "label"):
            if labels is None:
                raise ValueError(f"{self.registered_name}.variational_bound needs labels (one class id per image).")
            inputs["label"] = tf.cast(labels, tf.int64)
        elif labels is not None:
            raise ValueError(f"{self.registered_name} is unconditional: its variational bound takes no labels.")
        return self._call("variational_bound", **inputs)["nats"]

    def classify(self, images):
        probabilities = self._call("classify", images=tf.cast(images, tf.float32))["probabilities"].numpy()
        # log of the probabilities: the logits up to a constant per row (float32's tiny instead of log 0).
        return np.log(np.maximum(probabilities, np.finfo(np.float32).tiny))

    def encode(self, images):
        """The `encode` signature's codes: `z` (a deterministic encoder), or (z_mean, z_log_var)."""
        outputs = self._call("encode", images=tf.cast(images, tf.float32))
        return outputs["z"] if "z" in outputs else (outputs["z_mean"], outputs["z_log_var"])

    def reconstruct(self, images):
        return self._call("reconstruct", images=tf.cast(images, tf.float32))["images"]

    def sample_from_seeds(self, seeds, labels=None):
        """`GenerativeModel.sample_from_seeds` through the export's `sample` signature (a NumPy array)."""
        if self.conditional and labels is None:
            labels = labels_lib.sample_class_ids(len(seeds_array(seeds)), self.num_classes)
        return self.exported.sample(seeds, labels)


def draw_samples(model, num_samples, seed=0, num_classes=None, progress=True):
    """`num_samples` images drawn with the seeds seed, seed + 1, ... (one per image); (images, labels).

    A model and its export (`ExportScorer`) draw the same images: both
    through `sample_from_seeds`. Conditional models: class-major labels,
    `num_samples // num_classes` (or one more) per class in class-id order
    (`tfgen.labels.sample_class_ids`, "blocks"; labels None otherwise).
    """
    num_samples = _checks.integer("num_samples", num_samples, minimum=2)
    _checks.seed_span("seed", seed, num_samples, "--seed or --samples")
    labels = None
    if model.conditional:
        labels = labels_lib.sample_class_ids(num_samples, num_classes or model.num_classes, labels_lib.BLOCKS)
    bar = keras.utils.Progbar(num_samples, unit_name="sample") if progress else None
    images = []
    for start in range(0, num_samples, _SAMPLE_CHUNK):
        stop = min(num_samples, start + _SAMPLE_CHUNK)
        seeds = np.arange(seed + start, seed + stop, dtype=np.int64)
        images.append(np.asarray(model.sample_from_seeds(seeds, None if labels is None else labels[start:stop])))
        if bar is not None:
            bar.update(stop)
    return np.concatenate(images), labels


def _name(model):
    return model.registered_name or type(model).__name__


# ------------------------------------------------------------------ the target, its data and its classifier


def load_target(target):
    """(model, facts) of a run folder (latest checkpoint), an export (newest complete version) or a model.

    facts: {"kind": "run" | "export" | "model", "path", "dataset" (recorded,
    or None), "image_size", "channels" (a run's recorded transforms), "config"}.
    """
    if isinstance(target, (GenerativeModel, ExportScorer)):
        kind = "export" if isinstance(target, ExportScorer) else "model"
        return target, {"kind": kind, "path": target.path if kind == "export" else None, "dataset": None}
    if isinstance(target, ExportedModel):
        return load_target(ExportScorer(target))
    if not isinstance(target, (str, os.PathLike)) or not str(target):
        raise ValueError(f"target must be a run folder, an export folder or a tfgen model. Received: {target!r}")
    path = os.fspath(target)
    if os.path.isfile(path):
        raise ValueError(f"{path!r} is a file, not a folder: pass a run folder of `tfgen train` or an export of "
                         f"`tfgen export`.")
    if not os.path.isdir(path):
        raise FileNotFoundError(f"No such folder: {path!r} (expected a run folder of `tfgen train` or an export "
                                f"of `tfgen export`).")
    if os.path.isfile(os.path.join(path, CONFIG_FILE)):
        model, config = restore_model(path)
        return model, {"kind": "run", "path": path, "dataset": recorded_dataset(config.get("dataset")),
                       "image_size": config.get("image_size"), "channels": config.get("channels"),
                       "binarization": (config.get("training") or {}).get("binarization"), "config": config}
    if is_complete_version(path) or existing_versions(path):
        scorer = ExportScorer(latest_version(path))
        training = scorer.exported.manifest.get("training") or {}
        return scorer, {"kind": "export", "path": scorer.path, "dataset": recorded_dataset(training.get("dataset")),
                        "binarization": training.get("binarization")}
    raise ValueError(f"{path!r} is neither a tfgen run folder (no {CONFIG_FILE}) nor an export (no numbered version "
                     f"folder with saved_model.pb).")


def _check_dataset_choice(model, facts, dataset):
    """The dataset to score on: `dataset`, else the recorded one; a ValueError when they disagree or none is known."""
    recorded = facts.get("dataset")
    if dataset is None:
        if recorded is None:
            raise ValueError(f"The {facts['kind']} does not record the dataset {_name(model)} was trained on: pass "
                             f"dataset (--dataset NAME_OR_FOLDER).")
        return recorded
    if isinstance(dataset, data_lib.ImageDataset):
        asked = recorded_dataset(dataset.name)
    else:
        asked = data_lib.check_dataset(dataset)
    if recorded is not None and not _same_dataset(asked, recorded):
        raise ValueError(f"{_name(model)} at {facts['path']!r} was trained on {recorded!r}, not {asked!r}: its "
                         f"test scores are those of its own data (leave out --dataset, or pass --dataset {recorded}).")
    return dataset


def load_test_data(model, facts, dataset, data_dir=None, source_dir=None):
    """(test split, train-split loader, dataset name) for `model`, checked to hold images of the model's shape."""
    dataset = _check_dataset_choice(model, facts, dataset)
    shape = tuple(int(size) for size in model.image_shape)
    if isinstance(dataset, data_lib.ImageDataset):
        test, name = dataset, recorded_dataset(dataset.name) or dataset.name

        def train_data():
            raise ValueError(f"No classifier for the sample scores of {name!r} (an ImageDataset): pass classifier "
                             f"(a .weights.h5 file or a tfgen.evaluation.Evaluator).")
    else:
        name = str(dataset)
        options = {"data_dir": data_dir, "source_dir": source_dir,
                   "image_size": facts.get("image_size"), "channels": facts.get("channels")}
        test = data_lib.load(name, "test", **options)
        if tuple(test.image_shape) != shape and facts["kind"] == "export" and facts.get("dataset") is not None:
            # An export does not record its run's --image-size/--channels: its images' shape tells them.
            options.update(image_size=list(shape[:2]), channels=shape[2])
            test = data_lib.load(name, "test", **options)

        def train_data():
            return data_lib.load(name, "train", **options)
    if tuple(test.image_shape) != shape:
        raise ValueError(f"{_name(model)} takes {'x'.join(map(str, shape))} images; the test split of {name!r} holds "
                         f"{'x'.join(map(str, test.image_shape))} images.")
    return test, train_data, name


def _classifier_path(dataset_name, image_shape):
    """The cached classifier's file for a dataset and image shape (a folder: its base name and a hash of its path)."""
    key = str(dataset_name)
    if data_lib.folders.is_path(key) or os.path.isdir(os.path.expanduser(key)):
        full = os.path.abspath(os.path.expanduser(key))
        key = f"{os.path.basename(os.path.normpath(full))}-{hashlib.sha256(full.encode()).hexdigest()[:8]}"
    key = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
    return os.path.join(classifier_cache_dir(), f"{key}-{'x'.join(map(str, image_shape))}.weights.h5")


def samples_classifier(model, facts, test, train_data, dataset_name, classifier=None, progress=True):
    """The `Evaluator` of the sample scores (module docstring: `classifier`, the run's, the cache's, a new one)."""
    from tfgen import runs  # the classifier's training recipe (runs' floor)

    if isinstance(classifier, Evaluator):
        return classifier, "given"
    shape = tuple(int(size) for size in model.image_shape)
    num_classes = test.num_classes or model.num_classes
    if classifier is not None:
        return Evaluator(load_classifier(os.fspath(classifier), num_classes=num_classes, image_shape=shape)), \
            os.fspath(classifier)
    if facts["kind"] == "run":
        own = os.path.join(facts["path"], runs.CLASSIFIER_FILE)
        if os.path.isfile(own):
            return Evaluator(load_classifier(own, num_classes=num_classes, image_shape=shape)), own
    path = _classifier_path(dataset_name, shape)
    if os.path.isfile(path):
        return Evaluator(load_classifier(path, num_classes=num_classes, image_shape=shape)), path
    train = train_data()
    train.require_labels("Training the classifier of the sample scores")
    epochs = model.recipe.classifier_epochs
    # Saved beside its place and renamed into it: a cache file is whole or absent, whoever else trains one.
    temporary = f"{path[:-len('.weights.h5')]}.tmp-{os.getpid()}.weights.h5"
    try:
        evaluator = runs.sample_evaluator(train, test, temporary, epochs, verbose=1 if progress else 0)
        os.replace(temporary, path)
    finally:
        if os.path.exists(temporary):
            os.remove(temporary)
    return evaluator, path


# ------------------------------------------------------------------ the report


def scored_sections(model):
    """The sections `evaluate` gives `model` (module docstring): its `scores` declaration, in report order."""
    return [section for section in SCORES if section in model.scores]


def _declared_scores(model):
    """The sections `model`'s class declares (an export's: those of the class its manifest names, before they are
    narrowed to its signatures)."""
    return model.model_class.scores if isinstance(model, ExportScorer) else model.scores


def _missing_bound(model):
    """Why `model` has no variational bound section: a line for the report and the errors."""
    name = _name(model)
    if isinstance(model, ExportScorer) and "variational_bound" in model.model_class.scores:
        return (f"the export at {model.path!r} has no 'variational_bound' signature (exported by an older tfgen): "
                f"re-export the run with this tfgen to add it")
    if "likelihood" in _declared_scores(model):
        return (f"{name} has no variational bound (the diffusion models' score): its likelihood is estimated by "
                f"importance sampling (--iw-samples K)")
    return f"{name} has no variational bound: only the diffusion models have one"


def _missing_likelihood(model):
    """Why `model` has no likelihood section: a line for the report and the errors."""
    name = _name(model)
    if isinstance(model, ExportScorer) and model.model_class.likelihood_kind is not None:
        return (f"the export at {model.path!r} has no {model.likelihood_signature!r} signature (exported by an "
                f"older tfgen): re-export the run with this tfgen to add it")
    if "mmd" in model.scores:
        return f"{name} has no likelihood: its encoder is deterministic (scored by reconstruction error and MMD)"
    if "variational_bound" in _declared_scores(model):
        return (f"{name} has no importance-weighted likelihood: it is scored by its variational bound on -log p(x) "
                f"(--bound-samples K, the timesteps drawn per test image)")
    return f"{name} has no likelihood: a GAN has no density to estimate (scored by its samples)"


def evaluate(target, dataset=None, iw_samples=None, seed=0, batch_size=100, max_images=None,
             num_samples=DEFAULT_SAMPLES, classifier=None, fid=False, progress=True, data_dir=None,
             source_dir=None, rows_per_call=likelihood_lib.DEFAULT_ROWS_PER_CALL, bound_samples=None):
    """The test scores of a run, an export or a model, as a JSON-ready dict (module docstring).

    Args:
        target: a run folder, an export (`saved_models/<name>` or a version
            folder), a built tfgen model or an `ExportScorer`.
        dataset: the data to score on (a name, a folder, or an `ImageDataset`
            of test images); default: the one the target records; it must
            be the recorded one when both are known.
        iw_samples: K, the codes per image of the likelihood (default
            `DEFAULT_IW_SAMPLES` where the model has one); given for a model
            without a likelihood, a ValueError.
        seed: the seed of every draw (codes, timesteps, binarization, samples).
        batch_size: test images per batch.
        max_images: score only the first this many test images.
        num_samples: samples drawn for the sample scores (and FID/KID).
        classifier: the sample scores' classifier: a `.weights.h5` file or an
            `Evaluator` (default: the run's own, else a cached one).
        fid: also FID and KID of the samples on Inception-v3 features.
        progress: show progress bars.
        data_dir, source_dir: see `tfgen.data.load`.
        rows_per_call: see `likelihood_scores`.
        bound_samples: K of the diffusion models' variational bound, the
            timesteps drawn per test image (default
            `DEFAULT_BOUND_SAMPLES`, one: the estimate is unbiased, its
            standard error says how precise it is); given for a model
            without the bound, a ValueError.

    Returns:
        {"model", "kind", "target", "dataset", "split", "seed", and the
        sections: "likelihood", "classification_error", "mmd",
        "variational_bound", "samples", "fid", "kid", "kid_std"; "notes":
        what was left out and why}.
    """
    asked_likelihood = iw_samples is not None
    if asked_likelihood:
        iw_samples = likelihood_lib.check_num_samples(iw_samples)
    asked_bound = bound_samples is not None
    if asked_bound:
        bound_samples = likelihood_lib.check_bound_samples(bound_samples, "bound_samples")
    seed = _checks.seed("seed", seed)
    batch_size = _checks.positive_int("batch_size", batch_size)
    max_images = _checks.positive_int("max_images", max_images, allow_none=True)
    num_samples = _checks.integer("num_samples", num_samples, minimum=2)
    _checks.seed_span("seed", seed, num_samples, "--seed or --samples")
    fid = _checks.boolean("fid", fid)
    if isinstance(classifier, (str, os.PathLike)):  # before any work: a file of the format its name says
        check_file_format(classifier, (WEIGHTS_SUFFIX,), "classifier", must_exist=True)
    model, facts = load_target(target)
    sections = scored_sections(model)
    notes = []
    if "likelihood" not in sections:
        reason = _missing_likelihood(model)
        if asked_likelihood:
            raise ValueError(reason)
        if isinstance(model, ExportScorer) and model.model_class.likelihood_kind is not None:
            notes.append(reason)
    if "variational_bound" not in sections:
        reason = _missing_bound(model)
        if asked_bound:
            raise ValueError(reason)
        if isinstance(model, ExportScorer) and "variational_bound" in model.model_class.scores:
            notes.append(reason)
    if not sections:
        raise ValueError(f"Nothing to score: {notes[0] if notes else _missing_likelihood(model)}.")
    if "samples" in sections or fid:  # the samples are kept, float32, and copied once when joined
        height, width, channels = (int(side) for side in model.image_shape)
        check_fits(f"--samples {num_samples}", num_samples, 2 * 4 * height * width * channels,
                   per=f" ({height}x{width}x{channels} float32 images)", lower="--samples")
    # Inception-v3 before any long computation: offline without its weights, the one line comes at once.
    inception_net = inception_model() if fid else None
    test, train_data, dataset_name = load_test_data(model, facts, dataset, data_dir, source_dir)
    report = {"model": _name(model), "kind": facts["kind"], "target": facts["path"], "dataset": dataset_name,
              "split": "test", "seed": seed}
    scored = test.take(max_images) if max_images is not None and max_images < len(test) else test
    if "likelihood" in sections:  # before the first batch: the chunks of codes of the batches actually scored
        likelihood_lib.check_chunks(iw_samples or likelihood_lib.DEFAULT_IW_SAMPLES, min(batch_size, len(scored)),
                                    rows_per_call)
    if "likelihood" in sections:
        if progress:
            print(f"Importance-weighted log-likelihood, K = {iw_samples or likelihood_lib.DEFAULT_IW_SAMPLES}:")
        # The whole split with max_images: the VHE draws its class sets from all of it.
        report["likelihood"] = likelihood_lib.likelihood_scores(
            model, test, num_samples=iw_samples or likelihood_lib.DEFAULT_IW_SAMPLES, seed=seed,
            batch_size=batch_size, max_images=max_images, rows_per_call=rows_per_call,
            binarization=facts.get("binarization"), progress=progress)
    if "classification_error" in sections:
        report["classification_error"] = {"error": float(error_rate(model, scored, batch_size=batch_size)),
                                          "images": len(scored)}
    if "mmd" in sections:
        if progress:
            print("Reconstruction error and MMD:")
        report["mmd"] = likelihood_lib.mmd_scores(model, scored, seed=seed, batch_size=max(batch_size, 2),
                                                   binarization=facts.get("binarization"), progress=progress)
    if "variational_bound" in sections:
        bound_samples = bound_samples or likelihood_lib.DEFAULT_BOUND_SAMPLES
        if progress:
            print(f"Variational bound, {bound_samples} timestep{'s' if bound_samples > 1 else ''} per image:")
        report["variational_bound"] = likelihood_lib.variational_bound_scores(
            model, scored, seed=seed, timesteps_per_image=bound_samples, batch_size=batch_size,
            binarization=facts.get("binarization"), progress=progress)
    samples = None
    if "samples" in sections or fid:
        if progress:
            print(f"Drawing {num_samples} samples:")
        samples = draw_samples(model, num_samples, seed, model.num_classes, progress)
    if "samples" in sections:
        if test.labels is None and classifier is None:
            notes.append(f"no sample scores: {dataset_name!r} has no labels to train their classifier on "
                         f"(pass a classifier)")
        else:
            evaluator, source = samples_classifier(model, facts, test, train_data, dataset_name, classifier,
                                                   progress)
            report["samples"] = {**sample_scores(model, evaluator, test, samples=samples), "num_samples": num_samples,
                                 "classifier": source}
    if fid:
        inception = InceptionScorer(test, num_real=num_samples, model=inception_net, verbose=progress)
        report.update(inception.scores(samples[0], subset_size=min(1000, num_samples, len(test))))
    if notes:
        report["notes"] = notes
    return report


def default_report_path(target):
    """Where `tfgen evaluate` writes its JSON by default: `<run>/evaluation.json` for a run folder, None otherwise."""
    if isinstance(target, (str, os.PathLike)) and os.path.isfile(os.path.join(os.fspath(target), CONFIG_FILE)):
        return os.path.join(os.fspath(target), REPORT_FILE)
    return None


def is_report_file(path):
    """Whether the file at `path` holds a report of `tfgen evaluate` (a JSON object with its first keys)."""
    try:
        report = read_json_file(path, expect=dict)
    except (OSError, ValueError):
        return False
    return {"model", "kind", "target", "dataset", "split"} <= set(report)


def check_report_path(path, force=False):
    """`path` if a report may be written there: a `.json` file path, never one of a run's own files (its
    evaluation.json aside), never inside an export's folder, and never over a file that is not an earlier report
    (`is_report_file`) unless `force`."""
    check_output_file(path, "out")
    if extension(path) != ".json":
        raise ValueError(f"out must name a .json file (the report is JSON). Received: out={os.fspath(path)!r}")
    check_not_a_run_file(path, "out", own=(REPORT_FILE,))
    check_replaceable(path, is_report_file, "an evaluation report of tfgen", force=_checks.boolean("force", force))
    folder = os.path.dirname(os.path.abspath(path))
    while True:
        if is_complete_version(folder):
            raise ValueError(f"out {str(path)!r} lies inside the export {folder!r}: an export's version folder is "
                             f"served as it was written; name a file elsewhere.")
        parent = os.path.dirname(folder)
        if parent == folder:
            return path
        folder = parent


def summary_rows(report):
    """(label, value) rows of the short table `tfgen evaluate` prints."""
    rows = [("model", report["model"]), ("dataset", f"{report['dataset']} ({report['split']})")]
    likelihood = report.get("likelihood")
    if likelihood:
        rows += [("images", str(likelihood["images"])), ("K (importance samples)", str(likelihood["iw_samples"]))]
        for estimate in ("given_label", "given_class_set", "marginal"):
            entry = likelihood.get(estimate)
            if not entry:
                continue
            suffix = "" if estimate == "marginal" and len([k for k in ("given_label", "given_class_set")
                                                           if k in likelihood]) == 0 else f" [{estimate}]"
            rows += [
                (f"ELBO{suffix}", f"{entry['elbo']:.2f} ± {entry['elbo_stderr']:.2f} nats"),
                (f"IW log-likelihood{suffix}",
                 f"{entry['log_likelihood']:.2f} ± {entry['log_likelihood_stderr']:.2f} nats"),
                (f"NLL{suffix}", f"{entry['nll']:.2f} nats"),
            ]
            if "bits_per_dim" in entry:
                rows.append((f"bits/dim{suffix}", f"{entry['bits_per_dim']:.4f}"))
    if "classification_error" in report:
        entry = report["classification_error"]
        rows.append(("test error of q(y|x)", f"{100 * entry['error']:.2f}% of {entry['images']}"))
    if "mmd" in report:
        entry = report["mmd"]
        rows += [("images", str(entry["images"])), ("squared error / image", f"{entry['squared_error']:.3f}"),
                 ("MMD", f"{entry['mmd']:.5f}")]
    bound = report.get("variational_bound")
    if bound:
        given = "|y" if bound["given_label"] else ""
        rows += [("images", str(bound["images"])), ("timesteps drawn per image", str(bound["timesteps_per_image"])),
                 (f"variational bound on -log p(x{given})", f"{bound['nats']:.2f} ± {bound['nats_stderr']:.2f} nats"),
                 ("bits/dim (bound)", f"{bound['bits_per_dim']:.4f} ± {bound['bits_per_dim_stderr']:.4f}")]
    samples = report.get("samples")
    if samples:
        rows.append(("samples", str(samples["num_samples"])))
        if "label_accuracy" in samples:
            rows.append(("label accuracy", f"{samples['label_accuracy']:.4f}"))
        if "predicted_classes" in samples:
            rows.append(("classes found", str(samples["predicted_classes"])))
        rows += [("diversity ratio", f"{samples['diversity_ratio']:.3f}"),
                 ("Fréchet distance (classifier)", f"{samples['frechet_distance']:.2f}")]
        if "code_error" in samples:
            rows.append(("InfoGAN code error", f"{samples['code_error']:.4f}"))
    if "fid" in report:
        rows += [("FID", f"{report['fid']:.2f}"), ("KID", f"{report['kid']:.4f} ± {report['kid_std']:.4f}")]
    return rows


def format_summary(report):
    """The short table of `summary_rows`, one row a line."""
    rows = summary_rows(report)
    width = max(len(label) for label, _ in rows)
    return "\n".join(f"{label.ljust(width)}  {value}" for label, value in rows)
