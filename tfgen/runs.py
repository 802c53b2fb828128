"""Assembling a run: data, model, trainer and callbacks, from what the model declares.

`train("dcgan", out="runs/dcgan")` trains a registered model the way its
paper does: every setting left out comes from the model class's `recipe`
(`tfgen.models.Recipe`: dataset, epochs, batch size, learning rates and
beta_1 of both players, constructor arguments), the data is prepared as
the model's data contract asks (binarization, a labelled split for the
semi-supervised models, class sets for the VHE, pseudo-labels for its
unsupervised variant), and the callbacks draw the model's figures and, for
the GANs, score the samples with a classifier trained on the data. The CLI
(`tfgen train`) and every example script call `train`; nothing here
dispatches on a model's name.
"""

import dataclasses
import os

import keras
import tensorflow as tf

from tfgen import data as data_lib
from tfgen._memory import check_fits
from tfgen.config import SMOKE, RunConfig, constructor_options, model_defaults, run_options  # noqa: F401 (re-exported)
from tfgen.evaluation import (
    ClusterScoresCallback,
    Evaluator,
    GANDiagnosticsCallback,
    error_rate,
    load_classifier,
    save_classifier,
    train_classifier,
)
from tfgen.plotting import PlotCallback
from tfgen.plotting.vhe import few_shot_support
from tfgen.training import Trainer
from tfgen.training import distribute
from tfgen.training import jit as jit_lib
from tfgen.training.run_dir import CLASSIFIER_FILE, HISTORY_FILE, check_own_folder, check_run_dir, read_json  # noqa: F401

#: Samples scored per epoch by the GANs' diagnostics (and InfoGAN's samples per code at the end).
SCORE_SAMPLES = 1000
CODE_SAMPLES = 500
#: `CLASSIFIER_FILE` (from `tfgen.training.run_dir`): the classifier of the sample scores, saved in the run folder
#: when no other path is given.


def load_data(dataset, *, data_dir=None, source_dir=None, train_examples=None, image_size=None, channels=None,
              streaming=None):
    """(train, test) `ImageDataset`s of `dataset`; the first `train_examples` of each when given.

    Args:
        dataset: a TFDS name ("mnist", "cifar10", ...), a folder of images
            (`tfgen.data.load`), an `ImageDataset` (trained on without a test
            set), or a (train, test) pair of them (test may be None).
        data_dir, source_dir: see `tfgen.data.load`.
        train_examples: only the first N examples of each split (at most N).
        image_size, channels: crop/resize and convert every image (see
            `tfgen.data.load`); applied to `ImageDataset`s too.
        streaming: see `tfgen.data.load` (names and folders only).

    Returns:
        (train, test); test is None for a single `ImageDataset`.
    """
    if isinstance(dataset, data_lib.ImageDataset) or (
            isinstance(dataset, (tuple, list)) and len(dataset) == 2
            and all(part is None or isinstance(part, data_lib.ImageDataset) for part in dataset)):
        train_data, test_data = (dataset, None) if isinstance(dataset, data_lib.ImageDataset) else dataset
        if train_data is None:
            raise ValueError("dataset=(train, test) needs a training set. Received: train=None")
        image_size = data_lib.transforms.parse_image_size(image_size)
        channels = data_lib.transforms.check_channels(channels)

        def prepared(data):
            if data is None:
                return None
            if train_examples is not None:
                data = data.take(train_examples)
            if image_size is None and channels is None:
                return data
            return dataclasses.replace(data, images=data_lib.transforms.transform_images(data.images, image_size,
                                                                                         channels))

        return prepared(train_data), prepared(test_data)
    options = dict(data_dir=data_dir, source_dir=source_dir, examples=train_examples, image_size=image_size,
                   channels=channels, streaming=streaming)
    return data_lib.load(dataset, "train", **options), data_lib.load(dataset, "test", **options)


