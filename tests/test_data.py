"""The data module: validation, the deterministic pipeline, the real files, offline errors."""

import os
import shutil
import time

import numpy as np
import pytest
import tensorflow as tf

from tfgen import data
from tfgen.data import ImageDataset

from conftest import requires_real_data, synthetic_dataset


def _images(dataset, **kwargs):
    return np.concatenate([batch["image"].numpy() for batch in dataset.batches(8, **kwargs)])


def test_scaling_and_binarizations():
    dataset = synthetic_dataset(16)
    scaled = _images(dataset, shuffle=False, binarization="none")
    np.testing.assert_allclose(scaled, dataset.images / 255.0, rtol=1e-6)
    threshold = _images(dataset, shuffle=False, binarization="threshold", threshold=0.5)
    np.testing.assert_array_equal(threshold, (dataset.images / 255.0 > 0.5).astype(np.float32))
    dynamic = _images(dataset, shuffle=False, binarization="dynamic")
    assert set(np.unique(dynamic)) <= {0.0, 1.0}
    # Dynamic binarization keeps each pixel with probability equal to its intensity.
    assert abs(dynamic.mean() - scaled.mean()) < 0.01


def test_dynamic_binarization_is_fixed_by_seed_and_epoch():
    dataset = synthetic_dataset(16)
    first = _images(dataset, shuffle=False, epoch=0, seed=1)
    np.testing.assert_array_equal(first, _images(dataset, shuffle=False, epoch=0, seed=1))
    assert not np.array_equal(first, _images(dataset, shuffle=False, epoch=1, seed=1))
    assert not np.array_equal(first, _images(dataset, shuffle=False, epoch=0, seed=2))


def test_shuffle_order_is_a_permutation_fixed_by_seed_and_epoch():
    dataset = synthetic_dataset(40)
    labels = lambda **kw: np.concatenate([b["label"].numpy() for b in dataset.batches(8, **kw)])  # noqa: E731
    order = labels(epoch=3, seed=5)
    np.testing.assert_array_equal(order, labels(epoch=3, seed=5))
    assert not np.array_equal(order, labels(epoch=4, seed=5))
    assert sorted(order) == sorted(dataset.labels)


def test_skip_batches_resumes_the_same_epoch():
    dataset = synthetic_dataset(40)
    full = [b["image"].numpy() for b in dataset.batches(8, epoch=2, seed=3)]
    resumed = [b["image"].numpy() for b in dataset.batches(8, epoch=2, seed=3, skip_batches=3)]
    assert len(resumed) == 2
    for expected, actual in zip(full[3:], resumed):
        np.testing.assert_array_equal(expected, actual)


def test_labels_int_and_one_hot():
    dataset = synthetic_dataset(8)
    batch = next(iter(dataset.batches(8, shuffle=False, label_format="one_hot")))
    assert batch["label"].shape == (8, 10) and batch["label"].dtype == tf.float32
    np.testing.assert_array_equal(np.argmax(batch["label"], 1), dataset.labels)
    batch = next(iter(dataset.batches(8, shuffle=False)))
    assert batch["label"].dtype == tf.int64


def test_drop_remainder_and_num_batches():
    dataset = synthetic_dataset(20)
    assert dataset.num_batches(8) == 3 and dataset.num_batches(8, drop_remainder=True) == 2
    assert len(list(dataset.batches(8, drop_remainder=True))) == 2


