"""SavedModel export into TF Serving's layout `saved_models/<name>/<version>/`.

Each model names its serving signatures (`serving_endpoints`): for the VAEs
`encode`, `decode`, `sample` (input: one int64 seed per requested image; TF
Serving rejects signatures without inputs) and `reconstruct`. Inputs are
float32 with a `None` batch dimension and no op is pinned to a device, so
one export serves on CPU or GPU.

A new version is the highest existing version + 1. It is written into a
hidden temporary folder beside the versions and renamed into place, so a
server polling `saved_models/<name>/` never sees a half-written version.
Each version holds, beside the SavedModel, `tfgen_manifest.json`: the model
and its configuration, every signature's inputs and outputs (names, shapes,
dtypes) and, for `export_run`, the training run's dataset, epochs, final
metrics and command. TF Serving ignores the extra file.

A numbered folder without a complete SavedModel (`saved_model.pb` and the
variables index), e.g. one copied in by hand and cut short, is never
touched, never counted as servable by `latest_version`, and never
overwritten: a new export takes the next number after it.

One export writes to a name at a time: an export holds the name's lock
(`tfgen.locks.FolderLock` on `saved_models/<name>/`), so concurrent exports
to one name wait their turn and get consecutive versions. The lock holder
removes the temporary folders that killed exports left behind. A model whose
weights are not all finite is never exported.
"""

import datetime
import json
import os
import re
import shutil

import keras
import tensorflow as tf

from tfgen import _checks
from tfgen._files import (FOLDER_MODE, foreign_entries, listed, marked_temporary_folder, read_json_file,
                          remove_marked_temporaries, write_json_atomic)
from tfgen.locks import LOCK_FILE, FolderLock
from tfgen.models import GenerativeModel
from tfgen.training.checkpoints import nonfinite_variable, restore_model
from tfgen.training.facts import image_facts
from tfgen.training import run_dir as run_files

MANIFEST_FILE = "tfgen_manifest.json"
#: How long an export waits for another export to the same name to finish.
LOCK_WAIT_SECONDS = 600
_TEMPORARY_PREFIX = ".tmp-"
#: The file an export writes first into its temporary folder: only a folder that holds it is ever removed as a
#: killed export's leftover (a folder of the user's that happens to be named ".tmp-..." is left alone).
_TEMPORARY_MARKER = ".tfgen-export-in-progress"

_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def check_model_name(name):
    """Raises a ValueError unless `name` is a plain folder name (no separators, no '..')."""
    if not isinstance(name, str) or not _NAME_PATTERN.match(name) or ".." in name:
        raise ValueError(
            "The model name must be a plain folder name of letters, digits, '_', '-' and '.', "
            f"with no path separators or '..'. Received: name={name!r}"
        )
    return name


def existing_versions(model_dir):
    """The integer versions present in `model_dir` (folders named by digits only), sorted."""
    if not os.path.isdir(model_dir):
        return []
    return sorted(int(entry) for entry in os.listdir(model_dir)
                  if entry.isdigit() and os.path.isdir(os.path.join(model_dir, entry)))


def is_complete_version(path):
    """True when `path` holds a whole SavedModel: `saved_model.pb` and its variables index."""
    return os.path.isfile(os.path.join(path, "saved_model.pb")) and os.path.isfile(
        os.path.join(path, "variables", "variables.index")
    )


def complete_versions(model_dir):
    """The integer versions in `model_dir` that hold a whole SavedModel (`is_complete_version`), sorted."""
    return [version for version in existing_versions(model_dir)
            if is_complete_version(os.path.join(model_dir, str(version)))]