def _enough_examples(train_data, train_examples):
    """`train_data`, unless it has fewer than the `train_examples` asked for explicitly (a ValueError naming its
    size; the test split may be smaller: it is read up to that many; a smoke run's default takes what there is)."""
    if train_examples is not None and len(train_data) < train_examples:
        raise ValueError(f"train_examples={train_examples} (--train-examples) is more than the {len(train_data)} "
                         f"examples of {train_data.name!r}: ask for at most {len(train_data)}, or leave it out "
                         f"(all of them).")
    return train_data


def _unconditional_models():
    """The registered models that train on unlabelled data, for the message of those that cannot."""
    from tfgen.models import MODELS

    return sorted(name for name, cls in MODELS.items() if not (cls.requires_labels or cls.semi_supervised))


def check_labelled(model_class, train_data):
    """Raises a ValueError when `model_class` needs labels (conditional, semi-supervised, class sets) and the data has none."""
    if not (model_class.requires_labels or model_class.semi_supervised):
        return
    name = model_class.registered_name or model_class.__name__
    if train_data.labels is not None:
        if train_data.num_classes < 2:
            raise ValueError(
                f"{name} needs at least 2 classes; {train_data.name!r} has {train_data.num_classes} "
                f"({', '.join(map(repr, train_data.class_names))}). A folder of images needs one sub-folder per "
                f"class, or train an unconditional model: {', '.join(_unconditional_models())}")
        return
    raise ValueError(
        f"{name} needs labelled data; {train_data.name!r} has no labels (e.g. a flat folder, or a dataset without a "
        f"class label). Put the images in one sub-folder per class, or train an unconditional model: "
        f"{', '.join(_unconditional_models())}"
    )


