"""Training steps per second of M2 (exact enumeration over classes) vs Gumbel-softmax sampling.

Both models run in the same process on the same random MNIST-sized batches
(28x28x1 binary images, random labels, half of each batch unlabelled), for
k = 10 and k = 100 classes. The enumeration decodes every image once per
class; Gumbel-softmax decodes it once, so the ratio should grow with k.

    python benchmarks/gumbel_vs_enumeration.py                  # k = 10 and 100
    python benchmarks/gumbel_vs_enumeration.py --steps 5 --batch-size 16
"""

import argparse
import time

import keras
import numpy as np
import tensorflow as tf

from tfgen.models import GumbelSemiSupervisedVAE, SemiSupervisedVAE

CLASSES = (10, 100)
BATCH_SIZE = 32
LATENT_DIM = 16
WARMUP_STEPS = 2
STEPS = 10


def steps_per_second(model, batch, steps, warmup):
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.build_from_batch(batch)
    step = tf.function(model.train_step)
    for index in range(warmup):  # tracing and first-run costs
        step(batch, tf.constant([0, index], tf.int64))["loss"].numpy()
    started = time.perf_counter()
    for index in range(steps):
        loss = step(batch, tf.constant([1, index], tf.int64))["loss"]
    loss.numpy()
    return steps / (time.perf_counter() - started)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--classes", type=int, nargs="+", default=list(CLASSES))
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--steps", type=int, default=STEPS)
    parser.add_argument("--warmup", type=int, default=WARMUP_STEPS)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"device: {tf.config.list_physical_devices('GPU') or 'CPU'}; batch {args.batch_size}, half unlabelled")
    print("| classes | enumeration steps/s | gumbel steps/s | gumbel / enumeration |")
    print("|---|---|---|---|")
    for num_classes in args.classes:
        batch = {
            "image": tf.constant((rng.uniform(size=(args.batch_size, 28, 28, 1)) < 0.13).astype(np.float32)),
            "label": tf.constant(rng.integers(0, num_classes, args.batch_size), tf.int64),
            "labelled": tf.constant(np.arange(args.batch_size) % 2 == 0),
        }
        rates = {}
        for name, cls in (("enumeration", SemiSupervisedVAE), ("gumbel", GumbelSemiSupervisedVAE)):
            keras.utils.set_random_seed(0)
            model = cls(latent_dim=LATENT_DIM, num_classes=num_classes)
            rates[name] = steps_per_second(model, batch, args.steps, args.warmup)
        print(f"| {num_classes} | {rates['enumeration']:.2f} | {rates['gumbel']:.2f} | "
              f"{rates['gumbel'] / rates['enumeration']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
