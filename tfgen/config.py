"""The options of a run, declared once: `TrainingOptions` (what the training loop needs) and `RunConfig` (a whole run).

A run's settings come from four places, in this order, each one overriding
the one before: the model's `recipe` (its paper's settings,
`tfgen.models.Recipe`), a `--config FILE` (JSON: run options by name and
"model": {constructor arguments}), `--set NAME=VALUE`, then the options
given explicitly (command-line flags, or keyword arguments of
`tfgen.runs.train`). `RunConfig.resolve` merges them once and returns a
frozen `RunConfig`, validated once: every failure is a ValueError naming the
option and the value received.

Every option is a field declared here with its check and its help, and
everything else derives from these declarations: `tfgen train`'s flags
(`tfgen.cli`), the keyword arguments of `tfgen.runs.train`, the `Trainer`'s
options (`TrainingOptions`), and the facts a run records in `config.json`
that a resume must find unchanged (`RunConfig.recorded`).

    config = RunConfig.resolve("cvae", out="runs/cvae", epochs=3, latent_dim=16)
    config.epochs, config.batch_size, config.model["latent_dim"]   # 3, 100 (the recipe's), 16
"""

import dataclasses
import json
import os
import types
import warnings

import numpy as np

from tfgen import _checks
from tfgen._files import read_json_file
from tfgen._memory import check_fits
from tfgen.data import BINARIZATIONS
from tfgen.data import transforms
from tfgen.models import get_model_class
from tfgen.models.options import constructor_options, model_defaults  # noqa: F401 (re-exported)

#: The values of `strategy` and `precision` (tfgen.training.distribute and tfgen.training.precision use them;
#: declared here, with the options, so that the run config needs nothing of the training package).
STRATEGIES = ("default", "mirrored", "multiworker")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
#: The default of `collective_timeout` (`--collective-timeout`, seconds): the longest a multi-worker start-up
#: waits for the other workers, and one collective op for them (a hung worker; a dead one is noticed sooner, by
#: the coordination service's heartbeats). Long enough for the chief's figures and scores between epochs, which
#: the other workers wait through at a collective (1800 s, the collectives' timeout before it was an option).
COLLECTIVE_TIMEOUT_S = 1800.0

#: What `smoke=True` (`--smoke`) sets: a few steps on a few examples, for tests and a first look. Epochs,
#: steps per epoch and the classifier's epochs are overridden whatever else is asked; the examples are a default.
#: Its figures draw few samples (`figure_samples` random ones, `figure_columns` per class): a diffusion model's sample is
#: 50 passes of its U-Net (two with guidance), and a first look's one-row-per-class figure of 10 x 10 took 30 of its
#: 48 s; 2 per class took 9 s of its 33.
SMOKE = {"train_examples": 256, "epochs": 1, "steps_per_epoch": 4, "classifier_epochs": 1, "score_samples": 200,
         "code_samples": 50, "figure_samples": 16, "figure_columns": 1}
_SMOKE_OVERRIDES = ("epochs", "steps_per_epoch", "classifier_epochs")


class RunWarning(UserWarning):
    """A run's settings are accepted but likely not what was meant (`tfgen train` prints it as one line)."""


# ------------------------------------------------------------------ how an option is declared


def _always(model_class):
    return True


def _adversarial(model_class):
    from tfgen.models import AdversarialModel

    return issubclass(model_class, AdversarialModel)


def _semi_supervised(model_class):
    return bool(model_class.semi_supervised)


def _needs_labels(model_class):
    return bool(model_class.requires_labels) and not model_class.semi_supervised


def _chooses_labels(model_class):
    return bool(model_class.requires_labels or model_class.semi_supervised)


def _has_presets(model_class):
    return bool(model_class.presets)


def _draws_nats_per_epoch(model_class):
    return "nats_per_epoch" in model_class.figures


