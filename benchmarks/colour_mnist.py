"""A real run at 32x32x3 offline: the VAE and the DCGAN on colourised MNIST padded to 32x32.

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
(and reports bits per dimension), the DCGAN its paper's recipe; both at the
recipe's batch size. Each run folder is resumable (`--resume`), so a run cut
short continues where it stopped:

    python benchmarks/colour_mnist.py --model vae --epochs 10 --out runs/colour_mnist_vae
    python benchmarks/colour_mnist.py --model dcgan --epochs 5 --out runs/colour_mnist_dcgan
"""

import argparse
import colorsys
import json
import os

import numpy as np

from tfgen import data as data_lib
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
    parser.add_argument("--model", choices=("vae", "dcgan"), required=True)
    parser.add_argument("--out", required=True, help="the run folder")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--resume", action="store_true")
    parser.add_argument("--data-seed", type=int, default=0)
    parser.add_argument("--likelihood", default="logistic_mixture", help="the VAE's likelihood")
    parser.add_argument("--latent-dim", type=int, default=32, help="the VAE's latent size")
    parser.add_argument("--train-examples", type=int, default=None)
    args = parser.parse_args(argv)
    train = colourise(data_lib.load("mnist", "train", examples=args.train_examples), args.data_seed)
    test = colourise(data_lib.load("mnist", "test", examples=args.train_examples), args.data_seed + 1)
    options = {"image_shape": (32, 32, 3)}
    if args.model == "vae":
        options.update(likelihood=args.likelihood, latent_dim=args.latent_dim)
        kwargs = {"binarization": "none", "batch_size": 100, "learning_rate": 1e-3}
    else:
        kwargs = {"sample_scores": True}
    trainer = runs.train(args.model, out=args.out, dataset=(train, test), epochs=args.epochs, resume=args.resume,
                         plot_every=1, **kwargs, **options)
    print(json.dumps(trainer.history[-1], indent=1))
    print(f"figures in {os.path.join(args.out, 'plots')}")


if __name__ == "__main__":
    main()
