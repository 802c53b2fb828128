"""DCGAN on MNIST (Radford et al. 2016): samples, interpolation and latent arithmetic.

    python examples/dcgan.py            # the full run
    python examples/dcgan.py --smoke    # a few steps on 256 examples

Writes runs/dcgan_mnist/: checkpoints, history.json, gan_diagnostics.json
(classes found among the samples, per-class diversity, classifier Fréchet
distance) and plots/ (samples, interpolations, latent arithmetic, losses).
`tfgen train dcgan --out runs/dcgan_mnist` runs the same recipe.
"""

import argparse

import tensorflow as tf

from tfgen import data, runs

DATASET = "mnist"
EPOCHS = 20
BATCH_SIZE = 64
LEARNING_RATE = 2e-4  # Adam, beta_1 = 0.5 (Radford et al. 2016), both players
BETA_1 = 0.5
LATENT_DIM = 100
FILTERS = 32
DISCRIMINATOR_STEPS = 1  # k of Goodfellow et al.'s Algorithm 1
CLASSIFIER_EPOCHS = 5
PLOT_EVERY = 5
SEED = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=data.DATASETS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default=None)
    parser.add_argument("--classifier", default=None, help="sample-classifier weights (trained and saved there if missing)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few steps on the first 256 examples")
    args = parser.parse_args()
    runs.train(
        "dcgan",
        out=args.out or f"runs/dcgan_{args.dataset}" + ("_smoke" if args.smoke else ""),
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        beta_1=BETA_1,
        seed=SEED,
        sample_scores=True,
        classifier=args.classifier,
        classifier_epochs=CLASSIFIER_EPOCHS,
        plot_every=PLOT_EVERY,
        resume=args.resume,
        smoke=args.smoke,
        latent_dim=LATENT_DIM,
        generator_filters=FILTERS,
        discriminator_filters=FILTERS,
        discriminator_steps=DISCRIMINATOR_STEPS,
    )


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
