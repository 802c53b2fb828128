"""Runs that survive every fault: the non-finite guard, one writer per folder, resume checks,
recovery from damaged checkpoints, signals, seeds, file permissions and one-line CLI errors."""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading

import keras
import numpy as np
import pytest
import tensorflow as tf

from background import KILL_NAMES
from conftest import REPO_ROOT, built_model, create_model, requires_real_data, started, synthetic_dataset
from tfgen import cli, locks
from tfgen.export import export_model, export_run
from tfgen.serving import ExportedModel
from tfgen.training import RunDirectoryError, Trainer, callbacks
from tfgen.training import run_dir as run_files
from tfgen.training.trainer import TrainingDiverged, TrainingInterrupted


def _trainer(run_dir, name="vae", *, seed=0, epochs=2, batch_size=8, examples=32, **kwargs):
    """A tiny trainer (4 steps an epoch by default); the model is made after seeding, as `tfgen.runs` does."""
    keras.utils.set_random_seed(seed)
    return Trainer(create_model(name), synthetic_dataset(examples), str(run_dir), epochs=epochs,
                   batch_size=batch_size, learning_rate=kwargs.pop("learning_rate", 1e-3), seed=seed, verbose=0,
                   **kwargs)


def _state(trainer_or_model):
    model = getattr(trainer_or_model, "model", trainer_or_model)
    optimizers = [model.optimizer] + ([model.d_optimizer] if getattr(model, "d_optimizer", None) else [])
    return [v.numpy().copy() for v in model.variables] + [v.numpy().copy() for o in optimizers for v in o.variables]


def _assert_same(before, after):
    assert len(before) == len(after)
    for index, (old, new) in enumerate(zip(before, after)):
        np.testing.assert_array_equal(old, new, err_msg=f"variable {index}")


def _poison(model, network):
    """Puts a NaN into the first weight of `network` (the layer whose update is then non-finite)."""
    variable = getattr(model, network).trainable_variables[0]
    value = variable.numpy()
    value.flat[0] = np.nan
    variable.assign(value)


# ----------------------------------------------------------------- the guard


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("name, network, skipped", [("vae", "decoder", 1), ("dcgan", "discriminator", 2)])
def test_a_nonfinite_update_is_skipped_and_counted(name, network, skipped, compiled, seed):
    """A NaN weight makes the loss and gradients NaN: no variable (weights, moments, iterations) moves.

    DCGAN: a NaN in D makes D's loss and, through D, G's loss NaN: both of its
    optimizers' updates are skipped (2 per step).
    """
    model, batch = built_model(name)
    step = tf.function(model.train_step) if compiled else model.train_step
    _poison(model, network)
    before = _state(model)
    metrics = step(batch, seed)
    assert float(metrics["skipped_updates"]) == skipped
    _assert_same(before, _state(model))


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("name", ["vae", "dcgan"])
def test_a_finite_update_is_applied(name, compiled, seed):
    model, batch = built_model(name)
    step = tf.function(model.train_step) if compiled else model.train_step
    iterations = [int(o.iterations.numpy()) for o in (model.optimizer, getattr(model, "d_optimizer", None)) if o]
    metrics = step(batch, seed)
    assert float(metrics["skipped_updates"]) == 0.0
    assert [int(o.iterations.numpy()) for o in (model.optimizer, getattr(model, "d_optimizer", None)) if o] == [
        i + 1 for i in iterations]


@pytest.mark.parametrize("eager", [False, True], ids=["tf.function", "eager"])
def test_the_run_stops_after_nonfinite_steps_in_a_row_and_writes_no_checkpoint(tmp_path, eager):
    trainer = _trainer(tmp_path / "run", eager=eager, checkpoint_every_steps=10, max_nonfinite_steps=3)
    _poison(trainer.model, "decoder")
    before = _state(trainer)
    # Which value is named depends on the kernels: oneDNN's fused ReLU maps the NaN to 0 in the compiled
    # forward pass (a finite loss) while its gradient stays NaN; eager TensorFlow propagates it to the loss.
    with pytest.raises(TrainingDiverged, match=r"stopped at step 3 \(epoch 1, step 3 of 4\): 3 steps in a row had "
                                               r"non-finite values \(last: (loss=nan|a non-finite gradient)"):
        trainer.fit()
    _assert_same(before, _state(trainer))
    assert run_files.checkpoint_prefixes(str(tmp_path / "run")) == {}


