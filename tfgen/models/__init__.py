"""tfgen's models, one file per paper; each registers itself in `MODELS`."""

from tfgen.models.base import GenerativeModel
from tfgen.models.mmd_vae import MMDVAE
from tfgen.models.registry import MODELS, ModelSpec, get_model_spec, register_model
from tfgen.models.vae import VAE

__all__ = ["GenerativeModel", "MMDVAE", "MODELS", "ModelSpec", "VAE", "get_model_spec", "register_model"]
