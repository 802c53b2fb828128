"""The semi-supervised VAE with Gumbel-softmax labels (Jang et al. 2017), the seed's Days 14-15.

As examples/ssvae.py, but the label of an unlabelled image is sampled from
q(y|x) with the Gumbel-softmax relaxation instead of summed over, so a step
costs one decoder pass per image whatever the number of classes. The seed
found plain (soft) samples train better than straight-through ones
(`--hard`); the temperature anneals as max(0.5, exp(-r t)), updated every
500 steps. Straight-through does better annealed faster and lower
(`--anneal-rate 1e-3 --min-temperature 0.25`: 10.91% against 12.86% test
error with 100 labels after 10,000 steps, 9.17% after 15,000;
BENCHMARKS_SSVAE.md). `tfgen train gumbel_ssvae` runs the same recipe; every
flag of it works here.

    python examples/gumbel_ssvae.py --labels-per-class 10 --epochs 10 --out runs/gumbel_ssvae
    python examples/gumbel_ssvae.py --hard --out runs/gumbel_ssvae_hard
    python examples/gumbel_ssvae.py --smoke
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # The model's recipe (GumbelSemiSupervisedVAE.recipe) and its class defaults (tau_0 = 1, the floor 0.5,
    # r = 1e-4 per step, updated every 500 steps); a change is one argument here, e.g. hard=True, or a flag.
    sys.exit(cli.train_command("gumbel_ssvae", out="runs/gumbel_ssvae", description=__doc__))
