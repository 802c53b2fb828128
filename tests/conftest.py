"""Shared fixtures: tiny synthetic data, the model registry, the real data when present."""

import os

import numpy as np
import pytest

# Tests never try the network: data comes from ../shared/data or is synthetic.
os.environ.setdefault("TFGEN_OFFLINE", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_SHARED_DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data")
if "TFGEN_DATA_DIR" not in os.environ and os.path.isdir(_SHARED_DATA):
    os.environ["TFGEN_DATA_DIR"] = os.path.abspath(_SHARED_DATA)

import tensorflow as tf  # noqa: E402

from conformance.descriptors import MODEL_KWARGS  # noqa: E402
from tfgen.data import ImageDataset  # noqa: E402
from tfgen.models import MODELS  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODEL_NAMES = sorted(MODELS)


def create_model(name, **overrides):
    """A tiny instance of the registered model `name` (its conformance descriptor), not built."""
    return MODELS[name](**{**MODEL_KWARGS[name], **overrides})


def synthetic_dataset(count=64, seed=0, num_classes=10):
    """Random 28x28x1 uint8 images with random labels."""
    rng = np.random.default_rng(seed)
    return ImageDataset(
        images=rng.integers(0, 256, size=(count, 28, 28, 1), dtype=np.uint8),
        labels=rng.integers(0, num_classes, size=count),
        num_classes=num_classes,
        name="synthetic",
    )


def example_batch(model, size=8, seed=0):
    """One batch in the format `model` trains on (its binarization and label format)."""
    data = synthetic_dataset(size, seed=seed)
    return next(iter(data.batches(size, shuffle=False, binarization=model.binarization, label_format=model.label_format)))


def built_model(name, seed=0, learning_rate=1e-3):
    """A small, built, compiled instance of the registered model `name` and its example batch."""
    import keras

    keras.utils.set_random_seed(seed)
    model = create_model(name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    batch = example_batch(model)
    model.build_from_batch(batch)
    return model, batch


def real_data_available():
    """True when the real MNIST files can be loaded (offline source folder present)."""
    source = os.environ.get("TFGEN_DATA_DIR")
    return bool(source) and os.path.isdir(os.path.join(source, "mnist"))


requires_real_data = pytest.mark.skipif(
    not real_data_available(), reason="the original MNIST files (../shared/data or TFGEN_DATA_DIR) are not here"
)


@pytest.fixture
def seed():
    return tf.constant([7, 11], tf.int64)
