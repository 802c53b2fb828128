"""Training step time against image size: the VAE and the DCGAN at 28x28x1, 32x32x3 and 64x64x3.

Each (model, size) trains through `tfgen.runs.train`, the path `tfgen train`
takes, with the model's paper recipe (batch size, optimizers, default widths)
and `image_shape` set to the size, on random uint8 images of that size held in
memory (the step's arithmetic does not depend on the pixel values). The first
epoch traces the step and is left out; the median seconds per step of the
other epochs is printed, with images/s and the ratio to 28x28x1 measured in
the same process.

    python benchmarks/image_size_speed.py [--steps 30] [--epochs 4] [--models vae dcgan] [--json FILE]
"""

import argparse
import json
import os
import statistics
import tempfile

import numpy as np

from tfgen import runs
from tfgen.data import ImageDataset
from tfgen.models import get_model_class

SHAPES = ((28, 28, 1), (32, 32, 3), (64, 64, 3))


def random_images(shape, count, seed=0):
    """`count` random uint8 images of `shape`, with labels 0..9 in turn, as an `ImageDataset`."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, *shape), dtype=np.uint8)
    return ImageDataset(images, np.arange(count) % 10, num_classes=10, name=f"random{'x'.join(map(str, shape))}")


def seconds_per_step(model, shape, steps, epochs, folder):
    """The median seconds per training step of epochs 2.. of a run of `model` on `shape` images."""
    batch_size = get_model_class(model).recipe.batch_size
    data = random_images(shape, steps * batch_size)
    trainer = runs.train(model, out=os.path.join(folder, f"{model}-{'x'.join(map(str, shape))}"),
                         dataset=(data, data.take(batch_size)), epochs=epochs, steps_per_epoch=steps,
                         plot_every=10**6, sample_scores=False, image_shape=shape, verbose=0)
    per_step = [epoch["seconds"] / steps for epoch in trainer.history[1:]]
    return statistics.median(per_step), batch_size


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vae", "dcgan"])
    parser.add_argument("--steps", type=int, default=30, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=4, help="epochs (the first is left out)")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    results = []
    with tempfile.TemporaryDirectory() as folder:
        for model in args.models:
            baseline = None
            for shape in SHAPES:
                seconds, batch_size = seconds_per_step(model, shape, args.steps, args.epochs, folder)
                baseline = baseline or seconds
                results.append({"model": model, "image_shape": list(shape), "batch_size": batch_size,
                                "ms_per_step": 1000 * seconds, "images_per_second": batch_size / seconds,
                                "ratio_to_28x28x1": seconds / baseline})
                row = results[-1]
                print(f"{model:6s} {'x'.join(map(str, shape)):8s} batch {batch_size:4d}  {row['ms_per_step']:8.1f} ms/step  "
                      f"{row['images_per_second']:8.0f} images/s  x{row['ratio_to_28x28x1']:.2f} of 28x28x1", flush=True)
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(results, stream, indent=2)


if __name__ == "__main__":
    main()
