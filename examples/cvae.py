"""The conditional VAE of the seed post: generate a chosen digit.

The label conditions the decoder (a ReLU projection of the one-hot label
added to z, or concatenation). The seed needed beta = 1e-5 to stop every
sample of a class looking the same; `--likelihood gaussian_optimal` (the
sigma-VAE's calibrated decoder, with beta = 1 and intensities in [0, 1]) is
the principled fix. `--labels-per-class N` trains on N labelled examples per
class only (the seed's 6000/600/60/6 comparison with the semi-supervised VAE).
Figures: OUT/plots/classes_epochNNN.png, one row per class. `tfgen train cvae`
runs the same recipe.

    python examples/cvae.py --epochs 20 --out runs/cvae
    python examples/cvae.py --likelihood gaussian_optimal --beta 1 --out runs/sigma_cvae
    python examples/cvae.py --smoke
"""

import argparse

from tfgen import data, runs

DATASET = "mnist"
LATENT_DIM = 2
CONDITIONING = "projection"  # the seed's; with LATENT_DIM = 2 "concat" conditions far better (BENCHMARKS_SSVAE.md)
ENCODER_SEES_LABEL = False
BETA = 1e-5  # the seed's value for its Bernoulli decoder with summed cross-entropy
LIKELIHOOD = "bernoulli"  # or "gaussian_learned", "gaussian_optimal" (sigma-VAE, use --beta 1)
EPOCHS = 20
BATCH_SIZE = 100
LEARNING_RATE = 1e-3
PLOT_EVERY = 5
SEED = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=data.DATASETS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--beta", type=float, default=BETA)
    parser.add_argument("--likelihood", default=LIKELIHOOD, choices=["bernoulli", "gaussian_learned", "gaussian_optimal"])
    parser.add_argument("--conditioning", default=CONDITIONING, choices=["projection", "concat"])
    parser.add_argument("--labels-per-class", type=int, default=None, help="train on N labelled examples per class")
    parser.add_argument("--out", default="runs/cvae")
    parser.add_argument("--eager", action="store_true")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few steps on 256 examples")
    args = parser.parse_args()
    runs.train(
        "cvae",
        out=args.out,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=min(BATCH_SIZE, 10 * args.labels_per_class) if args.labels_per_class else BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        seed=SEED,
        eager=args.eager,
        resume=args.resume,
        plot_every=PLOT_EVERY,
        # With N labels per class the training set holds 10 N images: a batch cannot be larger.
        examples_per_class=args.labels_per_class,
        smoke=args.smoke,
        latent_dim=LATENT_DIM,
        conditioning=args.conditioning,
        encoder_sees_label=ENCODER_SEES_LABEL,
        beta=args.beta,
        likelihood=args.likelihood,
        model_options={"seed": SEED},
    )


if __name__ == "__main__":
    main()
