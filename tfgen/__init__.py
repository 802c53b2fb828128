"""tfgen: deep generative models in TensorFlow 2 and Keras 3.

The package's floors, lowest first (a module imports only from its own floor
and those below; tests/test_layout.py checks it): `_checks`, `random`,
`labels` -> `data`, `layers`, `losses` -> `networks` -> `models` ->
`training`, `config` -> `evaluation` -> `plotting` -> `export`, `serving` ->
`runs`, `report` -> `cli` (`_files`, `locks` and `images` are on the lowest floor).
"""

__version__ = "0.2.0"

from tfgen import data
from tfgen import layers
from tfgen import losses
from tfgen import networks
from tfgen import models
from tfgen.models import MMDVAE, VAE
from tfgen.config import RunConfig, TrainingOptions
from tfgen.training import Trainer

__all__ = ["data", "layers", "losses", "networks", "models", "VAE", "MMDVAE", "RunConfig", "Trainer",
           "TrainingOptions", "__version__"]
