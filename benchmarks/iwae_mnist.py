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

Prints per run: the training objective's k, epochs and training seconds so
far, the last epoch's test objective (-ELBO, or -L_k for an IWAE), then the
test ELBO (the mean log-weight), L_K and the NLL -L_K with their standard
errors over the images; `--sweep` also prints L_K for several K; `--curve`
the per-epoch test objective against cumulative training time.
"""

import argparse
import time

from tfgen import data
from tfgen._files import write_json_atomic
from tfgen.evaluation.likelihood import likelihood_scores
from tfgen.training.run_dir import read_json
from tfgen.training.trainer import restore_model


def _history(run_dir):
    history = read_json(f"{run_dir}/history.json")
    return history if isinstance(history, list) else history.get("epochs", [])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="run folders of `tfgen train vae`")
    parser.add_argument("--iw-samples", type=int, default=5000)
    parser.add_argument("--max-images", type=int, default=None, help="the first N test images (default: all)")
    parser.add_argument("--sweep", type=int, nargs="*", default=None, help="also L_K for these K")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--curve", action="store_true", help="print the per-epoch test objective and time")
    parser.add_argument("--out-json", default=None)
    args = parser.parse_args()

    results = {}
    for run_dir in args.runs:
        model, config = restore_model(run_dir)
        test = data.load(config["data"]["name"].split("/")[0], "test")
        binarization = config["training"]["binarization"]
        history = _history(run_dir)
        seconds = sum(entry.get("seconds", 0.0) for entry in history)
        entry = {
            "k": int(getattr(model, "num_importance_samples", 1)),
            "networks": getattr(model, "networks", "conv"),
            "latent_dim": model.latent_dim,
            "epochs": len(history),
            "train_seconds": seconds,
            "test_objective": history[-1].get("test/loss") if history else None,
            "binarization": binarization,
        }
        start = time.perf_counter()
        report = likelihood_scores(model, test, num_samples=args.iw_samples, seed=args.seed,
                                   max_images=args.max_images, binarization=binarization)
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
    if args.out_json:
        write_json_atomic(args.out_json, results)


if __name__ == "__main__":
    main()