def option(default, check, help="", *, recipe=False, parse=None, shown=None, applies=_always, flag=True,
           metavar=None, choices=None):
    """A field of `TrainingOptions` / `RunConfig`: its default and how it is checked, parsed and described.

    Args:
        default: the value when nothing sets it (None for a recipe option: the recipe's).
        check: `check(name, value)` -> the value, normalised; raises a ValueError naming `name`.
        help: the flag's help text, or `help(model_class)` -> that text.
        recipe: the model's `Recipe` has a value of this name, which replaces the default.
        parse: the command line's text -> value (None: a bool flag, --name / --no-name).
        shown: how `--help` shows the default (default: the value itself).
        applies: `applies(model_class)`: whether the option means anything for that model; an option
            that does not apply is not a flag of that model, and a value given for it is refused.
        flag: whether `tfgen train` has a flag for it: True, False, or a predicate of the model class
            (e.g. the sample scores are flags of the GANs only, although any model's samples can be scored).
        metavar: the flag's value in `--help` (default: the option's name in capitals).
        choices: the values the flag accepts, listed by `--help`.
    """
    metadata = {"check": check, "help": help, "recipe": recipe, "parse": parse, "shown": shown, "applies": applies,
                "flag": flag, "metavar": metavar, "choices": choices}
    return dataclasses.field(default=default, metadata=metadata)


def _optional(check):
    return lambda name, value: None if value is None else check(name, value)


def _positive_int(name, value):
    return _checks.positive_int(name, value)


def _positive_number(name, value):
    return _checks.positive_number(name, value)


def _beta_1(name, value):
    return _checks.number(name, value, minimum=0, maximum=1, allow_maximum=False)


def _fraction(name, value):
    return _checks.number(name, value, minimum=0.0, maximum=1.0)


def _boolean(name, value):
    return _checks.boolean(name, value)


def _choice(choices):
    return lambda name, value: _checks.choice(name, value, choices)


def _text(name, value):
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} must be a non-empty string. Received: {name}={value!r}")
    return value


def _path(name, value):
    if hasattr(value, "__fspath__"):
        value = value.__fspath__()
    return _text(name, value)


def _weights_file(name, value):
    from tfgen._files import WEIGHTS_SUFFIX, check_file_format

    return check_file_format(_path(name, value), (WEIGHTS_SUFFIX,), name)


def _strategy(name, value):
    if value is None or isinstance(value, str):
        return _checks.choice(name, "default" if value is None else value, STRATEGIES)
    import tensorflow as tf

    if not isinstance(value, tf.distribute.Strategy):
        raise ValueError(f"{name} must be one of {list(STRATEGIES)} or a tf.distribute.Strategy. "
                         f"Received: {name}={value!r}")
    return value  # a tf.distribute.Strategy (made ready by tfgen.training.distribute.make_strategy)


def _image_size(name, value):
    size = transforms.parse_image_size(value, argument=name)
    return None if size is None else tuple(size)


def _channels(name, value):
    return transforms.check_channels(value, argument=name)


def _dataset(name, value):
    from tfgen.data import check_dataset

    return check_dataset(value)


def _labels_per_class(name, value):
    return _checks.positive_int(name, value, allow_none=True)


def _resume_from(name, value):
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return _checks.non_negative_int(name, value)
    return _text(name, value)


def _reference_runs(name, value):
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(key, str) and isinstance(path, str)
                                              for key, path in value.items()):
        raise ValueError(f"{name} must be a {{name: run folder}} dict of strings. Received: {name}={value!r}")
    return types.MappingProxyType(dict(value))


def _verbose(name, value):
    return _checks.integer(name, value, minimum=0, maximum=2)


def _any(name, value):
    return value


# ------------------------------------------------------------------ the options


