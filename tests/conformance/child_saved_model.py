"""Child process of the conformance suite: loads every model's export with TensorFlow alone.

Usage: child_saved_model.py REPORT MANIFEST

MANIFEST (JSON) lists {"name", "export_dir", "inputs", "outputs"}: each
export is loaded, every signature called on the inputs ("<batch>/<signature>/<input>"
in an .npz file) and the results written to `outputs`; the report says, per
model, which signatures the export has, whether anything imported tfgen,
and what `saved_model_cli show --all` prints (its `show` command, called
here, in the same process, through the CLI's own flags).

Run with the same TensorFlow settings as the in-memory side of the test
(Grappler off; see conformance/conftest.py): the same graph through the same
passes, so the outputs must equal the in-memory model's bit for bit.
This script imports nothing from tfgen or the tests, and is run from a folder
without them and with no PYTHONPATH.
"""

import contextlib
import io
import json
import sys
import traceback

import numpy as np
import tensorflow as tf


def tfgen_modules():
    return sorted(module for module in sys.modules if module == "tfgen" or module.startswith("tfgen."))


def show_all(export_dir):
    """What `saved_model_cli show --all --dir export_dir` prints."""
    from absl import flags
    from tensorflow.python.tools import saved_model_cli

    if not flags.FLAGS.is_parsed():
        flags.FLAGS(["saved_model_cli"])
    flags.FLAGS.dir = export_dir
    flags.FLAGS.all = True
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        saved_model_cli.show()
    return printed.getvalue()


def check(entry):
    loaded = tf.saved_model.load(entry["export_dir"])
    inputs = np.load(entry["inputs"])
    outputs = {}
    for call in sorted({key.rsplit("/", 1)[0] for key in inputs.files}):  # "<batch>/<signature>"
        function = loaded.signatures[call.split("/")[1]]
        arguments = {key.rsplit("/", 1)[1]: tf.constant(inputs[key]) for key in inputs.files if key.startswith(call + "/")}
        for key, value in function(**arguments).items():
            outputs[f"{call}/{key}"] = value.numpy()
    np.savez(entry["outputs"], **outputs)
    return {"signatures": sorted(loaded.signatures.keys()), "tfgen_modules": tfgen_modules(),
            "show_all": show_all(entry["export_dir"])}


def main(report_path, manifest_path):
    tf.config.optimizer.set_experimental_options({"disable_meta_optimizer": True})
    with open(manifest_path) as stream:
        manifest = json.load(stream)
    report = {}
    for entry in manifest:
        try:
            report[entry["name"]] = check(entry)
        except Exception:  # noqa: BLE001 - reported against the model
            report[entry["name"]] = {"error": traceback.format_exc()}
    with open(report_path, "w") as stream:
        json.dump(report, stream)


if __name__ == "__main__":
    main(*sys.argv[1:3])
