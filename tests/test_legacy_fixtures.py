"""What tfgen 0.1.0 wrote still loads: run folders resume, `.keras` files load, exports serve.

tests/fixtures/legacy/ holds, for one model of each family, a run folder
stopped in the middle of its first epoch, the same model saved as `.keras`
and exported, all written by main at 086d1d4 (before the data, labels and
random draws got one home each, the registry changed and
models/gumbel_cvae.py was renamed), with the SHA-256 of every weight
(tests/fixtures/make_legacy_fixtures.py wrote them). Hashes are of the
weights' bytes: loading must give back exactly what was saved, on any machine.
"""

import hashlib
import json
import os
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO_ROOT, synthetic_dataset
from tfgen import cli
from tfgen.data import ClassSetDataset, labelled_split
from tfgen.export import export_run
from tfgen.models import MODELS
from tfgen.serving import ExportedModel
from tfgen.training import ReclusterCallback, Trainer, restore_model

FIXTURES = os.path.join(REPO_ROOT, "tests", "fixtures", "legacy")
SETTINGS = json.load(open(os.path.join(FIXTURES, "settings.json"), encoding="utf-8"))
NAMES = sorted(name for name in os.listdir(FIXTURES) if os.path.isdir(os.path.join(FIXTURES, name)))


def _hashes(model):
    weights = [v for v in model.weights if not v.path.endswith("seed_generator_state")]
    return [hashlib.sha256(np.ascontiguousarray(v.numpy()).tobytes()).hexdigest() for v in weights]


def _expected(name):
    return np.load(os.path.join(FIXTURES, name, "expected.npz"))


def _copy_run(name, tmp_path):
    """The fixture's run folder, copied: a test never writes into the fixtures."""
    return shutil.copytree(os.path.join(FIXTURES, name, "run"), tmp_path / "run")


def _trainer(name, run_dir):
    """A Trainer for the fixture's run, with the data it was written with (settings.json)."""
    config = json.load(open(os.path.join(run_dir, "config.json"), encoding="utf-8"))
    model = MODELS[name].from_config(config["model_config"])
    train = synthetic_dataset(SETTINGS["examples"])
    test = synthetic_dataset(SETTINGS["test_examples"], seed=1)
    callbacks = []
    if name == "gumbel_ssvae":
        train = labelled_split(train, 2, seed=0, labelled_per_batch=1)
    elif name == "vhe_unsupervised":
        train = ClassSetDataset(train.images, train.labels, name=train.name, set_size=2,
                                set_labels=model.update_clusters(0))
        test, callbacks = None, [ReclusterCallback()]
    return Trainer(model, train, str(run_dir), test_data=test, epochs=SETTINGS["epochs"],
                   batch_size=SETTINGS["batch_size"], learning_rate=SETTINGS["learning_rate"], seed=SETTINGS["seed"],
                   max_checkpoints=1, callbacks=callbacks, verbose=0)


def test_the_fixtures_cover_every_family():
    assert NAMES == ["cgan", "gumbel_ssvae", "infogan", "vae", "vhe_unsupervised"]


@pytest.mark.parametrize("name", NAMES)
def test_legacy_checkpoint_restores_every_weight_exactly(name, tmp_path):
    model, config = restore_model(_copy_run(name, tmp_path))
    assert config["model"] == name and type(model) is MODELS[name]
    assert _hashes(model) == list(_expected(name)["weight_sha256"])


@pytest.mark.parametrize("name", NAMES)
def test_legacy_run_resumes_mid_epoch_to_the_end(name, tmp_path):
    run = _copy_run(name, tmp_path)
    trainer = _trainer(name, run)
    history = trainer.fit(resume=True)
    steps_per_epoch = trainer.train_data.num_batches(SETTINGS["batch_size"], drop_remainder=True)
    assert int(trainer.global_step.numpy()) == SETTINGS["epochs"] * steps_per_epoch  # resumed at step 3, not 0
    assert [entry["epoch"] for entry in history] == [1, 2]
    assert all(np.isfinite(value) for entry in history for key, value in entry.items() if "/" in key)
    config = json.load(open(os.path.join(run, "config.json"), encoding="utf-8"))
    assert len(config["resume_commands"]) == 1


@pytest.mark.parametrize("name", NAMES)
def test_legacy_keras_file_loads_with_its_weights_and_optimizers(name):
    model = keras.saving.load_model(os.path.join(FIXTURES, name, "model.keras"))
    assert type(model) is MODELS[name] and model.compiled
    assert _hashes(model) == list(_expected(name)["weight_sha256"])
    assert int(model.optimizer.iterations) == SETTINGS["max_steps"]


@pytest.mark.parametrize("name", NAMES)
def test_legacy_export_serves_and_samples(name, tmp_path):
    export = os.path.join(FIXTURES, name, "export")
    expected = _expected(name)
    loaded = tf.saved_model.load(os.path.join(export, "1"))
    calls = sorted({key.split("/")[1] for key in expected.files if key.startswith("output/")})
    assert calls and set(calls) <= set(loaded.signatures)
    for call in calls:
        inputs = {key.split("/")[2]: tf.constant(expected[key]) for key in expected.files
                  if key.startswith(f"input/{call}/")}
        outputs = loaded.signatures[call](**inputs)
        for key, value in outputs.items():
            stored = expected[f"output/{call}/{key}"]
            assert value.shape == stored.shape and value.dtype.as_numpy_dtype == stored.dtype, (call, key)
            assert np.all(np.isfinite(value.numpy())), (call, key)
    exported = ExportedModel(export)
    labels = [1, 2] if exported.is_conditional() else None
    images = exported.sample([7, 8], labels)
    assert images.shape == (2, 28, 28, 1) and images.min() >= 0.0 and images.max() <= 1.0
    assert cli.main(["sample", "--model", export, "--columns", "2", "--rows", "2",
                     *(["--label", "3"] if labels else []), "--out", str(tmp_path / "grid.png")]) == 0


@pytest.mark.parametrize("name", NAMES)
def test_legacy_run_exports_with_todays_code(name, tmp_path):
    path = export_run(str(_copy_run(name, tmp_path)), name, str(tmp_path / "saved_models"))
    loaded = tf.saved_model.load(path)
    assert set(_expected(name)["input/sample/seed"].shape) and "sample" in loaded.signatures
