"""The semi-supervised VAE M2 (Kingma et al. 2014) of the seed's Days 12-13.

Every batch holds 10 labelled examples (`--labelled-per-batch`, cycled from the few
labelled ones) and unlabelled ones; the loss of an unlabelled image sums the
CVAE loss over every class, weighted by q(y|x), minus the entropy of q(y|x).
Prints the test error of q(y|x) after training; the test accuracy of every
epoch is in OUT/history.json and OUT/plots/accuracy.png. `tfgen train ssvae`
runs the same recipe; every flag of it works here.

    python examples/ssvae.py --labels-per-class 10 --epochs 10 --out runs/ssvae_100
    python examples/ssvae.py --smoke
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # The model's recipe (SemiSupervisedVAE.recipe: 10 labels per class, 10 labelled examples in every batch of
    # 100, alpha = SEMI_SUPERVISED_ALPHA, Adam 1e-3); a change is one argument here, or a flag.
    sys.exit(cli.train_command("ssvae", out="runs/ssvae", description=__doc__))
