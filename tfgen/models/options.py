"""A model class's constructor options, read off its signatures: what `tfgen train NAME` offers as flags."""

import inspect

from tfgen.models.base import GenerativeModel


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


def model_defaults(model_class, overrides=None):
    """The constructor arguments a run uses by default: the class defaults with the recipe's on top (and
    `overrides`' constructor arguments on top of those)."""
    options = constructor_options(model_class)
    return {**options, **model_class.recipe.model,
            **{name: value for name, value in (overrides or {}).items() if name in options}}