@dataclasses.dataclass(frozen=True)
class TrainingOptions:
    """What `tfgen.training.Trainer` needs of a run: every field checked when the options are made.

    Attributes:
        epochs: the number of epochs to train for (in total, across resumes).
        batch_size: the global batch size (split over replicas).
        learning_rate: Adam's learning rate (the generator's, for a GAN).
        beta_1: Adam's beta_1 (the generator's, for a GAN).
        discriminator_learning_rate: a GAN's discriminator's learning rate (None: `learning_rate`).
        discriminator_beta_1: a GAN's discriminator's beta_1 (None: `beta_1`).
        seed: the run's seed: the initial weights, the data order, the
            binarization and every random draw of the steps derive from it.
        binarization: "dynamic", "threshold" or "none" (None: the model's own).
        eager: run the steps eagerly instead of under `tf.function`.
        precision: "float32", "mixed_bfloat16" or "mixed_float16".
        jit: compile each replica's step with XLA. Not with `eager`.
        strategy: "default", "mirrored", "multiworker" or a `tf.distribute.Strategy`.
        checkpoint_every_steps: also checkpoint every this many steps.
        max_checkpoints: how many checkpoints to keep (plus the one before them).
        max_nonfinite_steps: stop after this many steps in a row with a
            non-finite loss or gradient (their updates are skipped).
        steps_per_epoch: cut epochs short to this many steps.
        min_applied_updates: the share of the run's updates that must
            be applied, not skipped as non-finite, for the run to succeed
            (`TrainingDiverged` otherwise); an epoch with no applied update
            always stops the run.
        force: let a new run write into a folder that holds files tfgen did
            not write (beside them; none of them is read, changed or
            removed). Without it such a folder is refused. Not part of the
            recipe: a resume neither records nor compares it.
        verbose: 0 silent, 1 progress bars and summaries.
    """

    epochs: int = option(None, _positive_int, recipe=True, parse=int)
    batch_size: int = option(None, _positive_int, recipe=True, parse=int)
    learning_rate: float = option(None, _positive_number, recipe=True, parse=float,
                                  help=lambda cls: "Adam's learning rate" + (" for G" if _adversarial(cls) else ""))
    beta_1: float = option(None, _beta_1, recipe=True, parse=float,
                           help=lambda cls: "Adam's beta_1" + (" for G" if _adversarial(cls) else ""))
    discriminator_learning_rate: float = option(
        None, _optional(_positive_number), recipe=True, parse=float, shown="G's", applies=_adversarial,
        help="Adam's learning rate for D")
    discriminator_beta_1: float = option(None, _optional(_beta_1), recipe=True, parse=float, shown="G's",
                                         applies=_adversarial, help="Adam's beta_1 for D")
    seed: int = option(None, _checks.run_seed, recipe=True, parse=int,
                       help="the run's seed: initial weights, data order, every random draw")
    binarization: str = option(None, _optional(_choice(BINARIZATIONS)), recipe=True, parse=str,
                               shown="the model's data contract", choices=BINARIZATIONS,
                               help="how the pixels are binarized")
    eager: bool = option(False, _boolean, help="run the steps eagerly (debugging)")
    precision: str = option("float32", _choice(PRECISIONS), parse=str, choices=PRECISIONS,
                            help="mixed_bfloat16 / mixed_float16: layers compute in 16 bits, variables and losses "
                                 "stay float32; float16 adds loss scaling (GPUs with tensor cores; slower on CPUs)")
    jit: bool = option(False, _boolean, help="compile the training step with XLA (jit_compile)")
    strategy: object = option(None, _strategy, parse=str, shown="default", choices=STRATEGIES,
                              help="spread the steps over this host's GPUs (mirrored) or over the hosts of the "
                                   "TF_CONFIG cluster (multiworker; the run folder on a shared file system)")
    checkpoint_every_steps: int = option(None, _optional(_positive_int), parse=int, shown="none",
                                         help="also checkpoint every N steps")
    max_checkpoints: int = option(3, _positive_int, flag=False)
    max_nonfinite_steps: int = option(3, _positive_int, parse=int,
                                      help="stop after this many steps in a row with a non-finite loss or gradient "
                                           "(their updates are skipped)")
    steps_per_epoch: int = option(None, _optional(_positive_int), parse=int, shown="none", help="cut epochs short")
    min_applied_updates: float = option(0.5, _fraction, parse=float, help=(
        "the share of a run's updates that must be applied (not skipped as non-finite) for it to end as a success; "
        "an epoch that applies none always fails the run"))
    force: bool = option(False, _boolean, help=(
        "train a new run in an --out folder that holds files tfgen did not write, beside them (none of them is "
        "read, changed or removed); without it such a folder is refused"))
    verbose: int = option(1, _verbose, flag=False)

    def __post_init__(self):
        defaults = _recipe_defaults()
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None and field.metadata["recipe"] and defaults.get(field.name) is not None:
                value = defaults[field.name]  # made directly, not resolved: the default recipe's value
            object.__setattr__(self, field.name, field.metadata["check"](field.name, value))
        self._check_together()

    def _check_together(self):
        if self.jit and self.eager:
            raise ValueError("jit=True (--jit) compiles the steps with XLA and eager=True (--eager) runs them without "
                             "tf.function: choose one. Received: eager=True, jit=True")

    def replace(self, **changes):
        """A copy with `changes` (checked like the original)."""
        return dataclasses.replace(self, **changes)


