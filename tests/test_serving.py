"""Exports as a user meets them: `tfgen sample`, the manifest, `saved_model_cli`,
half-written versions, and the pretrained models shipped in saved_models/."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from background import CHILD_THREADS, SHIPPED, SHIPPED_COLUMNS, shipped_models
from conftest import built_model, started
from tfgen import cli
from tfgen.export import MANIFEST_FILE, complete_versions, export_model, latest_version, read_manifest

REQUIRED_PRETRAINED = ("fashion_vae_latent2", "mnist_cvae", "mnist_cgan")


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    folder = tmp_path_factory.mktemp("saved_models")
    paths = {}
    for name in ("cgan", "vae"):
        model, _ = built_model(name)
        paths[name] = export_model(model, str(folder / name))
    return folder, paths


def _png(path):
    return matplotlib.image.imread(str(path))


def test_sample_draws_one_row_per_class_or_one_class(exports, tmp_path, capsys):
    folder, _ = exports
    assert cli.main(["sample", "--model", str(folder / "cgan"), "--out", str(tmp_path / "rows.png")]) == 0
    assert _png(tmp_path / "rows.png").shape[:2] == (10 * 28, 8 * 28)
    assert cli.main(["sample", "--model", str(folder / "cgan"), "--label", "3", "--columns", "5",
                     "--out", str(tmp_path / "three.png")]) == 0
    assert _png(tmp_path / "three.png").shape[:2] == (5 * 28, 5 * 28)
    # The same seeds draw the same grid; another first seed draws another.
    cli.main(["sample", "--model", str(folder / "cgan"), "--label", "3", "--columns", "5", "--out", str(tmp_path / "again.png")])
    cli.main(["sample", "--model", str(folder / "cgan"), "--label", "3", "--columns", "5", "--seed", "100",
              "--out", str(tmp_path / "other.png")])
    np.testing.assert_array_equal(_png(tmp_path / "three.png"), _png(tmp_path / "again.png"))
    assert not np.array_equal(_png(tmp_path / "three.png"), _png(tmp_path / "other.png"))
    assert "Wrote 25 samples" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--model", "{cgan}", "--label", "10"], r"class id in \[0, 10\)"),
        (["--model", "{cgan}", "--label", "-1"], r"class id in \[0, 10\)"),
        (["--model", "{vae}", "--label", "3"], "unconditional"),
        (["--model", "{missing}"], "No exported model folder"),
    ],
)
def test_sample_errors_name_what_was_wrong(exports, tmp_path, capsys, arguments, message):
    folder, _ = exports
    paths = {"cgan": str(folder / "cgan"), "vae": str(folder / "vae"), "missing": str(tmp_path / "nothing")}
    out = tmp_path / "grid.png"
    older = b"\x89PNG\r\n\x1a\nan older picture"  # a PNG, which sample may replace (a file of another kind it refuses)
    out.write_bytes(older)
    arguments = [argument.format(**paths) for argument in arguments]
    assert cli.main(["sample", *arguments, "--out", str(out)]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert out.read_bytes() == older  # nothing written over on error


def test_a_corrupt_export_gets_a_clear_error(exports, tmp_path, capsys):
    _, paths = exports
    shutil.copytree(paths["vae"], tmp_path / "vae" / "1")
    (tmp_path / "vae" / "1" / "saved_model.pb").write_bytes(b"not a protocol buffer")
    assert cli.main(["sample", "--model", str(tmp_path / "vae"), "--out", str(tmp_path / "grid.png")]) == 2
    assert "Cannot load the SavedModel" in capsys.readouterr().err
    assert not (tmp_path / "grid.png").exists()


def test_half_written_versions_are_skipped_and_never_touched(exports, tmp_path):
    _, paths = exports
    model_dir = tmp_path / "vae"
    shutil.copytree(paths["vae"], model_dir / "1")
    (model_dir / "2" / "variables").mkdir(parents=True)  # a copy cut short: no saved_model.pb
    (model_dir / "2" / "variables" / "variables.data-00000-of-00001").write_bytes(b"partial")
    (model_dir / ".tmp-3-crashed").mkdir()  # a crashed export's leftovers
    (model_dir / ".tmp-3-crashed" / ".tfgen-export-in-progress").touch()
    assert latest_version(str(model_dir)) == str(model_dir / "1")

    model, _ = built_model("vae")
    written = export_model(model, str(model_dir))
    assert os.path.basename(written) == "3"  # after the incomplete 2, which is never overwritten
    assert os.listdir(model_dir / "2") == ["variables"]
    assert (model_dir / "2" / "variables" / "variables.data-00000-of-00001").read_bytes() == b"partial"
    assert latest_version(str(model_dir)) == written

    only_broken = tmp_path / "broken"
    (only_broken / "1").mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r"no complete SavedModel version \(incomplete, skipped: \[1\]\)"):
        latest_version(str(only_broken))


def test_manifest_describes_every_signature(exports):
    _, paths = exports
    manifest = read_manifest(paths["cgan"])
    assert manifest["model"] == "cgan" and manifest["num_classes"] == 10
    assert manifest["signatures"]["generate"]["inputs"] == {
        "z": {"shape": [None, 8], "dtype": "float32"},
        "label": {"shape": [None], "dtype": "int64"},
    }
    assert manifest["signatures"]["sample"]["outputs"] == {"images": {"shape": [None, 28, 28, 1], "dtype": "float32"}}


#: Runs `saved_model_cli` commands one after another in one process (one TensorFlow start): each is the
#: tool's own `main` with its command line in sys.argv and its flags back at their defaults; prints
#: [[exit status, stdout, stderr], ...] as JSON. An exception (what would end the tool with its traceback)
#: is exit status 1 with the traceback in stderr.
_SAVED_MODEL_CLI = """
import contextlib, io, json, sys, traceback
from absl import flags
from tensorflow.python.tools import saved_model_cli
results = []
for arguments in json.loads(sys.argv[1]):
    flags.FLAGS.unparse_flags()
    sys.argv = ["saved_model_cli", *arguments]
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            saved_model_cli.main()
            status = 0
        except SystemExit as exit_:
            status = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException:
            traceback.print_exc()
            status = 1
    results.append([status, stdout.getvalue(), stderr.getvalue()])