def test_an_epoch_that_applies_no_update_fails_the_run_even_when_the_streak_limit_is_raised(tmp_path):
    """The probe's case: with --max-nonfinite-steps above the epoch's steps, every update of the epoch was
    skipped, and the run exited 0 logging train/loss 0 (then exported a model that drew black images)."""
    trainer = _trainer(tmp_path / "run", max_nonfinite_steps=100)
    _poison(trainer.model, "decoder")
    with pytest.raises(TrainingDiverged, match=r"Epoch 1 applied no update: every update of its 4 steps was skipped"):
        trainer.fit()
    assert run_files.checkpoint_prefixes(str(tmp_path / "run")) == {}


def test_a_run_that_applied_too_few_of_its_updates_does_not_end_as_a_success(tmp_path):
    trainer = _trainer(tmp_path / "run", epochs=1)
    trainer.fit()  # 4 steps, 4 updates applied
    assert trainer._applied_updates() == 4
    trainer.history[-1]["train/skipped_updates"] = 5.0  # as if 5 more updates had been skipped: 4 of 9 applied
    with pytest.raises(TrainingDiverged, match=r"applied 4 of its 9 updates \(44%\).*at least 50%.*--min-applied-updates"):
        trainer._check_applied_updates()
    lenient = _trainer(tmp_path / "run", epochs=1, min_applied_updates=0.4)
    lenient.fit(resume=True)
    lenient.history[-1]["train/skipped_updates"] = 5.0
    lenient._check_applied_updates()  # 44% >= 40%: a success


def test_divergence_keeps_the_last_finite_checkpoint(tmp_path):
    """The issue's case: a huge learning rate with step checkpoints never rotates the good checkpoint out
    for a non-finite one; the run stops with one error, and the run still exports and resumes."""
    run = str(tmp_path / "run")
    _trainer(run, checkpoint_every_steps=1, max_checkpoints=1).fit(max_steps=2)
    assert list(run_files.checkpoint_prefixes(run)) == [1, 2]  # the newest, and the one before it
    diverging = _trainer(run, checkpoint_every_steps=1, max_checkpoints=1, learning_rate=1e30)
    with pytest.raises(TrainingDiverged, match=r"The checkpoint \['ckpt-3'\] holds the weights that gave them"):
        diverging.fit(resume=True, allow_changes=True)
    # Step 3 applied a finite but huge update (its checkpoint is finite); step 4 on, with those weights, were
    # not finite: ckpt-3 is set aside and the good ckpt-2, kept as the one before the newest (ckpt-1 was
    # rotated out), is the latest.
    assert list(run_files.checkpoint_prefixes(run)) == [2]
    assert run_files.latest_checkpoint(run).endswith("ckpt-2")
    assert os.path.isfile(os.path.join(run, "checkpoints", "diverged-3", "ckpt-3.index"))
    path = export_run(run, "model", str(tmp_path / "saved_models"))
    assert ExportedModel(path).sample([1, 2]).shape == (2, 28, 28, 1)
    resumed = _trainer(run, checkpoint_every_steps=1, max_checkpoints=1)
    resumed.fit(resume=True, allow_changes=True)  # back to 1e-3 from ckpt-2: the run ends


def test_export_and_sample_refuse_nonfinite_weights(tmp_path, monkeypatch):
    model, _ = built_model("vae")
    _poison(model, "decoder")
    with pytest.raises(ValueError, match="not all finite"):
        export_model(model, str(tmp_path / "models" / "vae"))
    assert not os.path.exists(tmp_path / "models" / "vae" / "1")
    # An export written without the check (as an older tfgen could) is refused when loaded.
    import tfgen.export

    monkeypatch.setattr(tfgen.export, "check_finite_weights", lambda model: None)
    path = export_model(model, str(tmp_path / "models" / "vae"))
    with pytest.raises(ValueError, match="non-finite values"):
        ExportedModel(path)


@pytest.fixture(scope="module")
def reference_state(tmp_path_factory):
    """The state at the end of the default `_trainer` run, never interrupted (what exact resumes must reach)."""
    trainer = _trainer(tmp_path_factory.mktemp("reference") / "run")
    trainer.fit()
    return _state(trainer)


# ------------------------------------------------------------------- locks

_HOLDER = textwrap.dedent("""
    import importlib.util, sys, time
    # tfgen/locks.py alone (importing the package would import TensorFlow: seconds for nothing).
    spec = importlib.util.spec_from_file_location("locks", sys.argv[2])
    locks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(locks)
    lock = locks.FolderLock(sys.argv[1], "run folder").acquire()
    print("locked", flush=True)
    time.sleep(120)
""")


