"""Serving cost of tfgen's SavedModel export against calling the model in-process.

For the image-producing signature of each model (`decode` of the VAE and
the CVAE, `generate` of the conditional GAN) it times, in one process and
run, on the same input tensors:

* keras eager: the model's Python method (`model.decode(z)`,
  `model.decode(z, label)`, `model.generate(z, label)`) called eagerly;
* keras tf.function: the same method in a `tf.function` with the export's
  input signature (a `None` batch dimension): the fair baseline;
* keras XLA (with `--xla`): the same, `tf.function(jit_compile=True)`; a
  failure to compile is reported in the table, not raised;
* SavedModel signature: `tf.saved_model.load(path).signatures[name](**inputs)`,
  what TF Serving runs;
* SavedModel endpoint: the loaded object's function (`loaded.decode(z)`),
  where the export exposes it.

Latency is measured at batch 1 (median and 90th percentile over `--calls`
calls after `--warmup` calls); throughput at batch `--batch` (images/s,
median of `--rounds` rounds of `--batches` calls). Every call ends with
`.numpy()` on its images, so the time includes the copy to the host. The
paths are interleaved (one call of each in turn; one round of each in turn)
so that a noisy, shared machine affects all of them alike. Ratios are
against keras tf.function in the same run: latency as median/baseline
(below 1 is faster), throughput as images/s / baseline (above 1 is faster).

By default the models are fresh instances with default constructor
arguments (weights do not change the timing), exported with
`tfgen.export.export_model` into a temporary folder. `--model-dir
saved_models/<name>` (repeatable) times an existing export instead (its
newest complete version); its Keras baseline is a fresh model rebuilt from
the export's `tfgen_manifest.json` (same architecture, untrained weights).

    PYTHONPATH=. python benchmarks/serving_latency.py --calls 200 --rounds 5
    PYTHONPATH=. python benchmarks/serving_latency.py --device /GPU:0 --xla
    PYTHONPATH=. python benchmarks/serving_latency.py --model-dir saved_models/mnist_cgan
"""

import argparse
import contextlib
import json
import os
import platform
import statistics
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from tfgen.export import export_model, latest_version, read_manifest
from tfgen.models import CVAE, VAE, ConditionalGAN
from tfgen.models import MODELS

# name: (constructor, the timed signature)
FRESH_MODELS = {
    "vae": (lambda: VAE(latent_dim=2), "decode"),
    "cvae": (CVAE, "decode"),
    "cgan": (ConditionalGAN, "generate"),
}
IMAGE_SIGNATURES = ("decode", "generate")
BASELINE = "keras tf.function"


# ------------------------------------------------------------------ models

def build(model):
    model.build_from_batch(model.zeros_batch())
    return model


def model_method(model, signature):
    """The Python method behind `signature`, taking the signature's inputs positionally."""
    if signature == "decode":
        return model.decode
    if signature == "generate":
        return model.generate
    raise ValueError(f"No in-process method known for the signature {signature!r}.")


def signature_specs(model, signature):
    """The export's input TensorSpecs of `signature` (names and dtypes as served)."""
    endpoints = model.serving_endpoints()
    if signature not in endpoints:
        raise KeyError(f"{type(model).__name__} has no serving endpoint {signature!r}: {sorted(endpoints)}")
    return list(endpoints[signature][1])


def specs_from_loaded(loaded, signature):
    """The input TensorSpecs of a loaded signature, in the endpoint's positional order."""
    endpoint_signature = getattr(getattr(loaded, signature, None), "input_signature", None)
    if endpoint_signature:
        return list(endpoint_signature)
    _, keywords = loaded.signatures[signature].structured_input_signature  # insertion order: the export's
    return [tf.TensorSpec(spec.shape, spec.dtype, name=name) for name, spec in keywords.items()]


def make_inputs(specs, batch, num_classes, rng):
    """Input tensors for `specs` at `batch`: z ~ N(0, I), labels cycling over the classes, seeds 1..batch."""
    tensors = []
    for spec in specs:
        shape = [batch if dim is None else dim for dim in spec.shape]
        if spec.dtype.is_integer:
            values = np.arange(batch) % num_classes if spec.name == "label" else np.arange(batch) + 1
        else:
            values = rng.standard_normal(shape)
        tensors.append(tf.constant(values.astype(spec.dtype.as_numpy_dtype)))
    return tensors


def images_of(outputs):
    """The images tensor of a call's outputs (a tensor, or a dict with "images")."""
    if isinstance(outputs, dict):
        return outputs["images"] if "images" in outputs else next(iter(outputs.values()))
    return outputs


# ------------------------------------------------------------------ paths

