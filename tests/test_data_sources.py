"""Data sources: other TFDS datasets (mocked), folders of images, arrays, sizes and channels, streaming."""

import json
import os
import threading

import numpy as np
import pytest
import tensorflow as tf

from tfgen import data
from tfgen.data import ImageDataset, streaming, transforms

from conftest import synthetic_dataset


# ---------------------------------------------------------------------------------------------- transforms

def test_resize_and_crop_against_numpy_references():
    # A 2x downscale of an image of 2x2 blocks is the blocks' values (area resize: the mean of each block).
    blocks = np.array([[10, 50, 130], [90, 200, 255]], np.uint8)
    image = np.kron(blocks, np.ones((2, 2), np.uint8))[None, :, :, None]
    np.testing.assert_array_equal(transforms.transform_images(image, (2, 3))[0, ..., 0], blocks)
    # A constant image stays constant at any size, growing or shrinking, and through a channel change.
    constant = np.full((1, 30, 40, 3), 77, np.uint8)
    for size, channels in [((17, 9), None), ((64, 64), None), ((5, 50), 1)]:
        out = transforms.transform_images(constant, size, channels)
        assert out.shape == (1, *size, channels or 3) and np.all(out == 77)
    # The centre crop to the target's aspect ratio, then an identity "resize": exactly the NumPy crop.
    rng = np.random.default_rng(0)
    wide = rng.integers(0, 256, (1, 6, 11, 1), dtype=np.uint8)
    np.testing.assert_array_equal(transforms.transform_images(wide, (6, 6)), wide[:, :, 2:8])  # (11 - 6) // 2 = 2
    # 9x4 to 4x2: crop rows 0..7 ((9 - 8) // 2 = 0), then the mean of each 2x2 block, rounded (half to even, as
    # tf.round; a mean of 4 integers is exact in float32 and float64 alike).
    tall = rng.integers(0, 256, (1, 9, 4, 3), dtype=np.uint8)
    means = tall[:, :8].reshape(1, 4, 2, 2, 2, 3).astype(np.float64).mean(axis=(2, 4))
    np.testing.assert_array_equal(transforms.transform_images(tall, (4, 2)), np.round(means).astype(np.uint8))


def test_channel_conversions():
    rng = np.random.default_rng(1)
    grey = rng.integers(0, 256, (2, 4, 4, 1), dtype=np.uint8)
    np.testing.assert_array_equal(transforms.transform_images(grey, channels=3), np.repeat(grey, 3, axis=-1))
    rgb = rng.integers(0, 256, (2, 4, 4, 3), dtype=np.uint8)
    # ITU-R 601 luma, rounded; float32 arithmetic is within 1e-4 of float64 here, far from a .5 tie at these values.
    expected = rgb.astype(np.float64) @ np.array([0.2989, 0.587, 0.114])
    got = transforms.transform_images(rgb, channels=1)[..., 0].astype(np.float64)
    assert np.abs(got - expected).max() <= 0.5 + 1e-3
    rgba = np.concatenate([rgb, np.zeros((2, 4, 4, 1), np.uint8)], axis=-1)
    np.testing.assert_array_equal(transforms.transform_images(rgba), rgb)  # alpha dropped


@pytest.mark.parametrize("value, expected", [(32, (32, 32)), ("64x48", (64, 48)), ((28, 20), (28, 20)), ("7", (7, 7))])
def test_image_size_forms(value, expected):
    assert transforms.parse_image_size(value) == expected


@pytest.mark.parametrize("value", [0, -3, "big", (1, 2, 3), 2.5, "3x"])
def test_bad_image_sizes_and_channels(value):
    with pytest.raises(ValueError, match="image_size"):
        transforms.parse_image_size(value)
    with pytest.raises(ValueError, match="channels must be 1 .* or 3"):
        transforms.check_channels(2)


# ---------------------------------------------------------------------------------------------- arrays

