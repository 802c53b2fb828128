"""The semi-supervised VAE M2 (Kingma et al. 2014) of the seed's Days 12-13.

Every batch holds LABELLED_PER_BATCH labelled examples (cycled from the few
labelled ones) and unlabelled ones; the loss of an unlabelled image sums the
CVAE loss over every class, weighted by q(y|x), minus the entropy of q(y|x).
Prints the test error of q(y|x) after training; the test accuracy of every
epoch is in OUT/history.json and OUT/plots/accuracy.png.

    python examples/ssvae.py --labels-per-class 10 --epochs 10 --out runs/ssvae_100
    python examples/ssvae.py --smoke
"""

import argparse

from tfgen import data as data_lib
from tfgen.cvae_plots import ClassGridCallback, error_rate
from tfgen.data_splits import labelled_split
from tfgen.models import SemiSupervisedVAE
from tfgen.models.ssvae import SEMI_SUPERVISED_ALPHA
from tfgen.training import Trainer

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
    parser.add_argument("--dataset", default=DATASET, choices=["mnist", "fashion_mnist"])
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

    train = data_lib.load(args.dataset, "train")
    test = data_lib.load(args.dataset, "test")
    if args.smoke:
        train, test = train.take(256), test.take(256)
    split = labelled_split(train, args.labels_per_class, seed=SEED, labelled_per_batch=LABELLED_PER_BATCH)
    model = SemiSupervisedVAE(latent_dim=LATENT_DIM, num_classes=train.num_classes, alpha=args.alpha, seed=SEED)
    trainer = Trainer(
        model, split, args.out, test_data=test, epochs=1 if args.smoke else args.epochs,
        batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, seed=SEED, eager=args.eager,
        steps_per_epoch=args.steps_per_epoch,
        callbacks=[ClassGridCallback(every=1)],
        run_info={"dataset": args.dataset, "labels_per_class": args.labels_per_class},
    )
    trainer.fit(resume=args.resume, max_steps=3 if args.smoke else None)
    print(f"Test error of q(y|x) with {split.num_labelled} labels: {100 * error_rate(model, test):.2f}%")


if __name__ == "__main__":
    main()
