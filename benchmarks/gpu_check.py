"""The GPU check: every model family trains, exports and serves on the GPU; one table of timings.

For each model (default: every registered one) and each setting of
precision and XLA (default: float32 and mixed_float16, each without and with
`jit`), a run trains through `tfgen.runs.train` (the path of `tfgen train`)
for `--steps` steps on random images held in memory: two epochs, the first of
which traces (and with XLA compiles) the step, the second timed. The run must
end with a finite loss. Then the model's last run is exported
(`tfgen.export.export_run`, what `tfgen export` does), the export is loaded
with `tf.saved_model.load` in the same process (on the GPU when there is
one), its image signature (`decode` for the VAE family, `generate` for the
GANs and the VHE) is called on random inputs, and its latency at batch 1
(median of `--calls` calls) and throughput at batch 256 (median of
`--rounds` calls) are timed; every call ends with `.numpy()`.

It prints one table (and with `--json` writes the rows). A run that fails is
a row with its error, not a crash. `--budget-s` stops starting new runs once
that many seconds have passed (the rows left say "not run"), so the check
fits its time slot; on one recent GPU the defaults take a few minutes, most
of it tracing and compiling, which is CPU work.

    python benchmarks/gpu_check.py                       # the whole check
    python benchmarks/gpu_check.py --models vae dcgan --steps 20 --budget-s 120
    python benchmarks/gpu_check.py --precisions float32 mixed_bfloat16 --json gpu_check.json
"""

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import traceback

import numpy as np
import tensorflow as tf

from tfgen import runs
from tfgen.data import ImageDataset
from tfgen.export import export_run
from tfgen.models import MODELS, get_model_class
from tfgen.serving import ExportedModel

PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
#: Every registered model, one of each family first, so that a short `--budget-s` cuts the variants.
ORDER = ("vae", "dcgan", "cvae", "cgan", "ssvae", "infogan", "vhe", "mmd_vae", "gumbel_ssvae", "vhe_unsupervised")
#: The signature that makes images from codes, by preference.
IMAGE_SIGNATURES = ("decode", "generate")


