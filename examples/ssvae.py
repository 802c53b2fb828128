"""The semi-supervised VAE M2 (Kingma et al. 2014) of the seed's Days 12-13.

Every batch holds LABELLED_PER_BATCH labelled examples (cycled from the few
labelled ones) and unlabelled ones; the loss of an unlabelled image sums the
CVAE loss over every class, weighted by q(y|x), minus the entropy of q(y|x).
Prints the test error of q(y|x) after training; the test accuracy of every
epoch is in OUT/history.json and OUT/plots/accuracy.png. `tfgen train ssvae`
runs the same recipe.

    python examples/ssvae.py --labels-per-class 10 --epochs 10 --out runs/ssvae_100
    python examples/ssvae.py --smoke
"""

import argparse

from tfgen import data, runs
from tfgen.models.ssvae import SEMI_SUPERVISED_ALPHA

DATASET = "mnist"
LABELS_PER_CLASS = 10  # 100 labels in all; the seed also uses 6000, 600, 60, 6
LATENT_DIM = 16
ALPHA = SEMI_SUPERVISED_ALPHA  # with a tenth of each batch labelled; see tfgen.models.ssvae
BATCH_SIZE = 100
LABELLED_PER_BATCH = 10
EPOCHS = 10
LEARNING_RATE = 1e-3
SEED = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=data.DATASETS)
    parser.add_argument("--labels-per-class", type=int, default=LABELS_PER_CLASS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--alpha", type=float, default=ALPHA,
                        help="the labelled rows' cross-entropy weight (default: %(default)s)")
    parser.add_argument("--out", default="runs/ssvae")
    parser.add_argument("--steps-per-epoch", type=int, default=None, help="cut epochs short (quick runs)")
    parser.add_argument("--eager", action="store_true")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few steps on 256 examples")
    args = parser.parse_args()
    runs.train(
        "ssvae",
        out=args.out,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        seed=SEED,
        eager=args.eager,
        resume=args.resume,
        steps_per_epoch=args.steps_per_epoch,
        labels_per_class=args.labels_per_class,
        labelled_per_batch=LABELLED_PER_BATCH,
        plot_every=1,
        smoke=args.smoke,
        latent_dim=LATENT_DIM,
        alpha=args.alpha,
        model_options={"seed": SEED},
    )


if __name__ == "__main__":
    main()