def build_model_and_data(model_class, train_data, test_data, model_kwargs, *, batch_size, labels_per_class=None,
                         labelled_per_batch=None, split_seed=0):
    """The model and the (train, test) data it trains on, as its data contract asks.

    * constructor arguments that describe the data (`num_classes`,
      `num_examples`, `image_shape`) default to the data's;
    * `semi_supervised` models train on `labels_per_class` labels per class
      (None: all), with `labelled_per_batch` labelled examples in every
      batch (default: a tenth of the batch) when labels are scarce;
    * `class_sets` models get class sets of `set_size` (the model's), of the
      labels, or of the model's pseudo-labels when it clusters its codes
      (then there is no test set: sets of true labels would leak them).

    Returns:
        (model, train_data, test_data).
    """
    check_labelled(model_class, train_data)
    options = constructor_options(model_class)
    model_kwargs = dict(model_kwargs)
    if "image_shape" in options:
        model_kwargs.setdefault("image_shape", tuple(train_data.image_shape))
    if "num_classes" in options:
        model_kwargs.setdefault("num_classes", train_data.num_classes)
    if "num_examples" in options:
        model_kwargs.setdefault("num_examples", len(train_data))
    if model_class.semi_supervised:
        if labels_per_class is not None and labelled_per_batch is None:
            labelled_per_batch = max(1, batch_size // 10)
        train_data = data_lib.labelled_split(train_data, labels_per_class, seed=split_seed,
                                             labelled_per_batch=labelled_per_batch)
    model = model_class(**model_kwargs)
    if model_class.class_sets:
        set_size = model.set_size
        if model_class.clusters_codes:
            # Sets of the model's pseudo-labels, read as each epoch's batches are built (after `begin_epoch` re-clusters).
            train_data = data_lib.ClassSetDataset.of(train_data, set_size, set_labels=model.pseudo_labels.numpy)
            test_data = None
        else:
            train_data = data_lib.ClassSetDataset.of(train_data, set_size)
            test_data = None if test_data is None else data_lib.ClassSetDataset.of(test_data, set_size)
    return model, train_data, test_data


def sample_evaluator(train_data, test_data, path, epochs, verbose=1):
    """The sample classifier: loaded from `path`, or trained on `train_data` and saved there."""
    if os.path.isfile(path):
        return Evaluator(load_classifier(path, num_classes=train_data.num_classes,
                                         image_shape=train_data.image_shape))
    classifier, accuracy = train_classifier(train_data, test_data, epochs=epochs, verbose=2 if verbose else 0)
    if verbose:
        print(f"sample classifier: test accuracy {accuracy:.4f} after {epochs} epochs, saved to {path}")
    save_classifier(classifier, path)
    return Evaluator(classifier)


def train(model_name, *, out, config_file=None, assignments=(), model_options=None, **options):
    """Trains the registered model `model_name` as its paper does; returns the `Trainer`.

    Every option left out takes the model's `recipe` value: the options are
    `tfgen.config.RunConfig`'s fields (run options: `epochs`, `batch_size`,
    `learning_rate`, `dataset`, `smoke`, ...; see its docstring) and the
    model's constructor arguments (e.g. `latent_dim=16`), resolved and
    checked once by `RunConfig.resolve`. A recipe override is one argument:

        runs.train("cgan", out="runs/cgan", epochs=5, label_input="vector")

    Args:
        model_name: a name from `tfgen.models.MODELS` ("vae", "dcgan", ...).
        out: the run directory.
        config_file: a JSON file of options (`tfgen train --config`).
        assignments: (name, value) pairs (`tfgen train --set NAME=VALUE`).
        model_options: constructor arguments whose names are also run
            options (e.g. the model's own `seed`).
        **options: run options and constructor arguments.

    A multi-worker strategy must exist before TensorFlow runs any operation:
    `run` makes it first, before loading data or building anything, so call
    `train` at the start of the program (or make the strategy there and pass it).
    """
    return run(RunConfig.resolve(model_name, out=out, config_file=config_file, assignments=assignments,
                                 model=model_options, **options))


def run(config):
    """Runs the `tfgen.config.RunConfig` `config`: data, model, callbacks and trainer; returns the `Trainer`."""
    model_class = config.model_class
    # Before any TensorFlow operation (a multi-worker strategy configures the process's collectives).
    strategy = distribute.make_strategy(config.strategy, collective_timeout=config.collective_timeout)
    if config.jit:
        jit_lib.check_strategy(strategy)  # before any data is read (the Trainer checks it again)
    check_run_dir(config.out, config.resume, argument="out")  # fail before loading any data
    check_own_folder(config.out, config.resume, config.force, argument="out")
    train_data, test_data = load_data(config.dataset, data_dir=config.data_dir, source_dir=config.source_dir,
                                      train_examples=config.train_examples, image_size=config.image_size,
                                      channels=config.channels, streaming=config.streaming)
    if "train_examples" in config.explicit:
        _enough_examples(train_data, config.train_examples)
    check_labelled(model_class, train_data)  # before a classifier is trained or a model built
    height, width, channels = (int(side) for side in train_data.image_shape)
    check_fits(f"batch_size={config.batch_size} (--batch-size)", config.batch_size, height * width * channels * 4,
               per=f" per batch of {height}x{width}x{channels} images (float32)", lower="--batch-size")
    if config.examples_per_class is not None:
        train_data = data_lib.labelled_split(train_data, config.examples_per_class,
                                             seed=config.split_seed).labelled_subset()
    # As loaded: the sample classifier trains on them, and the VHE's few-shot figure draws from the test split
    # even when the model trains without one.
    loaded_train, loaded_test = train_data, test_data
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    # The weights' initialisation follows the run's seed, as the data order and every draw of the steps do.
    keras.utils.set_random_seed(config.seed % 2**32)  # Keras takes [0, 2**32); the run seed is any int64
    # Under the strategy's scope: the variables the constructor makes (the VHE's codes). The model is built
    # before the sample classifier trains, so that a bad constructor argument fails before minutes of work and
    # before anything is written to the run folder.
    with strategy.scope():
        model, train_data, test_data = build_model_and_data(
            model_class, train_data, test_data, config.model, batch_size=config.batch_size,
            labels_per_class=config.labels_per_class, labelled_per_batch=config.labelled_per_batch,
            split_seed=config.split_seed)
    evaluator = None
    if _scores_samples(config, loaded_train) and distribute.is_chief(strategy):  # only the chief scores samples
        evaluator = sample_evaluator(loaded_train, loaded_test,
                                     config.classifier or os.path.join(config.out, CLASSIFIER_FILE),
                                     config.classifier_epochs, config.verbose)
    callbacks = run_callbacks(model, train_data, test_data, plot_every=config.plot_every, evaluator=evaluator,
                              reference_runs=config.reference_runs, few_shot_data=loaded_test, smoke=config.smoke)
    # force=True: the folder was checked above, before the sample classifier (named by --classifier, maybe) was
    # written into it.
    trainer = Trainer(model, train_data, config.out, test_data=test_data,
                      options=config.training_options().replace(strategy=strategy, force=True), callbacks=callbacks,
                      run_info=config.recorded())
    trainer.fit(resume=config.resume, max_steps=config.max_steps, resume_from=config.resume_from,
                allow_changes=config.allow_changes)
    if config.verbose:
        summarize(trainer)
    return trainer


def _scores_samples(config, train_data):
    """Whether the run scores its samples: the recipe's choice, unless the data has no labels to train the
    classifier on (then a ValueError when the scores were asked for explicitly)."""
    if not config.sample_scores or train_data.labels is not None:
        return config.sample_scores
    if "sample_scores" in config.explicit:
        raise ValueError(f"sample_scores needs labelled data (a classifier of the classes scores the samples); "
                         f"{train_data.name!r} has no labels. Pass sample_scores=False (--no-sample-scores).")
    if config.verbose:
        print(f"{train_data.name!r} has no labels: the samples are not scored (no classifier to train).")
    return False


#: The options of `train` other than the model's constructor arguments: `RunConfig`'s fields.
RUN_OPTIONS = tuple(field.name for field in run_options())


def run_callbacks(model, train_data, test_data, *, plot_every, evaluator=None, reference_runs=None,
                  few_shot_data=None, smoke=False):
    """The callbacks of a run of `model`: scores, then the model's figures (which draw the scores)."""
    callbacks = []
    if "cluster_scores" in model.figures and train_data.labels is not None:  # scored against the true labels
        callbacks.append(ClusterScoresCallback())
    if evaluator is not None:
        callbacks.append(GANDiagnosticsCallback(
            evaluator, test_data, num_samples=SMOKE["score_samples"] if smoke else SCORE_SAMPLES,
            code_samples=SMOKE["code_samples"] if smoke else CODE_SAMPLES,
        ))
    support = None
    if "few_shot" in model.figures:
        # Few-shot generation from `set_size` images of each class.
        source = few_shot_data if few_shot_data is not None else test_data if test_data is not None else train_data
        if source.labels is not None:  # unlabelled data has no classes to draw the shots from
            support = few_shot_support(source, shots=model.set_size)
    references = {name: read_json(os.path.join(run, HISTORY_FILE)) for name, run in (reference_runs or {}).items()}
    sizes = {"num_samples": SMOKE["figure_samples"], "per_class": SMOKE["figure_columns"]} if smoke else {}
    callbacks.append(PlotCallback(every=plot_every, support=support, reference_histories=references,
                                  evaluator=evaluator, **sizes))
    return callbacks


def summarize(trainer):
    """Prints the run's last epoch, and what the model's paper reports (e.g. q(y|x)'s test error)."""
    if trainer.history:
        last = trainer.history[-1]
        print(f"Epoch {last['epoch']}: " + ", ".join(
            f"{key} {value:.4g}" for key, value in last.items() if "/" in key and isinstance(value, float)))
    model = trainer.model
    if model.semi_supervised and trainer.test_data is not None:
        print(f"Test error of q(y|x) with {trainer.train_data.num_labelled} labels: "
              f"{100 * error_rate(model, trainer.test_data):.2f}%")