def latest_version(model_dir):
    """The path of the highest complete version in `model_dir` (`saved_models/<name>`).

    Raises:
        FileNotFoundError: no such folder, or no complete version in it (the
            message names the incomplete ones).
        ValueError: `model_dir` is a file.
    """
    if os.path.isfile(model_dir):
        raise ValueError(f"{model_dir!r} is a file, not an export folder (saved_models/<name>, written by "
                         f"`tfgen export`).")
    if not os.path.isdir(model_dir):
        raise FileNotFoundError(f"No exported model folder at {model_dir!r}.")
    if is_complete_version(model_dir):  # a version folder given directly
        return model_dir
    complete = complete_versions(model_dir)
    if not complete:
        versions = existing_versions(model_dir)
        incomplete = f" (incomplete, skipped: {versions})" if versions else ""
        raise FileNotFoundError(
            f"{model_dir!r} holds no complete SavedModel version{incomplete}. "
            "Expected numbered folders with saved_model.pb, as written by `tfgen export`."
        )
    return os.path.join(model_dir, str(complete[-1]))


def _spec_description(spec):
    return {"shape": [None if dim is None else int(dim) for dim in spec.shape], "dtype": spec.dtype.name}


def describe_signatures(model, functions=None):
    """{signature: {"inputs": {name: {shape, dtype}}, "outputs": {...}}} of `model`'s serving endpoints.

    `functions`: {name: tf.function with its input signature}, the export archive's own endpoints, so
    each is traced once (by default each endpoint is traced here, as the export traces it: no autograph).
    """
    described = {}
    for name, (function, input_signature) in model.serving_endpoints().items():
        traced = (functions or {}).get(name) or tf.function(function, input_signature=input_signature, autograph=False)
        concrete = traced.get_concrete_function()
        outputs = tf.nest.map_structure(lambda tensor: tf.TensorSpec(tensor.shape, tensor.dtype), concrete.structured_outputs)
        described[name] = {
            "inputs": {spec.name: _spec_description(spec) for spec in input_signature},
            "outputs": {key: _spec_description(spec) for key, spec in sorted(outputs.items())},
        }
    return described


def _manifest(model, jit_compile, run_info=None, functions=None):
    from tfgen import __version__

    manifest = {
        "model": model.registered_name or type(model).__name__,
        "class": f"{type(model).__module__}.{type(model).__name__}",
        "model_config": json.loads(json.dumps(model.get_config(), default=str)),
        "signatures": describe_signatures(model, functions),
        "xla": bool(jit_compile),
        "exported": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "tfgen_version": __version__,
        "tensorflow_version": tf.__version__,
        "keras_version": keras.__version__,
    }
    run_info = dict(run_info or {})
    class_names = run_info.pop("class_names", None)
    manifest.update(image_facts(model))
    if class_names is not None and len(class_names) == manifest.get("num_classes"):
        manifest["class_names"] = list(class_names)
    if run_info:
        manifest["training"] = run_info
    return manifest


def read_manifest(version_dir):
    """The `tfgen_manifest.json` of an exported version, or {} when it has none."""
    path = os.path.join(version_dir, MANIFEST_FILE)
    if not os.path.isfile(path):
        return {}
    return read_json_file(path, "export manifest", expect=dict)


def check_finite_weights(model):
    """Raises a ValueError naming the first variable of `model` that holds a NaN or an infinity."""
    name = nonfinite_variable(model.variables)
    if name is not None:
        raise ValueError(
            f"The model's weights are not all finite (in {name!r}): it cannot be exported or sampled. "
            f"Resume its run from an older checkpoint with a lower learning rate."
        )


def is_export_entry(name, model_dir):
    """Whether an export writes an entry of this name in `model_dir` (`saved_models/<name>`): a numbered version
    folder, its lock file or a temporary folder."""
    return ((name.isdigit() and os.path.isdir(os.path.join(model_dir, name))) or name == LOCK_FILE
            or name.startswith(_TEMPORARY_PREFIX))


