"""The one custom training loop (eager or `tf.function`), checkpoints and run directories."""

from tfgen.training.run_dir import RunDirectoryError, latest_checkpoint, load_run_config, write_json_atomic
from tfgen.training.trainer import Callback, Trainer, make_checkpoint, restore_model

__all__ = ["Callback", "RunDirectoryError", "Trainer", "latest_checkpoint", "load_run_config", "make_checkpoint", "restore_model",
           "write_json_atomic"]
