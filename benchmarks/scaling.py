"""Data-parallel scaling of tfgen's training loop: steps/s and images/s on 1, 2, ... replicas.

Each model trains with its paper recipe (optimizers, batch size per replica)
under `tf.distribute.MirroredStrategy` on 1, 2, ... devices: the GPUs when
there are any, else logical CPU devices carved out of this machine's CPU
(TensorFlow's own way to run several replicas in one process, the one the
conformance suite uses). The per-replica batch stays the recipe's (weak
scaling: the global batch grows with the replicas), so the scaling
efficiency is images/s on N replicas / (N x images/s on one replica of the
same strategy). The default strategy on one device is measured too, as the
baseline a user without `--strategy` gets. The first epoch (tracing) is left
out; the median seconds per step of the others is printed.

Logical CPU devices share the machine's cores: on a 2-core machine two
replicas cannot do more arithmetic per second than one, so the efficiency
measured there is that of the distribution machinery on a fixed compute
budget (about 0.5 is then the best possible), not a prediction for GPUs. For
GPUs the script also works the step out on paper: the step's FLOPs (counted
by TensorFlow's profiler on the traced forward pass; a training step is about
3 times a forward pass) and the bytes the all-reduce moves per step (every
trainable float32 gradient once per optimizer update), and from them the
time a ring all-reduce takes on NVLink and between hosts, against the step's
arithmetic at a stated sustained rate.

    python benchmarks/scaling.py [--models vae dcgan] [--replicas 1 2] [--steps 20] [--epochs 3] [--json FILE]
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["vae", "dcgan"])
    parser.add_argument("--replicas", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--steps", type=int, default=20, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run (the first is left out)")
    parser.add_argument("--sustained-tflops", type=float, default=20.0,
                        help="the float32 rate a GPU sustains on these small convolutions, for the paper estimate")
    parser.add_argument("--json", default=None, help="also write the results to this JSON file")
    return parser.parse_args(argv)


ARGS = parse_args() if __name__ == "__main__" else None

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

if ARGS is not None and not tf.config.list_physical_devices("GPU"):
    # Logical CPU devices must exist before TensorFlow initializes its devices.
    _CPU = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(_CPU, [tf.config.LogicalDeviceConfiguration()] * max(ARGS.replicas))

import keras  # noqa: E402

from tfgen.data import ImageDataset  # noqa: E402
from tfgen.models import AdversarialModel, get_model_class  # noqa: E402
from tfgen.runs import build_model_and_data, model_defaults  # noqa: E402
from tfgen.training import Trainer  # noqa: E402

#: Interconnects of the paper estimate: (name, bus bandwidth in bytes/s, latency per message in s).
LINKS = (("NVLink (one host)", 300e9, 10e-6), ("100 Gb/s Ethernet (hosts)", 11e9, 30e-6))


def random_data(count, shape=(28, 28, 1), seed=0):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, *shape), dtype=np.uint8)
    return ImageDataset(images, np.arange(count) % 10, num_classes=10, name="random")


_STRATEGIES = {}


def mirrored(count):
    """One `MirroredStrategy` per device set for the whole process: two strategies over the same devices
    reuse the same collective instance keys, and the second one's all-reduce then fails with a shape mismatch."""
    if count not in _STRATEGIES:
        _STRATEGIES[count] = tf.distribute.MirroredStrategy(devices(count))
    return _STRATEGIES[count]


def devices(count):
    gpus = tf.config.list_logical_devices("GPU")
    found = gpus or tf.config.list_logical_devices("CPU")
    if len(found) < count:
        raise SystemExit(f"scaling.py: {count} replicas asked, {len(found)} devices here")
    return [device.name for device in found[:count]]


def build(name, strategy, global_batch, examples):
    """A Trainer of `name` with its recipe's optimizers under `strategy`, on random data."""
    model_class = get_model_class(name)
    recipe = model_class.recipe
    data = random_data(examples)
    with strategy.scope():
        model, train_data, _ = build_model_and_data(model_class, data, None, model_defaults(model_class),
                                                    batch_size=global_batch,
                                                    labels_per_class=recipe.labels_per_class)
        optimizer = keras.optimizers.Adam(recipe.learning_rate, beta_1=recipe.beta_1)
        compile_kwargs = {}
        if isinstance(model, AdversarialModel):
            compile_kwargs["d_optimizer"] = keras.optimizers.Adam(
                recipe.discriminator_learning_rate or recipe.learning_rate,
                beta_1=recipe.discriminator_beta_1 if recipe.discriminator_beta_1 is not None else recipe.beta_1)
    return model, train_data, optimizer, compile_kwargs


def seconds_per_step(name, strategy, replicas, steps, epochs, folder):
    batch = get_model_class(name).recipe.batch_size
    global_batch = batch * replicas
    model, data, optimizer, compile_kwargs = build(name, strategy, global_batch, global_batch * steps)
    trainer = Trainer(model, data, folder, epochs=epochs, batch_size=global_batch, optimizer=optimizer,
                      compile_kwargs=compile_kwargs, strategy=strategy, steps_per_epoch=steps, verbose=0)
    trainer.fit()
    per_step = [epoch["seconds"] / steps for epoch in trainer.history[1:]]
    return statistics.median(per_step), global_batch, model