def random_data(count, shape=(28, 28, 1), seed=0):
    """`count` random uint8 images with labels 0..9 in turn: the step's arithmetic does not depend on the pixels."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(count, *shape), dtype=np.uint8)
    return ImageDataset(images, np.arange(count) % 10, num_classes=10, name="random")


def train_one(name, precision, jit, steps, folder):
    """Trains `name` for `steps` steps in two epochs; returns its row (timings, final loss) and the run folder."""
    batch_size = get_model_class(name).recipe.batch_size
    per_epoch = max(1, steps // 2)
    data = random_data(max(per_epoch * batch_size, 10 * batch_size))
    out = os.path.join(folder, f"{name}-{precision}-{'xla' if jit else 'noxla'}")
    options = {"precision": precision} if precision != "float32" else {}
    options.update({"jit": True} if jit else {})
    # Three epochs, stopped after two by max_steps: a run's figures are drawn after its last epoch, and the
    # check times training and serving, not matplotlib.
    trainer = runs.train(name, out=out, dataset=(data, data.take(batch_size)), epochs=3, max_steps=2 * per_epoch,
                         steps_per_epoch=per_epoch, plot_every=10**6, sample_scores=False, verbose=0, **options)
    first, second = trainer.history[0], trainer.history[-1]
    loss = second["train/loss"]
    row = {
        "first_epoch_s": first["seconds"],
        "ms_per_step": 1000 * second["seconds"] / per_epoch,
        "images_per_second": per_epoch * batch_size / second["seconds"],
        "loss": loss,
        "finite": bool(np.isfinite(loss)),
        "device": trainer.model.trainable_variables[0].value.device or "?",
    }
    return row, out


def _inputs(signature, batch, rng):
    """Random inputs for `signature` at `batch`: normal floats, int labels/codes in range 0."""
    _, specs = signature.structured_input_signature
    inputs = {}
    for key, spec in specs.items():
        shape = [batch if size is None else size for size in spec.shape]
        if spec.dtype.is_floating:
            inputs[key] = tf.constant(rng.standard_normal(shape), spec.dtype)
        else:
            inputs[key] = tf.zeros(shape, spec.dtype)
    return inputs


def time_export(path, calls, rounds):
    """(signature name, ms at batch 1, images/s at batch 256, device) of the export at `path`."""
    exported = ExportedModel(path)
    name = next((name for name in IMAGE_SIGNATURES if name in exported.signatures), None)
    if name is None:
        raise ValueError(f"no image signature among {sorted(exported.signatures)}")
    signature = exported.signatures[name]
    rng = np.random.default_rng(0)
    small, large = _inputs(signature, 1, rng), _inputs(signature, 256, rng)

    def call(inputs):
        outputs = signature(**inputs)
        images = outputs["images"] if "images" in outputs else next(iter(outputs.values()))
        values = images.numpy()
        if not np.all(np.isfinite(values)):
            raise ValueError(f"the {name!r} signature made non-finite images")
        return images

    device = call(small).device or "?"
    for _ in range(3):  # warm-up
        call(small), call(large)
    latency = []
    for _ in range(calls):
        started = time.perf_counter()
        call(small)
        latency.append(time.perf_counter() - started)
    throughput = []
    for _ in range(rounds):
        started = time.perf_counter()
        call(large)
        throughput.append(256 / (time.perf_counter() - started))
    return name, 1000 * statistics.median(latency), statistics.median(throughput), device


def _short(error):
    text = str(error).strip().splitlines()
    return (type(error).__name__ + ": " + (text[0] if text else ""))[:120]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=[name for name in ORDER if name in MODELS]
                        + sorted(set(MODELS) - set(ORDER)), choices=sorted(MODELS), metavar="MODEL")
    parser.add_argument("--precisions", nargs="+", default=["float32", "mixed_float16"], choices=PRECISIONS)
    parser.add_argument("--xla", choices=("both", "on", "off"), default="both", help="train with and/or without --jit")
    parser.add_argument("--steps", type=int, default=200, help="training steps per run (two epochs, the second timed)")
    parser.add_argument("--calls", type=int, default=50, help="timed export calls at batch 1")
    parser.add_argument("--rounds", type=int, default=10, help="timed export calls at batch 256")
    parser.add_argument("--budget-s", type=float, default=270.0,
                        help="start no new run after this many seconds (the rows left say 'not run')")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if args.steps < 2:
        parser.error("--steps must be at least 2 (one epoch traces, one is timed)")
    jits = {"both": (False, True), "on": (True,), "off": (False,)}[args.xla]

    started = time.perf_counter()
    gpus = tf.config.list_physical_devices("GPU")
    build = tf.sysconfig.get_build_info()
    print(f"TensorFlow {tf.__version__} (CUDA {build.get('cuda_version', '-')}, cuDNN {build.get('cudnn_version', '-')}); "
          f"{platform.machine()}, {os.cpu_count()} CPU cores; GPUs: "
          + (", ".join(tf.config.experimental.get_device_details(gpu).get("device_name", gpu.name) for gpu in gpus)
             or "none (the check runs on the CPU)"), flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for name in args.models:
            last_run = None
            for precision in args.precisions:
                for jit in jits:
                    row = {"model": name, "precision": precision, "jit": jit}
                    rows.append(row)
                    if time.perf_counter() - started > args.budget_s:
                        row["error"] = "not run (budget)"
                        continue
                    try:
                        result, last_run = train_one(name, precision, jit, args.steps, folder)
                        row.update(result)
                    except Exception as error:  # noqa: BLE001 - a failed run is a row of the table
                        row["error"] = _short(error)
                        traceback.print_exc(limit=3, file=sys.stderr)
                    _print_row(row)
            if last_run is None or time.perf_counter() - started > args.budget_s:
                continue
            row = {"model": name, "precision": "export", "jit": False}
            rows.append(row)
            try:
                path = export_run(last_run, name, os.path.join(folder, "saved_models"))
                signature, ms, rate, device = time_export(path, args.calls, args.rounds)
                row.update({"signature": signature, "ms_batch_1": ms, "images_per_second_batch_256": rate,
                            "device": device})
            except Exception as error:  # noqa: BLE001
                row["error"] = _short(error)
                traceback.print_exc(limit=3, file=sys.stderr)
            _print_row(row)
    print(f"\n{'model':16s} {'precision':15s} {'xla':4s} {'1st epoch s':>11s} {'ms/step':>8s} {'images/s':>9s} "
          f"{'loss':>9s}  {'export: signature':18s} {'ms @1':>7s} {'images/s @256':>13s}  device")
    for row in rows:
        print(_format(row))
    failed = [row for row in rows if "error" in row and row["error"] != "not run (budget)"
              or ("finite" in row and not row["finite"])]
    print(f"\n{len(rows) - len(failed)} of {len(rows)} rows passed; {time.perf_counter() - started:.0f} s in all")
    if args.json:
        with open(args.json, "w") as stream:
            json.dump(rows, stream, indent=2)
    return 1 if failed else 0


def _format(row):
    xla = "on" if row["jit"] else "off"
    if "error" in row:
        return f"{row['model']:16s} {row['precision']:15s} {xla:4s} {row['error']}"
    if row["precision"] == "export":
        return (f"{row['model']:16s} {'export':15s} {'':4s} {'':>11s} {'':>8s} {'':>9s} {'':>9s}  "
                f"{row['signature']:18s} {row['ms_batch_1']:7.2f} {row['images_per_second_batch_256']:13.0f}  "
                f"{row['device']}")
    return (f"{row['model']:16s} {row['precision']:15s} {xla:4s} {row['first_epoch_s']:11.1f} {row['ms_per_step']:8.2f} "
            f"{row['images_per_second']:9.0f} {row['loss']:9.3f}  {'':18s} {'':>7s} {'':>13s}  {row['device']}")


def _print_row(row):
    print(_format(row), flush=True)


if __name__ == "__main__":
    sys.exit(main())
