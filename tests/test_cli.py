"""The `tfgen` command line: a real train/export round trip and clear errors on bad input."""

import json
import os

import pytest

from background import CLI_DCGAN
from conftest import requires_real_data
from tfgen import cli
from tfgen.models import MODELS
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
    assert "Unknown dataset 'cifar'" in _error(capsys, ["train", "vae", "--dataset", "cifar", "--out", "x"])


def test_unknown_model(capsys):
    assert "invalid choice: 'pixelcnn'" in _error(capsys, ["train", "pixelcnn", "--out", "x"])


@pytest.mark.parametrize("value, expected", [("0", "epochs must be a positive integer. Received: epochs=0"),
                                             ("-3", "epochs must be a positive integer. Received: epochs=-3"),
                                             ("two", "argument --epochs: invalid int value: 'two'")])
def test_non_positive_epochs(capsys, value, expected):
    err = _error(capsys, ["train", "vae", "--epochs", value, "--out", "x"])
    assert expected in err and len(err.strip().splitlines()) == 1


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
    (tmp_path / "empty").mkdir()
    err = _error(capsys, ["train", "vae", "--out", str(tmp_path / "run"), "--source-dir", str(tmp_path / "empty"),
                          "--data-dir", str(tmp_path / "tfds"), "--max-steps", "1"])
    assert "missing" in err and "train-images-idx3-ubyte.gz" in err
    assert not (tmp_path / "run").exists()


def test_data_folder_flags_match_the_library_and_the_old_spellings_still_work(capsys, tmp_path, monkeypatch):
    """--data-dir is TFDS's data_dir and --source-dir the .gz folder, as in tfgen.data.load; the old
    --data-dir (a folder of .gz files) and --tfds-dir are taken with a warning."""
    from tfgen import runs

    calls = []
    monkeypatch.setattr(runs, "run", lambda config: calls.append(config))
    source = tmp_path / "source" / "mnist"
    source.mkdir(parents=True)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                 "t10k-labels-idx1-ubyte.gz"):
        (source / name).write_bytes(b"")
    base = ["train", "vae", "--out", str(tmp_path / "run")]
    assert cli.main(base + ["--data-dir", str(tmp_path / "tfds"), "--source-dir", str(tmp_path / "source")]) == 0
    assert calls[-1].data_dir == str(tmp_path / "tfds") and calls[-1].source_dir == str(tmp_path / "source")
    assert "warning" not in capsys.readouterr().err
    # Yesterday's command line: --data-dir named the .gz folder and --tfds-dir the TFDS folder.
    assert cli.main(base + ["--data-dir", str(tmp_path / "source"), "--tfds-dir", str(tmp_path / "tfds")]) == 0
    assert calls[-1].source_dir == str(tmp_path / "source") and calls[-1].data_dir == str(tmp_path / "tfds")
    err = capsys.readouterr().err
    assert "--tfds-dir is deprecated" in err and "taken as --source-dir" in err
    # A --data-dir that is not a folder of .gz files is TFDS's folder: the two spellings of it clash.
    assert cli.main(base + ["--data-dir", str(tmp_path / "tfds"), "--tfds-dir", str(tmp_path / "other")]) == 2
    assert "give one" in capsys.readouterr().err
    assert len(calls) == 2


def test_resume_without_a_run(capsys, tmp_path):
    (tmp_path / "run").mkdir()
    err = _error(capsys, ["train", "vae", "--out", str(tmp_path / "run"), "--resume", "--max-steps", "1",
                          "--train-examples", "64"])
    assert "not a tfgen run directory" in err  # checked before any data is loaded



def test_labels_per_class_is_for_semi_supervised_models_only(capsys, tmp_path):
    from tfgen import runs

    err = _error(capsys, ["train", "vae", "--out", str(tmp_path / "run"), "--labels-per-class", "10"])
    assert "unrecognized arguments: --labels-per-class" in err
    with pytest.raises(ValueError, match="labels_per_class applies to the semi-supervised models only"):
        runs.train("vae", out=str(tmp_path / "run"), labels_per_class=10)
    assert not os.path.exists(tmp_path / "run")


