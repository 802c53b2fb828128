"""Test negative log-likelihood (K-sample importance-weighted bound) of VAE and IWAE runs on MNIST.

Burda, Grosse and Salakhutdinov ("Importance Weighted Autoencoders", ICLR
2016, Table 1) report, for one stochastic layer of 50 units between two
deterministic layers of 200 tanh units each way, on dynamically binarized
MNIST after 3,280 passes: VAE 86.76 nats, IWAE (k = 50) 84.78, with K = 5000.
Train the runs with `tfgen train` (commands in BENCHMARKS_LIKELIHOOD.md),
then score each run's latest checkpoint:

    python benchmarks/iwae_mnist.py runs/burda/mlp_k1 runs/burda/mlp_k5 runs/burda/mlp_k50 \\
        --iw-samples 5000 --max-images 1000
    python benchmarks/iwae_mnist.py runs/bench_vae_mnist --sweep 1 10 100 1000 5000
    python benchmarks/iwae_mnist.py runs/vamp/standard runs/vamp/vamp --iw-samples 5000 --max-images 1000 \
        --paired --figure docs/figures/vampprior_mnist.png

`--paired` prints each run's NLL difference from the first run on the same
test images (the same seed binarizes them alike), with the standard error
of the per-image differences: most of either run's own error is how much
the images differ, which a paired difference cancels. `--figure` draws, per
run, 50 samples and, for a VampPrior run, its first 50 pseudo-inputs.

Prints per run: the training objective's k, epochs and training seconds so
far, the last epoch's test objective (-ELBO, or -L_k for an IWAE), then the
test ELBO (the mean log-weight), L_K and the NLL -L_K with their standard
errors over the images; `--sweep` also prints L_K for several K; `--curve`
the per-epoch test objective against cumulative training time.
"""

import argparse
import time

import numpy as np

from tfgen import data
from tfgen._files import write_json_atomic
from tfgen.evaluation.likelihood import likelihood_scores
from tfgen.training.run_dir import read_history
from tfgen.training.trainer import restore_model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run folders of `tfgen train vae`")
    parser.add_argument("--iw-samples", type=int, default=5000)
    parser.add_argument("--max-images", type=int, default=None, help="the first N test images (default: all)")
    parser.add_argument("--sweep", type=int, nargs="*", default=None, help="also L_K for these K")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--curve", action="store_true", help="print the per-epoch test objective and time")
    parser.add_argument("--paired", action="store_true",
                        help="the NLL difference of each run from the first, with its paired standard error")
    parser.add_argument("--figure", default=None, help="a PNG of each run's samples (and pseudo-inputs)")
    parser.add_argument("--out-json", default=None)
    args = parser.parse_args()

    results, models = {}, {}
    for run_dir in args.runs:
        model, config = restore_model(run_dir)
        test = data.load(config["data"]["name"].split("/")[0], "test")
        binarization = config["training"]["binarization"]
        history = read_history(run_dir)
        seconds = sum(entry.get("seconds", 0.0) for entry in history)
        models[run_dir] = model
        entry = {
            "k": int(getattr(model, "num_importance_samples", 1)),
            "prior": getattr(model, "prior", "standard"),
            "networks": getattr(model, "networks", "conv"),
            "latent_dim": model.latent_dim,
            "epochs": len(history),
            "train_seconds": seconds,
            "test_objective": history[-1].get("test/loss") if history else None,
            "binarization": binarization,
        }
        start = time.perf_counter()
        report = likelihood_scores(model, test, num_samples=args.iw_samples, seed=args.seed,
                                   max_images=args.max_images, binarization=binarization, per_image=args.paired)
        entry["evaluation_seconds"] = time.perf_counter() - start
        entry["scores"] = report
        if args.sweep:
            entry["sweep"] = {
                k: likelihood_scores(model, test, num_samples=k, seed=args.seed, max_images=args.max_images,
                                     binarization=binarization, progress=False)["marginal"]["log_likelihood"]
                for k in args.sweep
            }
        if args.curve:
            elapsed, curve = 0.0, []
            for epoch in history:
                elapsed += epoch.get("seconds", 0.0)
                curve.append((epoch.get("epoch"), round(elapsed, 1), epoch.get("test/loss")))
            entry["curve"] = curve
        results[run_dir] = entry
        scores = report["marginal"]
        print(f"{run_dir}: k={entry['k']} {entry['networks']} latent {entry['latent_dim']}, {entry['epochs']} epochs "
              f"in {seconds:.0f} s, last test objective {entry['test_objective']:.2f}")
        print(f"  {report['images']} test images, K={args.iw_samples}: ELBO {scores['elbo']:.2f} "
              f"(+- {scores['elbo_stderr']:.2f}), L_K {scores['log_likelihood']:.2f} "
              f"(+- {scores['log_likelihood_stderr']:.2f}), NLL {scores['nll']:.2f}, "
              f"({entry['evaluation_seconds']:.0f} s)")
        for k, value in (entry.get("sweep") or {}).items():
            print(f"  L_{k} = {value:.2f}")
        for epoch, elapsed, objective in entry.get("curve", []):
            print(f"  epoch {epoch}: {elapsed} s, test objective {objective:.2f}")
    if args.paired:
        _print_paired(results, args.runs)
    if args.figure:
        _figure(models, args.figure)
    if args.out_json:
        write_json_atomic(args.out_json, results)


def _print_paired(results, runs):
    """Each run's NLL minus the first run's, per image, with the standard error of those differences."""
    first = np.asarray(results[runs[0]]["scores"]["marginal"]["per_image_log_likelihood"])
    for run_dir in runs[1:]:
        other = np.asarray(results[run_dir]["scores"]["marginal"]["per_image_log_likelihood"])
        if other.shape != first.shape:
            raise SystemExit(f"--paired needs the same test images: {runs[0]} has {first.size}, {run_dir} {other.size}")
        difference = first - other  # NLL(other) - NLL(first) = L_K(first) - L_K(other)
        stderr = float(difference.std(ddof=1) / np.sqrt(difference.size)) if difference.size > 1 else float("nan")
        results[run_dir]["paired_nll_difference"] = {"against": runs[0], "mean": float(difference.mean()),
                                                     "stderr": stderr, "images": int(difference.size)}
        print(f"{run_dir} - {runs[0]}: NLL difference {difference.mean():+.2f} +- {stderr:.2f} (paired, "
              f"{difference.size} images); better on {int((difference < 0).sum())} of them")


def _figure(models, path):
    """One row block per run: 50 samples (seeds 0-49), and a VampPrior's first 50 pseudo-inputs."""
    import tensorflow as tf

    from tfgen.plotting import plot_images

    images, labels = [], []
    for run_dir, model in models.items():
        images.append(model.sample_from_seeds(tf.range(50, dtype=tf.int64)).numpy())
        name = run_dir.rstrip("/").split("/")[-1]
        labels += [f"{name}: samples"] + [""] * 4
        if getattr(model, "pseudo_inputs", None) is not None:
            pseudo = model.pseudo_inputs(tf.zeros([], tf.float32)).numpy()[:50]
            images.append(pseudo)
            labels += [f"{name}: pseudo-inputs"] + [""] * (len(pseudo) // 10 - 1)
    plot_images(np.concatenate(images), path, rows=len(labels), row_labels=labels)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
