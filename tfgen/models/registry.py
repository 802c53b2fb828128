"""The registry of tfgen's models: registered name -> model class.

The CLI, the run directories and the conformance tests find models here by
name; a run's `config.json` or an export's manifest names its model's class
(`model_class_of`). What a model needs (its data contract, figures and paper settings) is
declared on its class (`tfgen.models.GenerativeModel`), not here.
`load_model` reads a `.keras` file in Keras' safe mode.
"""

import os

import keras

MODELS = {}


def register_model(name):
    """Class decorator that adds a model class to `MODELS` under `name` (its `registered_name`)."""

    def decorate(cls):
        if name in MODELS:
            raise ValueError(f"A model is already registered as {name!r}: {MODELS[name].__name__}")
        MODELS[name] = cls
        cls.registered_name = name
        return cls

    return decorate


def get_model_class(name):
    """The model class registered as `name`; a `ValueError` listing the known names otherwise."""
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}. Registered models: {sorted(MODELS)}")
    return MODELS[name]


def model_class_of(config):
    """The model class a run's `config.json` (or an export's manifest) names.

    Its "model" entry is looked up among the registered names (`MODELS`),
    else its "keras_class" (or "model") among the classes registered with
    Keras, so a custom `GenerativeModel` registered only with Keras is found
    once its module is imported.

    Raises:
        ValueError: neither registry knows the class (e.g. a custom model
            whose module was not imported).
    """
    name = config.get("model")
    if name in MODELS:
        return MODELS[name]
    cls = keras.saving.get_registered_object(config.get("keras_class") or name)
    if cls is None:
        raise ValueError(
            f"The run's model {name!r} is neither a registered tfgen model ({sorted(MODELS)}) nor a Keras-registered "
            f"class; import the module that defines it first."
        )
    return cls


def load_model(path, safe_mode=True, compile=True):
    """Loads a `.keras` file of a tfgen model (or of any Keras model built from tfgen's layers).

    Keras' safe mode is on by default: a file that would run arbitrary
    Python code when loaded (a `Lambda` layer's bytecode) is refused. tfgen's
    own models and layers need no such code, so only pass `safe_mode=False`
    for a file whose author you trust.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: `path` is not a `.keras` file, or Keras refuses it.
    """
    if not isinstance(path, (str, os.PathLike)) or not str(path).endswith(".keras"):
        raise ValueError(f"path must name a .keras file. Received: path={path!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No .keras file at {str(path)!r}.")
    import tfgen.models  # noqa: F401 - registers every tfgen class with Keras before loading

    return keras.saving.load_model(path, safe_mode=bool(safe_mode), compile=compile)