@pytest.mark.parametrize(
    "images, labels, error, match",
    [
        (np.zeros((4, 28, 28), np.uint8), np.zeros(4, int), ValueError, "shape"),
        (np.zeros((4, 28, 28, 1), np.int32), np.zeros(4, int), TypeError, "uint8"),
        (np.full((4, 28, 28, 1), np.nan, np.float32), np.zeros(4, int), ValueError, "NaN"),
        (np.full((4, 28, 28, 1), 2.0, np.float32), np.zeros(4, int), ValueError, r"\[0, 1\]"),
        (np.zeros((4, 28, 28, 1), np.uint8), np.zeros(3, int), ValueError, "labels must have shape"),
        (np.zeros((4, 28, 28, 1), np.uint8), np.array([0, 1, 2, 10]), ValueError, r"\[0, 10\)"),
        (np.zeros((4, 28, 28, 1), np.uint8), np.zeros(4, np.float32), TypeError, "integers"),
    ],
)
def test_bad_arrays_are_rejected(images, labels, error, match):
    with pytest.raises(error, match=match):
        ImageDataset(images, labels)


def test_bad_pipeline_arguments():
    dataset = synthetic_dataset(8)
    with pytest.raises(ValueError, match="binarization"):
        dataset.batches(4, binarization="otsu")
    with pytest.raises(ValueError, match="batch_size"):
        dataset.batches(0)
    with pytest.raises(ValueError, match="label_format"):
        dataset.batches(4, label_format="text")


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match="Unknown dataset 'cifar100000'"):
        data.load("cifar100000")
    with pytest.raises(ValueError, match="split"):
        data.load("mnist", "validation")


def test_missing_source_files_name_the_folder_and_files(tmp_path):
    (tmp_path / "mnist").mkdir()
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte.gz"):
        data.load("mnist", data_dir=str(tmp_path / "tfds"), source_dir=str(tmp_path))


def test_no_network_and_no_files_fails_fast_with_instructions(tmp_path, monkeypatch):
    monkeypatch.delenv(data.SOURCE_DIR_ENV, raising=False)
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    started = time.perf_counter()
    with pytest.raises(data.DataUnavailableError, match=data.SOURCE_DIR_ENV):
        data.load("fashion_mnist", data_dir=str(tmp_path))
    assert time.perf_counter() - started < 10


def test_network_probe_failure_is_fast(monkeypatch):
    # A probe to an unreachable host must come back as "no network", never hang.
    monkeypatch.delenv(data.OFFLINE_ENV, raising=False)
    monkeypatch.setitem(data.sources._DOWNLOAD_HOSTS, "mnist", ("127.0.0.1", 9))
    started = time.perf_counter()
    assert data.sources._network_available("mnist", timeout=2.0) is False
    assert time.perf_counter() - started < 5


@requires_real_data
@pytest.mark.parametrize("name", data.DATASETS)
def test_real_files_load_through_tfds(name):
    train = data.load(name, "train")
    test = data.load(name, "test")
    assert train.images.shape == (60000, 28, 28, 1) and test.images.shape == (10000, 28, 28, 1)
    assert train.images.dtype == np.uint8
    assert sorted(np.unique(train.labels)) == list(range(10))
    # Each class holds 6000 training images in Fashion-MNIST and 5421..6742 in MNIST.
    assert np.bincount(train.labels).min() > 5000
    batch = next(iter(train.batches(32, binarization="none")))
    assert 0.0 <= float(tf.reduce_min(batch["image"])) and float(tf.reduce_max(batch["image"])) <= 1.0
    # The first N examples, read alone, are the first N of the whole split.
    first = data.load(name, "test", examples=100)
    np.testing.assert_array_equal(first.images, test.images[:100])
    np.testing.assert_array_equal(first.labels, test.labels[:100])
    with pytest.raises(ValueError, match="examples must be a positive integer"):
        data.load(name, "test", examples=0)


@requires_real_data
def test_corrupt_source_file_fails_checksum_validation(tmp_path):
    source = tmp_path / "mnist"
    shutil.copytree(os.path.join(os.environ[data.SOURCE_DIR_ENV], "mnist"), source)
    with open(source / "t10k-labels-idx1-ubyte.gz", "r+b") as stream:
        stream.seek(100)
        stream.write(b"corrupt")
    with pytest.raises(Exception, match="(?i)checksum|sha256|size"):
        data.load("mnist", data_dir=str(tmp_path / "tfds"), source_dir=str(tmp_path))
