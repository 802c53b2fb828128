"""The `tfgen` command line: a real train/export round trip and clear errors on bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO_ROOT, requires_real_data
from tfgen import cli
from tfgen.models.ssvae import SEMI_SUPERVISED_ALPHA, kingma_alpha


def _error(capsys, argv):
    """Runs the CLI, expecting failure; returns its stderr."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_:  # argparse errors
        code = exit_.code
    assert code == 2
    return capsys.readouterr().err


def test_unknown_dataset(capsys):
    assert "invalid choice: 'cifar'" in _error(capsys, ["train", "vae", "--dataset", "cifar", "--out", "x"])


def test_unknown_model(capsys):
    assert "invalid choice: 'pixelcnn'" in _error(capsys, ["train", "pixelcnn", "--out", "x"])


@pytest.mark.parametrize("value", ["0", "-3", "two"])
def test_non_positive_epochs(capsys, value):
    assert "expected a positive integer" in _error(capsys, ["train", "vae", "--epochs", value, "--out", "x"])


def test_export_of_a_folder_that_is_not_a_run(capsys, tmp_path):
    err = _error(capsys, ["export", str(tmp_path), "--name", "vae", "--saved-models-dir", str(tmp_path / "sm")])
    assert "not a tfgen run directory" in err
    err = _error(capsys, ["export", str(tmp_path / "nope"), "--name", "vae"])
    assert "does not exist" in err


def test_export_of_a_run_without_a_checkpoint_touches_no_version(capsys, tmp_path):
    from tfgen.training import write_json_atomic

    run = tmp_path / "run"
    write_json_atomic(str(run / "config.json"), {"model": "vae", "model_config": {"latent_dim": 2}})
    (tmp_path / "sm" / "vae" / "1").mkdir(parents=True)
    (tmp_path / "sm" / "vae" / "1" / "saved_model.pb").write_bytes(b"version 1")
    err = _error(capsys, ["export", str(run), "--name", "vae", "--saved-models-dir", str(tmp_path / "sm")])
    assert "has no checkpoint" in err
    assert sorted(os.listdir(tmp_path / "sm" / "vae")) == ["1"]
    assert (tmp_path / "sm" / "vae" / "1" / "saved_model.pb").read_bytes() == b"version 1"


@pytest.mark.parametrize("name", ["../evil", "a/b", "..", ""])
def test_export_rejects_names_with_path_parts(capsys, tmp_path, name):
    assert "plain folder name" in _error(capsys, ["export", str(tmp_path), "--name", name])


def test_missing_data_files(capsys, tmp_path):
    err = _error(capsys, ["train", "vae", "--out", str(tmp_path / "run"), "--data-dir", str(tmp_path),
                          "--tfds-dir", str(tmp_path / "tfds")])
    assert "missing" in err and "train-images-idx3-ubyte.gz" in err
    assert not (tmp_path / "run").exists()


def test_resume_without_a_run(capsys, tmp_path):
    (tmp_path / "run").mkdir()
    err = _error(capsys, ["train", "vae", "--out", str(tmp_path / "run"), "--resume", "--max-steps", "1",
                          "--train-examples", "64"])
    assert "not a tfgen run directory" in err or "Cannot get" in err


@requires_real_data
def test_train_resume_and_export_from_the_command_line(tmp_path):
    """The console script end to end on real MNIST: train 2 steps, resume to the end of the epoch, export."""
    run = str(tmp_path / "run")
    base = [sys.executable, "-m", "tfgen.cli", "train", "vae", "--dataset", "mnist", "--out", run,
            "--epochs", "1", "--train-examples", "128", "--batch-size", "32", "--latent-dim", "3"]
    env = {**os.environ, "PYTHONPATH": REPO_ROOT}
    subprocess.run(base + ["--max-steps", "2"], check=True, capture_output=True, env=env)
    subprocess.run(base + ["--resume"], check=True, capture_output=True, env=env)
    for figure in ("samples_epoch001.png", "latent_epoch001.png", "grid_epoch001.png", "losses.png"):
        assert os.path.getsize(os.path.join(run, "plots", figure)) > 1000
    assert os.listdir(os.path.join(run, "tensorboard"))
    out = subprocess.run([sys.executable, "-m", "tfgen.cli", "export", run, "--name", "vae",
                          "--saved-models-dir", str(tmp_path / "sm")], check=True, capture_output=True, text=True, env=env)
    assert "Exported to" in out.stdout
    import tensorflow as tf

    loaded = tf.saved_model.load(str(tmp_path / "sm" / "vae" / "1"))
    decoded = loaded.signatures["decode"](z=tf.zeros([2, 3]))["images"].numpy()
    assert decoded.shape == (2, 28, 28, 1) and np.all((decoded >= 0) & (decoded <= 1))
    from tfgen.export import read_manifest

    training = read_manifest(str(tmp_path / "sm" / "vae" / "1"))["training"]
    assert training["dataset"] == "mnist/train" and training["epochs"] == 1 and training["batch_size"] == 32
    assert training["command"].startswith("tfgen train vae --dataset mnist --out ")  # no interpreter path
    assert np.isfinite(training["final_metrics"]["test/loss"])


def test_labels_per_class_is_for_semi_supervised_models_only(capsys, tmp_path):
    assert cli.main(["train", "vae", "--out", str(tmp_path / "run"), "--labels-per-class", "10"]) == 2
    assert "labels_per_class applies to the semi-supervised models only" in capsys.readouterr().err
    assert not os.path.exists(tmp_path / "run" / "config.json")


@requires_real_data
def test_semi_supervised_training_from_the_command_line_uses_a_labelled_split(tmp_path):
    run = str(tmp_path / "run")
    assert cli.main(["train", "gumbel_ssvae", "--out", run, "--epochs", "1", "--train-examples", "500",
                     "--batch-size", "50", "--max-steps", "2", "--labels-per-class", "3"]) == 0
    from tfgen.training.run_dir import load_run_config

    config = load_run_config(run)
    assert config["dataset"] == "mnist/train[3 labels/class]"
    assert config["model_config"]["alpha"] == SEMI_SUPERVISED_ALPHA != kingma_alpha(30, 470)
