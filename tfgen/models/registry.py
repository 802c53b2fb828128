"""The registry of tfgen's models: registered name -> model class.

The CLI, the run directories and the conformance tests find models here by
name. What a model needs (its data contract, figures and paper settings) is
declared on its class (`tfgen.models.GenerativeModel`), not here.
"""

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