print(json.dumps(results))
"""


def _saved_model_cli(*commands):
    """[(exit status, stdout, stderr)] of the `saved_model_cli` commands, run in one fresh process."""
    environment = {**os.environ, **CHILD_THREADS, "TF_CPP_MIN_LOG_LEVEL": "2"}
    result = subprocess.run([sys.executable, "-c", _SAVED_MODEL_CLI, json.dumps(commands)],
                            capture_output=True, text=True, env=environment, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_saved_model_cli_lists_and_runs_signatures(exports, tmp_path):
    _, paths = exports
    shown, ran, refused = _saved_model_cli(
        ["show", "--dir", paths["cgan"], "--all"],
        ["run", "--dir", paths["cgan"], "--tag_set", "serve", "--signature_def", "sample",
         "--input_exprs", "seed=[1, 2];label=[3, 7]", "--outdir", str(tmp_path)],
        ["run", "--dir", paths["cgan"], "--tag_set", "serve", "--signature_def", "sample",
         "--input_exprs", "seed=[1];label=[12]"])
    status, stdout, stderr = shown
    assert status == 0, stderr[-2000:]
    for signature in ("generate", "sample"):
        assert f"signature_def['{signature}']" in stdout
    assert "inputs['label'] tensor_info:\n        dtype: DT_INT64" in stdout

    status, _, stderr = ran
    assert status == 0, stderr[-2000:]
    import tensorflow as tf

    expected = tf.saved_model.load(paths["cgan"]).signatures["sample"](
        seed=tf.constant([1, 2], tf.int64), label=tf.constant([3, 7], tf.int64))["images"].numpy()
    np.testing.assert_allclose(np.load(tmp_path / "images.npy"), expected, rtol=1e-5, atol=1e-6)

    status, _, stderr = refused
    assert status != 0 and "labels must be a class id in [0, 10)" in stderr


def test_the_required_pretrained_models_are_shipped():
    assert set(REQUIRED_PRETRAINED) <= set(shipped_models())


@pytest.fixture(scope="module")
def shipped_samples():
    """`tfgen sample` of every shipped model, in ONE fresh process with no data folder, run from elsewhere:
    started when the session started (tests/background.py `ShippedSamples`).

    Gives (folder of the grids, {name: exit status}, the child's stderr).
    """
    folder, statuses, stderr = started("shipped").result()
    return Path(folder), statuses, stderr


@pytest.mark.parametrize("name", shipped_models())
def test_shipped_model_samples_in_a_fresh_process_without_data(name, shipped_samples):
    version = latest_version(os.path.join(SHIPPED, name))
    manifest = read_manifest(version)
    training = manifest["training"]
    assert training["dataset"] and training["command"] and training["epochs"] >= 1
    assert all(np.isfinite(value) for key, value in training["final_metrics"].items() if key != "epoch")
    folder, statuses, errors = shipped_samples
    assert statuses.get(name) == 0, errors[-3000:]
    grid = _png(folder / f"{name}.png")
    assert grid.shape[:2] == (SHIPPED_COLUMNS * 28, SHIPPED_COLUMNS * 28) and grid[..., 0].std() > 0.05  # not blank
    assert os.path.isfile(os.path.join(version, MANIFEST_FILE))


def _older_shipped_versions():
    """(name, version folder) of every complete shipped version that a newer one has replaced."""
    older = []
    for name in shipped_models():
        folder = os.path.join(SHIPPED, name)
        newest = latest_version(folder)
        paths = [os.path.join(folder, str(version)) for version in complete_versions(folder)]
        older += [(name, path) for path in paths if path != newest]
    return older


@pytest.mark.parametrize("name, version", _older_shipped_versions(),
                         ids=lambda value: os.path.basename(value) if os.sep in str(value) else value)
def test_older_shipped_versions_still_load_and_sample(name, version):
    """A retrained model ships as a new version beside the old one; the old one stays usable by its folder."""
    from tfgen.serving import ExportedModel

    exported = ExportedModel(version)
    assert exported.path == version
    labels = np.array([1, 3], np.int64) if exported.is_conditional() else None
    images = np.asarray(exported.sample(np.array([0, 1], np.int64), labels))
    assert images.shape == (2, *exported.image_shape)
    assert np.all((images >= 0) & (images <= 1)) and images.std() > 0.05  # finite, in range, not blank


def _stored_values(version_dir):
    import tensorflow as tf

    reader = tf.train.load_checkpoint(os.path.join(version_dir, "variables", "variables"))
    return sum(int(np.prod(shape)) for key, shape in reader.get_variable_to_shape_map().items()
               if key.endswith("VARIABLE_VALUE"))


@pytest.mark.parametrize("name, part", [("vae", None), ("cgan", "generator")])
def test_each_weight_is_stored_once_and_only_what_serving_uses(exports, name, part):
    """Keras' ExportArchive stores every weight twice (keras-team/keras#23553); ours once, and not a GAN's D."""
    _, paths = exports
    model, _ = built_model(name)
    expected = (getattr(model, part) if part else model).count_params()
    assert _stored_values(paths[name]) == expected


def test_xla_export_gives_the_same_outputs(exports, tmp_path):
    import tensorflow as tf

    _, paths = exports
    model, _ = built_model("vae")
    compiled = export_model(model, str(tmp_path / "vae_xla"), jit_compile=True)
    assert read_manifest(compiled)["xla"] is True
    z = tf.constant(np.random.default_rng(0).normal(size=(5, 2)).astype(np.float32))
    plain = tf.saved_model.load(paths["vae"]).signatures["decode"](z=z)["images"].numpy()
    np.testing.assert_allclose(tf.saved_model.load(compiled).signatures["decode"](z=z)["images"].numpy(), plain,
                               rtol=1e-4, atol=1e-5)


def test_a_large_sample_is_drawn_in_requests_of_sample_chunk_images(exports, monkeypatch):
    """`ExportedModel.sample` asks the export for at most SAMPLE_CHUNK images a request (a 150 x 150 grid in one
    request crashed in C++ under a 6 GiB address-space cap); the images are those of one request, each within the
    row tolerance of the conformance suite (2**-17: a request's size may change the kernels' rounding)."""
    import tensorflow as tf

    from tfgen import serving

    model = serving.ExportedModel(exports[1]["cgan"])
    seeds, labels = np.arange(7, dtype=np.int64), np.arange(7) % 10
    whole = model.signature("sample")(seed=tf.constant(seeds), label=tf.constant(labels))["images"].numpy()
    calls = []

    class Counted:  # the signature, counting the images of each request
        structured_input_signature = model.signatures["sample"].structured_input_signature

        def __call__(self, signature=model.signatures["sample"], **inputs):
            calls.append(len(inputs["seed"]))
            return signature(**inputs)

    monkeypatch.setitem(model.signatures, "sample", Counted())
    monkeypatch.setattr(serving, "SAMPLE_CHUNK", 3)
    chunked = model.sample(seeds, labels)
    assert calls == [3, 3, 1]
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=2**-17)
