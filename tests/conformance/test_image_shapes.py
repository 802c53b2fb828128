"""Every registered model at another image shape than MNIST's: 64x64x3 (descriptors.IMAGE_SHAPES).

The rest of the suite checks every model at 28x28x1. Here one test per model
and shape checks, on a tiny instance (descriptors.MODEL_KWARGS with
SHAPE_KWARGS), what depends on the shape: a training step is finite and
moves every weight, samples have the shape and lie in [0, 1], a batch of
another shape is refused by name, the serving signatures' functions give
images of the shape, the config (JSON) rebuilds the same variables, and a
checkpoint restores every value bit for bit.

The models are built and checked in one child process
(child_image_shapes.py, started by conftest.py when the session starts),
which also makes the 28x28x1 exports of test_saved_model.py; each test
asserts on its part of the report.
"""

import pytest

from conftest import MODEL_NAMES
from conformance.descriptors import IMAGE_SHAPES, non_default_sets
from conformance.support import child_models, model_report, shape_id, shape_key, started_child
from tfgen.models import MODELS


@pytest.mark.background
@pytest.mark.parametrize("image_shape", IMAGE_SHAPES, ids=shape_id)
@pytest.mark.parametrize("name", child_models(MODEL_NAMES))
def test_trains_samples_and_restores_at_other_image_shapes(name, image_shape):
    report = model_report(started_child("image_shapes"), shape_key(name, image_shape), "checks")
    assert report["image_shape"] == report["config_image_shape"] == list(image_shape)

    # One step: finite named metrics, no update skipped, every trainable variable moved.
    assert report["metrics"] == sorted({*report["metric_names"], "skipped_updates"})
    assert report["skipped_updates"] == 0.0 and report["nonfinite_metrics"] == []
    assert report["unchanged"] == [], "the step left these variables unchanged"

    # Samples of the image's shape and channels, in [0, 1], the same for the same seed.
    assert report["sample_shape"] == [3, *image_shape]
    low, high = report["sample_range"]
    assert 0.0 <= low <= high <= 1.0 and report["sample_repeats"]

    # The serving signatures' functions on 2 rows: images of the shape, in [0, 1].
    assert report["serving"], "no signature gives images"
    for endpoint, output, shape, low, high in report["serving"]:
        assert output == "images" and shape == [2, *image_shape], (endpoint, output, shape)
        assert 0.0 <= low <= high <= 1.0, (endpoint, low, high)

    # A batch of MNIST's shape is refused, naming the shape the model takes.
    assert f"shape (batch, {', '.join(map(str, image_shape))})" in (report["other_shape_error"] or ""), \
        report["other_shape_error"]

    # The config, through JSON, rebuilds the same variables; a checkpoint restores every value bit for bit.
    assert report["config_round_trip"]
    model_variables, restored_variables = report["variables"]
    assert restored_variables == model_variables
    assert report["checkpoint_variables"][0] == report["checkpoint_variables"][1] > len(model_variables)
    assert report["checkpoint_differences"] == [], "restored values that differ"


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_a_config_without_image_shape_is_28x28x1_and_bad_shapes_are_refused(name):
    """A config written before `image_shape` existed loads as MNIST's; an impossible shape names the argument."""
    kwargs = non_default_sets(name)[0]
    config = MODELS[name](**kwargs).get_config()
    assert config["image_shape"] == list(kwargs["image_shape"])
    del config["image_shape"]
    assert MODELS[name].from_config(config).image_shape == (28, 28, 1)
    with pytest.raises(ValueError, match=r"cannot build 30x30 images.*Received: image_shape=\(30, 30, 3\)"):
        MODELS[name](image_shape=(30, 30, 3))
    with pytest.raises(ValueError, match=r"1 to 4 channels.*Received: image_shape=\[32, 32, 5\]"):
        MODELS[name](image_shape=[32, 32, 5])
