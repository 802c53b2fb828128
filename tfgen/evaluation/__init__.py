"""Evaluation: a project-trained classifier and the sample scores built on it, FID and KID on
Inception-v3 features (`tfgen.evaluation.inception`), importance-weighted test log-likelihoods and the
diffusion models' variational bound (`tfgen.evaluation.likelihood`), classification error, clustering
scores and InfoGAN's code accuracy, and the callbacks that log them every epoch."""

from tfgen.evaluation.semi_supervised import error_rate
from tfgen.evaluation.classifier import (
    Evaluator,
    build_classifier,
    classifier_stages,
    frechet_distance_from_features,
    load_classifier,
    save_classifier,
    train_classifier,
)
from tfgen.evaluation.clustering import (
    ClusterScoresCallback,
    clustering_scores,
    kmeans,
    kmeans_codes,
    kmeans_pixels,
    matched_accuracy,
    nmi,
    purity,
)
from tfgen.evaluation.codes import categorical_code_accuracy, generated_code_accuracy
from tfgen.evaluation.gan import GANDiagnosticsCallback, sample_scores
from tfgen.evaluation.inception import (
    InceptionScorer,
    InceptionWeightsUnavailable,
    fid,
    frechet_distance,
    inception_features,
    inception_model,
    kid,
)
from tfgen.evaluation.likelihood import likelihood_kind, likelihood_scores, mmd_scores, variational_bound_scores

__all__ = [
    "ClusterScoresCallback",
    "Evaluator",
    "GANDiagnosticsCallback",
    "InceptionScorer",
    "InceptionWeightsUnavailable",
    "build_classifier",
    "categorical_code_accuracy",
    "classifier_stages",
    "clustering_scores",
    "error_rate",
    "fid",
    "frechet_distance",
    "frechet_distance_from_features",
    "generated_code_accuracy",
    "inception_features",
    "inception_model",
    "kid",
    "kmeans",
    "kmeans_codes",
    "kmeans_pixels",
    "likelihood_kind",
    "likelihood_scores",
    "load_classifier",
    "matched_accuracy",
    "mmd_scores",
    "nmi",
    "purity",
    "sample_scores",
    "save_classifier",
    "train_classifier",
    "variational_bound_scores",
]