def _recipe_defaults():
    """The default `Recipe`'s values: the defaults of the recipe options of options made without a model."""
    from tfgen.models import Recipe

    return dataclasses.asdict(Recipe())


@dataclasses.dataclass(frozen=True)
class RunConfig(TrainingOptions):
    """Every setting of a run of a registered model: resolved once (`RunConfig.resolve`), checked once.

    The fields of `TrainingOptions`, and:

    Attributes:
        model_name: the registered model ("vae", "dcgan", ...).
        out: the run folder.
        model: the model's constructor arguments (the recipe's, then the
            ones given); those that describe the data (`num_classes`,
            `num_examples`, `image_shape`) default to the data's.
        dataset: a TFDS name, a folder of images, an `ImageDataset` or a
            (train, test) pair of them (`tfgen.runs.load_data`).
        data_dir: the TFDS data folder (TFDS's `data_dir`).
        source_dir: a folder with the original `.gz` files (offline build).
        image_size: crop and resize every image to (height, width) (None:
            the data's own); `config.json` records it: a resume refuses a change.
        channels: 1 or 3 (None: the data's own); recorded likewise.
        streaming: read the data from a cache file batch by batch (True),
            from memory (False), or choose by size (None).
        train_examples: train (and test) on the first N examples only.
        resume: continue the run in `out`.
        resume_from: continue it from this older checkpoint ("ckpt-N").
        allow_changes: let a resume change the recipe.
        deterministic: deterministic GPU kernels.
        plot_every: draw the figures every this many epochs.
        max_steps: stop after this many steps.
        labels_per_class: semi-supervised models: labels kept per class (None: all).
        labelled_per_batch: semi-supervised models: labelled examples per
            batch (None: a tenth of the batch when labels are scarce).
        split_seed: the seed of the choice of labels.
        examples_per_class: train on this many labelled examples per class.
        sample_scores: score the samples every epoch with a classifier of the data.
        classifier: the classifier's weights file (default: in the run folder).
        classifier_epochs: the classifier's training epochs.
        reference_runs: {name: run folder} whose losses the VHE's "nats per epoch" figure draws.
        smoke: a few steps on a few examples (`SMOKE`).
        preset: the name of one of the model's `presets`, the recipe the run
            starts from instead of the model's default `recipe`.
        collective_timeout: multiworker: the seconds the start-up waits for
            the other workers, and one collective op for them.
        explicit: the names of the run options given explicitly (not the
            recipe's or a default), e.g. sample scores asked for on data
            without labels are an error, the recipe's are dropped with a note.
    """

    model_name: str = option(None, _text, flag=False)
    out: str = option(None, _path, flag=False)
    model: dict = option(None, _any, flag=False)
    dataset: object = option(None, _dataset, recipe=True, parse=str, metavar="NAME_OR_FOLDER", help=(
        "a TFDS image dataset (mnist, fashion_mnist, cifar10, svhn_cropped, celeb_a, name:version, name/config) or a "
        "folder of images (class sub-folders give labels)"))
    image_size: tuple = option(None, _image_size, parse=str, shown="the data's own", metavar="N|HxW",
                               help="crop to the aspect ratio and resize every image to N x N or HxW")
    channels: int = option(None, _channels, parse=int, shown="the data's own", choices=(1, 3),
                           help="1 (grey) or 3 (RGB)")
    streaming: bool = option(None, _optional(_boolean), shown="by size",
                             help="read the images batch by batch from a cache file on disk (--no-streaming: in "
                                  "memory); the batches are the same")
    data_dir: str = option(None, _optional(_path), parse=str, shown="TFDS's own, or TFDS_DATA_DIR",
                           help="the TFDS data folder (TFDS's data_dir); a folder holding the original .gz files is "
                                "still taken as --source-dir, the flag's old meaning (deprecated)")
    source_dir: str = option(None, _optional(_path), parse=str, shown="TFGEN_DATA_DIR",
                             help="a folder with the original .gz files, to build the dataset offline")
    train_examples: int = option(None, _optional(_positive_int), parse=int, shown="all",
                                 help="use only the first N examples")
    resume: bool = option(False, _boolean, help="continue the run in --out")
    resume_from: str = option(None, _optional(_resume_from), parse=str, shown="none", metavar="CKPT",
                              help="continue the run in --out from this older checkpoint (e.g. ckpt-1200; the newer "
                                   "ones are moved to checkpoints/superseded-N/)")
    allow_changes: bool = option(False, _boolean, help=(
        "let --resume change the recipe (seed, batch size, learning rates, binarization, dataset, model options); "
        "config.json records the changes"))
    deterministic: bool = option(False, _boolean, help=(
        "deterministic GPU kernels (tf.config.experimental.enable_op_determinism; slower; CPU runs are "
        "reproducible without it)"))
    plot_every: int = option(None, _positive_int, recipe=True, parse=int, help="draw the figures every N epochs")
    max_steps: int = option(None, _optional(_positive_int), parse=int, shown="none",
                            help="stop after this many steps")
    labels_per_class: int = option(None, _labels_per_class, recipe=True, parse=_checks.parse_labels_per_class,
                                   applies=_semi_supervised, help="labels kept per class, or 'all'")
    labelled_per_batch: int = option(None, _optional(_positive_int), recipe=True, parse=int,
                                     shown="a tenth of the batch", applies=_semi_supervised,
                                     help="labelled examples in every batch when labels are scarce")
    split_seed: int = option(0, _checks.seed, parse=int, applies=_chooses_labels,
                             help="the seed of the choice of labels")
    examples_per_class: int = option(None, _optional(_positive_int), parse=int, shown="all",
                                     flag=_needs_labels, help=(
                                         "train on this many labelled examples of each class only, chosen by "
                                         "--split-seed (e.g. 6, 60, 600: the comparison with the semi-supervised "
                                         "models)"))
    sample_scores: bool = option(None, _boolean, recipe=True, flag=_adversarial, help=(
        "score the samples every epoch with a classifier trained on the data"))
    classifier: str = option(None, _optional(_weights_file), parse=str, shown="in the run folder", flag=_adversarial,
                             metavar="FILE",
                             help="the classifier's .weights.h5 (trained and saved there when missing)")
    classifier_epochs: int = option(None, _positive_int, recipe=True, flag=False)
    reference_runs: dict = option(None, _reference_runs, flag=False, applies=_draws_nats_per_epoch)
    smoke: bool = option(False, _boolean, help="a few steps on a few examples (a first look, tests)")
    preset: str = option(None, _optional(_text), parse=str, shown="none", applies=_has_presets,
                         help=lambda model_class: "a named recipe in place of the default: " + "; ".join(
                             f"{name} ({recipe.source})" for name, recipe in model_class.presets.items()))
    collective_timeout: float = option(COLLECTIVE_TIMEOUT_S, _positive_number, parse=float, metavar="SECONDS", help=(
        "multiworker: the longest the start-up waits for the other workers of TF_CONFIG, and one collective op for "
        "them; then the run stops naming the workers that never answered"))
    explicit: frozenset = option(frozenset(), lambda name, value: frozenset(value), flag=False)

    def _check_together(self):
        super()._check_together()
        if self.image_size is not None:  # a batch of the resized images, float32, before any data is loaded
            height, width = self.image_size
            check_fits(f"image_size={height}x{width} (--image-size) with batch_size={self.batch_size}",
                       self.batch_size, height * width * (self.channels or 1) * 4, lower="--image-size or --batch-size",
                       per=f" per batch of {self.batch_size} images (float32)")
        model_class = get_model_class(self.model_name)
        if not isinstance(self.model, (dict, types.MappingProxyType)):
            raise ValueError(f"model must be a dict of constructor arguments. Received: model={self.model!r}")
        known = constructor_options(model_class)
        unknown = sorted(set(self.model) - set(known))
        if unknown:
            raise ValueError(f"{self.model_name!r} takes no option {unknown}. Its options: {sorted(known)}")
        object.__setattr__(self, "model", types.MappingProxyType(dict(self.model)))
        if self.allow_changes and not self.resume:
            raise ValueError("allow_changes=True (--allow-changes) lets a resume change the recipe; this run does not "
                             "resume. Add --resume (or --resume-from CKPT), or leave --allow-changes out.")
        if os.environ.get("TF_CONFIG") and self.strategy != "multiworker":
            warnings.warn(f"TF_CONFIG is set, but the strategy is {self.strategy or 'default'!r}: this process trains "
                          f"alone and ignores the cluster it describes. Pass --strategy multiworker "
                          f"(strategy=\"multiworker\") to join it, or unset TF_CONFIG.", RunWarning, stacklevel=3)

    # -------------------------------------------------------------- making one

    @classmethod
    def resolve(cls, model_name, *, overrides=None, config_file=None, assignments=(), **given):
        """The run of `model_name`: its recipe, then `overrides`, `config_file`, `assignments` and `given`.

        Args:
            model_name: a registered model's name (`tfgen.models.MODELS`).
            overrides: {name: value} of run options and constructor
                arguments that replace the recipe's (an example script's
                changes to its model's recipe); the rest override them.
            config_file: a JSON file (or an already read dict) of run
                options by name and "model": {constructor arguments}.
            assignments: (name, value) pairs, `--set NAME=VALUE`: a
                constructor argument when the model has one of that name
                (the model's own `seed`), else a run option.
            **given: run options and constructor arguments, explicitly
                given (command-line flags, keyword arguments); a value for
                `model` is a dict of constructor arguments.

        Raises:
            ValueError: naming the option, for an unknown name, a value that
                fails its check, an option that does not apply to the model,
                or the same option given twice with different values.
        """
        model_class = get_model_class(model_name)
        run_fields = {field.name: field for field in run_options()}
        model_options = constructor_options(model_class)
        layers = []  # (where, run options, constructor arguments), in increasing precedence
        if overrides:
            layers.append(("the overrides", *_split(model_name, dict(overrides), run_fields, model_options)))
        if config_file is not None:
            layers.append(("the --config file", *_read_config_file(config_file, run_fields, model_name)))
        run, model = {}, {}
        for name, value in assignments:
            if name in model_options:
                _set_once(model, name, value, "--set")
            elif name in run_fields:
                _set_once(run, name, value, "--set")
                _check_source(run_fields[name], value, f"--set {name}=...")
            else:
                raise ValueError(f"{model_name!r} takes no option {[name]} (--set {name}=...)."
                                 f"{_checks.did_you_mean(name, [*model_options, *run_fields])} Its options: "
                                 f"{sorted(model_options)}; run options: {sorted(run_fields)}")
        layers.append(("--set", run, model))
        model = dict(given.pop("model", None) or {})
        run, named = _split(model_name, given, run_fields, model_options)
        layers.append(("the flags", run, {**model, **named}))
        _refuse_conflicts(layers)
        _report_overridden(layers)

        explicit = {name: value for _, run, _ in layers for name, value in run.items()}
        for name in explicit:
            if not run_fields[name].metadata["applies"](model_class):
                raise ValueError(_does_not_apply(run_fields[name], model_name, explicit[name]))
        recipe = _recipe(model_class, explicit.get("preset"))
        values = {name: getattr(recipe, name) for name, field in run_fields.items()
                  if field.metadata["recipe"] and hasattr(recipe, name)}
        values.update(explicit)
        if _checks.boolean("smoke", values.get("smoke", False)):
            ignored = [f"{name}={explicit[name]!r}" for name in _SMOKE_OVERRIDES
                       if explicit.get(name) is not None and explicit[name] != SMOKE[name]]
            if ignored:
                warnings.warn(f"smoke=True (--smoke) runs {SMOKE['epochs']} epoch of {SMOKE['steps_per_epoch']} "
                              f"steps whatever else is asked: {', '.join(ignored)} is ignored. Leave out --smoke "
                              f"for a run of that length.", RunWarning, stacklevel=2)
            values.update({name: SMOKE[name] for name in _SMOKE_OVERRIDES})
            if values.get("train_examples") is None:
                values["train_examples"] = SMOKE["train_examples"]
        if values.get("resume_from") is not None:
            if explicit.get("resume") is False:
                raise ValueError(f"resume_from={values['resume_from']!r} (--resume-from) continues the run from that "
                                 f"checkpoint, and resume=False (--no-resume) asks for a new run: choose one. "
                                 f"Received: resume=False, resume_from={values['resume_from']!r}")
            values["resume"] = True
        if explicit.get("examples_per_class") is not None and explicit.get("labels_per_class") is not None:
            raise ValueError(
                f"examples_per_class (--examples-per-class) trains on that many labelled examples of each class and "
                f"drops the rest, labels_per_class (--labels-per-class) keeps every example and that many labels "
                f"per class: choose one. Received: examples_per_class={explicit['examples_per_class']!r}, "
                f"labels_per_class={explicit['labels_per_class']!r}")
        options = {**recipe.model}
        for _, _, model in layers:
            options.update(model)
        return cls(model_name=model_name, model=options, explicit=frozenset(explicit), **values)

    # -------------------------------------------------------------- what derives from it

    @property
    def model_class(self):
        """The registered model class."""
        return get_model_class(self.model_name)

    def training_options(self):
        """The `TrainingOptions` of this run (what the `Trainer` takes)."""
        names = [field.name for field in dataclasses.fields(TrainingOptions)]
        return TrainingOptions(**{name: getattr(self, name) for name in names})

    def recorded(self):
        """The facts of the run that `config.json` records beside the trainer's own and a resume compares:
        the recipe's name, the images' size and channels, the examples trained on (`train_examples`, and
        `examples_per_class` with its `split_seed`) and the semi-supervised models' labels per class (and the
        seed of their choice)."""
        facts = {"recipe": self.model_name, "image_size": None if self.image_size is None else list(self.image_size),
                 "channels": self.channels}
        if self.model_class.semi_supervised:
            facts["labels_per_class"] = self.labels_per_class
        # The examples trained on: a resume that would read others is a change of recipe (--allow-changes).
        facts["train_examples"] = self.train_examples
        if self.examples_per_class is not None:
            facts["examples_per_class"] = self.examples_per_class
        if _chooses_labels(self.model_class) or self.examples_per_class is not None:
            facts["split_seed"] = self.split_seed
        return facts

    def to_json(self):
        """The run as a JSON object: "model_name", the run options that apply to the model and "model" (the
        constructor arguments); `--config FILE` reads it back (a dataset in memory is only named)."""
        values = {"model_name": self.model_name}
        for field in run_options():
            if field.metadata["applies"](self.model_class):
                values[field.name] = _jsonable(getattr(self, field.name))
        values["model"] = _jsonable(self.model)
        return json.loads(json.dumps(values))


