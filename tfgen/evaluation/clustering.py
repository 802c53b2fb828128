"""Scoring clusterings against labels: purity and normalized mutual information (NMI).

Used for the unsupervised Variational Homoencoder, whose KMeans pseudo-labels
should come to agree with the classes, and for its baselines: KMeans on raw
pixels and on the codes of another model (e.g. a VAE's posterior means).

* purity: each cluster votes for its most common label; the fraction of
  examples whose label is their cluster's vote (1 is perfect; it rises with
  the number of clusters, so compare equal numbers of clusters).
* NMI: scikit-learn's `normalized_mutual_info_score` (arithmetic mean
  normalization), 0 for independent labellings, 1 for identical ones up to
  renaming.
"""

import os

import numpy as np

from tfgen.data.kmeans import kmeans as kmeans_ids
from tfgen.training import Callback
from tfgen.training.run_dir import write_epoch_log


def _check_pair(labels, clusters):
    labels = np.asarray(labels)
    clusters = np.asarray(clusters)
    if labels.ndim != 1 or labels.shape != clusters.shape:
        raise ValueError(
            f"labels and clusters must be 1-D of the same length. Received: labels.shape={labels.shape}, "
            f"clusters.shape={clusters.shape}"
        )
    if len(labels) == 0:
        raise ValueError("labels and clusters are empty. Received: 0 examples")
    for argument, values in (("labels", labels), ("clusters", clusters)):
        if not np.issubdtype(values.dtype, np.integer):
            raise TypeError(f"{argument} must be integers. Received: dtype={values.dtype}")
    return labels, clusters


def purity(labels, clusters):
    """The fraction of examples that carry their cluster's most common label."""
    labels, clusters = _check_pair(labels, clusters)
    _, cluster_ids = np.unique(clusters, return_inverse=True)
    _, label_ids = np.unique(labels, return_inverse=True)
    table = np.zeros((cluster_ids.max() + 1, label_ids.max() + 1), dtype=np.int64)
    np.add.at(table, (cluster_ids, label_ids), 1)
    return float(table.max(axis=1).sum() / len(labels))


def nmi(labels, clusters):
    """scikit-learn's normalized mutual information between the labels and the clusters."""
    from sklearn.metrics import normalized_mutual_info_score

    labels, clusters = _check_pair(labels, clusters)
    return float(normalized_mutual_info_score(labels, clusters))


def matched_accuracy(labels, clusters):
    """Accuracy after the best one-to-one matching of clusters to labels.

    The matching maximises the number of examples whose cluster is mapped to
    their label (the Hungarian algorithm on the contingency table, scipy's
    `linear_sum_assignment`), as for InfoGAN's categorical code read as a
    classifier (Chen et al. 2016). Unlike purity, two clusters cannot both
    take the same label. Clusters left without a label (more clusters than
    labels) count as errors.

    Returns:
        (accuracy, mapping): the accuracy in [0, 1] and {cluster: label}.
    """
    from scipy.optimize import linear_sum_assignment

    labels, clusters = _check_pair(labels, clusters)
    cluster_values, cluster_ids = np.unique(clusters, return_inverse=True)
    label_values, label_ids = np.unique(labels, return_inverse=True)
    table = np.zeros((len(cluster_values), len(label_values)), dtype=np.int64)
    np.add.at(table, (cluster_ids, label_ids), 1)
    rows, columns = linear_sum_assignment(table, maximize=True)
    mapping = {int(cluster_values[r]): int(label_values[c]) for r, c in zip(rows, columns)}
    return float(table[rows, columns].sum() / len(labels)), mapping


def clustering_scores(labels, clusters):
    """{"purity": ..., "nmi": ...}."""
    return {"purity": purity(labels, clusters), "nmi": nmi(labels, clusters)}


def kmeans(features, num_clusters=10, random_state=0, n_init=1):
    """KMeans cluster ids of `features` (N, ...), flattened per example, in float32 (`tfgen.data.kmeans.kmeans`)."""
    return kmeans_ids(np.asarray(features, dtype=np.float32), num_clusters, random_state=random_state, n_init=n_init)


def kmeans_pixels(images, labels, num_clusters=10, random_state=0):
    """Purity and NMI of KMeans on raw pixels (uint8 images are scaled to [0, 1])."""
    images = np.asarray(images)
    pixels = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    return clustering_scores(labels, kmeans(pixels, num_clusters, random_state))


def kmeans_codes(codes, labels, num_clusters=10, random_state=0):
    """Purity and NMI of KMeans on codes (N, dim), e.g. a VAE's posterior means."""
    return clustering_scores(labels, kmeans(codes, num_clusters, random_state))


class ClusterScoresCallback(Callback):
    """Scores the unsupervised VHE's pseudo-labels against the true labels after every epoch.

    The purity and NMI of `trainer.model.pseudo_labels` (the clusters the
    epoch trained on) against the training data's labels, which the model
    never sees, go into the epoch's logs ("clusters/purity",
    "clusters/nmi") and into `run_dir/cluster_scores.json` (one entry per
    epoch; a resumed run rewrites the epochs it repeats), which the
    "cluster_scores" figure draws.
    """

    file_name = "cluster_scores.json"

    def on_epoch_end(self, trainer, epoch, logs):
        scores = clustering_scores(trainer.train_data.labels, trainer.model.pseudo_labels.numpy())
        logs.update({f"clusters/{name}": value for name, value in scores.items()})
        write_epoch_log(os.path.join(trainer.run_dir, self.file_name), epoch, scores)