def forward_flops(model):
    """FLOPs of one forward pass of the model's loss on one example (TensorFlow's profiler on the traced graph)."""
    batch = model.zeros_batch(1)
    if "label" in batch and model.label_format == "one_hot":
        batch["label"] = tf.one_hot(tf.cast(batch["label"], tf.int32), model.num_classes)
    function = tf.function(lambda b: model.compute_losses(b, seed=tf.constant([0, 0], tf.int64), training=True))
    try:
        graph = function.get_concrete_function(batch).graph
        options = tf.compat.v1.profiler.ProfileOptionBuilder.float_operation()
        options["output"] = "none"
        return float(tf.compat.v1.profiler.profile(graph, options=options).total_float_ops)
    except Exception as error:  # noqa: BLE001 - the estimate is optional
        print(f"  (FLOPs not counted: {str(error).splitlines()[0]})", file=sys.stderr)
        return None


def gradient_bytes(model):
    """Bytes all-reduced per training step: every trainable gradient of each optimizer update, float32."""
    if isinstance(model, AdversarialModel):
        d_params = sum(int(np.prod(v.shape)) for v in model.discriminator.trainable_variables)
        g_params = sum(int(np.prod(v.shape)) for v in model.trainable_variables) - d_params
        return 4 * (model.discriminator_steps * d_params + g_params)
    return 4 * sum(int(np.prod(v.shape)) for v in model.trainable_variables)


def ring_allreduce_seconds(nbytes, replicas, bandwidth, latency):
    """A ring all-reduce of `nbytes` over `replicas`: 2(N-1)/N of the data crosses each link, in 2(N-1) messages."""
    if replicas < 2:
        return 0.0
    return 2 * (replicas - 1) / replicas * nbytes / bandwidth + 2 * (replicas - 1) * latency


def main():
    args = ARGS
    results = []
    kind = "GPU" if tf.config.list_physical_devices("GPU") else f"logical CPU ({os.cpu_count()} cores)"
    print(f"devices: {kind}; TensorFlow {tf.__version__}; per-replica batch = the recipe's; "
          f"{args.steps} steps x {args.epochs} epochs, first left out", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            started = time.perf_counter()
            seconds, batch, model = seconds_per_step(name, tf.distribute.get_strategy(), 1, args.steps, args.epochs,
                                                     os.path.join(folder, f"{name}-default"))
            results.append({"model": name, "strategy": "default", "replicas": 1, "global_batch": batch,
                            "ms_per_step": 1000 * seconds, "images_per_second": batch / seconds})
            print(f"{name:6s} default   1 replica   batch {batch:4d} {1000 * seconds:8.1f} ms/step "
                  f"{batch / seconds:8.0f} images/s", flush=True)
            one = None
            for replicas in args.replicas:
                strategy = mirrored(replicas)
                seconds, batch, _ = seconds_per_step(name, strategy, replicas, args.steps, args.epochs,
                                                     os.path.join(folder, f"{name}-mirrored-{replicas}"))
                rate = batch / seconds
                one = one if one is not None else (rate if replicas == 1 else None)
                efficiency = rate / (replicas * one) if one else None
                results.append({"model": name, "strategy": "mirrored", "replicas": replicas, "global_batch": batch,
                                "ms_per_step": 1000 * seconds, "steps_per_second": 1 / seconds,
                                "images_per_second": rate, "scaling_efficiency": efficiency})
                print(f"{name:6s} mirrored {replicas:2d} replicas  batch {batch:4d} {1000 * seconds:8.1f} ms/step "
                      f"{rate:8.0f} images/s" + (f"  efficiency {efficiency:.2f}" if efficiency else ""), flush=True)
            flops = forward_flops(model)
            nbytes = gradient_bytes(model)
            paper = {"model": name, "forward_flops_per_image": flops, "allreduce_bytes_per_step": nbytes}
            print(f"{name:6s} on paper: {nbytes / 1e6:.2f} MB all-reduced per step"
                  + (f", {flops / 1e6:.1f} MFLOP forward per image" if flops else ""), flush=True)
            if flops:
                per_replica_batch = get_model_class(name).recipe.batch_size
                compute = 3 * flops * per_replica_batch / (args.sustained_tflops * 1e12)
                paper["gpu_compute_ms_per_step"] = 1000 * compute
                for link, bandwidth, latency in LINKS:
                    for replicas in (2, 4, 8):
                        comm = ring_allreduce_seconds(nbytes, replicas, bandwidth, latency)
                        paper[f"{link} x{replicas}"] = {"allreduce_ms": 1000 * comm,
                                                         "efficiency_no_overlap": compute / (compute + comm)}
                        print(f"        {link:26s} x{replicas}: all-reduce {1000 * comm:6.3f} ms against "
                              f"{1000 * compute:6.3f} ms of arithmetic at {args.sustained_tflops:g} TFLOP/s: "
                              f"efficiency >= {compute / (compute + comm):.2f} without overlap", flush=True)
            results.append(paper)
            print(f"        ({time.perf_counter() - started:.0f} s)", flush=True)
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(results, stream, indent=2)


if __name__ == "__main__":
    main()
