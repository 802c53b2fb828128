"""SavedModel export into TF Serving's layout `saved_models/<name>/<version>/`.

Each model names its serving signatures (`serving_endpoints`): for the VAEs
`encode`, `decode`, `sample` (input: one int64 seed per requested image; TF
Serving rejects signatures without inputs) and `reconstruct`. Inputs are
float32 with a `None` batch dimension and no op is pinned to a device, so
one export serves on CPU or GPU.

A new version is the highest existing version + 1. It is written into a
hidden temporary folder beside the versions and renamed into place, so a
server polling `saved_models/<name>/` never sees a half-written version.
"""

import os
import re
import shutil
import tempfile

import keras

from tfgen.training import restore_model

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


def export_model(model, model_dir, version=None):
    """Writes `model`'s serving signatures as a new SavedModel version.

    Args:
        model: a built `tfgen.models.GenerativeModel`.
        model_dir: `saved_models/<name>`; created if missing.
        version: the version number (default: highest existing + 1).

    Returns:
        The path of the written version.
    """
    os.makedirs(model_dir, exist_ok=True)
    versions = existing_versions(model_dir)
    version = version if version is not None else (versions[-1] + 1 if versions else 1)
    final_path = os.path.join(model_dir, str(version))
    if os.path.exists(final_path):
        raise FileExistsError(f"Version {version} already exists in {model_dir!r}; versions are never overwritten.")
    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (function, input_signature) in model.serving_endpoints().items():
        archive.add_endpoint(name, function, input_signature=input_signature)
    temporary = tempfile.mkdtemp(dir=model_dir, prefix=f".tmp-{version}-")
    try:
        archive.write_out(temporary, verbose=False)
        os.rename(temporary, final_path)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    return final_path


def export_run(run_dir, name, saved_models_dir="saved_models"):
    """Exports the latest checkpoint of a training run as `saved_models_dir/name/<next version>`."""
    check_model_name(name)
    model, _ = restore_model(run_dir)
    return export_model(model, os.path.join(saved_models_dir, name))
