"""The Variational Homoencoder (Hewitt et al., UAI 2018) on MNIST, and its unsupervised variant.

Each example x is trained with a set D of 5 other examples of its class: the
class code c comes from D, the example code z from x and c, and the class
code's KL is shared by the whole class. With --unsupervised there are no
labels: the classes are KMeans clusters of the latest codes, re-clustered
before every epoch (the blog post's experiment). Figures in OUT/plots: the
loss per epoch in nats (beside a VAE run's, with --reference-run VAE=DIR), the gradient
norms of c and z, random samples, few-shot generation from 5 test images per
class, and (unsupervised) the purity and NMI of the clusters per epoch.
`tfgen train vhe` and `tfgen train vhe_unsupervised` run the same recipes;
every flag of theirs works here.

    python examples/vhe.py --epochs 20 --out runs/vhe
    python examples/vhe.py --unsupervised --out runs/vhe_unsupervised
    python examples/vhe.py --smoke --out runs/vhe_smoke
"""

import sys

from tfgen import cli


def main(argv):
    # --unsupervised picks the KMeans variant (tfgen train vhe_unsupervised); the rest is its recipe's command line.
    name = "vhe_unsupervised" if "--unsupervised" in argv else "vhe"
    argv = [argument for argument in argv if argument != "--unsupervised"]
    # A smoke run's 256 images give two batches of the recipe's 100: batches of 32 give it its four steps.
    overrides = {"batch_size": 32} if "--smoke" in argv else {}
    return cli.train_command(name, argv, out="runs/vhe", description=__doc__, **overrides)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
