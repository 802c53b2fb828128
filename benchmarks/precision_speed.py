"""Training-step time in mixed precision and with XLA against float32, for the VAE and DCGAN at their
recipe's batch size and networks, on the machine it runs on.

    python benchmarks/precision_speed.py [--models vae dcgan] [--steps 10] [--rounds 3]

For every model, the six settings (float32, mixed_bfloat16, mixed_float16,
each without and with --jit) are built as `tfgen.training.Trainer` builds
them (the same step, guard and loss scaling as a run), warmed up (tracing
and XLA compilation), then timed in `--rounds` interleaved rounds of
`--steps` steps each, so that a change of the machine's load touches every
setting alike. Prints the median milliseconds per step of each setting and
its ratio to float32 measured in the same run (below 1: faster).
"""

import argparse
import os
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from tfgen.data import ImageDataset
from tfgen.models import MODELS
from tfgen.runs import model_defaults
from tfgen.training import Trainer
from tfgen.training.precision import PRECISIONS

SETTINGS = [(precision, jit) for jit in (False, True) for precision in PRECISIONS]
WARMUP_STEPS = 3


def _trainer(name, precision, jit, folder):
    model_class = MODELS[name]
    recipe = model_class.recipe
    keras.utils.set_random_seed(0)
    model = model_class(**{key: value for key, value in model_defaults(model_class).items()
                           if key not in ("num_classes", "num_examples", "image_shape")})
    rng = np.random.default_rng(0)
    count = 2 * recipe.batch_size
    data = ImageDataset(images=rng.integers(0, 256, size=(count, 28, 28, 1), dtype=np.uint8),
                        labels=rng.integers(0, 10, size=count), num_classes=10, name="synthetic")
    trainer = Trainer(model, data, os.path.join(folder, f"{name}-{precision}-{jit}"), batch_size=recipe.batch_size,
                      learning_rate=recipe.learning_rate, precision=precision, jit=jit, verbose=0)
    batch = next(iter(trainer.batches(data, epoch=0)))
    for _ in range(WARMUP_STEPS):
        trainer._train_batch(batch)
    return trainer, batch


def _time_steps(trainer, batch, steps):
    times = []
    for _ in range(steps):
        started = time.perf_counter()
        sums, _ = trainer._train_batch(batch)
        float(sums["loss"])  # wait for the step
        times.append(time.perf_counter() - started)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vae", "dcgan"], choices=sorted(MODELS))
    parser.add_argument("--steps", type=int, default=10, help="timed steps per setting and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, devices: "
          f"{[device.device_type for device in tf.config.list_physical_devices()]}, {os.cpu_count()} CPUs")
    folder = tempfile.mkdtemp(prefix="tfgen-precision-speed-")
    rows = []
    for name in args.models:
        trainers = {}
        for precision, jit in SETTINGS:
            started = time.perf_counter()
            trainers[precision, jit] = _trainer(name, precision, jit, folder)
            print(f"{name} {precision}{' --jit' if jit else ''}: built and warmed up in "
                  f"{time.perf_counter() - started:.1f} s", flush=True)
        times = {setting: [] for setting in SETTINGS}
        for _ in range(args.rounds):
            for setting, (trainer, batch) in trainers.items():
                times[setting] += _time_steps(trainer, batch, args.steps)
        base = float(np.median(times["float32", False]))
        for setting in SETTINGS:
            median = float(np.median(times[setting]))
            rows.append((name, MODELS[name].recipe.batch_size, setting, median, median / base))
    print()
    print("| model | batch | precision | XLA | ms/step | vs float32 |")
    print("|---|---|---|---|---|---|")
    for name, batch_size, (precision, jit), median, ratio in rows:
        print(f"| {name} | {batch_size} | {precision} | {'yes' if jit else 'no'} | {1e3 * median:.1f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
