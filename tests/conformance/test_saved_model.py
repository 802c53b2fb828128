"""Every registered model: its export reloads in a process that imports only
TensorFlow and gives the in-memory model's outputs at batch sizes 1 and 64;
`saved_model_cli show --all` lists every signature and input; no op is
pinned to a device. (At 64x64x3, test_image_shapes.py calls every serving
function with inputs made from its signature; the SavedModel round trip there,
the same code at another shape, was checked too until the suite had to fit its
time again: ~30 s of CPU.)

The exports are made in the image-shapes child process
(tests/conformance/child_image_shapes.py) and loaded in one child process for
all models (tests/conformance/child_saved_model.py, run by that child), in
the background from the session's start; each model's test asserts on its
part of the report.
"""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import MODEL_NAMES, built_model, shared_built_model
from conformance.support import CHILDREN, model_report, serving_input, started_child
from tfgen.export import export_model

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


class _SavedModelChild:
    """The report of child_saved_model.py, which the image-shapes child runs on the exports it made."""

    def __init__(self, folder):
        self.report_path = os.path.join(folder, "saved_model", "report.json")
        self.log_path = os.path.join(folder, "saved_model", "child.log")
        self.command = ["python", "child_saved_model.py"]  # named in model_report's messages
        self._report = None

    def report(self):
        if self._report is None:
            if not os.path.isfile(self.report_path):
                log = open(self.log_path).read()[-4000:] if os.path.isfile(self.log_path) else "(no log)"
                pytest.fail(f"child_saved_model.py wrote no report:\n{log}")
            with open(self.report_path) as stream:
                self._report = json.load(stream)
        return self._report


@pytest.fixture(scope="module")
def exports():
    """Every selected model exported (at 28x28x1 after one training step) by the image-shapes child, which then loaded them all back in ONE child process that imports TensorFlow
    alone (conformance/child_image_shapes.py): both run in the background from the session's start.

    Gives ({export key: the export's description, or the traceback of its failure}, that child's report).
    """
    exported = {}
    for key, entry in started_child("image_shapes").report().items():
        if "export" in entry:
            export = entry["export"]
            if isinstance(export, dict):
                expected = np.load(export.pop("expected_path"))
                export = {**export, "expected": {output: expected[output] for output in expected.files}}
            exported[key] = export
    return exported, _SavedModelChild(os.path.join(CHILDREN["workdir"], "shapes"))


@pytest.mark.background
@pytest.mark.parametrize("name", MODEL_NAMES)
def test_export_reloads_without_tfgen_and_matches_the_model(name, exports):
    exported, child = exports
    export = exported.get(name, "no export: was the image-shapes child started? (conformance/conftest.py)")
    if isinstance(export, str):
        pytest.fail(f"{name}: exporting failed:\n{export}")
    report = model_report(child, name)
    assert export["export_dir"].endswith(os.path.join(name, "1"))
    assert report["tfgen_modules"] == [], "loading or running the export imported tfgen"
    assert set(export["endpoints"]) <= set(report["signatures"])
    actual = np.load(export["outputs"])
    assert set(actual.files) == set(export["expected"])
    for output, value in export["expected"].items():
        np.testing.assert_array_equal(actual[output], value, err_msg=output)
        if output.endswith("/images") and value.ndim == 4:  # images of the model's shape
            assert value.shape[1:] == (28, 28, 1), (output, value.shape)
    assert _device_fields(export["export_dir"]) == set(), "an op is pinned to a device"
    shown = report["show_all"]  # what a server's clients see
    for endpoint, input_names in export["endpoints"].items():
        assert f"signature_def['{endpoint}']" in shown
        for input_name in input_names:
            assert f"inputs['{input_name}'] tensor_info" in shown, (endpoint, input_name)


