"""The semi-supervised VAE with Gumbel-softmax labels (Jang et al. 2017), the seed's Days 14-15.

As examples/ssvae.py, but the label of an unlabelled image is sampled from
q(y|x) with the Gumbel-softmax relaxation instead of summed over, so a step
costs one decoder pass per image whatever the number of classes. The seed
found plain (soft) samples train better than straight-through ones
(`--hard`); the temperature anneals as max(0.5, exp(-r t)), updated every
500 steps. Straight-through does better annealed faster and lower
(`--anneal-rate 1e-3 --min-temperature 0.25`: 10.91% against 12.86% test
error with 100 labels after 10,000 steps, 9.17% after 15,000;
BENCHMARKS_SSVAE.md).

    python examples/gumbel_ssvae.py --labels-per-class 10 --epochs 10 --out runs/gumbel_ssvae
    python examples/gumbel_ssvae.py --hard --out runs/gumbel_ssvae_hard
    python examples/gumbel_ssvae.py --smoke
"""

import argparse

from tfgen import data as data_lib
from tfgen.cvae_plots import ClassGridCallback, error_rate
from tfgen.data_splits import labelled_split
from tfgen.models import GumbelSemiSupervisedVAE
from tfgen.models.ssvae import SEMI_SUPERVISED_ALPHA
from tfgen.training import Trainer

DATASET = "mnist"
LABELS_PER_CLASS = 10
LATENT_DIM = 16
ALPHA = SEMI_SUPERVISED_ALPHA  # with a tenth of each batch labelled; see tfgen.models.ssvae
BATCH_SIZE = 100
LABELLED_PER_BATCH = 10
EPOCHS = 10
LEARNING_RATE = 1e-3
INITIAL_TEMPERATURE = 1.0
MIN_TEMPERATURE = 0.5
ANNEAL_RATE = 1e-4  # per step: 0.5 is reached after about 7000 steps
ANNEAL_EVERY = 500
SEED = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=["mnist", "fashion_mnist"])
    parser.add_argument("--labels-per-class", type=int, default=LABELS_PER_CLASS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--hard", action="store_true", help="straight-through (one-hot forward) samples")
    parser.add_argument("--alpha", type=float, default=ALPHA,
                        help="the labelled rows' cross-entropy weight (default: %(default)s)")
    parser.add_argument("--min-temperature", type=float, default=MIN_TEMPERATURE, help="the schedule's floor")
    parser.add_argument("--anneal-rate", type=float, default=ANNEAL_RATE,
                        help="r in tau = max(floor, exp(-r t)); Jang et al. tried 1e-5 and 1e-4")
    parser.add_argument("--out", default="runs/gumbel_ssvae")
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
    model = GumbelSemiSupervisedVAE(
        latent_dim=LATENT_DIM, num_classes=train.num_classes, alpha=args.alpha, hard=args.hard,
        initial_temperature=INITIAL_TEMPERATURE, min_temperature=args.min_temperature,
        anneal_rate=args.anneal_rate, anneal_every=ANNEAL_EVERY, seed=SEED,
    )
    trainer = Trainer(
        model, split, args.out, test_data=test, epochs=1 if args.smoke else args.epochs,
        batch_size=BATCH_SIZE, learning_rate=LEARNING_RATE, seed=SEED, eager=args.eager,
        steps_per_epoch=args.steps_per_epoch,
        callbacks=[ClassGridCallback(every=1)],
        run_info={"dataset": args.dataset, "labels_per_class": args.labels_per_class, "hard": args.hard},
    )
    trainer.fit(resume=args.resume, max_steps=3 if args.smoke else None)
    print(f"Test error of q(y|x) with {split.num_labelled} labels: {100 * error_rate(model, test):.2f}%")


if __name__ == "__main__":
    main()
