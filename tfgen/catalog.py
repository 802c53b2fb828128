"""The registered models as the command line shows them, kept in `tfgen/catalog.json` so that
`tfgen train --help`, `tfgen train MODEL --help` and `tfgen models` answer without importing TensorFlow.

The catalog is made from the model classes (`build`, which imports them and
so TensorFlow): for each model, its one-line summary, paper, default recipe
and presets, and every argument of `tfgen train MODEL` (the run options that
apply to it, `flags_of`, and its constructor arguments), with
their help text. The command line builds its parser from that description
whether the catalog comes from the file or from the classes, so both give the
same parser.

`load` reads the file when its fingerprint (a hash of the sources it is made
from) matches the installed sources, and otherwise builds it from the classes
(an edited checkout stays correct, only slower). After changing a model, its
recipe or a run option, write the file anew:

    python -m tfgen.catalog

tests/test_catalog.py fails while the file is out of date.
"""

import argparse
import hashlib
import json
import os
import sys

#: The catalog file, beside this module.
CATALOG_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "catalog.json")
#: The sources whose content decides the catalog (relative to the package): its fingerprint hashes them.
SOURCES = ("models", "config.py", "catalog.py", "_checks.py", "losses/likelihoods.py")
#: Run options that a constructor argument of the same name must not shadow (the model's own: --set NAME=VALUE).
RUN_OPTION_NAMES = ("seed",)
#: Constructor arguments that default to the data's.
FROM_THE_DATA = ("num_classes", "num_examples", "image_shape")


def fingerprint():
    """A hash of the sources the catalog is made from (`SOURCES`), in a fixed order."""
    root = os.path.dirname(os.path.abspath(__file__))
    paths = []
    for source in SOURCES:
        path = os.path.join(root, source)
        if os.path.isdir(path):
            paths += sorted(os.path.join(path, name) for name in os.listdir(path) if name.endswith(".py"))
        else:
            paths.append(path)
    digest = hashlib.sha256()
    for path in paths:
        digest.update(os.path.relpath(path, root).replace(os.sep, "/").encode())
        with open(path, "rb") as stream:
            digest.update(stream.read())
    return digest.hexdigest()


def load():
    """The catalog: {"models": {name: description}}, read from `CATALOG_FILE` when it matches the sources,
    else built from the model classes (which imports TensorFlow)."""
    try:
        with open(CATALOG_FILE, encoding="utf-8") as stream:
            catalog = json.load(stream)
        if catalog.get("fingerprint") == fingerprint():
            return catalog
    except (OSError, ValueError):
        pass
    return build()


def build():
    """The catalog of every registered model, made from the classes."""
    from tfgen.models import MODELS

    return {"fingerprint": fingerprint(), "models": {name: describe(name) for name in sorted(MODELS)}}


def describe(name, *, out=None, overrides=None):
    """What the command line shows of the registered model `name`, and the arguments of `tfgen train NAME`.

    Args:
        name: a registered model's name.
        out: the default run folder (an example's); None: `--out` is required.
        overrides: the defaults that replace the recipe's (an example's), shown by `--help`.

    Returns:
        {"class", "summary", "paper", "recipe", "presets", "groups"}: "recipe" is
        the default recipe's settings that `tfgen models` shows, "groups" the
        argument groups of the parser, each {"title", "description",
        "arguments"}, an argument being {"flag", "dest", "kind", "nargs",
        "choices", "metavar", "help", "required", "default", "action"}
        (`tfgen.cli` turns "kind" into a parsing function).
    """
    from tfgen.models import get_model_class

    model_class = get_model_class(name)
    recipe = model_class.recipe
    run = [
        _argument("--out", "out", "str", required=out is None, default=out,
                  help="the run directory" + ("" if out is None else f" (default: {out})")),
        _argument("--config", "config", "str", default=None, metavar="FILE",
                  help="a JSON file of options: run options by name (e.g. \"epochs\": 5) and \"model\": "
                       "{constructor arguments}; --set and the flags given on the command line win"),
    ]
    # One flag per run option of tfgen.config.RunConfig; only the given ones are passed on (the others take
    # the recipe's value when the config is resolved).
    for field in flags_of(model_class):
        parse, choices = field.metadata["parse"], field.metadata["choices"]
        run.append(_argument(
            _flag(field.name), f"run.{field.name}", "bool" if parse is None else _kind_of(parse),
            choices=None if choices is None else list(choices),
            metavar=field.metadata["metavar"] or (None if choices or parse is None else field.name.upper()),
            help=help_of(field, model_class, overrides)))
    if "nats_per_epoch" in model_class.figures:
        run.append(_argument("--reference-run", "reference_run", "assignment", action="append", default=[],
                             metavar="NAME=DIR", help="a run whose loss to draw beside this one's (e.g. VAE=runs/vae)"))
    run.append(_argument("--tfds-dir", "tfds_dir", "str", help="deprecated spelling of --data-dir"))
    run.append(_argument("--set", "assignments", "assignment", action="append", default=[], metavar="NAME=VALUE",
                         help="a constructor argument or a run option (JSON value), e.g. --set hidden_units=[64]; "
                              "a name both have is the model's"))
    return {
        "class": model_class.__name__,
        "summary": (model_class.__doc__ or name).strip().splitlines()[0],
        "paper": model_class.paper,
        "recipe": {"source": recipe.source, "dataset": recipe.dataset, "epochs": recipe.epochs,
                   "batch_size": recipe.batch_size, "labels_per_class": recipe.labels_per_class,
                   "model": dict(recipe.model)},
        "presets": {preset: other.source for preset, other in model_class.presets.items()},
        "groups": [
            {"title": "run options", "description": None, "arguments": run},
            {"title": f"{model_class.__name__} options",
             "description": "the model's constructor arguments (default: the recipe's value, else the class's); any "
                            "of them, and those shadowed by a run option (" + ", ".join(RUN_OPTION_NAMES)
                            + "), also as --set NAME=VALUE",
             "arguments": _model_arguments(model_class, overrides)},
        ],
    }


