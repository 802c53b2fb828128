"""The conditional VAE: generate a chosen digit.

The label conditions the decoder: by default the one-hot label is
concatenated to z and seen by the encoder too, with beta 2, so that z keeps
the style and the samples follow their label (the shipped
saved_models/mnist_cvae's setting). The seed
post projected the label and added it to z with beta = 1e-5 (`--preset
seed-post`): with a 2-D latent space its samples follow their label little
more often than chance (BENCHMARKS_SSVAE.md). `--likelihood gaussian_optimal`
(the sigma-VAE's calibrated decoder, with intensities in [0, 1]) gives more
diverse samples. `--examples-per-class N` trains on N labelled examples
per class only (the seed's 6000/600/60/6 comparison with the semi-supervised
VAE; the batch must fit in the 10 N images). Figures:
OUT/plots/classes_epochNNN.png, one row per class. `tfgen train cvae` runs the
same recipe; every flag of it works here.

    python examples/cvae.py --out runs/cvae
    python examples/cvae.py --preset seed-post --out runs/cvae_seed_post
    python examples/cvae.py --likelihood gaussian_optimal --beta 1 --binarization none --out runs/sigma_cvae
    python examples/cvae.py --examples-per-class 6 --batch-size 60 --out runs/cvae_6
    python examples/cvae.py --smoke
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # The model's recipe (CVAE.recipe: a 2-D latent space, the label concatenated to z and seen by the encoder,
    # beta 2); a change is one argument here, e.g. latent_dim=16, or a flag.
    sys.exit(cli.train_command("cvae", out="runs/cvae", description=__doc__))
