"""Scores the categorical code of trained InfoGAN runs, both ways.

For each run directory (from `examples/infogan.py`), restores the latest
checkpoint and prints:

* the test error of Q's categorical code read as a digit classifier of the
  real test images, after the best one-to-one matching of codes to labels
  (`categorical_code_accuracy`; Chen et al. 2016 report 5%);
* the share of each code's own samples that the project's classifier reads
  as the code's matched digit (`generated_code_accuracy`): does each code
  draw one digit? Then, per code, the two digits its samples show most.

    python benchmarks/infogan_codes.py --classifier runs/classifier_mnist5.weights.h5 \\
        runs/infogan_paper runs/infogan_paper_d1024
"""

import argparse
import os

from tfgen import data
from tfgen.evaluation import Evaluator, categorical_code_accuracy, generated_code_accuracy, load_classifier
from tfgen.training import restore_model
from tfgen.training.run_dir import HISTORY_FILE, read_json, write_json_atomic


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="InfoGAN run directories")
    parser.add_argument("--classifier", required=True, help="weights from tfgen.evaluation.save_classifier")
    parser.add_argument("--dataset", default="mnist", choices=data.DATASETS)
    parser.add_argument("--per-code", type=int, default=500, help="samples drawn for each code value")
    parser.add_argument("--out-json", default=None)
    args = parser.parse_args()

    evaluator = Evaluator(load_classifier(args.classifier))
    test = data.load(args.dataset, "test")
    results = {}
    print("| run | epochs | code test error (real images, matched) | samples drawn as the code's digit | code -> digit |")
    print("|---|---|---|---|---|")
    for run_dir in args.runs:
        model, _ = restore_model(run_dir)
        real = categorical_code_accuracy(model, test)
        drawn = generated_code_accuracy(model, evaluator, per_code=args.per_code)
        history = read_json(os.path.join(run_dir, HISTORY_FILE))
        epochs = max(entry["epoch"] for entry in history)  # trained so far, resumes included
        results[run_dir] = {"epochs": epochs, "code_error": real["error"], "code_mapping": real["mapping"],
                            "generated": drawn}
        print(f"| {run_dir} | {epochs} | {100 * real['error']:.2f}% | {100 * drawn['accuracy']:.1f}% | "
              f"{drawn['mapping']} |", flush=True)
        for code, counts in drawn["counts"].items():  # which digits each code draws, most frequent first
            top = sorted(range(len(counts)), key=lambda digit: -counts[digit])[:2]
            print(f"    code {code}: " + ", ".join(f"{counts[digit]} x digit {digit}" for digit in top))
    if args.out_json:
        write_json_atomic(args.out_json, results)


if __name__ == "__main__":
    main()
