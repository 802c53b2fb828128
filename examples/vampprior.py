"""The VAE with a VampPrior (Tomczak & Welling 2018) on dynamically binarized MNIST.

The prior is the mixture of the encoder's posteriors at 500 learned
pseudo-inputs, in place of N(0, I). This runs `tfgen train vae --preset
vamp`: fully connected networks (two hidden layers of 300 units each way),
a latent size of 40, Adam 5e-4, batch 100, the KL warmed up over 100 epochs.

    python examples/vampprior.py --epochs 100 --kl-warmup-steps 6000   # the budget of docs/models/vampprior.md
    python examples/vampprior.py --prior standard                        # the same networks with N(0, I)
    python examples/vampprior.py --smoke                                 # a few steps on 256 examples

Every flag of `tfgen train vae` works here. Writes runs/vampprior/:
checkpoints, history.json and plots/. Score it with `tfgen evaluate
runs/vampprior` (the importance-weighted NLL, with the mixture prior).
"""

import sys

from tfgen import cli

if __name__ == "__main__":
    # The recipe is VAE.presets["vamp"]; flags after it (the command line's) take precedence.
    sys.exit(cli.train_command("vae", ["--preset", "vamp", *sys.argv[1:]], out="runs/vampprior", description=__doc__))
