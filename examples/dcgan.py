"""DCGAN on MNIST (Radford et al. 2016): samples, interpolation and latent arithmetic.

    python examples/dcgan.py            # the full run
    python examples/dcgan.py --smoke    # a few steps on 256 examples

Every flag of `tfgen train dcgan` works here (`--help` lists them). Writes
runs/dcgan_mnist/: checkpoints, history.json, gan_diagnostics.json
(classes found among the samples, per-class diversity, classifier Fréchet
distance) and plots/ (samples, interpolations, latent arithmetic, losses).
`tfgen train dcgan --out runs/dcgan_mnist` runs the same recipe.
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # Radford et al.'s settings are the model's recipe (DCGAN.recipe); a change is one argument here, e.g.
    # discriminator_steps=2 (k of Goodfellow et al.'s Algorithm 1), or a flag on the command line.
    sys.exit(cli.train_command("dcgan", out="runs/dcgan_mnist", description=__doc__))
