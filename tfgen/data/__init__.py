"""Data: sources, the one `tf.data` pipeline, labelled/unlabelled splits and class sets.

* `sources`: `load` any TFDS image dataset by name (MNIST and Fashion-MNIST
  also built offline from the original files, `prepare`) or a folder of
  images (`folders`); `arrays`: `from_arrays`, `from_tf_dataset`.
* `transforms`: the one crop, resize and channel conversion (`image_size=`,
  `channels=`) of every source.
* `streaming`: datasets larger than memory, decoded once into a cache file
  and read batch by batch, with the same batches as in memory.
* `pipeline`: `ImageDataset`, images and (optional) labels, and the one
  deterministic pipeline every dataset batches through (order and
  binarization fixed by seed and epoch, so runs resume mid-epoch exactly).
* `splits`: `labelled_split` / `SemiSupervisedDataset`, N labels per class
  for the semi-supervised models.
* `class_sets`: `ClassSetDataset`, a set of other examples of the class with
  every example, for the Variational Homoencoder, and `cluster_codes`,
  the unsupervised VHE's pseudo-labels.
* `kmeans`: the one KMeans of tfgen (the pseudo-labels and
  `tfgen.evaluation.clustering`'s baselines).
"""

from tfgen.data.pipeline import (
    BINARIZATIONS,
    LABEL_FORMATS,
    ImageDataset,
    batch_seed,
    binarize,
    epoch_seed,
)
from tfgen.data.arrays import from_arrays, from_tf_dataset
from tfgen.data.sources import (
    CLASS_NAMES,
    DATASETS,
    OFFLINE_ENV,
    SOURCE_DIR_ENV,
    SPLITS,
    DataUnavailableError,
    check_dataset,
    find_source_files,
    load,
    prepare,
)
from tfgen.data.splits import SemiSupervisedDataset, labelled_split
from tfgen.data import folders, streaming, transforms
from tfgen.data.class_sets import ClassSetDataset, cluster_codes, sample_set_positions
from tfgen.data.folders import FolderWarning

__all__ = [
    "BINARIZATIONS",
    "CLASS_NAMES",
    "ClassSetDataset",
    "DATASETS",
    "DataUnavailableError",
    "FolderWarning",
    "ImageDataset",
    "LABEL_FORMATS",
    "OFFLINE_ENV",
    "SOURCE_DIR_ENV",
    "SPLITS",
    "SemiSupervisedDataset",
    "batch_seed",
    "binarize",
    "check_dataset",
    "cluster_codes",
    "epoch_seed",
    "find_source_files",
    "folders",
    "from_arrays",
    "from_tf_dataset",
    "labelled_split",
    "load",
    "prepare",
    "sample_set_positions",
    "streaming",
    "transforms",
]