def _hold_lock(folder):
    process = subprocess.Popen([sys.executable, "-c", _HOLDER, str(folder), locks.__file__], stdout=subprocess.PIPE,
                               text=True, cwd=REPO_ROOT)
    assert process.stdout.readline().strip() == "locked"
    return process


def test_a_second_writer_is_refused_and_a_stale_lock_is_taken_over(tmp_path):
    run = tmp_path / "run"
    _trainer(run).fit(max_steps=2)
    listing = sorted(os.listdir(run / "checkpoints")), (run / "config.json").read_bytes()
    holder = _hold_lock(run)
    try:
        with pytest.raises(locks.FolderLockedError, match=rf"in use by pid {holder.pid} on host"):
            _trainer(run).fit(resume=True)
        assert (sorted(os.listdir(run / "checkpoints")), (run / "config.json").read_bytes()) == listing
    finally:
        holder.kill()
        holder.wait()
    with pytest.warns(RuntimeWarning, match=rf"stale lock .* pid {holder.pid}"):
        _trainer(run).fit(resume=True)
    assert locks.holder(str(run)) is None


def test_a_refused_new_run_leaves_no_folder_behind(tmp_path):
    trainer = _trainer(tmp_path / "run")
    (tmp_path / "run" / "checkpoints").parent.mkdir()
    (tmp_path / "run" / "checkpoints").write_text("a file")
    with pytest.raises(RunDirectoryError, match="is a file"):
        trainer.fit()
    assert sorted(os.listdir(tmp_path / "run")) == ["checkpoints"]


def test_concurrent_exports_get_consecutive_versions_and_stale_temporaries_go(tmp_path):
    model, _ = built_model("vae")
    folder = tmp_path / "models" / "vae"
    folder.mkdir(parents=True)
    (folder / ".tmp-3-killed").mkdir()  # left by a killed export: it holds the marker an export writes first
    (folder / ".tmp-3-killed" / ".tfgen-export-in-progress").touch()
    (folder / ".tmp-keep").mkdir()  # the user's own folder with a look-alike name: never removed
    (folder / ".tmp-keep" / "notes.txt").write_text("mine")
    results, errors = [], []

    def export():
        try:
            results.append(export_model(model, str(folder)))
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=export) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(os.path.basename(path) for path in results) == ["1", "2", "3"]
    assert sorted(os.listdir(folder)) == [".tfgen.lock", ".tmp-keep", "1", "2", "3"]
    assert (folder / ".tmp-keep" / "notes.txt").read_text() == "mine"
    assert not any(os.path.exists(os.path.join(path, ".tfgen-export-in-progress")) for path in results)


def test_a_second_set_aside_of_the_same_checkpoints_goes_to_a_new_folder(tmp_path):
    """Two --resume-from ckpt-N in turn: the second set-aside (superseded-N-2/) keeps the first's files."""
    run = str(tmp_path / "run")
    _trainer(run, checkpoint_every_steps=1, max_checkpoints=10).fit(max_steps=3)
    first = _trainer(run, checkpoint_every_steps=1, max_checkpoints=10)
    first.fit(resume_from="ckpt-1", max_steps=2)
    second = _trainer(run, checkpoint_every_steps=1, max_checkpoints=10)
    second.fit(resume_from="ckpt-1", max_steps=1)
    checkpoints = os.path.join(run, "checkpoints")
    assert sorted(os.listdir(os.path.join(checkpoints, "superseded-1"))) == sorted(
        f"ckpt-{step}.{kind}" for step in (2, 3) for kind in ("index", "data-00000-of-00001"))
    assert sorted(os.listdir(os.path.join(checkpoints, "superseded-1-2"))) == sorted(
        f"ckpt-{step}.{kind}" for step in (2, 3) for kind in ("index", "data-00000-of-00001"))


