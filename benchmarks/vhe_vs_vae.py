"""VHE against a VAE with the same networks, and the unsupervised VHE's clusters against KMeans baselines.

Short runs on MNIST (dynamic binarization, Adam, batch 100):

1. a VAE (analytic KL) whose encoder and decoder are the VHE's networks
   ("mlp": one hidden layer of 512 units; "conv": the seed VAE's), with a
   latent of class_dim + latent_dim so that the two decoders are the same;
2. the supervised VHE, class sets of 5 from the labels;
3. the unsupervised VHE (KMeans pseudo-labels, re-clustered every epoch).

It reports the test-set loss in nats per image of 1 and 2 (the VHE's with
class sets and class sizes from the test set), the training loss per epoch
of all three, and the purity / NMI of the unsupervised VHE's clusters per
epoch beside KMeans on raw pixels and on the VAE's posterior means.

    python benchmarks/vhe_vs_vae.py --epochs 3 --out runs/bench_vhe
"""

import argparse
import json
import os
import time

import numpy as np

from tfgen import data
from tfgen.data import ClassSetDataset, cluster_codes
from tfgen.evaluation.clustering import ClusterScoresCallback, clustering_scores, kmeans_codes, kmeans_pixels
from tfgen.models import VAE, UnsupervisedVHE, VHE
from tfgen.networks import GaussianMLP, MLPDecoder
from tfgen.plotting import PlotCallback
from tfgen.plotting.vhe import plot_nats_per_epoch
from tfgen.training import ReclusterCallback, Trainer

CLASS_DIM = 16
LATENT_DIM = 16
HIDDEN_UNITS = 512
SET_SIZE = 5
BATCH_SIZE = 100
LEARNING_RATE = 1e-3


class MLPVAE(VAE):
    """tfgen's VAE (its loss and step) with the VHE's MLP encoder and decoder."""

    def __init__(self, latent_dim=2, hidden_units=HIDDEN_UNITS, **kwargs):
        super().__init__(latent_dim=latent_dim, **kwargs)
        self.encoder = GaussianMLP(latent_dim, hidden_units, name="encoder")
        self.decoder = MLPDecoder(hidden_units, name="decoder")


def _train(model, train, out, epochs, test=None, callbacks=()):
    trainer = Trainer(model, train, out, test_data=test, epochs=epochs, batch_size=BATCH_SIZE,
                      learning_rate=LEARNING_RATE, seed=0, callbacks=list(callbacks), verbose=0)
    started = time.perf_counter()
    trainer.fit()
    print(f"{out}: {time.perf_counter() - started:.0f} s; last epoch {trainer.history[-1]}", flush=True)
    return trainer


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--networks", default="mlp", choices=["mlp", "conv"])
    parser.add_argument("--train-examples", type=int, default=None, help="train on the first N examples only")
    parser.add_argument("--out", default="runs/bench_vhe")
    args = parser.parse_args()

    train, test = data.load("mnist", "train"), data.load("mnist", "test")
    if args.train_examples:
        train = train.take(args.train_examples)
    networks = {"networks": args.networks, "hidden_units": HIDDEN_UNITS, "class_dim": CLASS_DIM, "latent_dim": LATENT_DIM}
    if args.networks == "mlp":
        vae = MLPVAE(latent_dim=CLASS_DIM + LATENT_DIM, analytic_kl=True)
    else:
        vae = VAE(latent_dim=CLASS_DIM + LATENT_DIM, analytic_kl=True)
    vae_run = _train(vae, train, os.path.join(args.out, "vae"), args.epochs, test=test)

    vhe_run = _train(VHE(set_size=SET_SIZE, **networks),
                     ClassSetDataset(train.images, train.labels, set_size=SET_SIZE),
                     os.path.join(args.out, "vhe"), args.epochs,
                     test=ClassSetDataset(test.images, test.labels, set_size=SET_SIZE))

    unsupervised = UnsupervisedVHE(num_examples=len(train), num_clusters=10, set_size=SET_SIZE, **networks)
    clustered = ClassSetDataset(train.images, train.labels, set_size=SET_SIZE,
                                set_labels=unsupervised.update_clusters(0))
    unsupervised_run = _train(unsupervised, clustered, os.path.join(args.out, "vhe_unsupervised"), args.epochs,
                              callbacks=[ReclusterCallback(), ClusterScoresCallback(),
                                         PlotCallback(every=args.epochs, num_samples=16)])
    with open(os.path.join(unsupervised_run.run_dir, "cluster_scores.json"), encoding="utf-8") as stream:
        per_epoch = json.load(stream)
    final_clusters = cluster_codes(unsupervised.codes.numpy(), 10, SET_SIZE + 1, random_state=0)

    # Baselines: KMeans on raw pixels and on the VAE's posterior means of the training set.
    started = time.perf_counter()
    pixels = kmeans_pixels(train.images, train.labels)
    vae_codes = np.concatenate([vae.encode(batch["image"])[0].numpy()
                                for batch in train.batches(1000, shuffle=False, binarization="none")])
    results = {
        "epochs": args.epochs,
        "networks": args.networks,
        "train_examples": len(train),
        "test_nats": {"vae": vae_run.history[-1]["test/loss"], "vhe": vhe_run.history[-1]["test/loss"]},
        "vhe_test_terms": {key: value for key, value in vhe_run.history[-1].items() if key.startswith("test/")},
        "train_nats_per_epoch": {
            "vae": [entry["train/loss"] for entry in vae_run.history],
            "vhe": [entry["train/loss"] for entry in vhe_run.history],
            "vhe_unsupervised": [entry["train/loss"] for entry in unsupervised_run.history],
        },
        "grad_norms_unsupervised": [(entry["train/grad_norm_c"], entry["train/grad_norm_z"])
                                    for entry in unsupervised_run.history],
        "clusters": {
            "vhe_unsupervised_per_epoch": per_epoch,
            "vhe_unsupervised_final_codes": clustering_scores(train.labels, final_clusters),
            "kmeans_raw_pixels": pixels,
            "kmeans_vae_codes": kmeans_codes(vae_codes, train.labels),
        },
        "seconds_per_epoch": {
            "vae": float(np.mean([entry["seconds"] for entry in vae_run.history])),
            "vhe": float(np.mean([entry["seconds"] for entry in vhe_run.history])),
            "vhe_unsupervised": float(np.mean([entry["seconds"] for entry in unsupervised_run.history])),
        },
    }
    print(f"baselines: {time.perf_counter() - started:.0f} s", flush=True)
    plot_nats_per_epoch({"VAE": vae_run.history, "VHE": vhe_run.history, "unsupervised VHE": unsupervised_run.history},
                        os.path.join(args.out, "nats_per_epoch.png"))
    with open(os.path.join(args.out, "results.json"), "w", encoding="utf-8") as stream:
        json.dump(results, stream, indent=1)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
