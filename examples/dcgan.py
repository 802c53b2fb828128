"""DCGAN on MNIST (Radford et al. 2016): samples, interpolation and latent arithmetic.

    python examples/dcgan.py            # the full run
    python examples/dcgan.py --smoke    # a few steps on 256 examples

Writes runs/dcgan_mnist/: checkpoints, history.json, gan_diagnostics.json
(classes found among the samples, per-class diversity, classifier Fréchet
distance) and plots/ (samples, interpolations, latent arithmetic, losses).
"""

import argparse
import os

import keras
import tensorflow as tf

from tfgen import data
from tfgen.evaluation import Evaluator, load_classifier, save_classifier, train_classifier
from tfgen.gan_plots import GANDiagnosticsCallback, plot_interpolation, plot_latent_arithmetic
from tfgen.models import DCGAN
from tfgen.plotting import PlotCallback
from tfgen.training import Trainer

DATASET = "mnist"
EPOCHS = 20
BATCH_SIZE = 64
LEARNING_RATE = 2e-4  # Adam, beta_1 = 0.5 (Radford et al. 2016)
BETA_1 = 0.5
LATENT_DIM = 100
FILTERS = 32
DISCRIMINATOR_STEPS = 1  # k of Goodfellow et al.'s Algorithm 1
ARITHMETIC = (7, 1, 3)  # z(7) - z(1) + z(3)
CLASSIFIER_EPOCHS = 5
SEED = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=data.DATASETS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default=None)
    parser.add_argument("--classifier", default=None, help="sample-classifier weights (trained and saved there if missing)")
    parser.add_argument("--smoke", action="store_true", help="a few steps on the first 256 examples")
    args = parser.parse_args()
    out = args.out or f"runs/dcgan_{args.dataset}" + ("_smoke" if args.smoke else "")

    train_data, test_data = data.load(args.dataset, "train"), data.load(args.dataset, "test")
    if args.smoke:
        train_data, test_data = train_data.take(256), test_data.take(256)
    classifier_path = args.classifier or os.path.join(out, "classifier.weights.h5")
    if os.path.isfile(classifier_path):
        evaluator = Evaluator(load_classifier(classifier_path))
    else:
        classifier, accuracy = train_classifier(train_data, test_data, epochs=1 if args.smoke else CLASSIFIER_EPOCHS, verbose=2)
        print(f"classifier test accuracy: {accuracy:.4f}")
        evaluator = Evaluator(classifier)
        save_classifier(classifier, classifier_path)

    keras.utils.set_random_seed(SEED)
    model = DCGAN(latent_dim=LATENT_DIM, generator_filters=FILTERS, discriminator_filters=FILTERS,
                  discriminator_steps=DISCRIMINATOR_STEPS)
    trainer = Trainer(
        model, train_data, out, epochs=1 if args.smoke else args.epochs, batch_size=BATCH_SIZE, seed=SEED,
        optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1), steps_per_epoch=4 if args.smoke else None,
        callbacks=[PlotCallback(every=5), GANDiagnosticsCallback(evaluator, test_data, num_samples=200 if args.smoke else 1000)],
    )
    trainer.fit()
    plot_interpolation(model, os.path.join(out, "plots", "interpolation_final.png"), seed=SEED)
    try:
        plot_latent_arithmetic(model, evaluator, os.path.join(out, "plots", "latent_arithmetic.png"), classes=ARITHMETIC)
    except ValueError as error:  # too few samples of a class (an untrained or collapsed generator)
        print(f"latent arithmetic skipped: {error}")
    print(f"Run written to {out}; last epoch: {trainer.history[-1]}")


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
