"""The conditional VAE of the seed post: generate a chosen digit.

The label conditions the decoder (a ReLU projection of the one-hot label
added to z, or concatenation). The seed needed beta = 1e-5 to stop every
sample of a class looking the same; `--likelihood gaussian_optimal` (the
sigma-VAE's calibrated decoder, with beta = 1 and intensities in [0, 1]) is
the principled fix. `--examples-per-class N` trains on N labelled examples
per class only (the seed's 6000/600/60/6 comparison with the semi-supervised
VAE; the batch must fit in the 10 N images). Figures:
OUT/plots/classes_epochNNN.png, one row per class. `tfgen train cvae` runs the
same recipe; every flag of it works here.

    python examples/cvae.py --epochs 20 --out runs/cvae
    python examples/cvae.py --likelihood gaussian_optimal --beta 1 --binarization none --out runs/sigma_cvae
    python examples/cvae.py --examples-per-class 6 --batch-size 60 --out runs/cvae_6
    python examples/cvae.py --smoke
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # The seed post's CVAE is the model's recipe (CVAE.recipe: a 2-D latent space, the label projected and
    # added to z, beta 1e-5); a change is one argument here, e.g. conditioning="concat", beta=1.0, or a flag.
    sys.exit(cli.train_command("cvae", out="runs/cvae", description=__doc__))
