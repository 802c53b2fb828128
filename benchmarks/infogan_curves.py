"""The per-epoch code error of InfoGAN runs, as a table and one figure.

Reads each run's `gan_diagnostics.json` (written by `GANDiagnosticsCallback`:
`code_error` is the matched test error of Q's categorical code on 1,000 test
images) and its `config.json` (the batch size), and plots the code error
against epochs and against generator updates, since runs with different
batch sizes make different numbers of updates per epoch (`Trainer` drops the
last partial batch: 937 updates per epoch at 64, 468 at 128).

    python benchmarks/infogan_curves.py --out docs/figures/infogan_code_error.png \\
        runs/infogan_paper_d1024 runs/infogan_d1024_seed1 runs/infogan_d1024_b128
"""

import argparse
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from tfgen.evaluation import GANDiagnosticsCallback  # noqa: E402
from tfgen.plotting import save_figure  # noqa: E402
from tfgen.training.run_dir import CONFIG_FILE, read_json  # noqa: E402

TRAIN_EXAMPLES = 60000  # MNIST's training split


def read_curve(run_dir):
    """(batch_size, [(epoch, code_error), ...]) of one run; a clear error if it logged no code error."""
    path = os.path.join(run_dir, GANDiagnosticsCallback.file_name)
    curve = [(entry["epoch"], entry["code_error"]) for entry in read_json(path) if "code_error" in entry]
    if not curve:
        raise ValueError(f"{path} has no code_error: is it an InfoGAN run?")
    return read_json(os.path.join(run_dir, CONFIG_FILE))["training"]["batch_size"], curve


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="InfoGAN run directories")
    parser.add_argument("--labels", nargs="*", default=None, help="one legend label per run (default: the folder)")
    parser.add_argument("--out", required=True, help="the figure's path (.png)")
    args = parser.parse_args()
    labels = args.labels or [os.path.basename(os.path.normpath(run)) for run in args.runs]
    if len(labels) != len(args.runs):
        parser.error(f"--labels needs one label per run: {len(args.runs)} runs, {len(labels)} labels")

    figure, (by_epoch, by_update) = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for run_dir, label in zip(args.runs, labels):
        batch_size, curve = read_curve(run_dir)
        updates_per_epoch = TRAIN_EXAMPLES // batch_size
        epochs, errors = zip(*curve)
        percent = [100 * error for error in errors]
        by_epoch.plot(epochs, percent, marker="o", label=f"{label} (batch {batch_size})")
        by_update.plot([epoch * updates_per_epoch for epoch in epochs], percent, marker="o", label=label)
        print(f"{label} (batch {batch_size}): " + ", ".join(f"{epoch}: {value:.1f}" for epoch, value in zip(epochs, percent)))
    for axes, xlabel in ((by_epoch, "epoch"), (by_update, "generator updates")):
        axes.axhline(5.0, color="gray", linestyle="--", linewidth=1)
        axes.set_xlabel(xlabel)
        axes.grid(alpha=0.3)
    by_epoch.set_ylabel("code error on 1,000 test images (%, matched)")
    by_epoch.legend()
    by_epoch.set_title("InfoGAN categorical code as a digit classifier")
    by_update.set_title("dashed: Chen et al. 2016 (5%)")
    print(f"wrote {save_figure(figure, args.out)}")


if __name__ == "__main__":
    main()