def check_model_folder(model_dir, force=False):
    """Refuses (ValueError) a model folder that holds entries an export does not write (`is_export_entry`), naming
    a few, unless `force` (the version is added beside them; none of them is read, changed or removed)."""
    foreign = [] if force else foreign_entries(model_dir, lambda name: is_export_entry(name, model_dir))
    if foreign:
        raise ValueError(f"The model folder {model_dir!r} holds files an export does not write ({listed(foreign)}): "
                         f"it holds the numbered versions that TF Serving serves. Choose another --name (name) or "
                         f"--saved-models-dir, or pass --force (force=True) to add the version beside them (nothing "
                         f"of theirs is read, changed or removed).")
    return model_dir


def export_model(model, model_dir, version=None, jit_compile=False, run_info=None, force=False):
    """Writes `model`'s serving signatures as a new SavedModel version.

    Args:
        model: a built `tfgen.models.GenerativeModel` with finite weights.
        model_dir: `saved_models/<name>`; created if missing.
        version: the version number, a positive integer (default: highest
            existing + 1, incomplete numbered folders included, so none is
            overwritten).
        jit_compile: compile every signature with XLA (`tf.function(jit_compile=True)`).
            XLA drops assertions, so out-of-range class ids are no longer
            refused by the signatures; the serving binary must have XLA.
        run_info: facts about the training run for the manifest; its "class_names" (the
            training data's) go to the manifest's top level when they match `num_classes`.
        force: export into a `model_dir` that holds files an export does not write
            (`check_model_folder`, which refuses it otherwise).

    Returns:
        The path of the written version.

    Raises:
        ValueError: a bad version or folder, or non-finite weights.
        FileExistsError: `version` exists (versions are never overwritten).
        tfgen.locks.FolderLockedError: another export to `model_dir` held
            its lock for `LOCK_WAIT_SECONDS`.
    """
    if not isinstance(model, GenerativeModel):
        raise TypeError(f"model must be a tfgen.models.GenerativeModel. Received: model={type(model).__name__}")
    version = _checks.positive_int("version", version, allow_none=True)
    if os.path.exists(model_dir) and not os.path.isdir(model_dir):
        raise ValueError(f"model_dir {model_dir!r} is a file, not a folder.")
    check_model_folder(model_dir, force)
    check_finite_weights(model)
    with FolderLock(model_dir, "export name", wait=LOCK_WAIT_SECONDS):
        _remove_stale_temporaries(model_dir)
        return _write_version(model, model_dir, version, jit_compile, run_info)


def _remove_stale_temporaries(model_dir):
    """Removes the temporary folders of killed exports (the lock holder is the only live writer)."""
    remove_marked_temporaries(model_dir, _TEMPORARY_PREFIX, _TEMPORARY_MARKER)


