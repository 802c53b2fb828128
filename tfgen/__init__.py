"""tfgen: deep generative models in TensorFlow 2 and Keras 3.

The package's floors, lowest first (a module imports only from its own floor
and those below; tests/test_layout.py checks it): `_checks`, `random`,
`labels` -> `data`, `layers`, `losses` -> `networks` -> `models` ->
`training`, `config` -> `evaluation` -> `plotting` -> `export`, `serving` ->
`runs`, `report` -> `cli` (`_files`, `locks` and `images` are on the lowest floor).

`import tfgen` is instant: the names below are imported (with TensorFlow)
when first used, so `tfgen --help` and `tfgen --version` answer at once.
"""

import importlib

__version__ = "0.2.0"

#: The public API: {name: (module, attribute or None for the module itself)}, imported on first use.
_EXPORTS = {
    "data": ("tfgen.data", None),
    "layers": ("tfgen.layers", None),
    "losses": ("tfgen.losses", None),
    "networks": ("tfgen.networks", None),
    "models": ("tfgen.models", None),
    "VAE": ("tfgen.models", "VAE"),
    "MMDVAE": ("tfgen.models", "MMDVAE"),
    "RunConfig": ("tfgen.config", "RunConfig"),
    "TrainingOptions": ("tfgen.config", "TrainingOptions"),
    "Trainer": ("tfgen.training", "Trainer"),
}

__all__ = [*_EXPORTS, "__version__"]


def __getattr__(name):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'tfgen' has no attribute {name!r}")
    module_name, attribute = _EXPORTS[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_EXPORTS))