def test_from_arrays_and_from_tf_dataset():
    rng = np.random.default_rng(2)
    images = rng.random((6, 8, 8)).astype(np.float32)
    labelled = data.from_arrays(images, [0, 1, 2, 0, 1, 2], class_names=["a", "b", "c"], name="mine")
    assert labelled.image_shape == (8, 8, 1) and labelled.class_names == ["a", "b", "c"] and labelled.num_classes == 3
    np.testing.assert_array_equal(labelled.images[..., 0], np.round(images * 255).astype(np.uint8))
    unlabelled = data.from_arrays(images, image_size=4, channels=3)
    assert unlabelled.image_shape == (4, 4, 3) and not unlabelled.labelled and unlabelled.num_classes == 0
    batch = next(iter(unlabelled.batches(4)))
    assert set(batch) == {"image"}
    uint8 = rng.integers(0, 256, (5, 6, 6, 3), dtype=np.uint8)
    for elements, labelled_ in [({"image": uint8, "label": np.arange(5) % 2}, True), ((uint8, np.arange(5) % 2), True),
                                (uint8, False)]:
        dataset = data.from_tf_dataset(tf.data.Dataset.from_tensor_slices(elements), image_size=(3, 3))
        assert dataset.image_shape == (3, 3, 3) and dataset.labelled == labelled_ and len(dataset) == 5
    with pytest.raises(ValueError, match="infinite"):
        data.from_tf_dataset(tf.data.Dataset.from_tensor_slices(uint8).repeat())
    with pytest.raises(TypeError, match="tf.data.Dataset"):
        data.from_tf_dataset(uint8)


def test_unlabelled_datasets_refuse_label_uses():
    unlabelled = ImageDataset(synthetic_dataset(12).images)
    assert unlabelled.labels is None and unlabelled.class_names == [] and len(unlabelled.take(5)) == 5
    with pytest.raises(ValueError, match="labelled_split needs labelled data"):
        data.labelled_split(unlabelled, 1)
    with pytest.raises(ValueError, match="need labels, or set_labels"):
        data.ClassSetDataset(unlabelled.images, None, set_size=2)
    sets = data.ClassSetDataset(unlabelled.images, None, set_size=2, set_labels=np.arange(12) % 3)
    assert set(next(iter(sets.batches(4)))) == {"image", "class_set", "class_size", "index"}
    with pytest.raises(ValueError, match="no classes"):
        ImageDataset(unlabelled.images, None, num_classes=10)


# ---------------------------------------------------------------------------------------------- TFDS (mocked)

CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


@pytest.fixture
def mocked_tfds(monkeypatch, tmp_path):
    import tensorflow_datasets as tfds

    # CIFAR-10's class names come with its prepared metadata (read from the download); write that metadata as
    # a prepared dataset would have it, so the mock reads it. mock_data replaces the reading of the examples;
    # the datasets also count as prepared, so no download is attempted.
    builder = tfds.builder("cifar10", data_dir=str(tmp_path))
    builder.info.features["label"].names = CIFAR10_NAMES
    os.makedirs(builder.data_dir)
    builder.info.write_to_directory(builder.data_dir)
    monkeypatch.setattr(tfds.core.DatasetBuilder, "is_prepared", lambda self: True)
    with tfds.testing.mock_data(num_examples=6, data_dir=str(tmp_path)):
        yield


def test_other_tfds_datasets_load_through_the_real_code(mocked_tfds):
    cifar = data.load("cifar10", "test", image_size=16, channels=1)
    assert cifar.image_shape == (16, 16, 1) and len(cifar) == 6 and cifar.name == "cifar10/test"
    assert cifar.class_names == CIFAR10_NAMES and cifar.num_classes == 10
    assert cifar.labels.dtype == np.int64 and cifar.labels.max() < 10
    celeb = data.load("celeb_a", examples=4)  # attributes but no class label: unlabelled, at its own size
    assert not celeb.labelled and celeb.image_shape == (218, 178, 3) and len(celeb) == 4
    with pytest.raises(ValueError, match="different sizes.*image_size"):
        data.load("oxford_flowers102")
    assert data.load("oxford_flowers102", image_size=(8, 12)).image_shape == (8, 12, 3)