def _write_version(model, model_dir, version, jit_compile, run_info):
    versions = existing_versions(model_dir)
    version = version if version is not None else (versions[-1] + 1 if versions else 1)
    final_path = os.path.join(model_dir, str(version))
    if os.path.exists(final_path):
        raise FileExistsError(f"Version {version} already exists in {model_dir!r}; versions are never overwritten.")
    archive = keras.export.ExportArchive()
    archive.track(model)
    # `track` lists the model's Keras variables in three collections, while the
    # endpoints capture the underlying tf.Variables: two objects per weight, so
    # the SavedModel stores every weight twice (keras-team/keras#23553, open in
    # Keras 3.15). Emptying the collections keeps exactly the variables the
    # signatures use, once (a GAN's discriminator is not exported at all).
    for collection in ("variables", "trainable_variables", "non_trainable_variables"):
        archive.add_variable_collection(collection, [])
    functions = {}
    for name, (function, input_signature) in model.serving_endpoints().items():
        if jit_compile:
            function = tf.function(function, jit_compile=True)
        functions[name] = archive.add_endpoint(name, function, input_signature=input_signature)
    # The manifest describes the archive's functions: traced once here, reused by write_out.
    manifest = _manifest(model, jit_compile, run_info, functions)
    _keep_one_trace(archive, functions)
    temporary = marked_temporary_folder(model_dir, f"{_TEMPORARY_PREFIX}{version}-", _TEMPORARY_MARKER)
    try:
        # No gradient functions: an export serves forward passes, and saving the gradients of every function
        # (`experimental_custom_gradients`, on by default) traced them all again. TensorFlow's own ops keep their
        # registered gradients in a reloaded export; only a custom gradient would be lost, and no signature has one.
        archive.write_out(temporary, options=tf.saved_model.SaveOptions(experimental_custom_gradients=False),
                          verbose=False)
        write_json_atomic(os.path.join(temporary, MANIFEST_FILE), manifest)
        os.chmod(temporary, FOLDER_MODE)  # mkdtemp makes 0700 folders
        os.remove(os.path.join(temporary, _TEMPORARY_MARKER))
        os.rename(temporary, final_path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final_path


def _keep_one_trace(archive, functions):
    """Puts each endpoint's concrete function (traced for the manifest) on the archive's object in place of its
    tf.function, so that the SavedModel is written from that one trace.

    `tf.saved_model.save` traces every tf.function it finds on the saved object again, inside its save context,
    although its input signature was traced already: an export traced each signature twice (a diffusion model's
    in-graph sampler, the U-Net in a loop, took half of its 11 s export in the second trace). A concrete
    function is saved as it is; the reloaded attribute is called the same way (`loaded.sample(seed=...)`), and
    `signatures` is unchanged. `ExportArchive` keeps its endpoints on a private attribute: where a Keras version
    has none, the export stays as it was (two traces, the same SavedModel).
    """
    holder = getattr(archive, "_tf_trackable", None)
    for name, function in functions.items():
        if holder is not None and getattr(holder, name, None) is function:
            setattr(holder, name, function.get_concrete_function())


def _class_names(config):
    """The class names of a run's training data: recorded in its config.json, or (runs written before
    they were recorded) those of MNIST / Fashion-MNIST; None when unknown."""
    from tfgen.data import CLASS_NAMES

    recorded = (config.get("data") or {}).get("class_names")
    if recorded is not None:
        return list(recorded)
    dataset = str(config.get("dataset") or "").split("/")[0]
    return list(CLASS_NAMES[dataset]) if dataset in CLASS_NAMES else None


def _run_info(run_dir, config):
    """What the manifest tells of the training run: dataset, epochs, final metrics, command."""
    history_path = os.path.join(run_dir, run_files.HISTORY_FILE)
    history = run_files.read_json(history_path) if os.path.isfile(history_path) else []
    training = config.get("training", {})
    return {
        "dataset": config.get("dataset"),
        "class_names": _class_names(config),
        "command": config.get("command"),
        "epochs": history[-1]["epoch"] if history else None,
        "batch_size": training.get("batch_size"),
        "binarization": training.get("binarization"),
        "seed": training.get("seed"),
        "final_metrics": history[-1] if history else None,
    }


def export_run(run_dir, name, saved_models_dir="saved_models", jit_compile=False, force=False, settings=None):
    """Exports the latest checkpoint of a training run as `saved_models_dir/name/<next version>`.

    The name and the model folder (`check_model_folder`; `force`) are checked and the checkpoint restored before
    anything is written. A checkpoint whose optimizers never applied an update (every update before it was
    skipped as non-finite) is refused.

    `settings`: {option: value} of the model's `sampling_options` to export with instead of the run's (e.g. a
    diffusion model's `guidance_scale`: the export's `sample` signature samples so); the manifest records them
    (`training.export_settings`). Another option is refused (a ValueError naming those the model has).
    """
    check_model_name(name)
    check_model_folder(os.path.join(saved_models_dir, name), force)
    model, config = restore_model(run_dir, require_updates=True, settings=settings)
    run_info = _run_info(run_dir, config)
    if settings:
        run_info["export_settings"] = dict(settings)
    return export_model(model, os.path.join(saved_models_dir, name), jit_compile=jit_compile, run_info=run_info,
                        force=force)
