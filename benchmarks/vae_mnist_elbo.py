"""Test ELBO of the VAE with latent size 2 on MNIST, threshold-binarized at 0.5.

The setting of the TensorFlow CVAE tutorial (batch 32, Adam 1e-4, 10
epochs), which reports a test ELBO of about -156 nats. Prints the test ELBO
(the negative test loss: the single-sample estimate of the tutorial,
averaged over the 10,000 test images with fixed seeds) and the time of every
epoch.

    python benchmarks/vae_mnist_elbo.py --out runs/bench_vae_mnist
"""

import argparse
import json

from tfgen import runs


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="runs/bench_vae_mnist")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--latent-dim", type=int, default=2)
    parser.add_argument("--analytic-kl", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    trainer = runs.train(
        "vae",
        out=args.out,
        dataset="mnist",
        epochs=args.epochs,
        batch_size=32,
        learning_rate=1e-4,
        binarization="threshold",
        seed=args.seed,
        plot_every=args.epochs,
        latent_dim=args.latent_dim,
        analytic_kl=args.analytic_kl,
        verbose=0,
    )
    print("epoch  test_elbo  train_elbo  seconds  images/s")
    for entry in trainer.history:
        print(f"{entry['epoch']:5d}  {-entry['test/loss']:9.2f}  {-entry['train/loss']:10.2f}  "
              f"{entry['seconds']:7.1f}  {entry['images_per_second']:8.0f}")
    final = trainer.history[-1]
    seconds = [entry["seconds"] for entry in trainer.history]
    print(json.dumps({"test_elbo": -final["test/loss"], "mean_epoch_seconds": sum(seconds) / len(seconds),
                      "reference_tutorial_elbo": -156.0}))


if __name__ == "__main__":
    main()