def test_no_command_writes_over_a_runs_own_files(tmp_path, capsys):
    """`tfgen evaluate RUN --out RUN/config.json` overwrote the run's config (export failed afterwards)."""
    from tfgen import cli

    run = tmp_path / "run"
    _trainer(str(run), epochs=1).fit()
    before = (run / "config.json").read_bytes()
    for argv in (["evaluate", str(run), "--out", str(run / "config.json")],
                 ["evaluate", str(run), "--out", str(run / "checkpoints" / "report.json")],
                 ["sample", "--model", os.path.join(REPO_ROOT, "tests", "fixtures", "legacy", "vae", "export"),
                  "--out", str(run / "plots" / "grid.png")]):
        assert cli.main(argv) == 2, argv
        err = capsys.readouterr().err
        assert "own" in err and "never writes over a run's files" in err and len(err.strip().splitlines()) == 1, err
    assert (run / "config.json").read_bytes() == before
    assert not (run / "plots" / "grid.png").exists()


@pytest.mark.parametrize("version", [-1, 0, "abc", 1.5, True])
def test_export_version_must_be_a_positive_integer(tmp_path, version):
    model, _ = built_model("vae")
    with pytest.raises(ValueError, match="version must be a positive integer"):
        export_model(model, str(tmp_path / "vae"), version=version)
    assert not os.path.exists(tmp_path / "vae")


# ------------------------------------------------------------ resume checks


def test_resume_refuses_a_changed_recipe_and_changes_nothing(tmp_path):
    run = tmp_path / "run"
    _trainer(run).fit(max_steps=2)
    files = {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()}
    config = (run / "config.json").read_bytes()
    changed = _trainer(run, seed=1, batch_size=4, learning_rate=1e-2)
    with pytest.raises(RunDirectoryError, match=r"another recipe \(.*batch_size: 8 -> 4.*seed: 0 -> 1.*"
                                                r"optimizer.learning_rate: 0.00100000\d* -> 0.00999999\d*"):
        changed.fit(resume=True)
    assert (run / "config.json").read_bytes() == config
    assert {p.name: p.read_bytes() for p in (run / "checkpoints").iterdir()} == files


def test_allowed_changes_are_applied_and_recorded(tmp_path):
    run = tmp_path / "run"
    _trainer(run).fit(max_steps=2)
    trainer = _trainer(run, learning_rate=1e-2)
    trainer.fit(resume=True, allow_changes=True, max_steps=1)
    # Keras keeps learning rates in float32 variables: the config records their float32 values.
    old, new = float(np.float32(1e-3)), float(np.float32(1e-2))
    assert float(trainer.optimizer.learning_rate.numpy()) == new
    config = json.loads((run / "config.json").read_text())
    change = config["changes"][0]
    assert change["global_step"] == 2
    assert change["changed"] == {"optimizer.learning_rate": {"from": old, "to": new}}
    assert config["training"]["optimizer"]["config"]["learning_rate"] == new


# ---------------------------------------------------------------- recovery


def test_a_damaged_latest_checkpoint_names_an_older_one_to_resume_from(tmp_path, reference_state):
    run = tmp_path / "run"
    _trainer(run, checkpoint_every_steps=2, max_checkpoints=3).fit(max_steps=6)  # ckpt-2, ckpt-4, ckpt-6
    data = next(p for p in (run / "checkpoints").iterdir() if p.name.startswith("ckpt-6.data"))
    data.write_bytes(data.read_bytes()[:10])
    with pytest.raises(RunDirectoryError, match=r"ckpt-6': it cannot be read.*intact older checkpoint is .*ckpt-4"
                                                r".*--resume-from ckpt-4"):
        _trainer(run).fit(resume=True)
    resumed = _trainer(run)
    resumed.fit(resume_from="ckpt-4")
    # Resuming from ckpt-4 is exact: the run ends where the uninterrupted one does.
    _assert_same(reference_state, _state(resumed))
    assert (run / "checkpoints" / "superseded-4" / data.name).exists()


def test_a_missing_state_file_is_rebuilt_from_the_checkpoints(tmp_path):
    run = tmp_path / "run"
    _trainer(run, checkpoint_every_steps=1, max_checkpoints=2).fit(max_steps=3)
    os.remove(run / "checkpoints" / "checkpoint")
    assert run_files.latest_checkpoint(str(run)).endswith("ckpt-3")
    trainer = _trainer(run, checkpoint_every_steps=1, max_checkpoints=2)
    trainer.fit(resume=True, max_steps=1)
    assert int(trainer.global_step.numpy()) == 4
    # max_checkpoints + 1 are kept: ckpt-1 goes, so the rebuilt list rotates again.
    assert sorted(run_files.checkpoint_prefixes(str(run))) == [2, 3, 4]


# ----------------------------------------------------------------- signals