@requires_real_data
def test_semi_supervised_training_from_the_command_line_uses_a_labelled_split(tmp_path):
    run = str(tmp_path / "run")
    assert cli.main(["train", "gumbel_ssvae", "--out", run, "--epochs", "1", "--train-examples", "500",
                     "--batch-size", "50", "--max-steps", "2", "--labels-per-class", "3"]) == 0
    from tfgen.training.run_dir import load_run_config

    config = load_run_config(run)
    assert config["dataset"] == "mnist/train[3 labels/class]"
    assert config["model_config"]["alpha"] == SEMI_SUPERVISED_ALPHA != kingma_alpha(30, 470)


def test_train_help_shows_the_models_own_options_and_paper_defaults(capsys):
    from tfgen.models import MODELS
    from tfgen.runs import constructor_options

    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "infogan", "--help"])
    assert exit_.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "Chen et al. 2016" in text
    for expected in ("--latent-dim LATENT_DIM the size of the incompressible noise z ~ N(0, I). (default: 62)",
                     "--learning-rate LEARNING_RATE Adam's learning rate for G (default: 0.001)",
                     "--discriminator-learning-rate DISCRIMINATOR_LEARNING_RATE Adam's learning rate for D (default: 0.0002)",
                     "--beta-1 BETA_1 Adam's beta_1 for G (default: 0.5)", "--batch-size BATCH_SIZE (default: 64)",
                     "--epochs EPOCHS (default: 16)", "(default: [1024])"):
        assert expected in text, expected
    # Every constructor argument of every model is a flag of its own (the model's own seed: --set seed=N).
    for name, model_class in sorted(MODELS.items()):
        with pytest.raises(SystemExit):
            cli.main(["train", name, "--help"])
        text = capsys.readouterr().out
        for option in constructor_options(model_class):
            assert option == "seed" or "--" + option.replace("_", "-") + " " in text, (name, option)


def test_set_and_config_reach_any_constructor_argument(capsys, tmp_path, monkeypatch):
    from tfgen import runs

    calls = []
    monkeypatch.setattr(runs, "run", lambda config: calls.append(config))
    config = tmp_path / "options.json"
    config.write_text(json.dumps({"epochs": 3, "batch_size": 16, "plot_every": 4,
                                  "model": {"latent_dim": 5, "mmd_weight": 2.0}}))
    assert cli.main(["train", "mmd_vae", "--out", "run", "--config", str(config), "--epochs", "7", "--latent-dim", "3",
                     "--set", "seed=11", "--set", "mmd_weight=0.5", "--set", "plot_every=2"]) == 0
    run = calls[-1]
    assert run.model_name == "mmd_vae" and run.epochs == 7 and run.batch_size == 16  # the flag wins over the file
    assert run.plot_every == 2  # --set reaches run options too, over the file
    assert run.seed == 0 and run.learning_rate == MODELS["mmd_vae"].recipe.learning_rate  # the recipe's
    # The recipe's constructor arguments, then the file's, then --set, then the flags.
    assert dict(run.model) == {**MODELS["mmd_vae"].recipe.model, "latent_dim": 3, "mmd_weight": 0.5, "seed": 11}
    # A flag and a --set for the same option with different values: refused, not silently one of them.
    assert cli.main(["train", "mmd_vae", "--out", "run", "--latent-dim", "3", "--set", "latent_dim=4"]) == 2
    assert "latent_dim is given twice with different values" in capsys.readouterr().err
    # A string where a boolean is wanted is refused, not read as true.
    config.write_text(json.dumps({"smoke": "false"}))
    assert cli.main(["train", "mmd_vae", "--out", "run", "--config", str(config)]) == 2
    assert "smoke must be True or False. Received: smoke='false'" in capsys.readouterr().err
    assert len(calls) == 1
    config.write_text(json.dumps({"epochz": 3}))
    assert cli.main(["train", "mmd_vae", "--out", "run", "--config", str(config)]) == 2
    assert "Unknown options ['epochz']" in capsys.readouterr().err
    assert cli.main(["train", "mmd_vae", "--out", "run", "--config", str(tmp_path / "missing.json")]) == 2
    assert "Cannot read the --config file" in capsys.readouterr().err
    assert "expected NAME=VALUE" in _error(capsys, ["train", "mmd_vae", "--out", "run", "--set", "latent_dim"])


