"""The Variational Homoencoder (Hewitt et al., UAI 2018) on MNIST, and its unsupervised variant.

Each example x is trained with a set D of 5 other examples of its class: the
class code c comes from D, the example code z from x and c, and the class
code's KL is shared by the whole class. With --unsupervised there are no
labels: the classes are KMeans clusters of the latest codes, re-clustered
before every epoch (the blog post's experiment). Figures in OUT/plots: the
loss per epoch in nats (beside a VAE run's, with --vae-run), the gradient
norms of c and z, random samples, few-shot generation from 5 test images per
class, and (unsupervised) the purity and NMI of the clusters per epoch.
`tfgen train vhe` and `tfgen train vhe_unsupervised` run the same recipes.

    python examples/vhe.py --epochs 20 --out runs/vhe
    python examples/vhe.py --unsupervised --out runs/vhe_unsupervised
    python examples/vhe.py --smoke --out runs/vhe_smoke
"""

import argparse

from tfgen import data, runs

DATASET = "mnist"
NETWORKS = "mlp"  # one hidden layer of 512 units, as in the post; or "conv"
HIDDEN_UNITS = 512
CLASS_DIM = 16
LATENT_DIM = 16
SET_SIZE = 5
NUM_CLUSTERS = 10
EPOCHS = 20
BATCH_SIZE = 100
LEARNING_RATE = 1e-3
PLOT_EVERY = 1


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=list(data.DATASETS))
    parser.add_argument("--networks", default=NETWORKS, choices=["mlp", "conv"])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default="runs/vhe")
    parser.add_argument("--unsupervised", action="store_true", help="KMeans pseudo-labels instead of labels")
    parser.add_argument("--vae-run", help="a VAE run directory whose loss to draw beside the VHE's")
    parser.add_argument("--eager", action="store_true")
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--smoke", action="store_true", help="a few steps on 256 examples")
    args = parser.parse_args()
    unsupervised = {"num_clusters": NUM_CLUSTERS} if args.unsupervised else {}
    runs.train(
        "vhe_unsupervised" if args.unsupervised else "vhe",
        out=args.out,
        dataset=args.dataset,
        epochs=args.epochs,
        batch_size=32 if args.smoke else BATCH_SIZE,
        learning_rate=LEARNING_RATE,
        eager=args.eager,
        resume=args.resume,
        plot_every=PLOT_EVERY,
        reference_runs={"VAE": args.vae_run} if args.vae_run else None,
        smoke=args.smoke,
        networks=args.networks,
        hidden_units=HIDDEN_UNITS,
        class_dim=CLASS_DIM,
        latent_dim=LATENT_DIM,
        set_size=SET_SIZE,
        **unsupervised,
    )


if __name__ == "__main__":
    main()
