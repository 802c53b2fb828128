"""Every registered model: checkpoints restore weights and optimizer state; an
interrupted run resumes to the result of an uninterrupted one."""

import os

import keras
import numpy as np
import pytest

from conftest import MODEL_NAMES, built_model, create_model, synthetic_dataset
from conformance.support import CHILD_OF, child_models, model_report, started_child
from tfgen.models import MODELS
from tfgen.training import RunDirectoryError, Trainer, make_checkpoint


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_checkpoint_restores_weights_and_optimizer_state(name, tmp_path, seed):
    model, batch = built_model(name)
    for step in range(2):
        model.train_step(batch, seed + step)
    path = make_checkpoint(model, model.optimizer).save(str(tmp_path / "ckpt"))

    restored, _ = built_model(name, seed=99)
    make_checkpoint(restored, restored.optimizer).restore(path).assert_consumed()
    for expected, actual in zip(model.variables, restored.variables):
        np.testing.assert_array_equal(expected.numpy(), actual.numpy())
    for expected, actual in zip(model.optimizer.variables, restored.optimizer.variables):
        np.testing.assert_array_equal(expected.numpy(), actual.numpy())
    # The next step is the same from both: the same eager ops on the same values, so bit for bit.
    model.train_step(batch, seed + 5)
    restored.train_step(batch, seed + 5)
    for expected, actual in zip(model.variables, restored.variables):
        np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=expected.path)
    for expected, actual in zip(model.optimizer.variables, restored.optimizer.variables):
        np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=expected.path)


def _trainer(name, run_dir):
    keras.utils.set_random_seed(0)
    model = create_model(name)
    return Trainer(model, synthetic_dataset(48), str(run_dir), test_data=synthetic_dataset(16, seed=1),
                   epochs=2, batch_size=8, learning_rate=1e-3, seed=3, verbose=0)


@pytest.mark.background
@pytest.mark.parametrize("name", child_models(MODEL_NAMES))
def test_run_killed_mid_epoch_resumes_to_the_uninterrupted_result(name):
    """Bit for bit: both runs execute the same traced steps on the same values in the same order.

    A run of 2 epochs of 6 steps, stopped after 4 steps and resumed by a new
    Trainer (as a new process would), ends with the same variables, optimizer
    state and per-epoch train and test metrics as the same run never
    stopped. The three runs of every model train in a child process
    (conformance/child_checkpoint.py, started when the session starts), with
    Grappler off: with it on, the CVAE's compiled gradients were seen to
    differ in the last bits from one call to the next on the same inputs
    (under CPU load), which no resumption logic can be blamed for; without
    it, they never did.
    """
    report = model_report(started_child(CHILD_OF.get(name, "checkpoint0")), name)
    assert report["stopped_at"] == [0, 4]  # inside epoch 1
    assert report["global_steps"] == [12, 12]
    counts = report["variable_counts"]
    assert counts[0] == counts[1] > 0 and report["optimizer_variable_counts"][0] == report["optimizer_variable_counts"][1]
    assert report["variable_differences"] == [], "(variable, elements that differ)"
    assert report["optimizer_differences"] == [], "(optimizer variable, elements that differ)"
    assert report["history_lengths"] == [2, 2]
    for keys in report["history_keys"]:
        assert "train/loss" in keys and "test/loss" in keys, keys
    assert report["history_differences"] == [], "(epoch, metric, uninterrupted, resumed)"


def test_existing_run_is_never_overwritten_and_resume_needs_a_run(tmp_path):
    trainer = _trainer("vae", tmp_path / "run")
    trainer.fit(max_steps=2)
    files = sorted(os.listdir(tmp_path / "run" / "checkpoints"))
    with pytest.raises(RunDirectoryError, match="already holds a training run"):
        _trainer("vae", tmp_path / "run").fit()
    assert sorted(os.listdir(tmp_path / "run" / "checkpoints")) == files
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunDirectoryError, match="not a tfgen run directory"):
        _trainer("vae", tmp_path / "empty").fit(resume=True)
    with pytest.raises(RunDirectoryError, match="does not exist"):
        _trainer("vae", tmp_path / "missing").fit(resume=True)


