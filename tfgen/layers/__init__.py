"""Keras 3 layers, registered for serialization under the package "tfgen"."""

from tfgen.layers.sampling import GaussianSampling

__all__ = ["GaussianSampling"]

from tfgen.layers.gumbel import GumbelSoftmax, annealed_temperature  # noqa: E402
from tfgen.layers.label_projection import LabelProjection  # noqa: E402

__all__ += ["GumbelSoftmax", "LabelProjection", "annealed_temperature"]

from tfgen.layers.conditioning import LabelPlanes  # noqa: E402

__all__ += ["LabelPlanes"]

from tfgen.layers.spectral_normalization import SpectralNormalization  # noqa: E402

__all__ += ["SpectralNormalization"]

from tfgen.layers.pseudo_inputs import PseudoInputs  # noqa: E402

__all__ += ["PseudoInputs"]

from tfgen.layers.vector_quantizer import VectorQuantizer  # noqa: E402

__all__ += ["VectorQuantizer"]
