"""Class-conditional diffusion on MNIST: DDPM (Ho et al. 2020) with classifier-free guidance (Ho & Salimans 2022).

    python examples/diffusion.py                     # the full run, the recipe's settings
    python examples/diffusion.py --guidance-scale 3  # samples (and the export's default) with stronger guidance
    python examples/diffusion.py --smoke             # a few steps on 256 examples

Every flag of `tfgen train conditional_diffusion` works here (`--help` lists them). Writes
runs/diffusion/: checkpoints, history.json and plots/ (samples, one row per
class, losses). `tfgen train conditional_diffusion` runs the same recipe;
`tfgen train diffusion` is the unconditional model. `tfgen export` serves the
whole DDIM sampler in one request (the `sample` and `sample_ddim` signatures).
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # The settings are the model's recipe (ConditionalDiffusion.recipe); a change is one argument here, e.g.
    # guidance_scale=3.0, or a flag on the command line.
    sys.exit(cli.train_command("conditional_diffusion", out="runs/diffusion", description=__doc__))