class _SignalAtStep(callbacks.Callback):
    def __init__(self, number):
        self.number = number

    def on_epoch_begin(self, trainer, epoch, start_step=0):
        if epoch == 1 and start_step == 0:
            os.kill(os.getpid(), self.number)  # handled at the end of the next step


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_checkpoints_at_the_next_step_and_the_run_resumes_exactly(tmp_path, number, reference_state):
    run = tmp_path / "run"
    handlers = [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)]
    with pytest.raises(TrainingInterrupted, match=r"training stopped at step 1 .*Resume with: .*--resume") as caught:
        _trainer(run, callbacks=[_SignalAtStep(number)]).fit()
    assert caught.value.signal_number == number and caught.value.checkpoint.endswith("ckpt-1")
    assert [signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)] == handlers  # handlers given back
    resumed = _trainer(run)
    resumed.fit(resume=True)
    _assert_same(reference_state, _state(resumed))


# ------------------------------------------------------------ seeds, files


def test_the_seed_fixes_the_initial_weights_of_a_model_made_anywhere(tmp_path):
    """Trainer(seed=...) re-seeds the initializers of a model not yet built, whatever drew from Python's stream."""
    import random

    weights = []
    for python_seed, run_seed in [(1, 5), (2, 5), (1, 6)]:
        random.seed(python_seed)
        trainer = Trainer(create_model("vae"), synthetic_dataset(16), str(tmp_path / f"r{python_seed}{run_seed}"),
                          batch_size=8, seed=run_seed, verbose=0)
        weights.append([v.numpy() for v in trainer.model.trainable_variables])
    _assert_same(weights[0], weights[1])
    assert any(not np.array_equal(a, b) for a, b in zip(weights[0], weights[2]))


def test_run_files_get_the_permissions_of_the_checkpoints(tmp_path):
    run = tmp_path / "run"
    _trainer(run, epochs=1).fit()
    mode = lambda path: os.stat(path).st_mode & 0o777  # noqa: E731
    checkpoint = mode(next(p for p in (run / "checkpoints").iterdir() if p.name.endswith(".index")))
    assert mode(run / "config.json") == checkpoint == 0o666 & ~_umask()
    assert mode(run / "history.json") == checkpoint


def _umask():
    value = os.umask(0)
    os.umask(value)
    return value


# ---------------------------------------------------------------- the CLI


def _cli(capsys, *argv):
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.err.strip().splitlines()


@pytest.mark.parametrize("flags, named", [
    (["--learning-rate", "-1"], "learning_rate must be a positive number"),
    (["--learning-rate", "nan"], "learning_rate must be a positive number"),
    (["--seed", str(2**70)], "seed must be an integer in"),
    (["--max-nonfinite-steps", "0"], "max_nonfinite_steps must be a positive integer"),
    (["--seed", "x"], "argument --seed: invalid int value: 'x'"),
])
def test_cli_bad_run_options_are_one_line_before_any_data(tmp_path, capsys, flags, named, monkeypatch):
    from tfgen import runs

    # The run config is checked once, before the run starts: nothing is loaded, nothing written.
    monkeypatch.setattr(runs, "load_data", lambda *args, **kwargs: pytest.fail("the data was loaded"))
    try:
        status = cli.main(["train", "vae", "--out", str(tmp_path / "run"), *flags])
    except SystemExit as caught:  # argparse's own refusal of a value that is not a number
        status = caught.code
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and named in lines[0], lines
    assert not (tmp_path / "run").exists()


def test_cli_io_failures_are_one_line(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    status, lines = _cli(capsys, "train", "vae", "--smoke", "--out", str(tmp_path / "file" / "run"))
    assert status == 2 and len(lines) == 1 and "file" in lines[0], lines
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "checkpoints").write_text("x")
    status, lines = _cli(capsys, "train", "vae", "--smoke", "--out", str(tmp_path / "run"))
    assert status == 2 and len(lines) == 1 and "checkpoints" in lines[0] and "is a file" in lines[0], lines

    def disk_full(path, value):
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(run_files, "write_json_atomic", disk_full)
    status, lines = _cli(capsys, "train", "vae", "--smoke", "--out", str(tmp_path / "full"))
    assert status == 2 and lines == [f"tfgen train: error: No space left on device: "
                                     f"{str(tmp_path / 'full' / 'config.json')!r}"], lines


