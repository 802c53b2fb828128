"""Concurrency (issue 27's class): what a command does while another holds, writes or rotates the same files.

Every case is one situation of two writers, or of a reader beside a writer, made deterministic: the
other party is a lock held in this process (`flock` locks are per open file, so a second `FolderLock` of
this process is refused as another process's would be), a file removed at the moment a real writer would
remove it, or threads. Each must end as the rule says: a refusal naming the holder with nothing changed,
or the work done with nothing lost.
"""

import json
import os
import shutil
import threading

import numpy as np
import pytest
import tensorflow as tf

from tfgen import locks
from tfgen._files import write_json_atomic
from tfgen.export import LOCK_WAIT_SECONDS, export_run, latest_version  # noqa: F401 (LOCK_WAIT_SECONDS patched)
from tfgen.serving import ExportedModel
from tfgen.training import RunDirectoryError, checkpoints
from tfgen.training import run_dir as run_files
from test_run_safety import _trainer


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny run with ckpt-2 and ckpt-4, and one export of it (copied by each case that changes them)."""
    root = tmp_path_factory.mktemp("concurrency")
    _trainer(root / "run", checkpoint_every_steps=2).fit(max_steps=4)
    export_run(str(root / "run"), "vae", str(root / "saved_models"))
    return root


@pytest.fixture
def run(trained, tmp_path):
    shutil.copytree(trained / "run", tmp_path / "run")
    return tmp_path / "run"


def _listing(run):
    return sorted(os.listdir(run)), sorted(os.listdir(run / "checkpoints")), (run / "config.json").read_bytes()


def _held(folder, what="run folder"):
    return locks.FolderLock(str(folder), what)  # taken by `with`


def resume_while_another_writer_holds_the_run(run, tmp_path):
    before = _listing(run)
    with _held(run):
        with pytest.raises(locks.FolderLockedError, match=rf"in use by pid {os.getpid()}"):
            _trainer(run).fit(resume=True)
    assert _listing(run) == before


def new_run_into_a_folder_a_starting_run_holds(run, tmp_path):
    starting = tmp_path / "starting"  # a run that has taken its lock and written nothing yet
    with _held(starting):
        with pytest.raises(locks.FolderLockedError, match="in use by pid"):
            _trainer(starting).fit()
        assert os.listdir(starting) == [".tfgen.lock"]


def export_while_the_run_trains(run, tmp_path):
    with _held(run):  # the trainer's lock: readers need none
        path = export_run(str(run), "vae", str(tmp_path / "saved_models"))
    assert ExportedModel(path).manifest["model"]


def restore_while_the_run_trains(run, tmp_path):
    with _held(run):
        model, config = checkpoints.restore_model(str(run))
    assert config["model"] and model.built


def export_while_its_checkpoint_is_rotated_mid_read(run, tmp_path, monkeypatch):
    check = run_files.checkpoint_problem

    def rotate_then_check(prefix):  # the trainer deletes ckpt-4 just as the export reads it
        for entry in os.listdir(run / "checkpoints"):
            if entry.startswith("ckpt-4."):
                os.remove(run / "checkpoints" / entry)
        return check(prefix)

    monkeypatch.setattr(run_files, "checkpoint_problem", rotate_then_check)
    path = export_run(str(run), "vae", str(tmp_path / "saved_models"))
    assert os.path.basename(path) == "1"


def export_while_another_export_holds_the_name(run, tmp_path, monkeypatch):
    import tfgen.export as export_lib

    monkeypatch.setattr(export_lib, "LOCK_WAIT_SECONDS", 0.2)
    model_dir = tmp_path / "saved_models" / "vae"
    with _held(model_dir, "export name"):
        with pytest.raises(locks.FolderLockedError, match="in use by pid"):
            export_run(str(run), "vae", str(tmp_path / "saved_models"))
        assert os.listdir(model_dir) == [".tfgen.lock"]


def sample_while_a_version_is_being_written(trained, tmp_path):
    models = tmp_path / "saved_models"
    shutil.copytree(trained / "saved_models", models)
    writing = models / "vae" / ".tmp-2-abcd"  # an export writing version 2 (its marker, half a SavedModel)
    writing.mkdir()
    (writing / ".tfgen-export-in-progress").touch()
    (writing / "saved_model.pb").write_bytes(b"half")
    assert latest_version(str(models / "vae")).endswith(os.sep + "1")
    ExportedModel(str(models / "vae"))  # loads version 1


def resume_from_while_a_reader_holds_the_newer_checkpoint(run, tmp_path):
    with run_files.held_checkpoint(str(run)) as held:  # an export reading ckpt-4
        _trainer(run).fit(resume_from="ckpt-2", max_steps=1)  # moves ckpt-4 to superseded-2/
        assert (run / "checkpoints" / "superseded-2").is_dir()
        reader = tf.train.load_checkpoint(held)
        assert int(reader.get_tensor("global_step/.ATTRIBUTES/VARIABLE_VALUE")) == 4


def two_reports_written_to_one_file_at_once(run, tmp_path):
    path = tmp_path / "report.json"
    reports = [{"writer": writer, "values": list(range(2000))} for writer in range(2)]
    seen, errors = [], []

    def write(report):
        for _ in range(30):
            write_json_atomic(str(path), report)

    def read():
        for _ in range(60):
            if path.exists():
                try:
                    seen.append(json.loads(path.read_text()))
                except ValueError as error:  # a half-written file: the rule is broken
                    errors.append(error)

    threads = [threading.Thread(target=write, args=(report,)) for report in reports] + [threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == [] and all(report in reports for report in seen)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".tmp-")]


def a_state_file_naming_a_deleted_checkpoint(run, tmp_path):
    # A kill between a save's two state-file writes: the file still names ckpt-2, whose files are gone.
    for entry in os.listdir(run / "checkpoints"):
        if entry.startswith("ckpt-2."):
            os.remove(run / "checkpoints" / entry)
    assert "ckpt-2" in (run / "checkpoints" / "checkpoint").read_text()
    assert checkpoints._listed_checkpoints(str(run)) == [str(run / "checkpoints" / "ckpt-4")]
    path = export_run(str(run), "vae", str(tmp_path / "saved_models"))
    assert os.path.isdir(path)
    resumed = _trainer(run)
    resumed.fit(resume=True, max_steps=1)
    assert int(resumed.global_step.numpy()) == 5


def a_lock_left_by_a_killed_process_with_garbage_in_it(run, tmp_path):
    (run / ".tfgen.lock").write_text("\x00garbage")
    with pytest.warns(RuntimeWarning, match="stale lock"):
        _trainer(run).fit(resume=True, max_steps=1)
    assert locks.holder(str(run)) is None


def a_resume_while_its_own_earlier_save_was_killed(run, tmp_path):
    leftover = run / "checkpoints" / ".tmp-ckpt-dead"  # a killed save's temporary folder, with its marker
    leftover.mkdir()
    (leftover / ".tfgen-checkpoint-in-progress").touch()
    mine = run / "checkpoints" / ".tmp-ckpt-mine"  # the user's look-alike folder: no marker, kept
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    _trainer(run).fit(resume=True, max_steps=1)
    assert not leftover.exists() and (mine / "notes.txt").read_text() == "mine"


CASES = {
    "concurrency:resume-while-another-writer-holds-the-run": resume_while_another_writer_holds_the_run,
    "concurrency:new-run-into-a-folder-a-starting-run-holds": new_run_into_a_folder_a_starting_run_holds,
    "concurrency:export-while-the-run-trains": export_while_the_run_trains,
    "concurrency:restore-while-the-run-trains": restore_while_the_run_trains,
    "concurrency:export-while-its-checkpoint-is-rotated-mid-read": export_while_its_checkpoint_is_rotated_mid_read,
    "concurrency:export-while-another-export-holds-the-name": export_while_another_export_holds_the_name,
    "concurrency:resume-from-while-a-reader-holds-the-newer-checkpoint":
        resume_from_while_a_reader_holds_the_newer_checkpoint,
    "concurrency:two-reports-written-to-one-file-at-once": two_reports_written_to_one_file_at_once,
    "concurrency:a-state-file-naming-a-deleted-checkpoint": a_state_file_naming_a_deleted_checkpoint,
    "concurrency:a-lock-left-by-a-killed-process-with-garbage-in-it": a_lock_left_by_a_killed_process_with_garbage_in_it,
    "concurrency:a-resume-while-its-own-earlier-save-was-killed": a_resume_while_its_own_earlier_save_was_killed,
}


@pytest.mark.parametrize("name", list(CASES), ids=list(CASES))
def test_concurrent_use_ends_as_the_rule_says(name, run, trained, tmp_path, monkeypatch):
    case = CASES[name]
    arguments = case.__code__.co_varnames[:case.__code__.co_argcount]
    given = {"run": run, "trained": trained, "tmp_path": tmp_path, "monkeypatch": monkeypatch}
    case(*(given[argument] for argument in arguments))


def test_the_concurrency_table_keeps_its_floor():
    assert len(CASES) >= 10
