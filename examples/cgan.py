"""Conditional GAN on MNIST (Mirza and Osindero 2014) with the seed's 2D one-hot discriminator input.

    python examples/cgan.py                      # the full run
    python examples/cgan.py --label-input vector # the seed's collapsed CGAN (Day 10)
    python examples/cgan.py --smoke              # a few steps on 256 examples

Writes runs/cgan_<label input>_<dataset>/: checkpoints, history.json,
gan_diagnostics.json (label accuracy of the samples, per-class diversity,
classifier Fréchet distance) and plots/ (one row per class, digit 5 across
epochs, losses). `tfgen train cgan` runs the same recipe.
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
HIDDEN_UNITS = [256, 512]
FILTERS = 32
CLASSIFIER_EPOCHS = 5
SEED = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=data.DATASETS)
    parser.add_argument("--label-input", default="planes", choices=["planes", "vector"])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default=None)
    parser.add_argument("--classifier", default=None, help="sample-classifier weights (trained and saved there if missing)")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few steps on the first 256 examples")
    args = parser.parse_args()
    runs.train(
        "cgan",
        out=args.out or f"runs/cgan_{args.label_input}_{args.dataset}" + ("_smoke" if args.smoke else ""),
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        beta_1=BETA_1,
        seed=SEED,
        sample_scores=True,
        classifier=args.classifier,
        classifier_epochs=CLASSIFIER_EPOCHS,
        resume=args.resume,
        smoke=args.smoke,
        latent_dim=LATENT_DIM,
        label_input=args.label_input,
        hidden_units=HIDDEN_UNITS,
        generator_filters=FILTERS,
        discriminator_filters=FILTERS,
    )


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
