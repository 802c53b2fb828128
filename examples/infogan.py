"""InfoGAN on MNIST (Chen et al. 2016): a 10-way categorical code and 2 continuous codes.

    python examples/infogan.py          # the full run: the paper's MNIST networks and learning rates
    python examples/infogan.py --filters 32 --hidden-units --discriminator-hidden-units \
        --generator-lr 2e-4 --discriminator-lr 2e-4 --out runs/infogan_small   # smaller, both players at 2e-4
    python examples/infogan.py --smoke  # a few steps on 256 examples

The defaults are Chen et al.'s MNIST model (appendix C and their code): G
Dense 1024, Dense 7x7x128, ConvT 64, ConvT 1; D Conv 64, Conv 128, Dense 1024,
shared with Q (Dense 128); Adam(beta_1 = 0.5) with 1e-3 for G and 2e-4 for D
and Q. BENCHMARKS_GAN.md measures them against smaller settings.

Writes runs/infogan_mnist/: checkpoints, history.json (with mi_loss),
gan_diagnostics.json and plots/ (rows varying one code at a time, losses).
"""

import argparse
import os

import keras
import tensorflow as tf

from tfgen import data
from tfgen.evaluation import (
    Evaluator,
    categorical_code_accuracy,
    generated_code_accuracy,
    load_classifier,
    save_classifier,
    train_classifier,
)
from tfgen.gan_plots import GANDiagnosticsCallback, plot_infogan_codes
from tfgen.models import InfoGAN
from tfgen.plotting import PlotCallback
from tfgen.training import Trainer, write_json_atomic

DATASET = "mnist"
EPOCHS = 16
BATCH_SIZE = 64
GENERATOR_LR = 1e-3  # Adam, beta_1 = 0.5, as in the paper's code
DISCRIMINATOR_LR = 2e-4  # D and Q
BETA_1 = 0.5
LATENT_DIM = 62  # incompressible noise, as in the paper's MNIST model
NUM_CATEGORIES = 10
NUM_CONTINUOUS = 2
INFO_WEIGHT = 1.0  # lambda
FILTERS = 64  # G's last hidden and D's first convolution
HIDDEN_UNITS = [1024]  # G's Dense layer before the 7x7 projection
DISCRIMINATOR_HIDDEN_UNITS = [1024]  # D's Dense layer after the convolutions, shared with Q
CLASSIFIER_EPOCHS = 5
SEED = 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default=DATASET, choices=data.DATASETS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default=None)
    parser.add_argument("--classifier", default=None, help="sample-classifier weights (trained and saved there if missing)")
    parser.add_argument("--filters", type=int, default=FILTERS, help="f of G and D")
    parser.add_argument("--hidden-units", type=int, nargs="*", default=HIDDEN_UNITS,
                        help="G's Dense layers before the 7x7 projection (none: give the flag alone)")
    parser.add_argument("--discriminator-hidden-units", type=int, nargs="*", default=DISCRIMINATOR_HIDDEN_UNITS,
                        help="D's Dense layers after the convolutions, shared with Q (none: give the flag alone)")
    parser.add_argument("--generator-lr", type=float, default=GENERATOR_LR)
    parser.add_argument("--discriminator-lr", type=float, default=DISCRIMINATOR_LR, help="D and Q")
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help="the paper's code: 128")
    parser.add_argument("--seed", type=int, default=SEED, help="the weights' and the batches' seed")
    parser.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    parser.add_argument("--smoke", action="store_true", help="a few steps on the first 256 examples")
    args = parser.parse_args()
    out = args.out or f"runs/infogan_{args.dataset}" + ("_smoke" if args.smoke else "")

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

    keras.utils.set_random_seed(args.seed)
    model = InfoGAN(latent_dim=LATENT_DIM, num_categories=NUM_CATEGORIES, num_continuous=NUM_CONTINUOUS,
                    info_weight=INFO_WEIGHT, generator_filters=args.filters, discriminator_filters=args.filters,
                    hidden_units=tuple(args.hidden_units),
                    discriminator_hidden_units=tuple(args.discriminator_hidden_units))
    trainer = Trainer(
        model, train_data, out, epochs=1 if args.smoke else args.epochs, batch_size=args.batch_size, seed=args.seed,
        optimizer=keras.optimizers.Adam(args.generator_lr, beta_1=BETA_1),
        compile_kwargs={"d_optimizer": keras.optimizers.Adam(args.discriminator_lr, beta_1=BETA_1)},
        steps_per_epoch=4 if args.smoke else None,
        callbacks=[PlotCallback(every=5), GANDiagnosticsCallback(evaluator, test_data, num_samples=200 if args.smoke else 1000)],
    )
    trainer.fit(resume=args.resume)
    plot_infogan_codes(model, os.path.join(out, "plots", "infogan_final"), seed=SEED)
    scores = categorical_code_accuracy(model, test_data)
    drawn = generated_code_accuracy(model, evaluator, per_code=50 if args.smoke else 500)
    write_json_atomic(os.path.join(out, "code_accuracy.json"), {
        **{key: scores[key] for key in ("accuracy", "error", "mapping")},
        "generated": drawn,
    })
    print(f"categorical code as a classifier, after the best matching of codes to labels: "
          f"test error {scores['error']:.4f} (Chen et al. 2016: 0.05); mapping code->label {scores['mapping']}")
    print(f"each code's samples read by the classifier: {drawn['accuracy']:.4f} drawn as the code's matched digit; "
          f"mapping code->digit {drawn['mapping']}")
    print(f"Run written to {out}; last epoch: {trainer.history[-1]}")


if __name__ == "__main__":
    tf.get_logger().setLevel("ERROR")
    main()
