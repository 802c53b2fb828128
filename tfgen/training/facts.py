"""What a run records of itself in `config.json`, and how a resume is checked against it.

`config.json` holds the model (its registered name, Keras class and
configuration), the training recipe (`Trainer._config`'s "training": seed,
batch size, binarization, optimizers, precision...), the dataset and its
facts (`data_facts`), the command line, and what the caller adds
(`run_info`). A resumed run keeps its first command, lists the resume
commands and records every accepted change of recipe (`resume_config`).
The format is read by every version since the first: keys are only ever
added, and a key one side lacks is not compared (`recipe_changes`).
"""

import keras
import numpy as np

from tfgen.training import precision as precision_lib
from tfgen.training import run_dir as run_dir_lib

#: Keys of config.json's "training" that a resume may change without being a change of recipe.
FREE_TRAINING_KEYS = ("epochs", "eager", "replicas", "workers", "jit")


def image_facts(source):
    """{"image_shape": [h, w, c], "num_classes": n} of an `ImageDataset` or a model (both declare them; None:
    left out), as JSON values: what a run's `config.json` ("data") and an export's manifest record of the images."""
    facts = {}
    if source.image_shape is not None:
        facts["image_shape"] = [int(size) for size in source.image_shape]
    if source.num_classes is not None:
        facts["num_classes"] = int(source.num_classes)
    return facts


def data_facts(dataset):
    """What a run records of its training data: its name, image shape, number of classes and class names.

    `config.json` keeps them so that exports (their manifest) and figures
    can name the classes and know the images without the data.
    """
    facts = {"name": dataset.name, **image_facts(dataset)}
    if dataset.class_names is not None:
        facts["class_names"] = [str(name) for name in dataset.class_names]
    return facts


def jsonable(value):
    """`value` with NumPy scalars and tuples turned into plain JSON types."""
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def model_config(model):
    """`model.get_config()` as plain JSON values (config.json's "model_config")."""
    return jsonable(model.get_config())


def model_name(model):
    """The name a run directory records for `model`: its registered name, else its Keras registered name."""
    return model.registered_name or keras.saving.get_registered_name(type(model))


def run_config(model, train_data, training, run_info):
    """A run's `config.json`: the model, the training recipe `training` (a dict), the dataset and the command.

    Args:
        model: the run's `GenerativeModel`.
        train_data: its training `ImageDataset`.
        training: config.json's "training" entry (`Trainer._config`).
        run_info: extra JSON-serializable facts the caller records.
    """
    return jsonable({
        "model": model_name(model),
        "keras_class": keras.saving.get_registered_name(type(model)),
        "model_config": model_config(model),
        "training": training,
        "dataset": train_data.name,
        "data": data_facts(train_data),
        "command": run_dir_lib.command_line(),
        **run_info,
    })


def training_facts(trainer):
    """config.json's "training" entry of a `Trainer`: its recipe (epochs, batch size, seed, binarization, the
    optimizers' settings, precision) and how it runs (eager, jit, replicas, workers)."""
    d_optimizer = trainer.model.d_optimizer if "d_optimizer" in trainer.model.optimizer_names else None
    return {
        "epochs": trainer.epochs,
        "batch_size": trainer.batch_size,
        "seed": trainer.seed,
        "binarization": trainer.binarization,
        # The optimizers' own settings: a LossScaleOptimizer (mixed float16) is recorded as "precision".
        "optimizer": keras.optimizers.serialize(precision_lib.inner_optimizer(trainer.optimizer)),
        **({"discriminator_optimizer": keras.optimizers.serialize(precision_lib.inner_optimizer(d_optimizer))}
           if d_optimizer is not None else {}),
        "eager": trainer.eager,
        "precision": trainer.precision,
        "jit": trainer.jit,
        "replicas": trainer.strategy.num_replicas_in_sync,
        "workers": trainer.workers,
    }


