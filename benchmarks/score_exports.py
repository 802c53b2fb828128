"""Scores the samples of exported conditional models with the project's classifier.

For each export (`saved_models/<name>`), draws `--per-class` samples of each
class through its `sample` signature (seeds 0, 1, ...), and prints the label
accuracy (does a "3" look like a 3 to the classifier?), the mean per-class
diversity (mean pairwise distance of classifier features) and the Fréchet
distance in classifier-feature space (not Inception FID) against the test
images, with the same figures for the real test images as the baseline.

    python benchmarks/score_exports.py --classifier runs/classifier_mnist5.weights.h5 \\
        saved_models/mnist_cvae saved_models/mnist_cgan

A diffusion export is drawn through its `sample_ddim` signature once per
`--setting` (DDIM steps, eta, guidance scale):

    python benchmarks/score_exports.py --classifier runs/classifier_mnist5.weights.h5 --per-class 100 \\
        --setting steps=50,eta=0,guidance_scale=0 --setting steps=50,eta=0,guidance_scale=3 \\
        saved_models/mnist_diffusion saved_models/mnist_cgan
"""

import argparse
import json
import time

import numpy as np

from tfgen import data
from tfgen.evaluation import Evaluator, load_classifier
from tfgen.evaluation.classifier import image_arrays
from tfgen.serving import ExportedModel


def score(evaluator, images, labels, real_images):
    diversity = evaluator.diversity(images, labels)
    return {
        "label_accuracy": evaluator.label_accuracy(images, labels),
        "diversity": float(np.mean(list(diversity.values()))),
        "frechet_distance": evaluator.frechet_distance(real_images, images),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("exports", nargs="+", help="saved_models/<name> folders of conditional models")
    parser.add_argument("--classifier", required=True, help="weights from tfgen.evaluation.save_classifier")
    parser.add_argument("--dataset", default="mnist", choices=data.DATASETS)
    parser.add_argument("--per-class", type=int, default=500)
    parser.add_argument("--out-json", default=None)
    parser.add_argument("--setting", action="append", default=[], metavar="NAME=VALUE[,NAME=VALUE...]",
                        help="draw through the `sample_ddim` signature with these inputs (a diffusion model's "
                             "steps, eta, guidance_scale), one row per --setting; exports without the signature "
                             "are drawn through `sample` once")
    args = parser.parse_args()
    settings = [dict((name, json.loads(value)) for name, value in (pair.split("=") for pair in setting.split(",")))
                for setting in args.setting]

    evaluator = Evaluator(load_classifier(args.classifier))
    real_images, real_labels = image_arrays(data.load(args.dataset, "test"))
    # Baseline: the first half of the test set scored against the second half; the samples
    # are scored against the same second half (Fréchet distances depend on the set sizes).
    half = len(real_images) // 2
    reference = real_images[half:]
    results = {"real test images (first half)": score(evaluator, real_images[:half], real_labels[:half], reference)}
    for path in args.exports:
        exported = ExportedModel(path)
        if not exported.is_conditional():
            raise SystemExit(f"{path}: not a conditional model (its sample signature takes no label)")
        labels = np.repeat(np.arange(exported.num_classes), args.per_class)
        ddim = settings and "sample_ddim" in exported.signatures
        for setting in settings if ddim else [{}]:
            started = time.perf_counter()
            images = np.concatenate([
                exported.sample(np.arange(start, min(start + 1000, len(labels))), labels[start:start + 1000],
                                **({"signature": "sample_ddim", **setting} if ddim else {}))
                for start in range(0, len(labels), 1000)
            ])
            name = f"{path} ({', '.join(f'{key}={value:g}' for key, value in setting.items())})" if ddim else path
            results[name] = {**score(evaluator, images, labels, reference),
                             "seconds_per_image": (time.perf_counter() - started) / len(labels)}
            print(name, results[name], flush=True)

    print(f"| samples ({args.per_class} per class) | label accuracy | diversity | Fréchet distance (classifier features) |")
    print("|---|---|---|---|")
    for name, values in results.items():
        print(f"| {name} | {values['label_accuracy']:.4f} | {values['diversity']:.2f} | {values['frechet_distance']:.2f} |")
    if args.out_json:
        with open(args.out_json, "w", encoding="utf-8") as stream:
            json.dump(results, stream, indent=2)


if __name__ == "__main__":
    main()