def test_the_gan_objective_flags_reach_the_model_options(monkeypatch):
    from tfgen import runs

    calls = []
    monkeypatch.setattr(runs, "run", lambda config: calls.append(config))
    assert cli.main(["train", "dcgan", "--out", "run", "--loss", "hinge", "--spectral-norm"]) == 0
    assert cli.main(["train", "infogan", "--out", "run", "--loss", "wgan_gp", "--gradient-penalty", "5",
                     "--no-discriminator-batch-norm", "--discriminator-steps", "5", "--no-spectral-norm"]) == 0
    hinge, wgan = (dict(run.model) for run in calls)
    assert (hinge["loss"], hinge["spectral_norm"]) == ("hinge", True) and "gradient_penalty" not in hinge
    assert (wgan["loss"], wgan["gradient_penalty"], wgan["spectral_norm"]) == ("wgan_gp", 5.0, False)
    assert (wgan["discriminator_batch_norm"], wgan["discriminator_steps"]) == (False, 5)


def test_bad_model_options_get_one_clear_line(capsys, tmp_path):
    err = _error(capsys, ["train", "vae", "--out", str(tmp_path / "run"), "--set", "latnt_dim=3"])
    assert "'vae' takes no option ['latnt_dim']" in err
    err = _error(capsys, ["train", "vae", "--out", str(tmp_path / "run"), "--latent-dim", "0", "--max-steps", "1",
                          "--train-examples", "64"])
    assert "latent_dim must be a positive integer. Received: latent_dim=0" in err
    # One line, before any data is loaded (no TFDS progress either), and no run folder.
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and not (tmp_path / "run").exists()


def _run_config(run):
    """A run's config.json without what names the process (the command, Keras's per-process name counters)."""
    config = json.loads(open(os.path.join(run, "config.json"), encoding="utf-8").read())
    config["model_config"].pop("name")
    for optimizer in ("optimizer", "discriminator_optimizer"):
        config["training"].get(optimizer, {}).get("config", {}).pop("name", None)
    for key in ("command", "resume_commands"):
        config.pop(key, None)
    return config


@requires_real_data
def test_the_cli_trains_a_gan_as_its_paper_and_its_example_do(example_runs):
    """`tfgen train dcgan` is examples/dcgan.py: the same model, optimizers, batches and data.

    Both runs are background jobs started when the session starts (tests/background.py): the example's run
    is the smoke run test_examples.py checks (one run of the script per session), and `tfgen train dcgan
    --dataset mnist --smoke` runs through `tfgen.cli.main` in a worker process.
    """
    returncode, cli_run, stderr = example_runs.result(CLI_DCGAN)
    assert returncode == 0, stderr[-3000:]
    returncode, example_run, stderr = example_runs.result("dcgan")
    assert returncode == 0, stderr[-3000:]
    expected = _run_config(example_run)
    assert _run_config(cli_run) == expected
    # Radford et al.'s settings, as the recipe states them.
    model, training = expected["model_config"], expected["training"]
    assert (model["latent_dim"], model["generator_filters"], training["batch_size"]) == (100, 32, 64)
    for optimizer in (training["optimizer"], training["discriminator_optimizer"]):
        assert optimizer["config"]["learning_rate"] == pytest.approx(2e-4) and optimizer["config"]["beta_1"] == 0.5
    for run in (cli_run, example_run):  # the sample scores of every epoch and the figures after training
        assert os.path.isfile(os.path.join(run, "gan_diagnostics.json"))
        assert os.path.isfile(os.path.join(run, "plots", "interpolation_final.png"))


