"""The eager-execution VAE of the seed post, on Fashion-MNIST.

A convolutional VAE with a 2-D latent space, trained on the single-sample
ELBO batch estimate log p(x|z) + log p(z) - log q(z|x), Adam 1e-4. Every
`PLOT_EVERY` epochs it writes random samples, the test set in latent space
coloured by class, and the grid of decoded latent points ("morphs") to
OUT/plots. The steps run eagerly, as in the post; pass --compiled to run the
same steps under tf.function (several times faster). `tfgen train vae` runs
the same recipe, compiled.

    python examples/eager_vae.py --epochs 50 --out runs/eager_vae
    python examples/eager_vae.py --smoke          # a few steps, for tests
"""

import argparse

from tfgen import runs

DATASET = "fashion_mnist"
LATENT_DIM = 2
EPOCHS = 50
BATCH_SIZE = 100
LEARNING_RATE = 1e-4
# The post scales pixels to [0, 1] and uses them as Bernoulli targets as they are.
BINARIZATION = "none"
PLOT_EVERY = 10


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default="runs/eager_vae")
    parser.add_argument("--compiled", action="store_true", help="run the steps under tf.function")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few steps on a few examples")
    args = parser.parse_args()
    runs.train(
        "vae",
        out=args.out,
        dataset=DATASET,
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        binarization=BINARIZATION,
        eager=not args.compiled,
        resume=args.resume,
        plot_every=PLOT_EVERY,
        smoke=args.smoke,
        latent_dim=LATENT_DIM,
    )


if __name__ == "__main__":
    main()
