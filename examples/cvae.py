"""The conditional VAE of the seed post: generate a chosen digit.

The label conditions the decoder (a ReLU projection of the one-hot label
added to z, or concatenation). The seed needed beta = 1e-5 to stop every
sample of a class looking the same; `--likelihood gaussian_optimal` (the
sigma-VAE's calibrated decoder, with beta = 1 and intensities in [0, 1]) is
the principled fix. `--labels-per-class N` trains on N labelled examples per
class only (the seed's 6000/600/60/6 comparison with the semi-supervised VAE).
Figures: OUT/plots/classes_epochNNN.png, one row per class.

    python examples/cvae.py --epochs 20 --out runs/cvae
    python examples/cvae.py --likelihood gaussian_optimal --beta 1 --out runs/sigma_cvae
    python examples/cvae.py --smoke
"""

import argparse

from tfgen import data as data_lib
from tfgen.cvae_plots import ClassGridCallback
from tfgen.data_splits import labelled_split
from tfgen.models import CVAE
from tfgen.training import Trainer

DATASET = "mnist"
LATENT_DIM = 2
CONDITIONING = "projection"  # the seed's; with LATENT_DIM = 2 "concat" conditions far better (BENCHMARKS_SSVAE.md)
ENCODER_SEES_LABEL = False
BETA = 1e-5  # the seed's value for its Bernoulli decoder with summed cross-entropy
LIKELIHOOD = "bernoulli"  # or "gaussian_learned", "gaussian_optimal" (sigma-VAE, use --beta 1)
EPOCHS = 20
BATCH_SIZE = 100
LEARNING_RATE = 1e-3
SEED = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=["mnist", "fashion_mnist"])
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

    train = data_lib.load(args.dataset, "train")
    test = data_lib.load(args.dataset, "test")
    if args.smoke:
        train, test = train.take(256), test.take(256)
    if args.labels_per_class:
        train = labelled_split(train, args.labels_per_class, seed=SEED).labelled_subset()
    model = CVAE(latent_dim=LATENT_DIM, num_classes=train.num_classes, conditioning=args.conditioning,
                 encoder_sees_label=ENCODER_SEES_LABEL, beta=args.beta, likelihood=args.likelihood, seed=SEED)
    trainer = Trainer(
        model, train, args.out, test_data=test,
        epochs=1 if args.smoke else args.epochs,
        batch_size=min(BATCH_SIZE, len(train)), learning_rate=LEARNING_RATE, seed=SEED,
        # The sigma-VAE's Gaussian decoder models intensities, the Bernoulli one binary pixels.
        binarization="dynamic" if args.likelihood == "bernoulli" else "none",
        eager=args.eager, callbacks=[ClassGridCallback(every=5)],
        run_info={"dataset": args.dataset, "labels_per_class": args.labels_per_class},
    )
    trainer.fit(resume=args.resume, max_steps=3 if args.smoke else None)
    print(f"Run written to {args.out}")


if __name__ == "__main__":
    main()
