"""Encoders, decoders, generators and discriminators: no losses, no training.

Every network is sized from the image shape by one rule (`tfgen.networks.shapes`).
"""

from tfgen.networks.conv import ConvDecoder, ConvEncoder
from tfgen.networks.mlp import ConvConditionalEncoder, GaussianMLP, MLPDecoder
from tfgen.networks.pixelcnn import GatedPixelCNN
from tfgen.networks.unet import UNet
from tfgen.networks.shapes import IMAGE_SHAPE, NUM_TRAIN_EXAMPLES, check_image_shape, upsampling_plan

__all__ = [
    "IMAGE_SHAPE",
    "NUM_TRAIN_EXAMPLES",
    "ConvConditionalEncoder",
    "ConvDecoder",
    "ConvEncoder",
    "GatedPixelCNN",
    "GaussianMLP",
    "MLPDecoder",
    "UNet",
    "check_image_shape",
    "upsampling_plan",
]
