"""The MMD-VAE (InfoVAE) of the seed post, compared with the eager VAE.

A deterministic encoder and a sigmoid decoder, trained on the mean squared
reconstruction error plus the maximum mean discrepancy between the codes and
samples of N(0, I). The post trains it on Fashion-MNIST and on MNIST; choose
with --dataset. The figures in OUT/plots are the same as the VAE's, so the
two latent spaces can be compared side by side. `tfgen train mmd_vae` runs
the same recipe, but with dynamically binarized pixels (the model's data
contract); the post, and this script, train on the intensities as they are.
Every flag of `tfgen train mmd_vae` works here.

    python examples/mmd_vae.py --dataset fashion_mnist --epochs 50 --out runs/mmd_vae
    python examples/mmd_vae.py --smoke
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # The model's recipe (MMDVAE.recipe), with the post's pixels: intensities in [0, 1], not binarized.
    sys.exit(cli.train_command("mmd_vae", out="runs/mmd_vae", description=__doc__, binarization="none"))
