"""tfgen's models, one file per paper; each registers itself in `MODELS`."""

from tfgen.models.base import GenerativeModel
from tfgen.models.mmd_vae import MMDVAE
from tfgen.models.registry import MODELS, ModelSpec, get_model_spec, register_model
from tfgen.models.vae import VAE

__all__ = ["GenerativeModel", "MMDVAE", "MODELS", "ModelSpec", "VAE", "get_model_spec", "register_model"]

# The GAN family: DCGAN, conditional GAN, InfoGAN.
from tfgen.models.cgan import ConditionalGAN  # noqa: E402
from tfgen.models.gan import DCGAN  # noqa: E402
from tfgen.models.infogan import InfoGAN  # noqa: E402

__all__ += ["ConditionalGAN", "DCGAN", "InfoGAN"]

# The conditional and semi-supervised VAEs: CVAE, M2, Gumbel-softmax M2.
from tfgen.models.cvae import CVAE  # noqa: E402
from tfgen.models.gumbel_cvae import GumbelSemiSupervisedVAE  # noqa: E402
from tfgen.models.ssvae import SemiSupervisedVAE  # noqa: E402

__all__ += ["CVAE", "GumbelSemiSupervisedVAE", "SemiSupervisedVAE"]

# The Variational Homoencoder and its unsupervised (KMeans-clustered) variant.
from tfgen.models.vhe import VHE, UnsupervisedVHE  # noqa: E402

__all__ += ["UnsupervisedVHE", "VHE"]
