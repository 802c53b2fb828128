"""A real run at 32x32x3 offline: the VAE, the DCGAN and the diffusion model on colourised MNIST padded to 32x32.

How the data is made (`colourise`), from the real MNIST files of `tfgen.data.load`:

* every 28x28 digit is padded with 2 black pixels on each side to 32x32;
* every digit gets its own colour: a hue drawn uniformly (seeded by
  `--data-seed`, one draw per image), full saturation and value, so the
  colour is c = HSV(h, 1, 1) in RGB;
* the RGB pixel is the grey intensity times that colour (a black background,
  a coloured digit): x_rgb = round(x_grey * c), uint8.

So a model must learn both the shape of the digit and a colour that varies
continuously across images: 3 channels that are not copies of each other.

The VAE uses the discretized logistic mixture likelihood on the 8-bit values
(and reports bits per dimension), the DCGAN its paper's recipe, the
unconditional diffusion model (`diffusion`) its recipe (T = 1000, U-Net of 32
filters, batch 128); all at the recipe's batch size. Each run folder is
resumable (`--resume`), so a run cut short continues where it stopped:

    python benchmarks/colour_mnist.py --model vae --epochs 10 --out runs/colour_mnist_vae
    python benchmarks/colour_mnist.py --model dcgan --epochs 5 --out runs/colour_mnist_dcgan
    python benchmarks/colour_mnist.py --model diffusion --epochs 4 --out runs/colour_mnist_diffusion

`--evaluate` scores a finished run instead (`tfgen.report.evaluate` on the
colourised test split): its samples by the classifier a DCGAN run trained on
the colourised data (`--classifier`; a DCGAN run scores with its own by
default, any other run needs the flag), so every model's Fréchet distance
is of the same features and sample count; the
diffusion model's variational bound and the VAE's likelihood on the same
8-bit test images. The JSON report goes to `--report`:

    python benchmarks/colour_mnist.py --evaluate --out runs/colour_mnist_diffusion \
        --classifier runs/colour_mnist_dcgan/classifier.weights.h5 --report benchmarks/results/colour_mnist_diffusion.json
"""

import argparse
import colorsys
import json
import os

import numpy as np

from tfgen import data as data_lib
from tfgen import report as report_lib
from tfgen import runs

PAD = 2


def colourise(dataset, seed):
    """`dataset` (28x28x1 uint8) padded to 32x32 and colourised as the module says; a new `ImageDataset`."""
    rng = np.random.default_rng(seed)
    hues = rng.uniform(0.0, 1.0, size=len(dataset))
    colours = np.array([colorsys.hsv_to_rgb(hue, 1.0, 1.0) for hue in hues], np.float32)  # (N, 3) in [0, 1]
    grey = np.pad(dataset.images, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0))).astype(np.float32)
    images = np.round(grey * colours[:, None, None, :]).astype(np.uint8)
    return data_lib.from_arrays(images, dataset.labels, class_names=dataset.class_names,
                                name=f"colour_{dataset.name}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("vae", "dcgan", "diffusion"), help="the model to train")
    parser.add_argument("--out", required=True, help="the run folder")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--likelihood", default="logistic_mixture", help="the VAE's likelihood")
    parser.add_argument("--latent-dim", type=int, default=32, help="the VAE's latent size")
    parser.add_argument("--train-examples", type=int, default=None)
    parser.add_argument("--evaluate", action="store_true", help="score the run in --out instead of training")
    parser.add_argument("--classifier", default=None,
                        help="--evaluate: the samples' classifier (default: the run's own, as a DCGAN run trains)")
    parser.add_argument("--samples", type=int, default=1000, help="--evaluate: the samples scored")
    parser.add_argument("--iw-samples", type=int, default=None, help="--evaluate: the VAE likelihood's K")
    parser.add_argument("--max-images", type=int, default=None, help="--evaluate: score the first N test images")
    parser.add_argument("--report", default=None, help="--evaluate: write the JSON report here")
    args = parser.parse_args(argv)
    if args.evaluate == (args.model is not None):
        parser.error("pass --model to train, or --evaluate to score the run in --out")
    test = colourise(data_lib.load("mnist", "test", examples=args.train_examples), args.data_seed + 1)
    if args.evaluate:
        report = report_lib.evaluate(args.out, dataset=test, classifier=args.classifier, num_samples=args.samples,
                                     iw_samples=args.iw_samples, max_images=args.max_images)
        print(report_lib.format_summary(report))
        if args.report:
            with open(args.report, "w") as handle:
                json.dump(report, handle, indent=1)
        return
    train = colourise(data_lib.load("mnist", "train", examples=args.train_examples), args.data_seed)
    options = {"image_shape": (32, 32, 3)}
    if args.model == "vae":
        options.update(likelihood=args.likelihood, latent_dim=args.latent_dim)
        kwargs = {"binarization": "none", "batch_size": 100, "learning_rate": 1e-3}
    elif args.model == "dcgan":
        kwargs = {"sample_scores": True}
    else:  # scored once at the end (--evaluate): 1,000 samples are 50,000 U-Net passes
        kwargs = {}
    trainer = runs.train(args.model, out=args.out, dataset=(train, test), epochs=args.epochs, resume=args.resume,
                         plot_every=1, **kwargs, **options)
    print(json.dumps(trainer.history[-1], indent=1))
    print(f"figures in {os.path.join(args.out, 'plots')}")


if __name__ == "__main__":
    main()
