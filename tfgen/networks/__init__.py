"""Encoders, decoders, generators and discriminators: no losses, no training."""

from tfgen.networks.conv import IMAGE_SHAPE, ConvDecoder, ConvEncoder

__all__ = ["IMAGE_SHAPE", "ConvDecoder", "ConvEncoder"]
