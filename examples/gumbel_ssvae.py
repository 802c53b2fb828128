"""The semi-supervised VAE with Gumbel-softmax labels (Jang et al. 2017), the seed's Days 14-15.

As examples/ssvae.py, but the label of an unlabelled image is sampled from
q(y|x) with the Gumbel-softmax relaxation instead of summed over, so a step
costs one decoder pass per image whatever the number of classes. The seed
found plain (soft) samples train better than straight-through ones
(`--hard`); the temperature anneals as max(0.5, exp(-r t)), updated every
500 steps. Straight-through does better annealed faster and lower
(`--anneal-rate 1e-3 --min-temperature 0.25`: 10.91% against 12.86% test
error with 100 labels after 10,000 steps, 9.17% after 15,000;
BENCHMARKS_SSVAE.md). `tfgen train gumbel_ssvae` runs the same recipe.

    python examples/gumbel_ssvae.py --labels-per-class 10 --epochs 10 --out runs/gumbel_ssvae
    python examples/gumbel_ssvae.py --hard --out runs/gumbel_ssvae_hard
    python examples/gumbel_ssvae.py --smoke
"""

import argparse

from tfgen import data, runs
from tfgen.models.ssvae import SEMI_SUPERVISED_ALPHA

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
    parser.add_argument("--dataset", default=DATASET, choices=data.DATASETS)
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
    runs.train(
        "gumbel_ssvae",
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
        hard=args.hard,
        initial_temperature=INITIAL_TEMPERATURE,
        min_temperature=args.min_temperature,
        anneal_rate=args.anneal_rate,
        anneal_every=ANNEAL_EVERY,
        model_options={"seed": SEED},
    )


if __name__ == "__main__":
    main()