@requires_real_data
def test_infogan_defaults_give_each_player_its_paper_learning_rate(tmp_path):
    run = str(tmp_path / "run")
    assert cli.main(["train", "infogan", "--out", run, "--smoke", "--no-sample-scores", "--max-steps", "1",
                     "--set", "hidden_units=[]", "--set", "discriminator_hidden_units=[]"]) == 0
    training = _run_config(run)["training"]
    assert training["optimizer"]["config"]["learning_rate"] == pytest.approx(1e-3)
    assert training["discriminator_optimizer"]["config"]["learning_rate"] == pytest.approx(2e-4)


def _fresh_cli(*argv, code="from tfgen import cli\ntry:\n    cli.main(sys.argv[1:])\nexcept SystemExit:\n    pass\n",
               **environment):
    """Runs the command line in a fresh Python process, with `environment` added to an environment without
    TF_CPP_MIN_LOG_LEVEL and TFGEN_DEBUG; (stdout, stderr, whether TensorFlow was imported)."""
    import subprocess
    import sys

    script = "import sys\n" + code + "print('tensorflow imported:', 'tensorflow' in sys.modules)\n"
    env = {key: value for key, value in os.environ.items() if key not in ("TF_CPP_MIN_LOG_LEVEL", "TFGEN_DEBUG")}
    result = subprocess.run([sys.executable, "-c", script, *argv], capture_output=True, text=True,
                            env={**env, **environment}, timeout=300,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out, _, imported = result.stdout.rpartition("tensorflow imported: ")
    return out, result.stderr, imported.strip() == "True"


def test_help_version_and_models_answer_at_once_without_tensorflow():
    """`tfgen --help`, `--version`, `models`, every command's --help and a model's import neither TensorFlow
    nor the models (`tfgen train` reads them from tfgen/catalog.json)."""
    for argv in (["--help"], ["--version"], ["export", "--help"], ["evaluate", "--help"], ["train", "--help"],
                 ["train", "cvae", "--help"], ["models"]):
        out, err, imported = _fresh_cli(*argv)
        assert not imported and err == "", (argv, err)
        if argv == ["--version"]:
            assert out.startswith("tfgen 0.")
        elif argv == ["models"]:
            assert "cvae  Convolutional conditional VAE." in out and "preset seed-post:" in out
        else:
            assert "usage: tfgen" in out
    out, _, _ = _fresh_cli("train", "cvae", "--help")
    assert "--preset PRESET" in out and "--conditioning CONDITIONING" in out
    out, _, _ = _fresh_cli("--version")
    assert "TensorFlow 2." in out and "Keras 3." in out


def test_tensorflow_starts_without_its_log_lines_unless_asked():
    """TensorFlow's C++ start-up log (oneDNN, CUDA stubs, CPU features: "I0000 ..." lines that
    TF_CPP_MIN_LOG_LEVEL does not silence) never reaches a tfgen command's stderr, unless the user asks
    for it (TFGEN_DEBUG=1, or TF_CPP_MIN_LOG_LEVEL set)."""
    code = ("from tfgen import cli\ncli.import_tensorflow_quietly()\nimport tensorflow as tf\n"
            "print(float(tf.reduce_sum(tf.ones([2]))))\n")
    out, err, imported = _fresh_cli(code=code)
    assert imported and out.strip() == "2.0" and err == "", err
    out, err, _ = _fresh_cli(code=code, TF_CPP_MIN_LOG_LEVEL="0")
    assert out.strip() == "2.0" and "I0000" in err
