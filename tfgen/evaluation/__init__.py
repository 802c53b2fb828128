"""Scoring generated samples: a project-trained classifier and the measures built on it."""

from tfgen.evaluation.classifier import (
    Evaluator,
    build_classifier,
    frechet_distance_from_features,
    load_classifier,
    save_classifier,
    train_classifier,
)

__all__ = [
    "Evaluator",
    "build_classifier",
    "frechet_distance_from_features",
    "load_classifier",
    "save_classifier",
    "train_classifier",
]

# Clustering scores (purity, NMI) and KMeans baselines for the unsupervised VHE.
from tfgen.evaluation.clustering import (  # noqa: E402
    clustering_scores,
    kmeans,
    kmeans_codes,
    kmeans_pixels,
    matched_accuracy,
    nmi,
    purity,
)

__all__ += ["clustering_scores", "kmeans", "kmeans_codes", "kmeans_pixels", "matched_accuracy", "nmi", "purity"]

from tfgen.evaluation.codes import categorical_code_accuracy, generated_code_accuracy  # noqa: E402

__all__ += ["categorical_code_accuracy", "generated_code_accuracy"]
