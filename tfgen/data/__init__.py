"""Data: sources, the one `tf.data` pipeline, labelled/unlabelled splits and class sets.

* `sources`: MNIST and Fashion-MNIST through TFDS, online or built offline
  from the original files (`load`, `prepare`).
* `pipeline`: `ImageDataset`, images and labels in memory, and the one
  deterministic pipeline every dataset batches through (order and
  binarization fixed by seed and epoch, so runs resume mid-epoch exactly).
* `splits`: `labelled_split` / `SemiSupervisedDataset`, N labels per class
  for the semi-supervised models.
* `class_sets`: `ClassSetDataset`, a set of other examples of the class with
  every example, for the Variational Homoencoder.
"""

from tfgen.data.pipeline import (
    BINARIZATIONS,
    LABEL_FORMATS,
    ImageDataset,
    batch_seed,
    binarize,
    epoch_seed,
)
from tfgen.data.sources import (
    CLASS_NAMES,
    DATASETS,
    OFFLINE_ENV,
    SOURCE_DIR_ENV,
    SPLITS,
    DataUnavailableError,
    find_source_files,
    load,
    prepare,
)
from tfgen.data.splits import SemiSupervisedDataset, labelled_split
from tfgen.data.class_sets import ClassSetDataset, cluster_codes, sample_set_positions

__all__ = [
    "BINARIZATIONS",
    "CLASS_NAMES",
    "ClassSetDataset",
    "DATASETS",
    "DataUnavailableError",
    "ImageDataset",
    "LABEL_FORMATS",
    "OFFLINE_ENV",
    "SOURCE_DIR_ENV",
    "SPLITS",
    "SemiSupervisedDataset",
    "batch_seed",
    "binarize",
    "cluster_codes",
    "epoch_seed",
    "find_source_files",
    "labelled_split",
    "load",
    "prepare",
    "sample_set_positions",
]
