"""Every registered model at other image shapes than MNIST's: 32x32x3 and 64x64x3 (descriptors.IMAGE_SHAPES).

The rest of the suite checks every model at 28x28x1. Here one test per model
and shape checks, on a tiny instance (descriptors.MODEL_KWARGS with
SHAPE_KWARGS), what depends on the shape: a training step is finite and
moves every weight, samples have the shape and lie in [0, 1], a batch of
another shape is refused by name, the serving signatures' functions give
images of the shape, the config (JSON) rebuilds the same variables, and a
checkpoint restores every value bit for bit. The SavedModel exports at
64x64x3 (descriptors.EXPORT_SHAPES) are checked with the 28x28x1 ones, in
the same child process (test_saved_model.py).
"""

import json

import numpy as np
import pytest
import tensorflow as tf

from conftest import MODEL_NAMES
from conformance.descriptors import IMAGE_SHAPES, NON_DEFAULT_KWARGS
from conformance.support import serving_input, shape_id, stepped_model_at
from tfgen.models import MODELS
from tfgen.training import make_checkpoint


def _variables(model):
    return [variable for variable in model.variables if not variable.path.endswith("seed_generator_state")]


def _state(model):
    """The model's variables and its optimizers' (a GAN's two)."""
    optimizers = [getattr(model, name) for name in ("optimizer", "d_optimizer") if getattr(model, name, None) is not None]
    return list(model.variables) + [variable for optimizer in optimizers for variable in optimizer.variables]


@pytest.mark.parametrize("image_shape", IMAGE_SHAPES, ids=shape_id)
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_trains_samples_and_restores_at_other_image_shapes(name, image_shape, tmp_path, seed):
    model, batch, before, metrics = stepped_model_at(name, image_shape)  # built, then one step with `seed`
    assert model.image_shape == image_shape and model.get_config()["image_shape"] == list(image_shape)

    # The step: finite named metrics, no update skipped, every trainable variable moved.
    assert set(metrics) == {*model.metric_names, "skipped_updates"} and float(metrics["skipped_updates"]) == 0.0
    assert all(np.isfinite(value) for value in metrics.values()), metrics
    unchanged = [variable.path for variable, old in zip(model.trainable_variables, before)
                 if np.array_equal(variable.numpy(), old)]
    assert not unchanged, f"{name}: the step left {unchanged} unchanged"

    # Samples of the image's shape and channels, in [0, 1], the same for the same seed.
    images = model.sample(3, seed=seed).numpy()
    assert images.shape == (3, *image_shape) and images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(images, model.sample(3, seed=seed).numpy())

    # The serving signatures' functions, eagerly on 2 rows (the exports: test_saved_model.py): images of the shape.
    rng = np.random.default_rng(0)
    for endpoint, (function, signature) in model.serving_endpoints().items():
        arguments = [tf.constant(serving_input(spec, rng, 2, getattr(model, "num_classes", 10))) for spec in signature]
        for output, value in function(*arguments).items():
            assert value.shape[0] == 2, (endpoint, output, value.shape)
            if output == "images":
                assert tuple(value.shape[1:]) == image_shape, (endpoint, value.shape)
                assert 0.0 <= float(tf.reduce_min(value)) and float(tf.reduce_max(value)) <= 1.0, endpoint

    # A batch of MNIST's shape is refused, naming the shape the model takes.
    expected = rf"shape \(batch, {', '.join(map(str, image_shape))}\)"
    with pytest.raises(ValueError, match=expected):
        model.train_step({**batch, "image": tf.zeros([8, 28, 28, 1])}, seed)

    # The config, through JSON as a run's config.json, rebuilds the same variables.
    config = json.loads(json.dumps(model.get_config()))
    restored = MODELS[name].from_config(config)
    assert restored.image_shape == image_shape and restored.get_config() == model.get_config()
    restored.compile(optimizer=type(model.optimizer).from_config(model.optimizer.get_config()))
    restored.build_from_batch(batch)
    assert [(v.path, tuple(v.shape)) for v in _variables(restored)] == [(v.path, tuple(v.shape)) for v in _variables(model)]

    # A checkpoint restores every weight and the optimizer's state bit for bit.
    path = make_checkpoint(model, model.optimizer).save(str(tmp_path / "ckpt"))
    make_checkpoint(restored, restored.optimizer).restore(path).assert_consumed()
    for expected_variable, actual in zip(_state(model), _state(restored), strict=True):
        np.testing.assert_array_equal(actual.numpy(), expected_variable.numpy(), err_msg=expected_variable.path)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_config_without_image_shape_is_28x28x1_and_bad_shapes_are_refused(name):
    """A config written before `image_shape` existed loads as MNIST's; an impossible shape names the argument."""
    config = MODELS[name](**NON_DEFAULT_KWARGS[name]).get_config()
    assert config["image_shape"] == list(NON_DEFAULT_KWARGS[name]["image_shape"])
    del config["image_shape"]
    assert MODELS[name].from_config(config).image_shape == (28, 28, 1)
    with pytest.raises(ValueError, match=r"cannot build 30x30 images.*Received: image_shape=\(30, 30, 3\)"):
        MODELS[name](image_shape=(30, 30, 3))
    with pytest.raises(ValueError, match=r"1 to 4 channels.*Received: image_shape=\[32, 32, 5\]"):
        MODELS[name](image_shape=[32, 32, 5])
