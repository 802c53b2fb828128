"""The Variational Homoencoder (Hewitt et al., UAI 2018) on MNIST, and its unsupervised variant.

Each example x is trained with a set D of 5 other examples of its class: the
class code c comes from D, the example code z from x and c, and the class
code's KL is shared by the whole class. With --unsupervised there are no
labels: the classes are KMeans clusters of the latest codes, re-clustered
before every epoch (the blog post's experiment). Figures in OUT/plots: the
loss per epoch in nats (beside a VAE run's, with --vae-run), the gradient
norms of c and z, random samples, few-shot generation from 5 test images per
class, and (unsupervised) the purity and NMI of the clusters per epoch.

    python examples/vhe.py --epochs 20 --out runs/vhe
    python examples/vhe.py --unsupervised --out runs/vhe_unsupervised
    python examples/vhe.py --smoke --out runs/vhe_smoke
"""

import argparse
import json
import os

from tfgen import data
from tfgen.class_sets import ClassSetDataset, ClusteredClassSetDataset
from tfgen.models import VHE, UnsupervisedVHE
from tfgen.training import Trainer
from tfgen.vhe_plots import VHEPlotCallback, few_shot_support

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
SMOKE_EXAMPLES = 256


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
    parser.add_argument("--smoke", action="store_true", help=f"a few steps on {SMOKE_EXAMPLES} examples")
    args = parser.parse_args()

    train, test = data.load(args.dataset, "train"), data.load(args.dataset, "test")
    epochs, batch_size = args.epochs, BATCH_SIZE
    if args.smoke:
        train, test, epochs, batch_size = train.take(SMOKE_EXAMPLES), test.take(SMOKE_EXAMPLES), 1, 32
    networks = {"networks": args.networks, "hidden_units": HIDDEN_UNITS, "class_dim": CLASS_DIM, "latent_dim": LATENT_DIM}
    if args.unsupervised:
        model = UnsupervisedVHE(num_examples=len(train), num_clusters=NUM_CLUSTERS, set_size=SET_SIZE, **networks)
        # The labels are only used to score the clusters (purity, NMI), never to train.
        train_data = ClusteredClassSetDataset(train.images, train.labels, set_size=SET_SIZE, model=model,
                                              name=train.name)
        test_data = None
    else:
        model = VHE(set_size=SET_SIZE, **networks)
        train_data = ClassSetDataset(train.images, train.labels, set_size=SET_SIZE, name=train.name)
        test_data = ClassSetDataset(test.images, test.labels, set_size=SET_SIZE, name=test.name)
    references = {}
    if args.vae_run:
        with open(os.path.join(args.vae_run, "history.json"), encoding="utf-8") as stream:
            references["VAE"] = json.load(stream)
    plots = VHEPlotCallback(every=PLOT_EVERY, support=few_shot_support(test, shots=SET_SIZE),
                            reference_histories=references)
    trainer = Trainer(model, train_data, args.out, test_data=test_data, epochs=epochs, batch_size=batch_size,
                      learning_rate=LEARNING_RATE, eager=args.eager, callbacks=[plots],
                      run_info={"dataset": args.dataset, "unsupervised": args.unsupervised})
    trainer.fit(resume=args.resume)


if __name__ == "__main__":
    main()
