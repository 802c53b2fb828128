"""KMeans cluster ids: the one home of tfgen's clustering.

Two parts of tfgen cluster: the unsupervised Variational Homoencoder's
pseudo-labels (`tfgen.data.cluster_codes`, the classes of its class sets)
and the clustering baselines of `tfgen.evaluation.clustering` (KMeans on
raw pixels or on another model's codes). Both call `kmeans`, which sits on
the data's floor so that the data can use it.

scikit-learn's `KMeans` with a fixed `random_state`: the same features give
the same ids. It computes in the features' float precision (float32 stays
float32), so each caller fixes the precision it clusters in.
"""

import numpy as np

from tfgen import _checks


def kmeans(features, num_clusters, *, random_state=0, n_init=1, min_cluster_size=1, argument="features"):
    """KMeans cluster ids of `features` (N, ...), flattened per example.

    With `min_cluster_size` > 1, the members of clusters smaller than that
    move to the nearest centre of a cluster that is large enough (a class
    set needs `set_size + 1` examples of its class); one pass suffices, since
    moving members only grows the large clusters.

    Args:
        features: (N, ...) floats (or integers, clustered as float64); N >= 1.
        num_clusters: the number of KMeans clusters, in [1, N].
        random_state: KMeans's seed (scikit-learn's `random_state`).
        n_init: the KMeans restarts (the best inertia wins).
        min_cluster_size: the smallest cluster allowed.
        argument: the name of `features` in error messages.

    Returns:
        (N,) int64 cluster ids in [0, num_clusters).

    Raises:
        ValueError: `num_clusters` out of range, non-finite features, or no
            cluster holding `min_cluster_size` examples.
    """
    from sklearn.cluster import KMeans

    features = np.asarray(features)
    if not np.issubdtype(features.dtype, np.floating):
        features = features.astype(np.float64)
    features = features.reshape(features.shape[0], int(np.prod(features.shape[1:])))
    num_clusters = _checks.integer("num_clusters", num_clusters, minimum=1, maximum=len(features))
    min_cluster_size = _checks.positive_int("min_cluster_size", min_cluster_size)
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{argument} contain {int(np.sum(~np.isfinite(features)))} NaN or infinite values")
    fitted = KMeans(n_clusters=int(num_clusters), n_init=n_init, random_state=random_state).fit(features)
    clusters = fitted.labels_.astype(np.int64)
    if min_cluster_size == 1:
        return clusters
    sizes = np.bincount(clusters, minlength=num_clusters)
    large = np.flatnonzero(sizes >= min_cluster_size)
    if len(large) == 0:
        raise ValueError(
            f"No cluster of the {len(features)} {argument} holds min_cluster_size={min_cluster_size} examples; "
            f"use fewer clusters or a smaller set size. Received: cluster sizes {sizes.tolist()}"
        )
    if len(large) < num_clusters:
        moved = np.flatnonzero(sizes[clusters] < min_cluster_size)
        distances = ((features[moved, None, :] - fitted.cluster_centers_[None, large, :]) ** 2).sum(-1)
        clusters[moved] = large[np.argmin(distances, axis=1)]
    return clusters
