"""The MMD-VAE (InfoVAE) of the seed post, compared with the eager VAE.

A deterministic encoder and a sigmoid decoder, trained on the mean squared
reconstruction error plus the maximum mean discrepancy between the codes and
samples of N(0, I). The post trains it on Fashion-MNIST and on MNIST; choose
with --dataset. The figures in OUT/plots are the same as the VAE's, so the
two latent spaces can be compared side by side. `tfgen train mmd_vae` runs
the same recipe.

    python examples/mmd_vae.py --dataset fashion_mnist --epochs 50 --out runs/mmd_vae
    python examples/mmd_vae.py --smoke
"""

import argparse

from tfgen import runs

DATASET = "fashion_mnist"
LATENT_DIM = 2
EPOCHS = 50
BATCH_SIZE = 100
LEARNING_RATE = 1e-4
PLOT_EVERY = 10


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=["mnist", "fashion_mnist"])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default="runs/mmd_vae")
    parser.add_argument("--eager", action="store_true", help="run the steps eagerly, as the post did")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few steps on a few examples")
    args = parser.parse_args()
    runs.train(
        "mmd_vae",
        out=args.out,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        binarization="none",
        eager=args.eager,
        resume=args.resume,
        plot_every=PLOT_EVERY,
        smoke=args.smoke,
        latent_dim=LATENT_DIM,
    )


if __name__ == "__main__":
    main()
