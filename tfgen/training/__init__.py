"""The one custom training loop (eager or `tf.function`), its callbacks, checkpoints and run directories.

`trainer.py` is the loop; `checkpoints.py` writes and restores a run's
checkpoints; `signals.py` turns SIGINT and SIGTERM into a clean stop;
`facts.py` is what `config.json` records and how a resume is checked;
`run_dir.py` the run folder's files; `distribute.py`, `precision.py` and
`jit.py` how the steps run (strategies, mixed precision, XLA).
"""

from tfgen.training.callbacks import Callback, PeriodicCallback, ReclusterCallback, TensorBoardImages, tensorboard_dir
from tfgen.training.run_dir import (
    RunDirectoryError,
    latest_checkpoint,
    load_run_config,
    write_epoch_log,
    write_json_atomic,
)
from tfgen.training.checkpoints import make_checkpoint, model_class, restore_model
from tfgen.training.facts import model_name
from tfgen.training.signals import TrainingInterrupted
from tfgen.training.trainer import Trainer, TrainingDiverged

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
