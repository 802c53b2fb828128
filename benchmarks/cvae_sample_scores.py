"""Do CVAE samples show their class, and do samples of one class differ? beta and the sigma-VAE.

The seed's CVAE gave near-identical samples per class until beta was cut to
1e-5; the sigma-VAE's calibrated Gaussian decoder is the principled fix.
Each configuration is trained for the same number of steps on MNIST, then
1000 samples (100 per class) are scored by tfgen's sample classifier
(`tfgen.evaluation.classifier.Evaluator`): label accuracy (does a sample
show the class it was generated for) and diversity (mean pairwise feature
distance within a class, averaged over classes; real test images give the
reference).

    python benchmarks/cvae_sample_scores.py --steps 600
    python benchmarks/cvae_sample_scores.py --steps 2000 --latent-dim 16 --only concat
"""

import argparse
import os

import keras
import numpy as np
import tensorflow as tf

from tfgen import data as data_lib
from tfgen.evaluation.classifier import Evaluator, save_classifier, train_classifier
from tfgen.models import CVAE

CLASSIFIER = "runs/classifier_mnist5.weights.h5"
LATENT_DIM = 2
BATCH_SIZE = 100
LEARNING_RATE = 1e-3
STEPS = 600
SAMPLES_PER_CLASS = 100
# (name, CVAE arguments, binarization of the training data)
CONFIGS = (
    ("bernoulli, beta=1", {"beta": 1.0}, "dynamic"),
    ("bernoulli, beta=1e-5 (seed)", {"beta": 1e-5}, "dynamic"),
    ("sigma-VAE optimal sigma, beta=1", {"beta": 1.0, "likelihood": "gaussian_optimal"}, "none"),
    ("bernoulli, beta=1, encoder sees label", {"beta": 1.0, "encoder_sees_label": True}, "dynamic"),
    ("sigma-VAE optimal sigma, encoder sees label",
     {"beta": 1.0, "likelihood": "gaussian_optimal", "encoder_sees_label": True}, "none"),
    # With a 2-d latent the "projection" offset can only move z in the plane; concatenation gives
    # the decoder the label on its own inputs.
    ("bernoulli, beta=1, concat", {"beta": 1.0, "conditioning": "concat"}, "dynamic"),
    ("bernoulli, beta=1e-5, concat", {"beta": 1e-5, "conditioning": "concat"}, "dynamic"),
    ("sigma-VAE optimal sigma, concat", {"beta": 1.0, "likelihood": "gaussian_optimal", "conditioning": "concat"},
     "none"),
    # With a larger latent, z can hold the digit unless the encoder is told the label (q(z|x,y)).
    ("bernoulli, beta=1, concat, encoder sees label", {"beta": 1.0, "conditioning": "concat", "encoder_sees_label": True},
     "dynamic"),
    ("bernoulli, beta=1e-5, concat, encoder sees label",
     {"beta": 1e-5, "conditioning": "concat", "encoder_sees_label": True}, "dynamic"),
    ("sigma-VAE optimal sigma, concat, encoder sees label",
     {"beta": 1.0, "likelihood": "gaussian_optimal", "conditioning": "concat", "encoder_sees_label": True}, "none"),
)


def train_cvae(kwargs, binarization, train, steps, latent_dim=LATENT_DIM):
    keras.utils.set_random_seed(0)
    model = CVAE(latent_dim=latent_dim, seed=0, **kwargs)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE))
    step, done, epoch = None, 0, 0
    while done < steps:
        for batch in train.batches(BATCH_SIZE, epoch=epoch, seed=0, binarization=binarization, drop_remainder=True):
            if step is None:
                model.build_from_batch(batch)
                step = tf.function(model.train_step)
            step(batch, tf.constant([epoch, done], tf.int64))
            done += 1
            if done == steps:
                break
        epoch += 1
    return model


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--classifier", default=CLASSIFIER)
    parser.add_argument("--latent-dim", type=int, default=LATENT_DIM)
    parser.add_argument("--only", default=None, help="run only the configurations whose name contains this")
    args = parser.parse_args()
    train, test = data_lib.load("mnist", "train"), data_lib.load("mnist", "test")
    if os.path.exists(args.classifier):
        evaluator = Evaluator.from_weights(args.classifier)
    else:
        classifier, _ = train_classifier(train, test, epochs=3)
        save_classifier(classifier, args.classifier)
        evaluator = Evaluator(classifier)
    labels = np.repeat(np.arange(10), SAMPLES_PER_CLASS)
    real = np.concatenate([test.images[test.labels == c][:SAMPLES_PER_CLASS] for c in range(10)]) / 255.0
    print(f"{args.steps} steps of batch {BATCH_SIZE}, latent dim {args.latent_dim}; {len(labels)} samples")
    print("| configuration | label accuracy | diversity |")
    print("|---|---|---|")
    real_diversity = np.mean(list(evaluator.diversity(real, labels).values()))
    print(f"| real test images | {evaluator.label_accuracy(real, labels):.3f} | {real_diversity:.2f} |", flush=True)
    for name, kwargs, binarization in CONFIGS:
        if args.only is not None and args.only not in name:
            continue
        model = train_cvae(kwargs, binarization, train, args.steps, args.latent_dim)
        images = model.sample(len(labels), seed=tf.constant([5, 5], tf.int64), labels=labels).numpy()
        diversity = np.mean(list(evaluator.diversity(images, labels).values()))
        print(f"| {name} | {evaluator.label_accuracy(images, labels):.3f} | {diversity:.2f} |", flush=True)


if __name__ == "__main__":
    main()
