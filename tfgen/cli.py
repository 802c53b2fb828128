"""The `tfgen` command line: argument parsing only; the work is in tfgen's modules.

`tfgen train MODEL` has one sub-command per registered model: its options
and their defaults (the model's paper settings, `Recipe`) are that model's,
every constructor argument is a flag of its own (or `--set NAME=VALUE`), and
`--config FILE` reads any of them from a JSON file.
"""

import argparse
import contextlib
import json
import os
import re
import signal
import sys
import warnings

DATA_DIR_HELP = "the TFDS data folder (TFDS's data_dir; default: TFDS's own, or TFDS_DATA_DIR)"
SOURCE_DIR_HELP = "a folder with the original .gz files, to build the dataset offline (default: TFGEN_DATA_DIR)"


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {value}")
    return value


def _class_label(text):
    """--label: an integer class id, or else a class name (looked up in the export's manifest)."""
    try:
        return int(text)
    except ValueError:
        return text


def _seed(text):
    from tfgen._checks import SEED_RANGE

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, received {text!r}") from None
    if not SEED_RANGE[0] <= value <= SEED_RANGE[1]:
        raise argparse.ArgumentTypeError(f"expected an integer in [{SEED_RANGE[0]}, {SEED_RANGE[1]}] (int64), "
                                         f"received {value}")
    return value


def _command(argv):
    """The command of the arguments `argv` (their first that is not an option), or None."""
    return next((argument for argument in argv if not argument.startswith("-")), None)


def _version():
    """"tfgen X (TensorFlow Y, Keras Z, Python W)", read from the installed packages' metadata (no import)."""
    from importlib import metadata

    from tfgen import __version__

    def installed(package):
        try:
            return metadata.version(package)
        except metadata.PackageNotFoundError:
            return "not installed"

    return (f"tfgen {__version__} (TensorFlow {installed('tensorflow')}, Keras {installed('keras')}, "
            f"Python {sys.version.split()[0]})")