#: Allowed difference between a row computed in a batch of 2 and alone, for
#: pixel values in [0, 1] (checked below). Kernels block their sums by batch
#: size (oneDNN and Eigen pick other tiles for 1 row than for 2, and the
#: choice depends on the CPU's vector width), so the two computations add the
#: same float32 terms in another order. Each reordered sum differs by a few
#: units in the last place (ulp) of its terms, and the sigmoid/tanh output
#: layers shrink a difference in the logits (their slopes are at most 1/4
#: and 1/2). 2**-17 is 64 ulps of 1.0 (ulp(1.0) = 2**-23): room for a few
#: ulps from each of these networks' 4-6 layers. Measured: at most 2 ulps
#: (1.2e-7) on AVX2 and AVX-512. A row drawn from another seed differs by
#: ~0.1: 10^4 times more.
_ROW_ATOL = 2.0**-17


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_seeded_signatures_depend_on_each_seed_alone(name):
    """Every signature with a seed input: row i depends on seed i (and the row's other inputs) only."""
    model, _ = shared_built_model(name)
    rng = np.random.default_rng(0)
    checked = 0
    for endpoint, (function, signature) in model.serving_endpoints().items():
        names = [s.name for s in signature]
        if "seed" not in names:
            continue
        both = {s.name: serving_input(s, rng, 2, model.num_classes) for s in signature}
        both["seed"] = np.array([5, 6], np.int64)
        other_first = {**both, "seed": np.array([7, 6], np.int64)}  # row 0 from another seed, row 1 as before
        alone = {key: value[1:] if np.ndim(value) else value for key, value in both.items()}
        call = lambda inputs: list(function(*[tf.constant(inputs[n]) for n in names]).values())[0].numpy()  # noqa: E731
        first, other, second = call(both), call(other_first), call(alone)
        if endpoint.endswith("log_importance_weights"):
            # A log-weight sums one log-probability term per sub-pixel (D of them); each term moves
            # between batch sizes by at most what a pixel value does (_ROW_ATOL), so the sum by D times that.
            atol = _ROW_ATOL * int(np.prod(model.image_shape))
        elif endpoint == "variational_bound":
            # Nats: a sum of D positive terms, each a squared difference of the network's output scaled by
            # 1 / beta~_t, whose relative change between batch sizes is that of the output (a few ulps of values ~1
            # through the U-Net's ~30 layers: 2**-15); the sum's relative change is at most its largest term's.
            atol = 2.0**-12 * float(np.abs(first).max())
        else:
            assert 0.0 <= first.min() and first.max() <= 1.0, f"{endpoint}: not pixel values, see _ROW_ATOL"
            atol = model.sample_row_atol
        # Same batch size, same kernels: row 1 is computed the same way whatever row 0 holds.
        np.testing.assert_array_equal(other[1], first[1], err_msg=f"{endpoint}: row 1 depends on row 0's seed")
        assert not np.allclose(other[0], first[0], rtol=0, atol=1e-3), f"{endpoint}: the seed does not matter"
        np.testing.assert_allclose(first[1:], second, rtol=0, atol=atol, err_msg=f"{endpoint}: batch of 2 vs alone")
        checked += 1
    assert checked, f"{name} has no seeded signature"


def test_versions_increase_and_are_written_atomically(tmp_path):
    model, _ = built_model("vae")
    first = export_model(model, str(tmp_path / "vae"))
    (tmp_path / "vae" / ".tmp-7-crashed").mkdir()  # a crashed export's leftovers (its marker): removed next time
    (tmp_path / "vae" / ".tmp-7-crashed" / ".tfgen-export-in-progress").touch()
    second = export_model(model, str(tmp_path / "vae"))
    assert os.path.basename(first) == "1" and os.path.basename(second) == "2"
    assert sorted(os.listdir(tmp_path / "vae")) == [".tfgen.lock", "1", "2"]
    with pytest.raises(FileExistsError, match="never overwritten"):
        export_model(model, str(tmp_path / "vae"), version=1)
