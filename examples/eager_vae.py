"""The eager-execution VAE of the seed post, on Fashion-MNIST.

A convolutional VAE with a 2-D latent space, trained on the single-sample
ELBO batch estimate log p(x|z) + log p(z) - log q(z|x), Adam 1e-4. Every
10 epochs it writes random samples, the test set in latent space coloured
by class, and the grid of decoded latent points ("morphs") to OUT/plots.
The steps run eagerly, as in the post; pass --no-eager to run the same
steps under tf.function (several times faster). `tfgen train vae` runs the
same recipe, compiled. Every flag of `tfgen train vae` works here.

    python examples/eager_vae.py --epochs 50 --out runs/eager_vae
    python examples/eager_vae.py --no-eager       # compiled: tfgen train vae
    python examples/eager_vae.py --smoke          # a few steps, for tests
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # The seed post's VAE is the model's recipe (VAE.recipe: Fashion-MNIST, a 2-D latent space, batch 100,
    # Adam 1e-4, the pixels as Bernoulli targets as they are); the post ran its steps eagerly:
    sys.exit(cli.train_command("vae", out="runs/eager_vae", description=__doc__, eager=True))