def test_cli_sample_output_paths_are_checked(tmp_path, capsys):
    folder = tmp_path / "existing"
    folder.mkdir()
    model = os.path.join(REPO_ROOT, "saved_models", "mnist_cgan")
    status, lines = _cli(capsys, "sample", "--model", model, "--out", str(folder))
    assert status == 2 and len(lines) == 1 and "is a folder" in lines[0], lines
    (tmp_path / "file").write_text("x")
    status, lines = _cli(capsys, "sample", "--model", model, "--out", str(tmp_path / "file" / "x.png"))
    assert status == 2 and len(lines) == 1 and str(tmp_path / "file" / "x.png") in lines[0], lines
    if os.path.isdir("/proc"):  # a folder where no file can be made: the user's path is named, not a temporary one
        status, lines = _cli(capsys, "sample", "--model", model, "--out", "/proc/x.png")
        assert status == 2 and lines == ["tfgen sample: error: Cannot write '/proc/x.png': No such file or directory"]


def test_cli_reports_divergence_and_signals_as_one_line():
    status, line = cli._describe_error(TrainingDiverged("Training stopped at step 3: ...\nmore"))
    assert (status, line) == (1, "Training stopped at step 3: ...")
    status, _ = cli._describe_error(TrainingInterrupted("SIGTERM received", signal.SIGTERM, "ckpt-1"))
    assert status == 128 + signal.SIGTERM


# ------------------------------------------------- reproducible CLI runs


def _checkpoint_values(run):
    reader = tf.train.load_checkpoint(run_files.latest_checkpoint(str(run)))
    return {key: reader.get_tensor(key) for key in sorted(reader.get_variable_to_shape_map())
            if not key.startswith("_CHECKPOINTABLE_OBJECT_GRAPH")}


def _assert_same_checkpoints(first, second):
    assert list(first) == list(second)
    for key in first:
        np.testing.assert_array_equal(first[key], second[key], err_msg=key)


@requires_real_data
def test_cli_runs_are_reproducible_survive_sigkill_and_export():
    """The console script end to end on real MNIST, in fresh processes.

    For the VAE and DCGAN, the same `tfgen train` command runs twice: once to its end, once killed with
    SIGKILL mid-epoch 1 and resumed (`--resume`). Every variable of the two final checkpoints is
    bit-identical: the same command gives the same initial weights and steps, and the kill loses nothing
    (one thread, the same ops in the same order: exact on any CPU). The run has its figures and
    TensorBoard logs, and `tfgen export` of the resumed run serves and tells its training in the manifest.

    The processes start when the session starts and run beside the other tests (tests/background.py
    `CliKillRuns`: the commands, the kill once a checkpoint is whole, the resumes, the export); this test
    runs last and checks what they left.
    """
    outcome = started("cli_kill").result()
    assert outcome["error"] is None, outcome["error"]
    folder = outcome["folder"]
    for name in KILL_NAMES:
        steps = outcome["killed_at"][name]
        assert steps is not None and steps < 10, f"{name}: not killed mid-epoch 1 (checkpoint at step {steps} of 20)"
        returncode, stderr = outcome["resumed"][name]
        assert returncode == 0, stderr[-3000:]
        assert "Took over the stale lock" in stderr  # the killed run's lock
        returncode, stderr = outcome["uninterrupted"][name]
        assert returncode == 0, stderr[-3000:]
        _assert_same_checkpoints(_checkpoint_values(os.path.join(folder, f"{name}-a")),
                                 _checkpoint_values(os.path.join(folder, f"{name}-c")))

    for figure in ("samples_epoch002.png", "latent_epoch002.png", "grid_epoch002.png", "losses.png"):
        assert os.path.getsize(os.path.join(folder, "vae-c", "plots", figure)) > 1000
    assert os.listdir(os.path.join(folder, "vae-c", "tensorboard"))
    returncode, stdout, stderr = outcome["export"]
    assert returncode == 0 and "Exported to" in stdout, stderr
    loaded = tf.saved_model.load(os.path.join(folder, "sm", "vae", "1"))
    decoded = loaded.signatures["decode"](z=tf.zeros([2, 2]))["images"].numpy()
    assert decoded.shape == (2, 28, 28, 1) and np.all((decoded >= 0) & (decoded <= 1))
    from tfgen.export import read_manifest

    training = read_manifest(os.path.join(folder, "sm", "vae", "1"))["training"]
    assert training["dataset"] == "mnist/train" and training["epochs"] == 2 and training["batch_size"] == 8
    assert training["command"].startswith("tfgen train vae --out ")  # the first command; no interpreter path
    assert np.isfinite(training["final_metrics"]["test/loss"])