def flags_of(model_class):
    """The run options (`tfgen.config.RunConfig` fields) that are flags of `tfgen train NAME` for `model_class`:
    those that apply to it, and are flags."""

    def is_flag(field):
        flag = field.metadata["flag"]
        return field.metadata["applies"](model_class) and (flag(model_class) if callable(flag) else flag)

    from tfgen.config import run_options

    first = ("dataset", "image_size", "channels", "streaming", "data_dir", "source_dir", "train_examples")
    fields = [field for field in run_options() if is_flag(field)]
    return sorted(fields, key=lambda field: first.index(field.name) if field.name in first else len(first))


def help_of(field, model_class, overrides=None):
    """The help text of `field`'s flag for `model_class`, with its default (`overrides`' value, if any)."""
    text = field.metadata["help"]
    text = text(model_class) if callable(text) else text
    return f"{text} (default: {shown_default(field, model_class, overrides)})".strip()


def shown_default(field, model_class, overrides=None):
    """How `--help` shows `field`'s default for `model_class`: `overrides`' value, the recipe's, or its `shown` text."""
    if overrides and field.name in overrides:
        value = overrides[field.name]
        return "on" if value is True else "off" if value is False else value
    if field.metadata["recipe"]:
        value = getattr(model_class.recipe, field.name, None)
        if value is not None:
            return value
    if field.metadata["shown"] is not None:
        return field.metadata["shown"]
    value = field.default
    return "on" if value is True else "off" if value is False else "none" if value is None else value


def _argument(flag, dest, kind, *, nargs=None, choices=None, metavar=None, help="", required=False,
              default=argparse.SUPPRESS, action=None):
    """One argument of a parser, as JSON (default `argparse.SUPPRESS`, a string: a flag not given is left out)."""
    return {"flag": flag, "dest": dest, "kind": kind, "nargs": nargs, "choices": choices, "metavar": metavar,
            "help": help, "required": required, "default": default, "action": action}


def _flag(name):
    return "--" + name.replace("_", "-")


def _model_arguments(model_class, overrides=None):
    """One flag per constructor argument, its default the recipe's (or the class's, or `overrides`')."""
    from tfgen.models.options import constructor_options, model_defaults

    defaults = model_defaults(model_class, overrides)
    described = argument_help(model_class)
    arguments = []
    for name in constructor_options(model_class):
        if name in RUN_OPTION_NAMES:
            continue
        default = defaults[name]
        shown = "from the data" if name in FROM_THE_DATA else json.dumps(default)
        kind, nargs = _option_kind(default)
        arguments.append(_argument(_flag(name), f"model.{name}", kind, nargs=nargs,
                                   metavar=None if kind == "bool" else name.upper(),
                                   help=f"{described.get(name, '')} (default: {shown})".strip()))
    return arguments


def _option_kind(default):
    """The kind (how the text is parsed) and nargs of a constructor argument, from its default value."""
    if isinstance(default, bool):
        return "bool", None
    if isinstance(default, int):
        return "int", None
    if isinstance(default, float):
        return "float", None
    if isinstance(default, (list, tuple)):
        return "int", "*"
    if isinstance(default, str):
        return "str", None
    return "json", None


def argument_help(model_class):
    """{argument: its description} from the `Args:` sections of the docstrings of `model_class` and its bases."""
    described = {}
    for cls in reversed(model_class.__mro__):
        lines = (cls.__doc__ or "").splitlines()
        if "Args:" not in [line.strip() for line in lines]:
            continue
        start = [line.strip() for line in lines].index("Args:") + 1
        name, indent = None, None
        for line in lines[start:]:
            stripped = line.strip()
            if not stripped or (indent is not None and len(line) - len(line.lstrip()) < indent):
                if not stripped and name is None:
                    continue
                break
            current = len(line) - len(line.lstrip())
            if indent is None:
                indent = current
            if current == indent and ":" in stripped:
                names, text = stripped.split(":", 1)
                name = [part.strip() for part in names.split(",")]
                for each in name:
                    described[each] = text.strip()
            elif name:
                for each in name:
                    described[each] += " " + stripped
    return described


def _kind_of(parse):
    """How `tfgen.cli` parses a run option's text: the name of its `parse` function."""
    from tfgen import _checks

    kinds = {int: "int", float: "float", str: "str", _checks.parse_labels_per_class: "labels_per_class"}
    if parse not in kinds:
        raise ValueError(f"A run option's parse function {parse!r} has no kind in tfgen.catalog; add one.")
    return kinds[parse]


def write(path=CATALOG_FILE):
    """Writes the catalog built from the classes to `path` (atomically); returns `path`."""
    from tfgen._files import write_json_atomic

    write_json_atomic(path, build())
    return path


if __name__ == "__main__":
    sys.exit(print(f"wrote {os.path.relpath(write())}") or 0)