def import_tensorflow_quietly():
    """Imports TensorFlow with its C++ start-up log (oneDNN, CUDA stubs, CPU features, the CUDA driver's
    absence: up to nine lines of "I0000 ..." on stderr that TF_CPP_MIN_LOG_LEVEL no longer silences) sent to
    /dev/null.

    The command line calls it before anything imports TensorFlow. A failed import still raises, once the
    stream is back. A user who sets TF_CPP_MIN_LOG_LEVEL (to any level) or TFGEN_DEBUG=1 sees the log.
    """
    if "tensorflow" in sys.modules or os.environ.get("TFGEN_DEBUG") or "TF_CPP_MIN_LOG_LEVEL" in os.environ:
        return
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"  # the Python side's INFO and WARNING lines too
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow
            import keras  # noqa: F401

            # The platforms' first look for devices logs too ("failed call to cuInit" on a machine without a
            # GPU); listing them does not start the runtime, so a multi-worker strategy can still be made.
            tensorflow.config.list_physical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (the usage is one `--help` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _not_json(constant):
    raise json.JSONDecodeError(f"{constant} is not JSON", constant, 0)


def _json_value(text):
    """A JSON value, or the text itself when it is not JSON (so --set name=concat works); NaN and Infinity are
    not JSON: they stay text, which the option's check refuses."""
    try:
        return json.loads(text, parse_constant=_not_json)
    except json.JSONDecodeError:
        return text


def _assignment(text):
    name, separator, value = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, received {text!r}")
    return name.strip().replace("-", "_"), _json_value(value)


def _kinds():
    """{kind: the function that parses a flag's text}: the kinds of `tfgen.catalog`'s arguments."""
    from tfgen._checks import parse_labels_per_class

    return {"int": int, "float": float, "str": str, "json": _json_value, "assignment": _assignment,
            "labels_per_class": parse_labels_per_class}


def _add_arguments(parser, description):
    """The arguments of `tfgen train NAME`, from the model's `tfgen.catalog` description."""
    kinds = _kinds()
    for group in description["groups"]:
        arguments = parser.add_argument_group(group["title"], group["description"])
        for argument in group["arguments"]:
            # argparse leaves a flag out only when its default *is* argparse.SUPPRESS: the string read from the
            # catalog is equal to it but another object.
            default = argparse.SUPPRESS if argument["default"] == argparse.SUPPRESS else argument["default"]
            options = {"dest": argument["dest"], "help": argument["help"].replace("%", "%%"), "default": default}
            if argument["kind"] == "bool":  # --name / --no-name
                arguments.add_argument(argument["flag"], action=argparse.BooleanOptionalAction, **options)
                continue
            for key in ("nargs", "choices", "metavar", "action"):
                if argument[key] is not None:
                    options[key] = argument[key]
            if argument["required"]:
                options["required"] = True
            arguments.add_argument(argument["flag"], type=kinds[argument["kind"]], **options)


def _add_train_parser(commands, with_models=True):
    train = commands.add_parser("train", help="train a model end to end, as its paper does",
                                description="Train a model end to end. `tfgen train MODEL --help` lists the "
                                            "model's options and its paper's defaults; `tfgen models` lists the "
                                            "models.")
    if not with_models:
        return train
    from tfgen import catalog

    models = train.add_subparsers(dest="model", required=True, metavar="MODEL", title="models")
    for name, description in catalog.load()["models"].items():
        parser = models.add_parser(name, help=description["summary"],
                                   description=f"Train {name} ({description['class']}). "
                                               f"Defaults: {description['recipe']['source']}.")
        parser.set_defaults(model_name=name)
        _add_arguments(parser, description)
    return train


def train_command(model_name, argv=None, *, out, description=None, **overrides):
    """`tfgen train MODEL_NAME` with other defaults: what an example script runs. Returns the exit status.

    The recipe's values are replaced by `overrides` (run options and
    constructor arguments), which the command line (`argv`, default
    `sys.argv[1:]`) overrides in turn, as `--config`, `--set` and every flag
    of `tfgen train MODEL_NAME` do; `--help` shows the defaults in force.

    Args:
        model_name: a registered model's name.
        argv: the command line's arguments.
        out: the default run folder.
        description: the `--help` text (an example's docstring).
        **overrides: the defaults that replace the recipe's.
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    import_tensorflow_quietly()
    parser = _Parser(prog=os.path.basename(sys.argv[0]) or "tfgen", description=description,
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(command="train", model_name=model_name)
    from tfgen import catalog

    _add_arguments(parser, catalog.describe(model_name, out=out, overrides=overrides))
    return _main(_parse(parser, argv), overrides)


def _parse(parser, argv):
    """`parser.parse_args(argv)`, but an unknown argument is reported by the (sub-)command it was given to,
    "tfgen train vae: error: unrecognized arguments: --bogus", with the closest of its flags."""
    args, extras = parser.parse_known_args(argv)
    if extras:
        command = parser
        for name in ("command", "model"):
            commands = next((action for action in command._actions
                             if isinstance(action, argparse._SubParsersAction)), None)
            if commands is None or getattr(args, name, None) not in commands.choices:
                break
            command = commands.choices[getattr(args, name)]
        from tfgen._checks import did_you_mean

        flag = next((extra.split("=")[0] for extra in extras if extra.startswith("-")), None)
        hint = did_you_mean(flag, command._option_string_actions).rstrip("?") if flag else ""
        command.error(f"unrecognized arguments: {' '.join(extras)}" + (f".{hint}?" if hint else ""))
    return args


def _parser(argv=()):
    """The command line's parser. The models' options of `tfgen train` are added only when the command is
    `train` (they need the models, hence TensorFlow): `tfgen --help` and `--version` answer at once."""
    parser = _Parser(prog="tfgen", description="Train, export, sample and evaluate tfgen models.")
    parser.add_argument("--version", action="version", version=_version(),
                        help="show tfgen's version and those of TensorFlow, Keras and Python, and exit")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_train_parser(commands, with_models=_command(argv) == "train")

    export = commands.add_parser("export", help="export a run as a TF Serving SavedModel")
    export.add_argument("run_dir")
    export.add_argument("--name", required=True, help="the folder under --saved-models-dir")
    export.add_argument("--saved-models-dir", default="saved_models")
    export.add_argument("--xla", action="store_true", help="compile every signature with XLA (jit_compile)")
    export.add_argument("--force", action="store_true",
                        help="export into a --saved-models-dir/--name folder that holds files an export does not "
                             "write (anything but its numbered versions), beside them; without it such a folder is "
                             "refused")
    export.add_argument("--set", dest="settings", action="append", type=_assignment, default=[],
                        metavar="NAME=VALUE",
                        help="export with another value of an option that sets how the model samples (a diffusion "
                             "model's sampling_steps, eta, guidance_scale: the `sample` signature's defaults)")

    sample = commands.add_parser("sample", help="draw a grid of samples from an exported model (no training, no data)")
    sample.add_argument("--model", required=True, help="saved_models/<name> (its newest complete version) or a version folder")
    sample.add_argument("--label", type=_class_label, default=None,
                        help="the class to draw, an id or a class name of the export's manifest (conditional "
                             "models); default: one row per class")
    sample.add_argument("--columns", type=_positive_int, default=8, help="samples per row")
    sample.add_argument("--rows", type=_positive_int, default=None, help="rows (default: one per class, or --columns)")
    sample.add_argument("--seed", type=_seed, default=0, help="the first seed; image i uses seed + i")
    sample.add_argument("--out", required=True,
                        help="the image file to write: .png, or .jpg / .jpeg for JPEG (the format follows the "
                             "extension); an existing file there is replaced only when it is a PNG or JPEG image")
    sample.add_argument("--force", action="store_true",
                        help="replace an existing --out file that is not a PNG or JPEG image")
    sample.add_argument("--row-labels", action="store_true",
                        help="name each row's class beside it (a figure; default: the samples pixel for pixel)")
    _add_evaluate_parser(commands)
    commands.add_parser("models", help="list the models: what each is, its paper and its default recipe",
                        description="List the models of `tfgen train MODEL`: each one's summary, paper, default "
                                    "recipe and presets (`tfgen train MODEL --help` gives every option).")
    return parser


def _add_evaluate_parser(commands):
    evaluate = commands.add_parser(
        "evaluate", help="score a run or an export on its test data (likelihood, variational bound, classification "
                         "error, samples)",
        description="Score a training run (its latest checkpoint) or an export on the test split of its dataset: "
                    "the importance-weighted log-likelihood, ELBO and bits/dim of the VAE family, the MMD-VAE's "
                    "reconstruction error and MMD, the semi-supervised models' test error, the diffusion models' "
                    "variational bound on -log p(x) in nats and bits/dim, and the sample scores of the GANs, the "
                    "diffusion and the conditional models. Prints a short table and writes the whole report as JSON.")
    evaluate.add_argument("target", metavar="RUN_DIR_OR_EXPORT",
                          help="a `tfgen train` run folder, or saved_models/<name> (its newest complete version) or "
                               "a version folder")
    evaluate.add_argument("--dataset", default=None, metavar="NAME_OR_FOLDER",
                          help="the data whose test split is scored (default: the one the run or export records; "
                               "it must be that one)")
    evaluate.add_argument("--iw-samples", type=_positive_int, default=None, metavar="K",
                          help="importance samples per test image (default: 5000, Burda et al.'s; models "
                               "without a likelihood refuse it)")
    evaluate.add_argument("--bound-samples", type=_positive_int, default=None, metavar="K",
                          help="the diffusion models' variational bound: timesteps drawn per test image, averaged "
                               "(default: 1; the estimate is unbiased for any K, and its ± standard error says how "
                               "precise it is; models without the bound refuse it)")
    evaluate.add_argument("--seed", type=_seed, default=0, help="the seed of every draw: codes, timesteps, "
                          "binarization, samples (sample i uses seed + i) (default: 0)")
    evaluate.add_argument("--batch-size", type=_positive_int, default=100, help="test images per batch (default: 100)")
    evaluate.add_argument("--max-images", type=_positive_int, default=None, metavar="N",
                          help="score only the first N test images (default: all)")
    evaluate.add_argument("--samples", type=_positive_int, default=None, metavar="N",
                          help="samples drawn for the sample scores, class-major (default: 10000)")
    evaluate.add_argument("--classifier", default=None, metavar="FILE",
                          help="the sample scores' classifier (.weights.h5; default: the run's own, else one trained "
                               "once per dataset and image shape and kept in $TFGEN_CACHE_DIR/classifiers, default "
                               "~/.cache/tfgen/classifiers)")
    evaluate.add_argument("--fid", action="store_true", help="also FID and KID of the samples (Inception-v3)")
    evaluate.add_argument("--out", default=None, metavar="FILE.json",
                          help="the JSON report, a .json file (default: RUN_DIR/evaluation.json for a run; an "
                               "export's report is written only with --out, never into the export); an existing "
                               "file there is replaced only when it is an earlier report of tfgen evaluate")
    evaluate.add_argument("--force", action="store_true",
                          help="replace an existing --out file that is not a report of tfgen evaluate")
    evaluate.add_argument("--data-dir", default=None, help=DATA_DIR_HELP)
    evaluate.add_argument("--source-dir", default=None, help=SOURCE_DIR_HELP)
    evaluate.add_argument("--quiet", action="store_true", help="no progress bars")


def models_table():
    """`tfgen models`: a block per model (its summary, paper, default recipe and presets), from `tfgen.catalog`."""
    from tfgen import catalog

    blocks = []
    for name, description in catalog.load()["models"].items():
        recipe = description["recipe"]
        settings = " ".join(f"{key}={json.dumps(value)}" for key, value in recipe["model"].items() if key != "seed")
        lines = [f"{name}  {description['summary']}",
                 f"    paper:   {description['paper']}",
                 f"    default: {recipe['dataset']}, {recipe['epochs']} epochs, batch {recipe['batch_size']}"
                 + ("" if recipe["labels_per_class"] is None else f", {recipe['labels_per_class']} labels per class")
                 + (f"; {settings}" if settings else "")]
        lines += [f"    preset {preset}: {source}" for preset, source in description["presets"].items()]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n\n`tfgen train MODEL --help`: every option of a model and its default."


def _holds_source_files(folder):
    """True when `folder` holds the original .gz files (directly or in a per-dataset subfolder)."""
    from tfgen.data import DATASETS, find_source_files

    for name in DATASETS:
        try:
            find_source_files(name, folder)
            return True
        except FileNotFoundError:
            continue
    return False


def _run_config(args, overrides=None):
    """The `tfgen.config.RunConfig` of `tfgen train`: the recipe, then `overrides` (an example's), --config,
    --set and the flags."""
    from tfgen.config import RunConfig

    given = {key[len("run."):]: value for key, value in vars(args).items() if key.startswith("run.")}
    model = {key[len("model."):]: value for key, value in vars(args).items() if key.startswith("model.")}
    if getattr(args, "reference_run", None):
        given["reference_runs"] = dict(args.reference_run)
    # The old spellings: --data-dir named the folder of the .gz files, --tfds-dir TFDS's data_dir.
    if given.get("data_dir") and given.get("source_dir") is None and _holds_source_files(given["data_dir"]):
        warnings.warn(f"--data-dir now names the TFDS data folder (data_dir in Python); {given['data_dir']!r} holds "
                      f"the original .gz files, so it is taken as --source-dir, the old meaning of --data-dir. Use "
                      f"--source-dir.", FutureWarning, stacklevel=2)
        given["source_dir"] = given.pop("data_dir")
    tfds_dir = getattr(args, "tfds_dir", None)
    if tfds_dir is not None:
        warnings.warn("--tfds-dir is deprecated; use --data-dir (TFDS's data_dir).", FutureWarning, stacklevel=2)
        if given.get("data_dir") not in (None, tfds_dir):
            raise ValueError(f"--tfds-dir is the old spelling of --data-dir: give one. Received: --data-dir "
                             f"{given['data_dir']!r} and --tfds-dir {tfds_dir!r}")
        given["data_dir"] = tfds_dir
    return RunConfig.resolve(args.model_name, out=args.out, overrides=overrides, config_file=args.config,
                             assignments=args.assignments, model=model, **given)


def main(argv=None):
    """Runs the command line; returns the exit status.

    Every failure is one line on stderr and a non-zero status, never a
    traceback (set TFGEN_DEBUG=1 to see one): 2 for bad input and refused
    requests, 1 for a run that diverged or an unexpected error, 128 + the
    signal's number for a run stopped by SIGINT or SIGTERM (after a checkpoint).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    return _main(_parse(_parser(argv), argv))


def _main(args, overrides=None):
    """Runs the parsed command `args`: every failure one line (see `main`)."""
    if args.command == "models":  # read from the catalog: no TensorFlow
        print(models_table())
        return 0
    try:
        import_tensorflow_quietly()
        from tfgen.training.signals import interrupt_on_signals

        # SIGINT and SIGTERM: one line and 128 + the signal, wherever they come.
        with _warning_lines(args.command), interrupt_on_signals():
            return _run(args, overrides)
    except KeyboardInterrupt as error:
        number = getattr(error, "signal_number", int(signal.SIGINT))  # a plain KeyboardInterrupt: SIGINT
        print(f"tfgen {args.command}: interrupted by {signal.Signals(number).name}; nothing more was written.",
              file=sys.stderr)
        return 128 + number
    except Exception as error:  # noqa: BLE001 - the one place every error becomes one line
        if os.environ.get("TFGEN_DEBUG"):
            raise
        status, message = _describe_error(error)
        print(f"tfgen {args.command}: error: {message}", file=sys.stderr)
        return status


@contextlib.contextmanager
def _warning_lines(command):
    """tfgen's own warnings of a run (`tfgen.config.RunWarning`, `tfgen.data.FolderWarning`: settings taken but
    likely not meant, links skipped in a folder of images) shown as one line each, when they happen."""
    from tfgen.config import RunWarning
    from tfgen.data import FolderWarning

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if issubclass(category, (RunWarning, FolderWarning)):
                print(f"tfgen {command}: warning: {message}", file=sys.stderr)
            else:
                shown(message, category, filename, lineno, file, line)

        warnings.showwarning = show
        yield


def _run(args, overrides=None):
    if args.command == "train":
        from tfgen import runs

        with warnings.catch_warnings(record=True) as caught:
            from tfgen.config import RunWarning

            warnings.simplefilter("always", FutureWarning)
            warnings.simplefilter("always", RunWarning)
            config = _run_config(args, overrides)
        caught = [warning for warning in caught if issubclass(warning.category, (FutureWarning, RunWarning))]
        for warning in caught:
            print(f"tfgen train: warning: {warning.message}", file=sys.stderr)
        trainer = runs.run(config)
        if getattr(trainer, "chief", True):  # the other workers of a multi-worker job write nothing
            print(f"Run written to {args.out}")
    elif args.command == "export":
        from tfgen.export import export_run

        path = export_run(args.run_dir, args.name, args.saved_models_dir, jit_compile=args.xla, force=args.force,
                          settings=dict(args.settings))
        print(f"Exported to {path}")
    elif args.command == "sample":
        from tfgen.serving import sample_grid

        path, images = sample_grid(args.model, args.out, label=args.label, columns=args.columns,
                                   rows=args.rows, seed=args.seed, row_labels=args.row_labels, force=args.force)
        print(f"Wrote {len(images)} samples to {path}")
    elif args.command == "evaluate":
        _evaluate(args)
    return 0


def _evaluate(args):
    from tfgen import report as report_lib
    from tfgen._files import write_json_atomic

    out = args.out if args.out is not None else report_lib.default_report_path(args.target)
    if out is not None:
        report_lib.check_report_path(out, force=args.force)  # before any work
    report = report_lib.evaluate(
        args.target, dataset=args.dataset, iw_samples=args.iw_samples, bound_samples=args.bound_samples,
        seed=args.seed, batch_size=args.batch_size, max_images=args.max_images,
        num_samples=args.samples or report_lib.DEFAULT_SAMPLES,
        classifier=args.classifier, fid=args.fid, progress=not args.quiet, data_dir=args.data_dir,
        source_dir=args.source_dir)
    for note in report.get("notes", []):
        print(f"tfgen evaluate: note: {note}", file=sys.stderr)
    print(report_lib.format_summary(report))
    if out is not None:
        write_json_atomic(out, report)
        print(f"Report written to {out}")
    else:
        print("No --out given: the JSON report was not written.")


def _describe_error(error):
    """(exit status, one line) for an exception that reached the command line."""
    from tfgen.data import DataUnavailableError
    from tfgen.evaluation import InceptionWeightsUnavailable
    from tfgen.locks import FolderLockedError
    from tfgen.training.distribute import WorkerLost
    from tfgen.training.trainer import TrainingDiverged, TrainingInterrupted

    first_line = lambda text: (str(text).strip().splitlines() or [""])[0]  # noqa: E731
    cause = _root_cause(error)
    if cause is not None:
        return cause
    if isinstance(error, TrainingInterrupted):
        return 128 + int(error.signal_number), first_line(error)
    if isinstance(error, (TrainingDiverged, WorkerLost)):
        return 1, first_line(error)
    if isinstance(error, OSError) and error.strerror:  # the system's words, without "[Errno N]"
        where = f": {error.filename!r}" if error.filename else ""
        return 2, first_line(error.strerror) + where
    if isinstance(error, (ValueError, TypeError, LookupError, OSError, FolderLockedError, DataUnavailableError,
                          InceptionWeightsUnavailable)):
        return 2, first_line(error) or type(error).__name__
    import tensorflow as tf

    if isinstance(error, tf.errors.OpError):
        return 2, f"{type(error).__name__}: {first_line(error.message)}"
    return 1, (f"unexpected {type(error).__name__}: {first_line(error)} "
               f"(set TFGEN_DEBUG=1 to see the traceback)")


_OUT_OF_MEMORY = re.compile(r"\bOOM\b|out of memory|failed to allocate|ResourceExhausted", re.IGNORECASE)
_OPERATION = re.compile(r"\[Op:([\w/.-]+)\]|\{\{node ([^}]+)\}\}|\b(\w*Conv\w*|MatMul\w*|\w+Backprop\w*)\b")


def _root_cause(error):
    """(exit status, one line) when the cause of `error` is one its own first line hides, else None: running out
    of memory, wherever it is in the chain (the error, its `__cause__` and `__context__`, any line of their
    messages), said with the operation and what to lower, not TensorFlow's first line (an AbortedError of the
    collective that the allocation failure cancelled)."""
    tf = sys.modules.get("tensorflow")
    exhausted = (tf.errors.ResourceExhaustedError,) if tf is not None else ()
    seen, chain = set(), [error]
    while chain:
        current = chain.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        text = str(getattr(current, "message", None) or current)
        lines = [line.strip() for line in text.splitlines() if line.strip()]
        memory = next((line for line in lines if _OUT_OF_MEMORY.search(line)), None)
        if memory is not None or (exhausted and isinstance(current, exhausted)):
            operation = None
            for candidate in [memory or "", *lines, *(str(item) for item in (error, current))]:
                match = _OPERATION.search(candidate)
                if match:
                    operation = next(group for group in match.groups() if group)
                    break
            where = f"running {operation}" if operation else "training"
            told = f" (TensorFlow: {(memory or lines[0] if lines else type(current).__name__)[:200]})"
            return 2, f"out of memory while {where}: lower --batch-size or --image-size{told}"
        chain += [current.__cause__, current.__context__]
    return None


if __name__ == "__main__":
    sys.exit(main())
