"""Conditional GAN on MNIST (Mirza and Osindero 2014) with the seed's 2D one-hot discriminator input.

    python examples/cgan.py                      # the full run
    python examples/cgan.py --label-input vector # the seed's collapsed CGAN (Day 10)
    python examples/cgan.py --smoke              # a few steps on 256 examples

Writes runs/cgan/: checkpoints, history.json, gan_diagnostics.json (label
accuracy of the samples, per-class diversity, classifier Fréchet distance)
and plots/ (one row per class, digit 5 across epochs, losses).
"""

import argparse
import os

import keras
import tensorflow as tf

from tfgen import data
from tfgen.evaluation import Evaluator, load_classifier, save_classifier, train_classifier
from tfgen.gan_plots import GANDiagnosticsCallback, plot_class_rows, plot_interpolation
from tfgen.models import ConditionalGAN
from tfgen.plotting import PlotCallback
from tfgen.training import Trainer

DATASET = "mnist"
EPOCHS = 20
BATCH_SIZE = 64
LEARNING_RATE = 2e-4  # Adam, beta_1 = 0.5 (Radford et al. 2016)
BETA_1 = 0.5
LATENT_DIM = 100
HIDDEN_UNITS = (256, 512)
FILTERS = 32
CLASSIFIER_EPOCHS = 5
SEED = 0


def evaluator_for(dataset, train_data, test_data, path, epochs):
    """The sample classifier: loaded from `path`, or trained and saved there."""
    if os.path.isfile(path):
        return Evaluator(load_classifier(path))
    classifier, accuracy = train_classifier(train_data, test_data, epochs=epochs, verbose=2)
    print(f"classifier test accuracy on {dataset}: {accuracy:.4f}")
    save_classifier(classifier, path)
    return Evaluator(classifier)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=data.DATASETS)
    parser.add_argument("--label-input", default="planes", choices=["planes", "vector"])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default=None)
    parser.add_argument("--classifier", default=None, help="sample-classifier weights (trained and saved there if missing)")
    parser.add_argument("--smoke", action="store_true", help="a few steps on the first 256 examples")
    args = parser.parse_args()
    out = args.out or f"runs/cgan_{args.label_input}_{args.dataset}" + ("_smoke" if args.smoke else "")

    train_data, test_data = data.load(args.dataset, "train"), data.load(args.dataset, "test")
    if args.smoke:
        train_data, test_data = train_data.take(256), test_data.take(256)
    evaluator = evaluator_for(args.dataset, train_data, test_data, args.classifier or os.path.join(out, "classifier.weights.h5"),
                              1 if args.smoke else CLASSIFIER_EPOCHS)

    keras.utils.set_random_seed(SEED)
    model = ConditionalGAN(latent_dim=LATENT_DIM, label_input=args.label_input, hidden_units=HIDDEN_UNITS,
                           generator_filters=FILTERS, discriminator_filters=FILTERS)
    trainer = Trainer(
        model, train_data, out, epochs=1 if args.smoke else args.epochs, batch_size=BATCH_SIZE, seed=SEED,
        optimizer=keras.optimizers.Adam(LEARNING_RATE, beta_1=BETA_1), steps_per_epoch=4 if args.smoke else None,
        callbacks=[PlotCallback(every=5), GANDiagnosticsCallback(evaluator, test_data, num_samples=200 if args.smoke else 1000)],
    )
    trainer.fit()
    plot_class_rows(model, os.path.join(out, "plots", "class_rows_final.png"), seed=SEED)
    plot_interpolation(model, os.path.join(out, "plots", "interpolation_final.png"), seed=SEED)
    print(f"Run written to {out}; last epoch: {trainer.history[-1]}")


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