def _recipe(model_class, preset):
    """The recipe of a run of `model_class`: its default, or the named `preset`."""
    if preset is None:
        return model_class.recipe
    if preset not in model_class.presets:
        known = sorted(model_class.presets)
        raise ValueError(f"{model_class.registered_name!r} has no preset {preset!r}"
                         + (f"; its presets: {known}." if known else " (it has none)."))
    return model_class.presets[preset]


def _jsonable(value):
    if isinstance(value, (types.MappingProxyType, dict)):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, (tuple, list)):
        return [_jsonable(item) for item in value]
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    return repr(value)


def _split(model_name, options, run_fields, model_options):
    """({run option: value}, {constructor argument: value}) of `options`; a name that is both is a run option."""
    run, model = {}, {}
    for name, value in options.items():
        if name in run_fields:
            run[name] = value
        elif name in model_options:
            model[name] = value
        else:
            raise ValueError(f"{model_name!r} takes no option {[name]}.{_checks.did_you_mean(name, model_options)} "
                             f"Its options: {sorted(model_options)}")
    return run, model


def _check_source(field, value, where):
    """`field`'s check of a `value` read from `where` (the --config file, --set): a refusal names the source too.
    The dataset is checked once, with the merged values (its check may look at the disk)."""
    if field.name == "dataset":
        return
    try:
        field.metadata["check"](field.name, value)
    except ValueError as error:
        raise ValueError(f"{error} (in {where})") from None