def test_run_saved_before_an_option_existed_resumes_and_a_changed_option_refuses(tmp_path):
    import json

    _trainer("vae", tmp_path / "run").fit(max_steps=2)
    config_path = tmp_path / "run" / "config.json"
    config = json.loads(config_path.read_text())
    assert config["model_config"].pop("analytic_kl") is False  # as if written before the option existed (default False)
    config_path.write_text(json.dumps(config))
    assert len(_trainer("vae", tmp_path / "run").fit(resume=True)) == 2
    config["model_config"]["analytic_kl"] = True
    config_path.write_text(json.dumps(config))
    with pytest.raises(RunDirectoryError, match="Cannot resume"):
        _trainer("vae", tmp_path / "run").fit(resume=True)


def test_resumed_run_records_its_new_epoch_target_and_command(tmp_path):
    import json

    _trainer("vae", tmp_path / "run").fit(max_steps=2)
    first = json.loads((tmp_path / "run" / "config.json").read_text())
    longer = _trainer("vae", tmp_path / "run")
    longer.epochs = 3
    assert len(longer.fit(resume=True)) == 3
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert first["training"]["epochs"] == 2 and config["training"]["epochs"] == 3
    assert config["command"] == first["command"] and len(config["resume_commands"]) == 1


def test_corrupt_checkpoint_gets_a_clear_error_and_is_left_alone(tmp_path):
    _trainer("vae", tmp_path / "run").fit(max_steps=2)
    folder = tmp_path / "run" / "checkpoints"
    data_file = next(p for p in folder.iterdir() if ".data-" in p.name)
    data_file.write_bytes(b"not a checkpoint")
    with pytest.raises(RunDirectoryError, match=r"ckpt-2': it cannot be read .*No older intact checkpoint"):
        _trainer("vae", tmp_path / "run").fit(resume=True)
    assert data_file.read_bytes() == b"not a checkpoint"


def test_diverged_training_stops_without_writing_a_bad_checkpoint(tmp_path):
    trainer = _trainer("vae", tmp_path / "run")
    trainer.optimizer.learning_rate.assign(1e30)
    with pytest.raises(FloatingPointError, match="non-finite"):
        trainer.fit()
    assert not (tmp_path / "run" / "checkpoints").exists() or not any(
        p.name.startswith("ckpt") for p in (tmp_path / "run" / "checkpoints").iterdir()
    )


def test_trainer_argument_checks(tmp_path):
    model = MODELS["vae"]()
    with pytest.raises(ValueError, match="epochs must be a positive integer"):
        Trainer(model, synthetic_dataset(16), str(tmp_path), epochs=0)
    with pytest.raises(TypeError, match="ImageDataset"):
        Trainer(model, np.zeros((4, 28, 28, 1)), str(tmp_path))
    with pytest.raises(ValueError, match="fewer than batch_size"):
        Trainer(model, synthetic_dataset(4), str(tmp_path), batch_size=8)


@pytest.mark.background
@pytest.mark.parametrize("name", child_models(MODEL_NAMES))
def test_eager_and_compiled_training_loops_agree(name):
    """One epoch (4 steps, 4 batches, 4 seeds) of Trainer(eager=True) and Trainer(eager=False) from the same seeds:
    bit-identical.

    Both run in a child process with oneDNN's graph rewrites and Grappler off
    (conformance/conftest.py), so both sides run the same kernels in the same
    order on any CPU: any difference comes from the loop itself (seeds,
    counters, metric sums, the distribution of the batches) or from the steps'
    trace-time behaviour: the compiled steps run one trace (checked), so a
    seed, a Python side effect or a variable read once when the step was traced
    stays frozen there, and the eager steps differ from it.
    """
    report = model_report(started_child("eager_vs_compiled"), name, "loop")
    assert report["traces"] == 1, "the compiled step retraced: its later steps did not test the first trace"
    assert report["global_steps"] == [4, 4]
    assert "train/loss" in report["history_keys"]
    assert report["history_differences"] == [], "(metric, compiled, eager)"
    assert report["state_differences"] == [], "(variable, elements that differ, largest difference)"
