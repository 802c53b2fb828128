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
import inspect
import os

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen import data as data_lib
from tfgen.evaluation import (
    ClusterScoresCallback,
    Evaluator,
    GANDiagnosticsCallback,
    error_rate,
    load_classifier,
    save_classifier,
    train_classifier,
)
from tfgen.models import AdversarialModel, GenerativeModel, get_model_class
from tfgen.plotting import PlotCallback
from tfgen.plotting.vhe import few_shot_support
from tfgen.training import Trainer
from tfgen.training.precision import check_precision
from tfgen.training import distribute
from tfgen.training.run_dir import HISTORY_FILE, check_run_dir, read_json

#: `train`'s smoke settings: a few steps on a few examples, for tests and a first look.
SMOKE = {"train_examples": 256, "epochs": 1, "steps_per_epoch": 4, "classifier_epochs": 1, "score_samples": 200,
         "code_samples": 50}
#: Samples scored per epoch by the GANs' diagnostics (and InfoGAN's samples per code at the end).
SCORE_SAMPLES = 1000
CODE_SAMPLES = 500
#: The classifier of the sample scores, saved in the run folder when no other path is given.
CLASSIFIER_FILE = "classifier.weights.h5"


def constructor_options(model_class):
    """{name: default} of the constructor arguments of `model_class`, those it passes on to its bases included.

    Read off the signatures, subclass first: a class whose `__init__` takes
    `**kwargs` passes them to its base, whose arguments are then options too,
    up to `GenerativeModel`'s own (`image_shape`; its `**kwargs` are Keras'),
    except those it fixes itself (`fixed_options`, e.g. M2's encoder always
    sees the label). Nothing is built (building a model would draw from the
    global random state and change the next model's initial weights). A
    conformance test checks that these are exactly the keys of `get_config`.
    """
    options, fixed = {}, set()
    for cls in model_class.__mro__:
        if not issubclass(cls, GenerativeModel):
            break
        fixed.update(vars(cls).get("fixed_options", ()))
        if "__init__" not in vars(cls):
            continue
        parameters = inspect.signature(cls.__init__).parameters
        for name, parameter in parameters.items():
            if name != "self" and parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                options.setdefault(name, parameter.default)
        if cls is GenerativeModel or not any(parameter.kind == parameter.VAR_KEYWORD
                                             for parameter in parameters.values()):
            break
    return {name: default for name, default in options.items() if name not in fixed}


def model_defaults(model_class):
    """The constructor arguments `train` uses by default: the class defaults with the recipe's on top."""
    return {**constructor_options(model_class), **model_class.recipe.model}