def _report_overridden(layers):
    """One `RunWarning` line listing the --config file's values that --set or the flags replace with others."""
    bases = [layer for layer in layers if layer[0] == "the --config file"]
    if not bases:
        return
    _, base_run, base_model = bases[0]
    replaced = []
    for where, run, model in layers[layers.index(bases[0]) + 1:]:
        for base, values in ((base_run, run), (base_model, model)):
            for name, value in values.items():
                if name in base and base[name] != value:
                    replaced.append(f"{name}={value!r} ({where}) replaces {base[name]!r}")
    if replaced:
        warnings.warn(f"The --config file's values are replaced: {'; '.join(replaced)}.", RunWarning, stacklevel=3)


def _set_once(values, name, value, where):
    if name in values and values[name] != value:
        raise ValueError(f"{name} is given twice with different values ({where}): {values[name]!r} and {value!r}. "
                         f"Give it once.")
    values[name] = value


def _refuse_conflicts(layers):
    """A ValueError when two of the explicit sources (--set and the flags) give one option different values
    (the overrides and the --config file are bases that the others override, as the recipe is)."""
    explicit = [layer for layer in layers if layer[0] not in ("the --config file", "the overrides")]
    for part in (1, 2):
        seen = {}
        for where, *values in explicit:
            for name, value in values[part - 1].items():
                if name in seen and seen[name][1] != value:
                    raise ValueError(
                        f"{name} is given twice with different values: {seen[name][1]!r} ({seen[name][0]}) and "
                        f"{value!r} ({where}). Give it once.")
                seen[name] = (where, value)


