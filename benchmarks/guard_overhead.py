"""What the non-finite guard costs a training step: the model's guarded `train_step` against the same step
with a plain `apply_gradients`, both under one `tf.function`, timed alternately in the same process.

    python benchmarks/guard_overhead.py [--model vae] [--batch-size 64] [--steps 200] [--repeats 5]

Prints the median seconds per step of each and their ratio (guarded / plain).
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

from tfgen.models import MODELS


def _plain_step(model):
    def step(batch, seed):
        with tf.GradientTape() as tape:
            metrics = model.compute_losses(batch, seed=seed, training=True)
        variables = model.trainable_variables
        model.optimizer.apply_gradients(zip(tape.gradient(metrics["loss"], variables), variables))
        return metrics

    return tf.function(step)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="vae", choices=[n for n in MODELS if n in ("vae", "mmd_vae", "cvae")])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    model = MODELS[args.model]()
    model.compile(optimizer=keras.optimizers.Adam(1e-4))
    rng = np.random.default_rng(0)
    batch = {"image": tf.constant((rng.random((args.batch_size, 28, 28, 1)) > 0.5).astype("float32")),
             "label": tf.constant(rng.integers(0, 10, args.batch_size), tf.int64)}
    model.build_from_batch(batch)
    steps = {"guarded": tf.function(model.train_step), "plain": _plain_step(model)}
    seed = tf.constant([1, 2], tf.int64)
    for step in steps.values():  # trace and warm up
        for _ in range(5):
            step(batch, seed)
    times = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            for _ in range(args.steps):
                metrics = step(batch, seed)
            float(metrics["loss"])
            times[name].append((time.perf_counter() - started) / args.steps)
    medians = {name: float(np.median(values)) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:8s} {1e3 * value:.3f} ms/step")
    print(f"ratio guarded/plain: {medians['guarded'] / medians['plain']:.3f}")


if __name__ == "__main__":
    main()
