"""Conditional GAN on MNIST (Mirza and Osindero 2014) with the seed's 2D one-hot discriminator input.

    python examples/cgan.py                      # the full run, the recipe's settings
    python examples/cgan.py --label-input vector --out runs/cgan_vector  # the seed's collapsed CGAN (Day 10)
    python examples/cgan.py --smoke              # a few steps on 256 examples

Every flag of `tfgen train cgan` works here (`--help` lists them). Writes
runs/cgan/: checkpoints, history.json,
gan_diagnostics.json (label accuracy of the samples, per-class diversity,
classifier Fréchet distance) and plots/ (one row per class, digit 5 across
epochs, losses). `tfgen train cgan` runs the same recipe.
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # The settings are the model's recipe (ConditionalGAN.recipe: the seed's working CGAN); a change is one
    # argument here, e.g. label_input="vector", or a flag on the command line.
    sys.exit(cli.train_command("cgan", out="runs/cgan", description=__doc__))
