"""The conditional GAN on MNIST under each GAN objective, three seeds each: label accuracy, diversity and
Fréchet distance of its samples after every epoch, by the project's classifier.

    python benchmarks/gan_objectives.py train --epochs 10 --classifier runs/classifier_mnist5.weights.h5
    python benchmarks/gan_objectives.py report --json benchmarks/results/gan_objectives.json

`train` runs `tfgen train cgan` for every objective and seed, one run after
another, seed by seed (so that a stopped queue has the same seeds of every
objective); a run folder that exists is resumed (`--resume`), one that has
its epochs is skipped, so the command continues a queue that was stopped.
The objectives, each on the CGAN's recipe otherwise:

* `non_saturating`: the recipe (D with batch norm, Adam 2e-4, beta_1 0.5);
* `wgan_gp`: Gulrajani et al.'s Algorithm 1: lambda = 10, five critic
  updates per generator update, Adam 1e-4 with beta_1 0, no batch norm in
  the critic (Adam's beta_2 stays Keras's 0.999: tfgen has no flag for it);
* `hinge_sn`: the hinge loss with a spectrally normalized discriminator
  without batch norm (Miyato et al.), on the recipe's optimizer.

`report` prints, per objective and over the runs that have finished their
`--epochs` (10 by default), the mean over seeds of each epoch's scores,
each seed's last epoch, and how many runs reached a label accuracy of 0.98
and how many collapsed: a last-epoch diversity under 0.8 of the real
images' (`gan/diversity_ratio`), i.e. samples much more alike than the data.
"""

import argparse
import os
import subprocess
import sys

from tfgen.training.run_dir import read_history

OBJECTIVES = {
    "non_saturating": [],
    "wgan_gp": ["--loss", "wgan_gp", "--no-discriminator-batch-norm", "--discriminator-steps", "5",
                "--learning-rate", "1e-4", "--beta-1", "0"],
    "hinge_sn": ["--loss", "hinge", "--spectral-norm", "--no-discriminator-batch-norm"],
}
ACCURACY_GOAL = 0.98
COLLAPSE_DIVERSITY = 0.8


def train(args):
    for seed in args.seeds:
        for objective in args.objectives:
            run_dir = os.path.join(args.out, objective, f"seed{seed}")
            done = len(read_history(run_dir))
            if done >= args.epochs:
                print(f"{run_dir}: {done} epochs, done", flush=True)
                continue
            command = ["tfgen", "train", "cgan", "--out", run_dir, "--epochs", str(args.epochs), "--seed", str(seed),
                       "--classifier", args.classifier, "--plot-every", "100", *OBJECTIVES[objective]]
            if os.path.exists(os.path.join(run_dir, "config.json")):
                command.append("--resume")
            print(" ".join(command), flush=True)
            code = subprocess.call(command)
            if code:
                return code
    return 0


def _mean(values):
    values = [value for value in values if value is not None]
    return sum(values) / len(values) if values else float("nan")


def report(args):
    results = {}
    for objective in args.objectives:
        runs = {}
        for seed in args.seeds:
            history = read_history(os.path.join(args.out, objective, f"seed{seed}"))
            if len(history) < args.epochs:
                if history:
                    print(f"{objective} seed {seed}: {len(history)} of {args.epochs} epochs, left out until it ends")
                continue
            if history:
                runs[seed] = [{"epoch": entry["epoch"], "label_accuracy": entry.get("gan/label_accuracy"),
                               "frechet_distance": entry.get("gan/frechet_distance"),
                               "diversity_ratio": entry.get("gan/diversity_ratio"), "seconds": entry.get("seconds")}
                              for entry in history]
        if not runs:
            continue
        epochs = min(len(history) for history in runs.values())
        mean_curve = [{key: _mean([runs[seed][index][key] for seed in runs])
                       for key in ("label_accuracy", "frechet_distance", "diversity_ratio", "seconds")}
                      for index in range(epochs)]
        last = {seed: history[-1] for seed, history in runs.items()}
        results[objective] = {
            "seeds": sorted(runs), "epochs_per_seed": {seed: len(history) for seed, history in runs.items()},
            "mean_per_epoch": mean_curve, "last": last,
            "reached_goal": sum(entry["label_accuracy"] >= ACCURACY_GOAL for entry in last.values()),
            "collapsed": sum(entry["diversity_ratio"] < COLLAPSE_DIVERSITY for entry in last.values()),
        }
        print(f"{objective}: seeds {sorted(runs)}, epochs {[len(h) for h in runs.values()]}")
        for index, entry in enumerate(mean_curve):
            print(f"  epoch {index + 1}: accuracy {entry['label_accuracy']:.4f}, Fréchet {entry['frechet_distance']:.2f}, "
                  f"diversity {entry['diversity_ratio']:.3f}, {entry['seconds']:.0f} s (means over seeds)")
        for seed, entry in last.items():
            print(f"  seed {seed}, epoch {entry['epoch']}: accuracy {entry['label_accuracy']:.4f}, "
                  f"Fréchet {entry['frechet_distance']:.2f}, diversity {entry['diversity_ratio']:.3f}")
        print(f"  reached {ACCURACY_GOAL}: {results[objective]['reached_goal']} of {len(last)}; collapsed "
              f"(diversity < {COLLAPSE_DIVERSITY}): {results[objective]['collapsed']} of {len(last)}")
    if args.json:
        from tfgen._files import write_json_atomic

        write_json_atomic(args.json, {"out": args.out, "objectives": {k: OBJECTIVES[k] for k in results},
                                      "results": results})
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=("train", "report"))
    parser.add_argument("--out", default="runs/gan_objectives", help="the folder of the runs")
    parser.add_argument("--epochs", type=int, default=10, help="train: the epochs of each run; report: only runs "
                        "that have them are scored")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--objectives", nargs="+", choices=sorted(OBJECTIVES), default=list(OBJECTIVES))
    parser.add_argument("--classifier", default="runs/classifier_mnist5.weights.h5")
    parser.add_argument("--json", default=None, help="report: write the results here")
    args = parser.parse_args(argv)
    return train(args) if args.action == "train" else report(args)


if __name__ == "__main__":
    sys.exit(main())