def test_without_flock_the_lock_is_an_exclusive_file(tmp_path, monkeypatch):
    """A file system that refuses flock (some network file systems): the lock falls back to the file's existence."""
    import errno

    def no_flock(fd, operation):
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(locks.fcntl, "flock", no_flock)
    first = locks.FolderLock(str(tmp_path / "run"), "run folder")
    with pytest.warns(RuntimeWarning, match="without flock"):
        first.acquire()
    with pytest.warns(RuntimeWarning, match="without flock"), \
            pytest.raises(locks.FolderLockedError, match=rf"in use by pid {os.getpid()} on host"):
        locks.FolderLock(str(tmp_path / "run"), "run folder").acquire()
    first.release()
    assert not (tmp_path / "run" / ".tfgen.lock").exists()
    # A lock file left by a process that is gone is stale: taken over, with the dead holder named.
    (tmp_path / "run" / ".tfgen.lock").write_text(json.dumps({"pid": 2**22 + 12345, "host": __import__("socket").gethostname()}))
    with pytest.warns(RuntimeWarning, match=r"stale lock .* pid 4206649"):
        locks.FolderLock(str(tmp_path / "run"), "run folder").acquire().release()


# ----------------------------------------------------------- killed runs

KILL_STATES = ("before-first-checkpoint", "mid-first-checkpoint", "mid-config")


@pytest.fixture(scope="module")
def killed_runs(tmp_path_factory):
    """{state: a run folder as a SIGKILL at that point left it} (tests/child_kill_state.py, one process each,
    all at once)."""
    root = tmp_path_factory.mktemp("killed")
    processes = {state: subprocess.Popen([sys.executable, os.path.join(REPO_ROOT, "tests", "child_kill_state.py"),
                                          state, str(root / state)], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True)
                 for state in KILL_STATES}
    for state, process in processes.items():
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == -signal.SIGKILL, f"{state}: exit {process.returncode}: {stderr[-2000:]}"
    return {state: root / state for state in KILL_STATES}


def _left(run):
    """The names a killed run left: the run folder's and its checkpoints folder's."""
    checkpoints = run / "checkpoints"
    return sorted(os.listdir(run)), sorted(os.listdir(checkpoints)) if checkpoints.is_dir() else []


@pytest.mark.parametrize("state", KILL_STATES)
def test_every_state_a_killed_run_leaves_is_recovered_by_the_next_command(state, killed_runs, reference_state,
                                                                           tmp_path):
    """A run killed before its first checkpoint is whole (no checkpoint yet, half of the first one, half of its
    config) has no checkpoint to resume; a fresh `train` on the folder says to pass --resume (when it holds the
    run's config), and --resume starts it again from step 0 and ends exactly where the uninterrupted run does.
    The killed save's temporary folder goes (it carries the marker); nothing else of the folder is lost."""
    run = tmp_path / "run"
    shutil.copytree(killed_runs[state], run)
    top, checkpoints = _left(run)
    assert not [name for name in checkpoints if name.endswith(".index")], checkpoints  # no checkpoint is seen
    if state == "mid-first-checkpoint":
        leftover = [name for name in checkpoints if name.startswith(".tmp-ckpt-")]
        assert leftover and (run / "checkpoints" / leftover[0] / ".tfgen-checkpoint-in-progress").is_file()
        assert [name for name in checkpoints if name.startswith("ckpt-4.data-")]  # the data went first
    if state == "mid-config":
        assert "config.json" not in top and [name for name in top if name.startswith(".tmp-")]
        _trainer(tmp_path / "fresh").fit(max_steps=1)  # (the state's fresh train is the resume below, too)
    else:
        assert "config.json" in top
        config = (run / "config.json").read_bytes()
        with pytest.raises(RunDirectoryError, match=r"stopped before its first checkpoint.*\(--resume\) to start it "
                                                    r"again from step 0"):
            _trainer(run).fit()
        assert (run / "config.json").read_bytes() == config and _left(run) == (top, checkpoints)
    resumed = _trainer(run)
    resumed.fit(resume=True)
    _assert_same(reference_state, _state(resumed))
    assert not [name for name in os.listdir(run / "checkpoints") if name.startswith(".tmp-ckpt-")]
    assert run_files.latest_checkpoint(str(run)).endswith("ckpt-8")


