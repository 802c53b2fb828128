"""tfgen's models, one file per paper; each registers itself in `MODELS` (name -> class)."""

from tfgen.models.base import GenerativeModel, Recipe
from tfgen.models.registry import MODELS, get_model_class, load_model, register_model

from tfgen.models.vae import VAE  # noqa: E402
from tfgen.models.mmd_vae import MMDVAE  # noqa: E402
from tfgen.models.cvae import CVAE  # noqa: E402
from tfgen.models.ssvae import SemiSupervisedVAE  # noqa: E402
from tfgen.models.gumbel_ssvae import GumbelSemiSupervisedVAE  # noqa: E402
from tfgen.models.gan import AdversarialModel  # noqa: E402
from tfgen.models.dcgan import DCGAN  # noqa: E402
from tfgen.models.cgan import ConditionalGAN  # noqa: E402
from tfgen.models.infogan import InfoGAN  # noqa: E402
from tfgen.models.vhe import VHE, UnsupervisedVHE  # noqa: E402
from tfgen.models.diffusion import ConditionalDiffusion, Diffusion  # noqa: E402

__all__ = [
    "AdversarialModel",
    "CVAE",
    "ConditionalDiffusion",
    "ConditionalGAN",
    "Diffusion",
    "DCGAN",
    "GenerativeModel",
    "GumbelSemiSupervisedVAE",
    "InfoGAN",
    "MMDVAE",
    "MODELS",
    "Recipe",
    "SemiSupervisedVAE",
    "UnsupervisedVHE",
    "VAE",
    "VHE",
    "get_model_class",
    "load_model",
    "register_model",
]
