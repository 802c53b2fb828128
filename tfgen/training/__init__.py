"""The one custom training loop (eager or `tf.function`), its callbacks, checkpoints and run directories."""

from tfgen.training.callbacks import Callback, PeriodicCallback, ReclusterCallback, TensorBoardImages, tensorboard_dir
from tfgen.training.run_dir import (
    RunDirectoryError,
    latest_checkpoint,
    load_run_config,
    write_epoch_log,
    write_json_atomic,
)
from tfgen.training.trainer import (
    Trainer,
    TrainingDiverged,
    TrainingInterrupted,
    make_checkpoint,
    model_class,
    model_name,
    restore_model,
)

__all__ = [
    "Callback",
    "PeriodicCallback",
    "ReclusterCallback",
    "RunDirectoryError",
    "TensorBoardImages",
    "Trainer",
    "TrainingDiverged",
    "TrainingInterrupted",
    "latest_checkpoint",
    "load_run_config",
    "make_checkpoint",
    "model_class",
    "model_name",
    "restore_model",
    "tensorboard_dir",
    "write_epoch_log",
    "write_json_atomic",
]
