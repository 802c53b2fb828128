"""Every registered model: its export reloads in a process that imports only
TensorFlow and gives the in-memory model's outputs at batch sizes 1 and 64;
`saved_model_cli show --all` lists every signature and input; no op is
pinned to a device."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from conftest import MODEL_NAMES, built_model
from tfgen.export import export_model

_LOAD_AND_RUN = r"""
import json, sys
import numpy as np
import tensorflow as tf
export_dir, inputs_file, outputs_file = sys.argv[1:]
loaded = tf.saved_model.load(export_dir)
inputs = np.load(inputs_file)
outputs = {}
calls = sorted({key.rsplit("/", 1)[0] for key in inputs.files})  # "<batch>/<signature>"
for call in calls:
    function = loaded.signatures[call.split("/")[1]]
    arguments = {key.rsplit("/", 1)[1]: tf.constant(inputs[key]) for key in inputs.files if key.startswith(call + "/")}
    for key, value in function(**arguments).items():
        outputs[f"{call}/{key}"] = value.numpy()
np.savez(outputs_file, **outputs)
assert not any(module == "tfgen" or module.startswith("tfgen.") for module in sys.modules), "tfgen was imported"
print(json.dumps(sorted(loaded.signatures.keys())))
"""


def _inputs_for(spec, rng, batch, num_classes):
    shape = [batch if dim is None else dim for dim in spec.shape]
    if spec.dtype == tf.int64 or spec.dtype == tf.int32:
        values = np.arange(batch) + 1  # distinct seeds
        if spec.name == "label":
            values = values % num_classes  # valid class ids
        return values.astype(spec.dtype.as_numpy_dtype)
    return rng.uniform(size=shape).astype(spec.dtype.as_numpy_dtype)


def _device_fields(export_dir):
    """The devices named by the serving graph's ops.

    TensorFlow's own checkpoint save/restore functions (and the file-name
    constant they read) always run on the host CPU; they are left out.
    """
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(export_dir, "saved_model.pb"), "rb") as stream:
        saved_model.ParseFromString(stream.read())
    devices = set()
    for meta_graph in saved_model.meta_graphs:
        devices.update(node.device for node in meta_graph.graph_def.node if node.op != "Const")
        for function in meta_graph.graph_def.library.function:
            if "_traced_save" in function.signature.name or "_traced_restore" in function.signature.name:
                continue
            devices.update(node.device for node in function.node_def)
    return devices - {""}


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_export_reloads_without_tfgen_and_matches_the_model(name, tmp_path, seed):
    model, batch = built_model(name)
    model.train_step(batch, seed)
    export_dir = export_model(model, str(tmp_path / name))
    assert export_dir.endswith(os.path.join(name, "1"))

    rng = np.random.default_rng(0)
    endpoints = model.serving_endpoints()
    inputs, expected = {}, {}
    for batch_size in (1, 64):  # one request, and a batch as a server batches them
        for endpoint, (function, signature) in endpoints.items():
            for input_spec in signature:
                assert input_spec.shape[0] is None, f"{endpoint}: the batch dimension must be None"
            arguments = {s.name: _inputs_for(s, rng, batch_size, getattr(model, "num_classes", 10)) for s in signature}
            inputs.update({f"{batch_size}/{endpoint}/{key}": value for key, value in arguments.items()})
            for key, value in function(*[tf.constant(arguments[s.name]) for s in signature]).items():
                assert value.shape[0] == batch_size, f"{endpoint}/{key}: {value.shape}"
                expected[f"{batch_size}/{endpoint}/{key}"] = value.numpy()
    np.savez(tmp_path / "inputs.npz", **inputs)

    script = tmp_path / "load.py"
    script.write_text(_LOAD_AND_RUN)
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    result = subprocess.run(
        [sys.executable, str(script), export_dir, str(tmp_path / "inputs.npz"), str(tmp_path / "outputs.npz")],
        capture_output=True, text=True, env=env, cwd=str(tmp_path),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    signatures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(endpoints) <= set(signatures)
    actual = np.load(tmp_path / "outputs.npz")
    assert set(actual.files) == set(expected)
    for key, value in expected.items():
        np.testing.assert_allclose(actual[key], value, rtol=1e-5, atol=1e-6, err_msg=key)
    assert _device_fields(export_dir) == set(), "an op is pinned to a device"

    shown = subprocess.run(
        [sys.executable, "-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir", export_dir, "--all"],
        capture_output=True, text=True, env={**env, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    for endpoint, (_, signature) in endpoints.items():  # what a server's clients see
        assert f"signature_def['{endpoint}']" in shown.stdout
        for input_spec in signature:
            assert f"inputs['{input_spec.name}'] tensor_info" in shown.stdout, (endpoint, input_spec.name)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_seeded_signatures_depend_on_each_seed_alone(name):
    """Every signature with a seed input: row i depends on seed i (and the row's other inputs) only."""
    model, _ = built_model(name)
    rng = np.random.default_rng(0)
    checked = 0
    for endpoint, (function, signature) in model.serving_endpoints().items():
        names = [s.name for s in signature]
        if "seed" not in names:
            continue
        both = {s.name: _inputs_for(s, rng, 2, getattr(model, "num_classes", 10)) for s in signature}
        both["seed"] = np.array([5, 6], np.int64)
        alone = {key: value[1:] for key, value in both.items()}
        first = list(function(*[tf.constant(both[n]) for n in names]).values())[0].numpy()
        second = list(function(*[tf.constant(alone[n]) for n in names]).values())[0].numpy()
        np.testing.assert_allclose(first[1:], second, rtol=1e-5, atol=1e-6, err_msg=endpoint)
        if set(names) == {"seed"}:  # same other inputs: different seeds must give different images
            assert not np.allclose(first[0], first[1]), endpoint
        checked += 1
    assert checked, f"{name} has no seeded signature"


def test_versions_increase_and_are_written_atomically(tmp_path):
    model, _ = built_model("vae")
    first = export_model(model, str(tmp_path / "vae"))
    (tmp_path / "vae" / ".tmp-7-crashed").mkdir()  # a crashed export's leftovers are ignored
    second = export_model(model, str(tmp_path / "vae"))
    assert os.path.basename(first) == "1" and os.path.basename(second) == "2"
    assert sorted(os.listdir(tmp_path / "vae")) == [".tmp-7-crashed", "1", "2"]
    with pytest.raises(FileExistsError, match="never overwritten"):
        export_model(model, str(tmp_path / "vae"), version=1)
