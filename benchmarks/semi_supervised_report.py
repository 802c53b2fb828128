"""Compares finished semi-supervised runs: test error of q(y|x), its curve, and class grids.

Each RUN is `title=run_dir` of `examples/ssvae.py` or `examples/gumbel_ssvae.py`. Prints a
table (labels, steps, final test error on the 10,000 test images, best epoch's test accuracy,
seconds) and writes `OUT/accuracy.png` (test accuracy of q(y|x) per epoch, one curve per run)
and `OUT/label_fractions.png` (one row per class, the same z down each column, one panel per run).

    python benchmarks/semi_supervised_report.py --out docs/figures/ssvae \\
        "M2 enumeration, 100 labels=runs/ssvae_100" "Gumbel soft, 100 labels=runs/gumbel_100_soft"
"""

import argparse
import os

import tensorflow as tf

from tfgen import data
from tfgen.evaluation import error_rate
from tfgen.plotting.cvae import plot_accuracy, plot_label_fractions
from tfgen.training import latest_checkpoint, restore_model
from tfgen.training.run_dir import HISTORY_FILE, read_json


def global_step(run_dir):
    """The number of training steps in the run's latest checkpoint."""
    return int(tf.train.load_checkpoint(latest_checkpoint(run_dir)).get_tensor("global_step/.ATTRIBUTES/VARIABLE_VALUE"))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="title=run_dir")
    parser.add_argument("--out", required=True, help="folder for the figures")
    parser.add_argument("--dataset", default="mnist", choices=data.DATASETS)
    args = parser.parse_args()
    runs = {}
    for item in args.runs:
        title, separator, run_dir = item.rpartition("=")
        if not separator or not title:
            raise SystemExit(f"expected title=run_dir, got {item!r}")
        runs[title] = run_dir

    test = data.load(args.dataset, "test")
    models, histories = {}, {}
    print("| run | labels per class | steps | test error of q(y|x) | best epoch test accuracy | training s |")
    print("|---|---|---|---|---|---|")
    for title, run_dir in runs.items():
        model, config = restore_model(run_dir)
        history = read_json(os.path.join(run_dir, HISTORY_FILE))
        models[title], histories[title] = model, history
        steps = global_step(run_dir)
        best = max(entry.get("test/accuracy", 0.0) for entry in history)
        seconds = sum(entry["seconds"] for entry in history)
        print(f"| {title} | {config.get('labels_per_class', '?')} | {steps} | "
              f"{100 * error_rate(model, test):.2f}% | {best:.4f} | {seconds:.0f} |", flush=True)
    plot_accuracy(histories, os.path.join(args.out, "accuracy.png"))
    plot_label_fractions(models, os.path.join(args.out, "label_fractions.png"))
    print(f"figures in {args.out}")


if __name__ == "__main__":
    main()