def _does_not_apply(field, model_name, value):
    from tfgen.models import MODELS

    model_class, name = get_model_class(model_name), field.name
    if field.metadata["applies"] is _semi_supervised:
        why = f"{name} applies to the semi-supervised models only; {model_name!r} trains on every label"
    elif field.metadata["applies"] is _adversarial:
        why = f"{name} applies to the GANs only; {model_name!r} ({model_class.__name__}) has one optimizer"
    else:
        names = sorted(other for other, cls in MODELS.items() if field.metadata["applies"](cls))
        why = f"{name} applies to {', '.join(names)} only, not to {model_name!r}"
    return f"{why}. Received: {name}={value!r}"


def _not_json(constant):
    raise ValueError(f"{constant} is not a JSON value (write a number, or null)")


def _read_config_file(config_file, run_fields, model_name):
    """(run options, constructor arguments) of a `--config` JSON file (or dict), each run option checked (the
    message names the file), unknown names refused. Strict JSON: NaN and Infinity are refused. A "model_name"
    (`RunConfig.to_json` writes it) must be the model trained."""
    if isinstance(config_file, dict):
        config, where = dict(config_file), "the --config options"
    else:
        try:
            config = read_json_file(config_file, "--config file", expect=dict,  # names what is wrong with it
                                    parse_constant=_not_json)
        except OSError as error:
            raise ValueError(f"Cannot read the --config file {config_file!r}: {error}") from error
        where = f"the --config file {config_file!r}"
    model = config.pop("model", None) or {}
    if not isinstance(model, dict):
        raise ValueError(f"\"model\" in {where} must be a JSON object of constructor arguments. "
                         f"Received: {type(model).__name__}")
    if "model_name" in config:
        written_for = config.pop("model_name")
        if written_for != model_name:
            raise ValueError(f"{where} is the configuration of {written_for!r} (its \"model_name\"), not of "
                             f"{model_name!r}: train {written_for!r}, or remove \"model_name\" from the file.")
    unknown = sorted(set(config) - set(run_fields))
    if unknown:
        raise ValueError(f"Unknown options {unknown} in {where}.{_checks.did_you_mean(unknown[0], run_fields)} "
                         f"Known: {sorted(run_fields)}")
    for name, value in config.items():
        _check_source(run_fields[name], value, where)
    return config, model


def run_options():
    """The run options' fields (`dataclasses.Field`s of `RunConfig`), in declaration order."""
    return [field for field in dataclasses.fields(RunConfig) if field.name not in ("model_name", "model", "explicit")]
