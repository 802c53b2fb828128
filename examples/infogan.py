"""InfoGAN on MNIST (Chen et al. 2016): a 10-way categorical code and 2 continuous codes.

    python examples/infogan.py          # the full run: the paper's MNIST networks and learning rates
    python examples/infogan.py --filters 32 --hidden-units --discriminator-hidden-units \
        --generator-lr 2e-4 --discriminator-lr 2e-4 --out runs/infogan_small   # smaller, both players at 2e-4
    python examples/infogan.py --smoke  # a few steps on 256 examples

The defaults are Chen et al.'s MNIST model (appendix C and their code): G
Dense 1024, Dense 7x7x128, ConvT 64, ConvT 1; D Conv 64, Conv 128, Dense 1024,
shared with Q (Dense 128); Adam(beta_1 = 0.5) with 1e-3 for G and 2e-4 for D
and Q. BENCHMARKS_GAN.md measures them against smaller settings.

Writes runs/infogan_mnist/: checkpoints, history.json (with mi_loss),
gan_diagnostics.json, code_accuracy.json (the categorical code read as a
classifier, and each code's samples read by the classifier) and plots/ (rows
varying one code at a time, losses). `tfgen train infogan` runs the same recipe.
"""

import argparse

import tensorflow as tf

from tfgen import data, runs

DATASET = "mnist"
EPOCHS = 16
BATCH_SIZE = 64
GENERATOR_LR = 1e-3  # Adam, beta_1 = 0.5, as in the paper's code
DISCRIMINATOR_LR = 2e-4  # D and Q
BETA_1 = 0.5
LATENT_DIM = 62  # incompressible noise, as in the paper's MNIST model
NUM_CATEGORIES = 10
NUM_CONTINUOUS = 2
INFO_WEIGHT = 1.0  # lambda
FILTERS = 64  # G's last hidden and D's first convolution
HIDDEN_UNITS = [1024]  # G's Dense layer before the 7x7 projection
DISCRIMINATOR_HIDDEN_UNITS = [1024]  # D's Dense layer after the convolutions, shared with Q
CLASSIFIER_EPOCHS = 5
SEED = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=data.DATASETS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default=None)
    parser.add_argument("--classifier", default=None, help="sample-classifier weights (trained and saved there if missing)")
    parser.add_argument("--filters", type=int, default=FILTERS, help="f of G and D")
    parser.add_argument("--hidden-units", type=int, nargs="*", default=HIDDEN_UNITS,
                        help="G's Dense layers before the 7x7 projection (none: give the flag alone)")
    parser.add_argument("--discriminator-hidden-units", type=int, nargs="*", default=DISCRIMINATOR_HIDDEN_UNITS,
                        help="D's Dense layers after the convolutions, shared with Q (none: give the flag alone)")
    parser.add_argument("--generator-lr", type=float, default=GENERATOR_LR)
    parser.add_argument("--discriminator-lr", type=float, default=DISCRIMINATOR_LR, help="D and Q")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="the paper's code: 128")
    parser.add_argument("--seed", type=int, default=SEED, help="the weights' and the batches' seed")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--smoke", action="store_true", help="a few steps on the first 256 examples")
    args = parser.parse_args()
    runs.train(
        "infogan",
        out=args.out or f"runs/infogan_{args.dataset}" + ("_smoke" if args.smoke else ""),
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=args.batch_size,
        learning_rate=args.generator_lr,
        beta_1=BETA_1,
        discriminator_learning_rate=args.discriminator_lr,
        seed=args.seed,
        sample_scores=True,
        classifier=args.classifier,
        classifier_epochs=CLASSIFIER_EPOCHS,
        resume=args.resume,
        smoke=args.smoke,
        latent_dim=LATENT_DIM,
        num_categories=NUM_CATEGORIES,
        num_continuous=NUM_CONTINUOUS,
        info_weight=INFO_WEIGHT,
        generator_filters=args.filters,
        discriminator_filters=args.filters,
        hidden_units=args.hidden_units,
        discriminator_hidden_units=args.discriminator_hidden_units,
    )


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
