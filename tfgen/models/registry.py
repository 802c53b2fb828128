"""The registry of tfgen's models: the CLI, the run directories and the
conformance tests all find models here, by name, instead of dispatching on
strings inside the models."""

import dataclasses

MODELS = {}


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """How to build, feed and test one registered model.

    Attributes:
        name: the registered name (`tfgen train NAME`).
        cls: the model class.
        binarization: the default binarization of its training data.
        label_format: "int" or "one_hot", as its batches need them.
        test_kwargs: a small configuration for the conformance tests.
        build: optional `build(train_data, test_data, *, batch_size, **model_kwargs)`
            returning `(model, train_data, test_data)`, for models that need
            their own dataset (class sets, pseudo-labels, a labelled split...)
            or a constructor argument taken from the data; by default the
            model is `cls(**model_kwargs)` and the data is used as it is.
        semi_supervised: the model trains on a labelled split
            (`labels_per_class` is a run option of its `build`).
    """

    name: str
    cls: type
    binarization: str = "dynamic"
    label_format: str = "int"
    test_kwargs: dict = dataclasses.field(default_factory=dict)
    build: object = None
    semi_supervised: bool = False

    def create(self, **kwargs):
        return self.cls(**kwargs)

    def check_run_options(self, **model_kwargs):
        """Raises a ValueError for run options the model does not take (before any data is loaded)."""
        if "labels_per_class" in model_kwargs and not self.semi_supervised:
            raise ValueError(
                f"labels_per_class applies to the semi-supervised models only; {self.name!r} trains on every label. "
                f"Received: labels_per_class={model_kwargs['labels_per_class']!r}"
            )

    def build_run(self, train_data, test_data, batch_size=None, **model_kwargs):
        """(model, train_data, test_data) ready for the `Trainer` (which will batch by `batch_size`)."""
        self.check_run_options(**model_kwargs)
        if self.build is not None:
            return self.build(train_data, test_data, batch_size=batch_size, **model_kwargs)
        return self.create(**model_kwargs), train_data, test_data


def register_model(name, *, binarization="dynamic", label_format="int", test_kwargs=None, build=None,
                   semi_supervised=False):
    """Class decorator that adds a model to `MODELS` under `name`."""

    def decorate(cls):
        if name in MODELS:
            raise ValueError(f"A model is already registered as {name!r}: {MODELS[name].cls.__name__}")
        MODELS[name] = ModelSpec(name, cls, binarization, label_format, dict(test_kwargs or {}), build, semi_supervised)
        cls.registered_name = name
        return cls

    return decorate


def get_model_spec(name):
    """The `ModelSpec` registered as `name`; a `ValueError` listing the known names otherwise."""
    if name not in MODELS:
        raise ValueError(f"Unknown model {name!r}. Registered models: {sorted(MODELS)}")
    return MODELS[name]
