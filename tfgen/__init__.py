"""tfgen: deep generative models in TensorFlow 2 and Keras 3.

Data flows one way: ``data`` -> ``models`` (built from ``networks``,
``layers``, ``losses``) -> ``training`` -> ``plotting`` / ``export``.
"""

__version__ = "0.1.0"

from tfgen import data
from tfgen import layers
from tfgen import losses
from tfgen import networks
from tfgen import models
from tfgen.models import MMDVAE, VAE
from tfgen.training import Trainer

__all__ = ["data", "layers", "losses", "networks", "models", "VAE", "MMDVAE", "Trainer", "__version__"]
