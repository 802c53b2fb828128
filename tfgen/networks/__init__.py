"""Encoders, decoders, generators and discriminators: no losses, no training."""

from tfgen.networks.conv import IMAGE_SHAPE, ConvDecoder, ConvEncoder
from tfgen.networks.mlp import ConvConditionalEncoder, GaussianMLP, MLPDecoder

__all__ = ["IMAGE_SHAPE", "ConvConditionalEncoder", "ConvDecoder", "ConvEncoder", "GaussianMLP", "MLPDecoder"]
