"""Training speed of tfgen's VAE loop against hand-written GradientTape steps.

In one run, on the same real MNIST batches from `tfgen.data` (batch 32,
threshold-binarized, latent size 2), it times:

* tfgen: `Trainer.fit` itself, epochs of `--steps` steps (the per-epoch
  loop time the trainer records, without evaluation and checkpointing);
* compiled: a minimal hand-written `tf.function` step of the same
  architecture and loss;
* eager: the same hand-written step without `tf.function`;
* pipeline: the input pipeline alone, to show it is not the bottleneck.

The measurements are interleaved (one round of each, `--rounds` times, from
a callback between tfgen's epochs) so that a noisy, shared machine affects
all of them alike; the medians and their ratios are printed.

    python benchmarks/train_step_speed.py --steps 400 --rounds 5
"""

import argparse
import json
import statistics
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from tfgen import data as data_lib
from tfgen.models import VAE
from tfgen.training import Callback, Trainer

BATCH_SIZE = 32
LATENT_DIM = 2


def hand_written_networks():
    """The seed architecture, written out with plain Keras layers."""
    encoder = keras.Sequential([
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(32, 3, strides=2, activation="relu"),
        keras.layers.Conv2D(64, 3, strides=2, activation="relu"),
        keras.layers.Flatten(),
        keras.layers.Dense(2 * LATENT_DIM),
    ])
    decoder = keras.Sequential([
        keras.Input((LATENT_DIM,)),
        keras.layers.Dense(7 * 7 * 32, activation="relu"),
        keras.layers.Reshape((7, 7, 32)),
        keras.layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),
        keras.layers.Conv2DTranspose(1, 3, strides=1, padding="same"),
    ])
    return encoder, decoder


def hand_written_step():
    """The tutorial's train step: single-sample ELBO, Adam 1e-4."""
    encoder, decoder = hand_written_networks()
    optimizer = keras.optimizers.Adam(1e-4)
    log2pi = tf.math.log(2.0 * np.pi)

    def log_normal(sample, mean, logvar):
        return tf.reduce_sum(-0.5 * ((sample - mean) ** 2.0 * tf.exp(-logvar) + logvar + log2pi), axis=1)

    def step(images):
        with tf.GradientTape() as tape:
            mean, logvar = tf.split(encoder(images), 2, axis=1)
            z = mean + tf.exp(logvar * 0.5) * tf.random.normal(tf.shape(mean))
            logits = decoder(z)
            cross_entropy = tf.nn.sigmoid_cross_entropy_with_logits(logits=logits, labels=images)
            logpx_z = -tf.reduce_sum(cross_entropy, axis=[1, 2, 3])
            loss = -tf.reduce_mean(logpx_z + log_normal(z, 0.0, 0.0) - log_normal(z, mean, logvar))
        variables = encoder.trainable_variables + decoder.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return step


def images_per_second(function, dataset, steps):
    """Runs `function` on the first `steps` batches of `dataset`; returns images/s.

    Timed as tfgen's epochs are: from the creation of the iterator (the
    pipeline's start-up, shuffle buffer included) to the last step.
    """
    started = time.perf_counter()
    for batch in dataset.take(steps):
        result = function(batch["image"])
    if hasattr(result, "numpy"):
        result.numpy()
    return steps * BATCH_SIZE / (time.perf_counter() - started)


class Interleaved(Callback):
    """Between tfgen's epochs, one timed round of each hand-written variant."""

    def __init__(self, train_data, steps, eager_steps):
        self.train_data = train_data
        self.steps = steps
        self.eager_steps = eager_steps
        self.compiled = tf.function(hand_written_step())
        self.eager = hand_written_step()
        self.results = {"compiled": [], "eager": [], "pipeline": []}
        warm_up = next(iter(self.dataset(0)))["image"]
        self.compiled(warm_up)  # traces the step outside the timed rounds
        self.eager(warm_up)

    def dataset(self, epoch):
        return self.train_data.batches(BATCH_SIZE, epoch=epoch, binarization="threshold", drop_remainder=True)

    def on_epoch_end(self, trainer, epoch, logs):
        self.results["compiled"].append(images_per_second(self.compiled, self.dataset(epoch), self.steps))
        self.results["eager"].append(images_per_second(self.eager, self.dataset(epoch), self.eager_steps))
        self.results["pipeline"].append(images_per_second(lambda images: images, self.dataset(epoch), self.steps))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=400, help="timed steps per round")
    parser.add_argument("--eager-steps", type=int, default=100, help="timed steps per round, eager")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    train_data = data_lib.load("mnist", "train")
    interleaved = Interleaved(train_data, args.steps, args.eager_steps)
    with tempfile.TemporaryDirectory() as run_dir:
        # One extra first epoch: it traces the step and warms the pipeline up.
        trainer = Trainer(VAE(latent_dim=LATENT_DIM), train_data, run_dir, epochs=args.rounds + 1,
                          batch_size=BATCH_SIZE, binarization="threshold", steps_per_epoch=args.steps,
                          callbacks=[interleaved], verbose=0)
        history = trainer.fit()
    results = {"tfgen": [entry["images_per_second"] for entry in history[1:]]}
    results.update({name: values[1:] for name, values in interleaved.results.items()})  # as tfgen's first epoch
    medians = {name: statistics.median(values) for name, values in results.items()}
    print(f"{'variant':10s} {'median images/s':>16s}   rounds")
    for name, values in results.items():
        print(f"{name:10s} {medians[name]:16.0f}   " + " ".join(f"{v:.0f}" for v in values))
    ratios = {
        "tfgen_vs_compiled": medians["tfgen"] / medians["compiled"],
        "tfgen_vs_eager": medians["tfgen"] / medians["eager"],
        "pipeline_vs_tfgen": medians["pipeline"] / medians["tfgen"],
    }
    print(json.dumps({"medians": medians, "ratios": ratios, "steps": args.steps, "rounds": args.rounds}, indent=1))


if __name__ == "__main__":
    main()