class Path:
    """One way of calling the signature: a name, a callable over positional tensors, and its timings."""

    def __init__(self, name, call, function=None):
        self.name = name
        self.call = call
        self.function = function  # the tf.function, for its tracing count
        self.error = None
        self.latencies = []
        self.throughputs = []

    def run(self, inputs):
        return images_of(self.call(*inputs)).numpy()


def keras_paths(model, signature, specs, xla):
    method = model_method(model, signature)
    compiled = tf.function(lambda *args: method(*args), input_signature=specs)
    paths = [Path("keras eager", method), Path(BASELINE, compiled, compiled)]
    if xla:
        jit = tf.function(lambda *args: method(*args), input_signature=specs, jit_compile=True)
        paths.append(Path("keras XLA", jit, jit))
    return paths


def saved_model_paths(loaded, signature, specs):
    paths = []
    function = loaded.signatures[signature]
    names = [spec.name for spec in specs]
    paths.append(Path("SavedModel signature", lambda *args: function(**dict(zip(names, args)))))
    endpoint = getattr(loaded, signature, None)
    if callable(endpoint):
        paths.append(Path("SavedModel endpoint", endpoint))
    return paths


def warm_up(paths, inputs, calls):
    """Calls every path `calls` times; a path that fails is marked and left out of the timing."""
    for path in paths:
        if path.error:
            continue
        try:
            for _ in range(calls):
                path.run(inputs)
        except Exception as error:  # noqa: BLE001 - e.g. an XLA compilation failure, to be reported
            lines = [line.strip() for line in str(error).splitlines() if line.strip()] or [""]
            # A traced function's error starts with "in user code:"; its last line is the message.
            message = lines[-1] if lines[0].startswith("in user code") else lines[0]
            path.error = f"{type(error).__name__}: {message[:200]}".replace("|", "/")


def time_latency(paths, inputs, calls):
    """One call of each path in turn, `calls` times: seconds per call."""
    for _ in range(calls):
        for path in paths:
            if path.error:
                continue
            started = time.perf_counter()
            path.run(inputs)
            path.latencies.append(time.perf_counter() - started)


def time_throughput(paths, inputs, rounds, batches):
    """One round of `batches` calls of each path in turn, `rounds` times: images/s per round."""
    batch = int(inputs[0].shape[0])
    for _ in range(rounds):
        for path in paths:
            if path.error:
                continue
            started = time.perf_counter()
            for _ in range(batches):
                path.run(inputs)
            path.throughputs.append(batches * batch / (time.perf_counter() - started))


# ------------------------------------------------------------------ one model

def benchmark(label, signature, model, loaded, specs, num_classes, args, device):
    """Times every path of one model's `signature`; returns the rows of the table."""
    rng = np.random.default_rng(0)
    with device():
        small = make_inputs(specs, 1, num_classes, rng)
        large = make_inputs(specs, args.batch, num_classes, rng)
        paths = keras_paths(model, signature, specs, args.xla) if model is not None else []
        paths += saved_model_paths(loaded, signature, specs)
        warm_up(paths, small, args.warmup)
        warm_up(paths, large, 2)
        time_latency(paths, small, args.calls)
        time_throughput(paths, large, args.rounds, args.batches)

    rows = []
    for path in paths:
        row = {"model": label, "signature": signature, "path": path.name, "error": path.error}
        if path.latencies:
            latencies_ms = np.asarray(path.latencies) * 1e3
            row.update(
                median_ms=float(np.median(latencies_ms)),
                p90_ms=float(np.percentile(latencies_ms, 90)),
                images_per_second=float(statistics.median(path.throughputs)),
                throughput_rounds=[float(v) for v in path.throughputs],
            )
        if path.function is not None:
            row["traces"] = int(path.function.experimental_get_tracing_count())
        rows.append(row)
    baseline = next((r for r in rows if r["path"] == BASELINE and "median_ms" in r), None)
    for row in rows:
        if baseline and "median_ms" in row:
            row["latency_ratio"] = row["median_ms"] / baseline["median_ms"]
            row["throughput_ratio"] = row["images_per_second"] / baseline["images_per_second"]
    return rows


def fresh_model_rows(name, temporary, args, device):
    constructor, signature = FRESH_MODELS[name]
    with device():
        model = build(constructor())
    started = time.perf_counter()
    export_dir = export_model(model, os.path.join(temporary, name))
    exported = time.perf_counter() - started
    started = time.perf_counter()
    loaded = tf.saved_model.load(export_dir)
    load_s = time.perf_counter() - started
    if signature not in loaded.signatures:
        raise KeyError(f"The {name} export has no signature {signature!r}: {sorted(loaded.signatures)}")
    specs = signature_specs(model, signature)
    rows = benchmark(name, signature, model, loaded, specs, getattr(model, "num_classes", 10), args, device)
    for row in rows:
        row.update(export_s=exported, load_s=load_s)
    return rows