def load_data(dataset, *, data_dir=None, source_dir=None, train_examples=None, image_size=None, channels=None,
              streaming=None):
    """(train, test) `ImageDataset`s of `dataset`; the first `train_examples` of each when given.

    Args:
        dataset: a TFDS name ("mnist", "cifar10", ...), a folder of images
            (`tfgen.data.load`), an `ImageDataset` (trained on without a test
            set), or a (train, test) pair of them (test may be None).
        data_dir, source_dir: see `tfgen.data.load`.
        train_examples: only the first N examples of each split.
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


def _unconditional_models():
    """The registered models that train on unlabelled data, for the message of those that cannot."""
    from tfgen.models import MODELS

    return sorted(name for name, cls in MODELS.items() if not (cls.requires_labels or cls.semi_supervised))


def check_labelled(model_class, train_data):
    """Raises a ValueError when `model_class` needs labels (conditional, semi-supervised, class sets) and the data has none."""
    if train_data.labels is not None or not (model_class.requires_labels or model_class.semi_supervised):
        return
    name = getattr(model_class, "registered_name", model_class.__name__)
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


def _first(*values):
    """The first value that is not None (the last one when all are: a default of None)."""
    return next((value for value in values if value is not None), values[-1])


def _optimizer(learning_rate, beta_1):
    return keras.optimizers.Adam(learning_rate, beta_1=beta_1)


def train(
    model_name,
    *,
    out,
    dataset=None,
    epochs=None,
    batch_size=None,
    learning_rate=None,
    beta_1=None,
    discriminator_learning_rate=None,
    discriminator_beta_1=None,
    seed=None,
    binarization=None,
    eager=False,
    precision="float32",
    jit=False,
    strategy=None,
    resume=False,
    resume_from=None,
    allow_changes=False,
    max_nonfinite_steps=3,
    deterministic=False,
    plot_every=None,
    data_dir=None,
    source_dir=None,
    image_size=None,
    channels=None,
    streaming=None,
    max_steps=None,
    train_examples=None,
    steps_per_epoch=None,
    checkpoint_every_steps=None,
    labels_per_class=dataclasses.MISSING,
    labelled_per_batch=None,
    split_seed=0,
    examples_per_class=None,
    sample_scores=None,
    classifier=None,
    classifier_epochs=None,
    reference_runs=None,
    smoke=False,
    verbose=1,
    model_options=None,
    **model_kwargs,
):
    """Trains the registered model `model_name` as its paper does; returns the `Trainer`.

    Every argument left as None takes the model's `recipe` value.

    Args:
        model_name: a name from `tfgen.models.MODELS` ("vae", "dcgan", ...).
        out: the run directory.
        dataset: a TFDS name ("mnist", "fashion_mnist", "cifar10", ...), a
            folder of images, an `ImageDataset` or a (train, test) pair of
            them (`load_data`); default: the recipe's.
        epochs, batch_size, seed, binarization, eager, steps_per_epoch,
            checkpoint_every_steps: see `tfgen.training.Trainer`.
        precision: "float32" (default), "mixed_bfloat16" or "mixed_float16"
            (see `tfgen.training.Trainer` and `tfgen.training.precision`).
        jit: compile the training step with XLA.
        strategy: how to spread the steps over devices and hosts: None or
            "default" (the current strategy), "mirrored" (every GPU of this
            host), "multiworker" (every worker of the `TF_CONFIG` cluster,
            each with its GPUs; the run folder must be on a file system every
            worker sees, and only the chief writes it), or a
            `tf.distribute.Strategy` (`tfgen.training.distribute`). A
            multi-worker strategy must exist before TensorFlow runs any
            operation: `train` makes it first, before loading data or
            building anything, so call `train` at the start of the program
            (or make the strategy there and pass it).
        learning_rate, beta_1: Adam's (the generator's, for a GAN).
        discriminator_learning_rate, discriminator_beta_1: a GAN's discriminator's.
        resume: continue the run in `out`.
        resume_from: continue it from this older checkpoint ("ckpt-N");
            implies `resume`.
        allow_changes: let a resume change the recipe (see `Trainer.fit`).
        max_nonfinite_steps: stop after this many steps in a row with a
            non-finite loss or gradient (their updates are skipped).
        deterministic: `tf.config.experimental.enable_op_determinism()`
            for this process: GPU kernels then give the same result every
            time (slower; CPU runs are reproducible without it).
        plot_every: draw the model's figures every this many epochs (and at the end).
        data_dir: the TFDS data folder (TFDS's `data_dir`).
        source_dir: a folder with the original `.gz` files (offline build).
        image_size: crop and resize every image to this size (an int,
            (height, width) or "HxW"; default: the data's own). Recorded in
            `config.json`: a resume refuses a change.
        channels: 1 or 3 (default: the data's own); recorded likewise.
        streaming: read the data from a cache file on disk batch by batch
            (True), keep it in memory (False), or choose by size (None); the
            batches are the same either way (`tfgen.data.streaming`).
        max_steps: stop after this many steps (smoke runs, interruption tests).
        train_examples: train (and test) on the first N examples only.
        labels_per_class: semi-supervised models: labels kept per class,
            None for all (default: the recipe's).
        labelled_per_batch: semi-supervised models: labelled examples per batch.
        split_seed: the seed of the choice of labels (semi-supervised models,
            `examples_per_class`).
        examples_per_class: train on this many labelled examples of each
            class only, chosen by `split_seed` (e.g. a CVAE on 6, 60, 600
            or 6000 labels per class, to compare with the semi-supervised models).
        sample_scores: GANs: score the samples every epoch with a classifier
            of the data (label accuracy, diversity, Fréchet distance).
        classifier: the classifier's weights file (trained and saved there
            when missing; default: in the run folder).
        classifier_epochs: the classifier's training epochs.
        reference_runs: {name: run directory} whose loss curves the VHE's
            "nats per epoch" figure draws beside its own.
        smoke: a few steps on a few examples (`SMOKE`: it overrides `epochs`,
            `steps_per_epoch` and `classifier_epochs`), for tests.
        verbose: 0 silent, 1 progress bars and summaries.
        model_options: constructor arguments whose names are also run
            options here (e.g. the model's own `seed`).
        **model_kwargs: the model's constructor arguments (e.g. latent_dim=16).
    """
    model_class = get_model_class(model_name)
    recipe = model_class.recipe
    options = constructor_options(model_class)
    model_kwargs = {**(model_options or {}), **model_kwargs}
    unknown = sorted(set(model_kwargs) - set(options))
    if unknown:
        raise ValueError(f"{model_name!r} takes no option {unknown}. Its options: {sorted(options)}")
    if labels_per_class is dataclasses.MISSING:
        labels_per_class = recipe.labels_per_class
    elif not model_class.semi_supervised:
        raise ValueError(
            f"labels_per_class applies to the semi-supervised models only; {model_name!r} trains on every label. "
            f"Received: labels_per_class={labels_per_class!r}"
        )
    smoke_settings = SMOKE if smoke else {}
    dataset = data_lib.check_dataset(_first(dataset, recipe.dataset))
    image_size = data_lib.transforms.parse_image_size(image_size)
    channels = data_lib.transforms.check_channels(channels)
    if streaming is not None:
        _checks.boolean("streaming", streaming)
    # A smoke run is a few steps whatever else is asked: the examples pass their full settings with --smoke.
    epochs = _checks.positive_int("epochs", _first(smoke_settings.get("epochs"), epochs, recipe.epochs))
    batch_size = _checks.positive_int("batch_size", _first(batch_size, recipe.batch_size))
    seed = recipe.seed if seed is None else _checks.run_seed("seed", seed)
    learning_rate = _checks.positive_number("learning_rate", _first(learning_rate, recipe.learning_rate))
    _checks.positive_number("discriminator_learning_rate", discriminator_learning_rate, allow_none=True)
    beta_1 = _checks.number("beta_1", recipe.beta_1 if beta_1 is None else beta_1, minimum=0, maximum=1,
                            allow_maximum=False)
    train_examples = _checks.positive_int("train_examples", _first(train_examples, smoke_settings.get("train_examples"), None),
                                          allow_none=True)
    steps_per_epoch = _first(smoke_settings.get("steps_per_epoch"), steps_per_epoch, None)
    plot_every = _checks.positive_int("plot_every", _first(plot_every, recipe.plot_every))
    _checks.positive_int("max_steps", max_steps, allow_none=True)
    _checks.positive_int("checkpoint_every_steps", checkpoint_every_steps, allow_none=True)
    _checks.positive_int("max_nonfinite_steps", max_nonfinite_steps)
    check_precision(precision)
    if _checks.boolean("jit", jit) and eager:
        raise ValueError("jit=True (--jit) compiles the steps with XLA and eager=True (--eager) runs them without "
                         "tf.function: choose one. Received: eager=True, jit=True")
    requested_scores = sample_scores is not None and bool(sample_scores)
    sample_scores = recipe.sample_scores if sample_scores is None else bool(sample_scores)
    classifier_epochs = _first(smoke_settings.get("classifier_epochs"), classifier_epochs, recipe.classifier_epochs)
    resume = bool(resume) or resume_from is not None
    # Before any TensorFlow operation (a multi-worker strategy configures the process's collectives).
    strategy = distribute.make_strategy(strategy)
    chief = distribute.is_chief(strategy)
    check_run_dir(out, resume, argument="out")  # fail before loading any data
    # Bad constructor arguments fail here too, before any data is loaded (a throwaway model; the run's
    # seed is set below, so building it changes nothing of the run).
    model_class(**{key: value for key, value in {**recipe.model, **model_kwargs}.items()
                   if key not in ("num_classes", "num_examples")})

    train_data, test_data = load_data(dataset, data_dir=data_dir, source_dir=source_dir, train_examples=train_examples,
                                      image_size=image_size, channels=channels, streaming=streaming)
    check_labelled(model_class, train_data)  # before a classifier is trained or a model built
    if sample_scores and train_data.labels is None:
        if requested_scores:
            raise ValueError(f"sample_scores needs labelled data (a classifier of the classes scores the samples); "
                             f"{train_data.name!r} has no labels. Pass sample_scores=False (--no-sample-scores).")
        sample_scores = False
        if verbose:
            print(f"{train_data.name!r} has no labels: the samples are not scored (no classifier to train).")
    if examples_per_class is not None:
        train_data = data_lib.labelled_split(train_data, examples_per_class, seed=split_seed).labelled_subset()
    evaluator = None
    if sample_scores and chief:  # only the chief scores samples (and writes the classifier)
        evaluator = sample_evaluator(train_data, test_data, classifier or os.path.join(out, CLASSIFIER_FILE),
                                     classifier_epochs, verbose)
    few_shot_data = test_data  # the VHE's few-shot figure draws from the test split, even when it trains without one
    if _checks.boolean("deterministic", deterministic):
        tf.config.experimental.enable_op_determinism()
    # The weights' initialisation follows the run's seed, as the data order and every draw of the steps do.
    keras.utils.set_random_seed(seed % 2**32)  # Keras takes [0, 2**32); the run seed is any int64
    # Under the strategy's scope: the variables the constructor makes (the VHE's codes), and the optimizers
    # (Keras binds an optimizer to the strategy current when it is made).
    with strategy.scope():
        model, train_data, test_data = build_model_and_data(
            model_class, train_data, test_data, {**recipe.model, **model_kwargs}, batch_size=batch_size,
            labels_per_class=labels_per_class,
            labelled_per_batch=_first(labelled_per_batch, recipe.labelled_per_batch, None),
            split_seed=split_seed,
        )
        optimizer = _optimizer(learning_rate, beta_1)
        compile_kwargs = {}
        if isinstance(model, AdversarialModel):
            compile_kwargs["d_optimizer"] = _optimizer(
                _first(discriminator_learning_rate, recipe.discriminator_learning_rate, learning_rate),
                _first(discriminator_beta_1, recipe.discriminator_beta_1, beta_1),
            )
    callbacks = run_callbacks(model, train_data, test_data, plot_every=plot_every, evaluator=evaluator,
                              reference_runs=reference_runs, few_shot_data=few_shot_data, smoke=smoke)
    # The images' size and channels are part of the recipe (a resume refuses a change); a run written before
    # these options existed has neither key, and resumes with the defaults.
    run_info = {"recipe": model_name, "image_size": None if image_size is None else list(image_size),
                "channels": channels}
    if model_class.semi_supervised:
        run_info["labels_per_class"] = labels_per_class
    trainer = Trainer(
        model,
        train_data,
        out,
        test_data=test_data,
        epochs=epochs,
        batch_size=batch_size,
        optimizer=optimizer,
        compile_kwargs=compile_kwargs,
        seed=seed,
        binarization=_first(binarization, recipe.binarization, None),
        eager=eager,
        precision=precision,
        jit=jit,
        strategy=strategy,
        checkpoint_every_steps=checkpoint_every_steps,
        max_nonfinite_steps=max_nonfinite_steps,
        steps_per_epoch=steps_per_epoch,
        callbacks=callbacks,
        run_info=run_info,
        verbose=verbose,
    )
    trainer.fit(resume=resume, max_steps=max_steps, resume_from=resume_from, allow_changes=allow_changes)
    if verbose:
        summarize(trainer)
    return trainer


#: The run options of `train` (keyword arguments other than the model's constructor arguments).
RUN_OPTIONS = tuple(name for name, parameter in inspect.signature(train).parameters.items()
                    if parameter.kind == parameter.KEYWORD_ONLY and name != "model_options")


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
    callbacks.append(PlotCallback(every=plot_every, support=support, reference_histories=references,
                                  evaluator=evaluator))
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