def test_resume_of_a_folder_of_user_files_with_a_stale_lock_is_refused(tmp_path):
    """Only tfgen's leftovers (a lock, a temporary file) make a folder without config.json a run to start again:
    beside a user's files that would be a new run, which needs --force."""
    run = tmp_path / "run"
    run.mkdir()
    (run / ".tfgen.lock").write_text("")
    (run / "notes.txt").write_text("mine")
    with pytest.raises(RunDirectoryError, match="no config.json"):
        _trainer(run).fit(resume=True)
    assert sorted(os.listdir(run)) == [".tfgen.lock", "notes.txt"]
    (run / "notes.txt").unlink()
    _trainer(run).fit(resume=True, max_steps=1)  # only the killed run's lock: started again
    assert run_files.latest_checkpoint(str(run)).endswith("ckpt-1")


def test_resume_from_a_checkpoint_of_a_run_without_one_is_refused(killed_runs, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(killed_runs["before-first-checkpoint"], run)
    with pytest.raises(RunDirectoryError, match=r"has no checkpoint 'ckpt-4'\. Its checkpoints: none"):
        _trainer(run).fit(resume_from="ckpt-4")


def test_a_checkpoint_is_published_whole_and_rotation_keeps_the_newest(tmp_path):
    run = tmp_path / "run"
    _trainer(run, checkpoint_every_steps=1, max_checkpoints=2).fit()
    names = sorted(os.listdir(run / "checkpoints"))
    # max_checkpoints + 1 kept (the newest is only known good once a finite step follows it), no temporary left.
    assert [name for name in names if name.endswith(".index")] == ["ckpt-6.index", "ckpt-7.index", "ckpt-8.index"]
    assert names == ["checkpoint"] + sorted(f"ckpt-{step}.{kind}" for step in (6, 7, 8)
                                             for kind in ("index", "data-00000-of-00001"))
    state = tf.train.get_checkpoint_state(str(run / "checkpoints"))
    assert [os.path.basename(path) for path in state.all_model_checkpoint_paths] == ["ckpt-6", "ckpt-7", "ckpt-8"]
    assert tf.train.latest_checkpoint(str(run / "checkpoints")).endswith("ckpt-8")


def test_a_held_checkpoint_survives_its_rotation_and_a_rotated_choice_is_made_again(tmp_path, monkeypatch):
    run = tmp_path / "run"
    _trainer(run, checkpoint_every_steps=2).fit(max_steps=4)  # ckpt-2, ckpt-4
    original = tf.train.load_checkpoint(str(run / "checkpoints" / "ckpt-4"))
    expected = {name: original.get_tensor(name) for name in original.get_variable_to_shape_map()}
    with run_files.held_checkpoint(str(run)) as held:
        for entry in os.listdir(run / "checkpoints"):  # the run rotates ckpt-4 away while it is read
            if entry.startswith("ckpt-4."):
                os.remove(run / "checkpoints" / entry)
        reader = tf.train.load_checkpoint(held)
        for name, value in expected.items():
            np.testing.assert_array_equal(reader.get_tensor(name), value, err_msg=name)
    assert not os.path.exists(os.path.dirname(os.path.dirname(held)))  # the private copy is gone
    # The latest is chosen, then rotated away before it is linked: the new latest is chosen instead.
    gone = str(run / "checkpoints" / "ckpt-9")
    choices = iter([gone, str(run / "checkpoints" / "ckpt-2")])
    monkeypatch.setattr(run_files, "latest_checkpoint", lambda run_dir: next(choices))
    with run_files.held_checkpoint(str(run)) as held:
        assert os.path.basename(held) == "ckpt-2"
    monkeypatch.setattr(run_files, "latest_checkpoint", lambda run_dir: gone)
    with pytest.raises(RunDirectoryError, match="rotated away 5 times"):
        with run_files.held_checkpoint(str(run)):
            pass


def test_export_refuses_a_checkpoint_that_never_received_an_update(tmp_path):
    run = tmp_path / "run"
    trainer = _trainer(run)
    trainer.fit(max_steps=1)
    # What a run of an older version could write: a checkpoint after updates that were all skipped.
    trainer.optimizer.iterations.assign(0)
    trainer._checkpoints.save(trainer.global_step)
    assert run_files.applied_updates(run_files.latest_checkpoint(str(run))) == 0
    with pytest.raises(RunDirectoryError, match=r"ckpt-1' never received an update"):
        export_run(str(run), "x", str(tmp_path / "saved_models"))
    assert not (tmp_path / "saved_models").exists()