def test_names_and_paths():
    from tfgen.data.folders import is_path

    assert not is_path("cifar10") and not is_path("celeb_a/align:2.0.1") and not is_path("mnist:3.0.1")
    assert is_path("photos/cats") and is_path("./cifar10") and is_path("~/x")


def test_tfds_split_rules():
    from types import SimpleNamespace

    from tfgen.data.sources import tfds_splits

    def splits(*names):
        return tfds_splits(SimpleNamespace(info=SimpleNamespace(splits={name: None for name in names})))

    assert splits("train", "test", "validation") == {"train": "train", "test": "test"}
    assert splits("train", "validation") == {"train": "train", "test": "validation"}
    assert splits("train") == {"train": "train[:90%]", "test": "train[90%:]"}


def test_unknown_and_unprepared_tfds_datasets_fail_fast(tmp_path, monkeypatch):
    with pytest.raises(ValueError, match="Unknown dataset 'no_such_dataset'"):
        data.load("no_such_dataset")
    monkeypatch.setenv(data.OFFLINE_ENV, "1")
    with pytest.raises(data.DataUnavailableError, match="cifar10.*not prepared"):
        data.load("cifar10", data_dir=str(tmp_path))


# ---------------------------------------------------------------------------------------------- folders

def _write(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    encode = tf.io.encode_png if path.endswith(".png") else lambda x: tf.io.encode_jpeg(x, quality=100)
    tf.io.write_file(path, encode(image))


def _folder(root, classes=("cat", "dog"), per_class=10, size=(6, 6), flat=False):
    """PNG and JPEG images: one folder per class (values class * 100 + index, constant images) or flat."""
    expected = {}
    for k, name in enumerate(classes):
        for i in range(per_class):
            value = 100 * k + i
            ext = ".png" if i % 2 == 0 else ".jpg"  # JPEG keeps constant images exact
            path = os.path.join(root, "" if flat else name, f"img{i:02d}{ext}")
            _write(path, np.full((*size, 1), value, np.uint8))
            expected[path] = value
    return expected


def test_folder_with_class_subfolders(tmp_path):
    _folder(str(tmp_path / "pets"))
    train = data.load(str(tmp_path / "pets"), "train")
    test = data.load(str(tmp_path / "pets"), "test")
    assert train.class_names == ["cat", "dog"] and train.name == "pets/train"
    # Every 10th file of each class (sorted) is held out: img09 of each class.
    np.testing.assert_array_equal(test.images[:, 0, 0, 0], [9, 109])
    np.testing.assert_array_equal(test.labels, [0, 1])
    np.testing.assert_array_equal(train.images[:, 0, 0, 0], [*range(9), *range(100, 109)])
    np.testing.assert_array_equal(train.labels, [0] * 9 + [1] * 9)
    assert data.load(str(tmp_path / "pets"), examples=3, channels=3, image_size=4).images.shape == (3, 4, 4, 3)


def test_flat_folder_and_split_folders(tmp_path):
    _folder(str(tmp_path / "flat"), classes=("x",), per_class=4, flat=True)
    flat = data.load(str(tmp_path / "flat"))
    assert not flat.labelled and len(flat) == 3  # its last file of 4 is the test split
    _folder(str(tmp_path / "split" / "train"), per_class=2)
    _folder(str(tmp_path / "split" / "test"), classes=("dog",), per_class=1)
    test = data.load(str(tmp_path / "split"), "test")
    assert test.class_names == ["cat", "dog"] and test.labels.tolist() == [1]  # ids of the training folder
    assert len(data.load(str(tmp_path / "split"), "train")) == 4


def test_folder_errors_name_the_file_and_the_fix(tmp_path):
    _folder(str(tmp_path / "bad"), per_class=3)
    with open(tmp_path / "bad" / "dog" / "broken.png", "wb") as stream:
        stream.write(b"not an image at all")
    with pytest.raises(ValueError, match=r"Cannot read the image file .*broken\.png"):
        data.load(str(tmp_path / "bad"))
    _folder(str(tmp_path / "mixed"), per_class=3)
    _write(str(tmp_path / "mixed" / "dog" / "big.png"), np.zeros((8, 5, 1), np.uint8))
    with pytest.raises(ValueError, match=r"different sizes.*big\.png.*--image-size"):
        data.load(str(tmp_path / "mixed"))
    assert data.load(str(tmp_path / "mixed"), image_size=4).image_shape == (4, 4, 1)
    with pytest.raises(ValueError, match="No such folder"):
        data.load(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="holds no images"):
        data.load(str(tmp_path / "empty"))


# ---------------------------------------------------------------------------------------------- streaming

def _epoch(dataset, **kwargs):
    return [{key: value.numpy() for key, value in batch.items()} for batch in dataset.batches(5, **kwargs)]


def _assert_same(first, second):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_streaming_gives_the_in_memory_batches_bit_for_bit(tmp_path):
    _folder(str(tmp_path / "pets"), per_class=10, size=(5, 7))
    folder = str(tmp_path / "pets")
    memory = data.load(folder, image_size=4, streaming=False)
    streamed = data.load(folder, image_size=4, streaming=True)
    assert streamed.streaming and not memory.streaming
    np.testing.assert_array_equal(np.asarray(streamed.images), memory.images)
    for epoch in range(3):  # order, labels, dynamic binarization, for several epochs
        _assert_same(_epoch(memory, epoch=epoch, seed=3), _epoch(streamed, epoch=epoch, seed=3))
    _assert_same(_epoch(memory, epoch=1, seed=3, skip_batches=2), _epoch(streamed, epoch=1, seed=3, skip_batches=2))
    # Derived datasets keep streaming: a labelled split and class sets (their extra draws included).
    split = lambda d: data.labelled_split(d, 2, seed=1, labelled_per_batch=2)  # noqa: E731
    _assert_same(_epoch(split(memory), epoch=2, seed=4), _epoch(split(streamed), epoch=2, seed=4))
    sets = lambda d: data.ClassSetDataset(d.images, d.labels, d.num_classes, d.name, set_size=3)  # noqa: E731
    _assert_same(_epoch(sets(memory), epoch=1, seed=5, skip_batches=1),
                 _epoch(sets(streamed), epoch=1, seed=5, skip_batches=1))


def test_the_cache_is_reused_and_rebuilt_when_stale_or_partial(tmp_path, monkeypatch):
    _folder(str(tmp_path / "pets"), per_class=3)
    folder = str(tmp_path / "pets")
    first = data.load(folder, streaming=True)
    expected = np.array(first.images)  # a copy: the files below are replaced, never changed in place
    cache = tmp_path / "pets" / streaming.FOLDER_CACHE
    (meta,) = [p for p in cache.iterdir() if p.suffix == ".json"]
    assert json.loads(meta.read_text())["shape"] == [len(expected), 6, 6, 1]
    writes = []
    original = streaming.write_cache
    monkeypatch.setattr(streaming, "write_cache", lambda *a, **k: writes.append(1) or original(*a, **k))
    data.load(folder, streaming=True)
    assert writes == []  # reused
    images = meta.with_name(meta.name.replace(".json", ".images"))
    partial = images.with_name("partial")
    partial.write_bytes(images.read_bytes()[:-7])
    os.replace(partial, images)  # a partial file
    np.testing.assert_array_equal(np.asarray(data.load(folder, streaming=True).images), expected)
    assert writes == [1]
    _write(os.path.join(folder, "cat", "img00.png"), np.full((6, 6, 1), 42, np.uint8))  # a changed file
    os.utime(os.path.join(folder, "cat", "img00.png"), ns=(1, 1))
    assert data.load(folder, streaming=True).images[0, 0, 0, 0] == 42 and writes == [1, 1]
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]
    # Concurrent writers of one source leave one complete cache (each writes a temporary file, then os.replace).
    for path in cache.iterdir():
        path.unlink()
    threads = [threading.Thread(target=data.load, args=(folder,), kwargs={"streaming": True}) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    np.testing.assert_array_equal(np.asarray(data.load(folder, streaming=True).images[1:]), expected[1:])
    assert not [p for p in cache.iterdir() if p.name.startswith(".tmp-")]


def test_automatic_streaming_follows_the_memory_budget(tmp_path, monkeypatch):
    _folder(str(tmp_path / "pets"), per_class=3)
    monkeypatch.setenv(streaming.MAX_IN_MEMORY_ENV, "100")  # 4 images of 6x6 = 144 bytes: over
    assert data.load(str(tmp_path / "pets")).streaming
    monkeypatch.setenv(streaming.MAX_IN_MEMORY_ENV, "1000")
    assert not data.load(str(tmp_path / "pets")).streaming
    monkeypatch.setenv(streaming.MAX_IN_MEMORY_ENV, "lots")
    with pytest.raises(ValueError, match="TFGEN_MAX_IN_MEMORY_BYTES"):
        streaming.memory_budget()


# ---------------------------------------------------------------------------------------------- runs and CLI

@pytest.mark.parametrize("model_name", ["cvae", "ssvae", "vhe"])
def test_models_that_need_labels_refuse_unlabelled_data(model_name):
    from tfgen import runs
    from tfgen.models import get_model_class

    unlabelled = ImageDataset(synthetic_dataset(8).images, name="my_folder/train")
    with pytest.raises(ValueError, match=rf"^{model_name} needs labelled data; 'my_folder/train' has no labels.*"
                                         r"one sub-folder per class.*vae.*vhe_unsupervised"):
        runs.build_model_and_data(get_model_class(model_name), unlabelled, None, {}, batch_size=4)


def test_load_data_takes_datasets_and_pairs():
    from tfgen import runs

    train, test = synthetic_dataset(10), synthetic_dataset(6, seed=1)
    assert runs.load_data(train, train_examples=4)[0].images.shape == (4, 28, 28, 1)
    assert runs.load_data(train)[1] is None
    converted = runs.load_data((train, test), image_size=8, channels=3)
    assert [d.image_shape for d in converted] == [(8, 8, 3), (8, 8, 3)]
    with pytest.raises(ValueError, match="Unknown dataset 'cifar'"):
        data.check_dataset("cifar")


def test_cli_data_flags_reach_load_data(tmp_path, monkeypatch, capsys):
    from tfgen import cli, runs

    _folder(str(tmp_path / "pets"), classes=("x",), per_class=20, size=(28, 28), flat=True)  # unlabelled
    seen = {}
    original = runs.load_data

    def spy(dataset, **kwargs):
        seen.update(kwargs, dataset=dataset)
        return original(dataset, **kwargs)

    monkeypatch.setattr(runs, "load_data", spy)
    out = str(tmp_path / "run")
    assert cli.main(["train", "vae", "--dataset", str(tmp_path / "pets"), "--image-size", "28x28", "--channels", "1",
                     "--no-streaming", "--smoke", "--batch-size", "6", "--max-steps", "1", "--out", out]) == 0
    assert seen["dataset"] == str(tmp_path / "pets") and seen["image_size"] == (28, 28)
    assert seen["channels"] == 1 and seen["streaming"] is False
    with open(os.path.join(out, "config.json"), encoding="utf-8") as stream:
        config = json.load(stream)
    assert config["dataset"] == "pets/train" and config["image_size"] == [28, 28] and config["channels"] == 1
    # A resume with another image size is a recipe change, refused (here: the images' own 28x28, not asked for).
    assert cli.main(["train", "vae", "--dataset", str(tmp_path / "pets"), "--smoke", "--batch-size", "6", "--out", out,
                     "--resume", "--max-steps", "2"]) == 2
    err = capsys.readouterr().err
    assert "Cannot resume" in err and "image_size: [28, 28] -> None" in err
