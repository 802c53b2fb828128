"""Every registered model: its config round-trips, and a `.keras` file reloads with its weights."""

import inspect
import json

import keras
import numpy as np
import pytest

from conftest import MODEL_NAMES, built_model, create_model
from conformance.descriptors import FIXED_OPTIONS, non_default_sets
from tfgen.models import MODELS, GenerativeModel


def _options(cls):
    """{option: default} of `cls.__init__`, and of the base classes' it forwards **kwargs to, up to
    GenerativeModel's (`image_shape`; its own **kwargs are Keras')."""
    options = {}
    for klass in cls.__mro__:
        if not issubclass(klass, GenerativeModel):
            break
        if "__init__" not in vars(klass):
            continue
        parameters = list(inspect.signature(klass.__init__).parameters.values())[1:]  # without self
        for parameter in parameters:
            if parameter.kind not in (parameter.VAR_KEYWORD, parameter.VAR_POSITIONAL):
                options.setdefault(parameter.name, parameter.default)
        if klass is GenerativeModel or not any(parameter.kind == parameter.VAR_KEYWORD for parameter in parameters):
            break
    return options


def _plain(value):
    """`value` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_get_config_round_trip(name):
    model, _ = built_model(name)
    clone = MODELS[name].from_config(model.get_config())
    assert clone.get_config() == model.get_config()


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_config_holds_every_constructor_option(name):
    """Every option of the model's constructor is in its config, except those the class fixes (which stay fixed:
    another value is ignored, or refused with an error that names the option)."""
    cls = MODELS[name]
    fixed = FIXED_OPTIONS.get(name, {})
    config = create_model(name).get_config()
    missing = sorted(set(_options(cls)) - set(config) - set(fixed))
    assert not missing, f"{cls.__name__}.get_config() lacks constructor options {missing}"
    for option, value in fixed.items():
        other = (not value) if isinstance(value, bool) else value + 1
        try:
            model = cls(**{option: other})
        except ValueError as error:
            assert option in str(error), error
        else:
            assert getattr(model, option) == value, option
        assert getattr(cls(**{option: value}), option) == value, option


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_rebuilt_model_keeps_non_default_options(name):
    """A model built with a non-default value for every option, rebuilt from its JSON config, keeps them all.

    A model whose options exclude each other (the VAE's analytic KL and its IWAE bound) lists several
    sets; every option is set, away from its default, in one of them."""
    cls = MODELS[name]
    options = {option: default for option, default in _options(cls).items() if option not in FIXED_OPTIONS.get(name, {})}
    sets = non_default_sets(name)
    covered = {option for chosen in sets for option, value in chosen.items() if _plain(value) != _plain(options[option])}
    assert sorted(covered) == sorted(options), "conformance/descriptors.py: NON_DEFAULT_KWARGS must set every option"
    for chosen in sets:
        assert sorted(chosen) == sorted(options), "conformance/descriptors.py: each set names every option"
        _check_rebuilt(cls, chosen)


def _check_rebuilt(cls, chosen):
    config = cls(**chosen).get_config()
    rebuilt = cls.from_config(_plain(config))  # as a run directory's config.json restores it
    rebuilt_config = rebuilt.get_config()
    for option, value in chosen.items():
        assert _plain(rebuilt_config[option]) == _plain(value), option
        if hasattr(rebuilt, option):
            assert _plain(getattr(rebuilt, option)) == _plain(value), option
    assert _plain(rebuilt_config) == _plain(config)


def _optimizers(model):
    """The model's optimizers by attribute name (GANs: the generator's and the discriminator's)."""
    return {name: getattr(model, name) for name in ("optimizer", "d_optimizer") if getattr(model, name, None) is not None}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_keras_file_restores_the_weights_the_compiled_optimizers_and_their_state(name, tmp_path, seed):
    model, batch = built_model(name, learning_rate=3e-4)
    if hasattr(model, "d_optimizer"):  # a GAN: give D a rate of its own, which a clone of G's would not have
        model.compile(optimizer=keras.optimizers.Adam(3e-4), d_optimizer=keras.optimizers.Adam(7e-5, beta_1=0.5))
        model.build_from_batch(batch)
    model.train_step(batch, seed)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    restored = keras.saving.load_model(path)
    assert type(restored) is type(model)
    weights = [v for v in model.weights if not v.path.endswith("seed_generator_state")]
    restored_weights = [v for v in restored.weights if not v.path.endswith("seed_generator_state")]
    assert len(restored_weights) == len(weights)
    for expected, actual in zip(weights, restored_weights):
        np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=expected.path)
    assert restored.compiled
    optimizers, restored_optimizers = _optimizers(model), _optimizers(restored)
    assert sorted(restored_optimizers) == sorted(optimizers)
    for attribute, optimizer in optimizers.items():
        other = restored_optimizers[attribute]
        assert other.get_config() == optimizer.get_config(), attribute
        assert int(other.iterations) == int(optimizer.iterations) > 0, attribute
        assert [v.path for v in other.variables] == [v.path for v in optimizer.variables], attribute
        for expected, actual in zip(optimizer.variables, other.variables):
            np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=f"{attribute}: {expected.path}")