def export_rows(model_dir, args, device):
    """Times an existing export; its Keras baseline is a fresh model rebuilt from the manifest."""
    version_dir = latest_version(model_dir)
    started = time.perf_counter()
    loaded = tf.saved_model.load(version_dir)
    load_s = time.perf_counter() - started
    signature = next((name for name in IMAGE_SIGNATURES if name in loaded.signatures), None)
    if signature is None:
        raise KeyError(f"{version_dir!r} has none of the signatures {IMAGE_SIGNATURES}: {sorted(loaded.signatures)}")
    manifest = read_manifest(version_dir)
    model = None
    if manifest.get("model") in MODELS:
        with device():
            model = build(MODELS[manifest["model"]].from_config(manifest["model_config"]))
    specs = specs_from_loaded(loaded, signature)
    num_classes = manifest.get("num_classes", 10)
    label = os.path.basename(os.path.normpath(model_dir))
    rows = benchmark(label, signature, model, loaded, specs, num_classes, args, device)
    for row in rows:
        row.update(export_dir=version_dir, export_xla=manifest.get("xla"), load_s=load_s,
                   keras_weights="fresh (rebuilt from the manifest)" if model is not None else None)
    return rows


# ------------------------------------------------------------------ output

def markdown_table(rows, batch):
    header = ["model", "signature", "path", "batch-1 median ms", "batch-1 p90 ms", f"batch-{batch} images/s",
              "latency / tf.function", "throughput / tf.function"]
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    for row in rows:
        if "median_ms" in row:
            ratios = ["", ""]
            if "latency_ratio" in row:
                ratios = [f"{row['latency_ratio']:.2f}", f"{row['throughput_ratio']:.2f}"]
            cells = [f"{row['median_ms']:.2f}", f"{row['p90_ms']:.2f}", f"{row['images_per_second']:.0f}", *ratios]
        else:
            cells = [f"failed: {row['error']}", "", "", "", ""]
        lines.append("| " + " | ".join([row["model"], row["signature"], row["path"], *cells]) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", choices=sorted(FRESH_MODELS), default=None,
                        help="fresh models to time (default: all, or none when --model-dir is given)")
    parser.add_argument("--model-dir", action="append", default=[],
                        help="an existing export saved_models/<name> (or a version folder) to time; repeatable")
    parser.add_argument("--calls", type=int, default=200, help="timed batch-1 calls per path")
    parser.add_argument("--warmup", type=int, default=20, help="untimed batch-1 calls per path first")
    parser.add_argument("--batch", type=int, default=256, help="the throughput batch size")
    parser.add_argument("--rounds", type=int, default=5, help="throughput rounds (the median is reported)")
    parser.add_argument("--batches", type=int, default=3, help="batches per throughput round")
    parser.add_argument("--xla", action="store_true", help="also time tf.function(jit_compile=True)")
    parser.add_argument("--device", default=None, help="e.g. /GPU:0 or /CPU:0 (default: TensorFlow's placement)")
    parser.add_argument("--out-json", default=None, help="write every number to this file")
    args = parser.parse_args()
    names = args.models if args.models is not None else ([] if args.model_dir else sorted(FRESH_MODELS))

    devices = [f"{d.device_type}:{d.name}" for d in tf.config.list_physical_devices()]
    print(f"physical devices: {devices}")
    print(f"timing on: {args.device or 'the default device'}; TensorFlow {tf.__version__}, Keras {keras.__version__}, "
          f"{os.cpu_count()} CPUs")
    device = (lambda: tf.device(args.device)) if args.device else contextlib.nullcontext

    started = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        for name in names:
            rows += fresh_model_rows(name, temporary, args, device)
    for model_dir in args.model_dir:
        rows += export_rows(model_dir, args, device)
    elapsed = time.perf_counter() - started

    print()
    print(markdown_table(rows, args.batch))
    print()
    traces = {f"{r['model']}/{r['path']}": r["traces"] for r in rows if "traces" in r}
    print(f"tf.function traces (1 expected with the None-batch input signature; XLA compiles per shape): {traces}")
    print(f"calls={args.calls} warmup={args.warmup} batch={args.batch} rounds={args.rounds} "
          f"batches={args.batches}; {elapsed:.0f} s")
    if args.out_json:
        with open(args.out_json, "w", encoding="utf-8") as stream:
            json.dump({
                "rows": rows, "args": vars(args), "physical_devices": devices, "seconds": elapsed,
                "tensorflow": tf.__version__, "keras": keras.__version__, "cpus": os.cpu_count(),
                "platform": platform.platform(),
            }, stream, indent=1)


if __name__ == "__main__":
    main()
