"""Keras 3 layers, registered for serialization under the package "tfgen"."""

from tfgen.layers.sampling import GaussianSampling

__all__ = ["GaussianSampling"]