def check_resume(stored, current, model, *, precision, run_dir, run_info_keys=(), allow_changes=False):
    """Checks that the run whose config.json is `stored` can resume as `current` (`run_config`) asks; returns
    the recipe changes (`recipe_changes`), which only `allow_changes` accepts.

    Raises:
        RunDirectoryError: the run holds another model (another class), a
            change to or from "mixed_float16" (its checkpoints hold the loss
            scale; never allowed), or changes without `allow_changes` (all
            of them are listed).
    """
    name = model_name(model)
    if stored["model"] != name:
        raise run_dir_lib.RunDirectoryError(
            f"Cannot resume {run_dir!r}: it holds a {stored['model']!r} model with configuration "
            f"{stored['model_config']}, not {name!r} with {model_config(model)}."
        )
    trained = stored.get("training", {}).get("precision", precision_lib.DEFAULT)
    if precision_lib.loss_scaled(trained) != precision_lib.loss_scaled(precision):
        raise run_dir_lib.RunDirectoryError(
            f"Cannot resume {run_dir!r} with precision={precision!r}: it was trained with "
            f"precision={trained!r}, and the loss scaling of mixed_float16 changes the optimizers in its "
            f"checkpoints (even with --allow-changes). Resume with --precision {trained} (precision={trained!r})."
        )
    changes = recipe_changes(stored, current, type(model), run_info_keys)
    if changes and not allow_changes:
        listed = "; ".join(f"{key}: {old!r} -> {new!r}" for key, (old, new) in changes.items())
        raise run_dir_lib.RunDirectoryError(
            f"Cannot resume {run_dir!r} with another recipe ({listed}). Resume with the run's "
            f"settings, or allow the changes explicitly (--allow-changes, fit(allow_changes=True)); "
            f"nothing was changed."
        )
    return changes


def stored_model_config(stored, model_class):
    """The run's model configuration with the defaults of options added since it was written."""
    stored_config = stored["model_config"]
    try:  # a run saved before an option was added stored no value for it: its default applies
        stored_config = model_config(model_class.from_config(stored_config))
    except (TypeError, ValueError):
        pass
    return stored_config


def recipe_changes(stored, current, model_class, run_info_keys=()):
    """{what: (stored value, requested value)} for every part of the recipe a resume would change.

    Compared: the model's options, the seed, batch size, binarization,
    the precision, both optimizers' settings (learning rate, beta_1,
    ...), the dataset and the run facts the caller recorded
    (`run_info_keys`). Only keys both sides have are compared, so runs
    written by older versions resume (a run without "precision" trained in
    float32).

    Args:
        stored: the run's config.json.
        current: the config.json the resume would write (`run_config`).
        model_class: the model's class (to add the defaults of newer options).
        run_info_keys: the keys of the caller's run facts.
    """
    changes = {}

    def compare(prefix, old, new, ignore=()):
        for key in sorted(set(old) & set(new)):
            if key not in ignore and old[key] != new[key]:
                changes[f"{prefix}{key}"] = (old[key], new[key])

    unnamed = ("name",)  # instance names carry a per-process counter
    compare("model.", stored_model_config(stored, model_class), current["model_config"], ignore=unnamed)
    old_training = {"precision": precision_lib.DEFAULT, **stored.get("training", {})}
    new_training = current["training"]
    compare("", old_training, new_training, ignore=(*FREE_TRAINING_KEYS, "optimizer", "discriminator_optimizer"))
    for key in ("optimizer", "discriminator_optimizer"):
        old, new = old_training.get(key), new_training.get(key)
        if isinstance(old, dict) and isinstance(new, dict):
            compare(f"{key}.", old.get("config", {}), new.get("config", {}), ignore=unnamed)
            if old.get("class_name") != new.get("class_name"):
                changes[key] = (old.get("class_name"), new.get("class_name"))
    compare("", {k: v for k, v in stored.items() if k in ("dataset", *run_info_keys)},
            {k: v for k, v in current.items() if k in ("dataset", *run_info_keys)})
    return changes


def resume_config(stored, current, changes, *, global_step, epoch):
    """The resumed run's config.json: its first command kept, this one added; accepted `changes` recorded
    (`recipe_changes`) with the `global_step` and `epoch` they start from."""
    config = {**stored, **current, "command": stored.get("command", current["command"])}
    config["resume_commands"] = [*stored.get("resume_commands", []), run_dir_lib.command_line()]
    if changes:
        config["changes"] = [*stored.get("changes", []), {
            "global_step": int(global_step),
            "epoch": int(epoch),
            "command": run_dir_lib.command_line(),
            "changed": {key: {"from": old, "to": new} for key, (old, new) in changes.items()},
        }]
    return jsonable(config)
