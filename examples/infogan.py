"""InfoGAN on MNIST (Chen et al. 2016): a 10-way categorical code and 2 continuous codes.

    python examples/infogan.py          # the full run: the paper's MNIST networks and learning rates
    python examples/infogan.py --generator-filters 32 --discriminator-filters 32 --hidden-units \
        --discriminator-hidden-units --learning-rate 2e-4 --out runs/infogan_small  # smaller, both at 2e-4
    python examples/infogan.py --smoke  # a few steps on 256 examples

The defaults are Chen et al.'s MNIST model (appendix C and their code): G
Dense 1024, Dense 7x7x128, ConvT 64, ConvT 1; D Conv 64, Conv 128, Dense 1024,
shared with Q (Dense 128); Adam(beta_1 = 0.5) with 1e-3 for G and 2e-4 for D
and Q. BENCHMARKS_GAN.md measures them against smaller settings.

Writes runs/infogan_mnist/: checkpoints, history.json (with mi_loss),
gan_diagnostics.json, code_accuracy.json (the categorical code read as a
classifier, and each code's samples read by the classifier) and plots/ (rows
varying one code at a time, losses). `tfgen train infogan` runs the same recipe;
every flag of it works here.
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # Chen et al.'s MNIST model is the recipe (InfoGAN.recipe); a change is one argument here, or a flag.
    sys.exit(cli.train_command("infogan", out="runs/infogan_mnist", description=__doc__))
