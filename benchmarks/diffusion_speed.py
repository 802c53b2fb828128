"""Speed and memory of the diffusion models: tfgen's training step and its exported in-graph DDIM sampler,
each against a hand-written baseline measured in the same run.

Training (one fresh subprocess per image shape, 28x28x1, 32x32x3, 64x64x3,
so that each shape's peak memory is its own): `Diffusion` with the recipe's
settings (T = 1000, linear schedule, 1 residual block per level, Adam 2e-4,
EMA 0.9999; `--base-filters` for the U-Net's width, the recipe's 32 by
default) trains through `Trainer.fit` itself, epochs of `--steps` steps on
random uint8 images held in memory (the step's arithmetic does not depend
on the pixels); the time is the loop time the trainer records per epoch.
Between tfgen's epochs (a callback, as benchmarks/train_step_speed.py does)
one round of a hand-written `tf.function` GradientTape step runs over the
same batches (`Trainer.batches`): the same U-Net (`tfgen.networks.UNet`,
same arguments), the simple loss (the MSE of the predicted noise, t uniform,
x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps), Adam with the same settings
and, when `--ema` is not 0, the same moving average of the weights written
out by hand. The first epoch of each (tracing, warm-up) is left out; the
medians of the other `--rounds` are reported, and tfgen / hand-written in
images/s (aim >= 0.95); "best" is the same ratio of the fastest rounds.
Also the CPU seconds (`time.process_time`, every thread of the process)
spent inside the calls of each step function (tfgen: the Trainer's
compiled step, `Trainer._train_batch`, the loop around it left out), per
step, and their ratio hand-written / tfgen: where other work shares the
cores, the wall times of a round vary twofold (one core or two) and the CPU
seconds much less.

Sampling (in this process): a `ConditionalDiffusion` (untrained: the timing
does not depend on the weights; T = 1000 so that 250 steps are valid) is
exported with `tfgen.export.export_model` into a temporary folder and loaded
with plain `tf.saved_model.load`. At batch 1 and `--sample-batch` and for
each of `--sample-steps` DDIM steps (eta 0, guidance scale `--guidance`),
it times the export's in-graph `sample_ddim` signature against the same DDIM
update driven from Python over the export's `denoise` signature (NumPy
arithmetic, written out here: the update of
`tfgen.models.diffusion.reverse_loop` with eta 0). With guidance, both make
one `denoise` call per step on a doubled batch (the images with their labels
and with the null class), as the in-graph sampler does. Both start from the
same x_T (the sampler's per-seed noise), so their images are compared too.
Calls are interleaved (one of each in turn, `--repeats` times after a
warm-up call); the time per image is the median call's seconds / batch, and
the ratio in-graph / Python (below 1: the in-graph sampler is faster; "best":
of the fastest calls), and the same of the calls' CPU seconds (per image).

Memory: the process's resident set size (RSS) and its peak (the kernel's
high-water mark VmHWM, which /proc/self/clear_refs starts again from the
current RSS, so that each phase has a peak of its own; ru_maxrss where
there is no /proc), not TensorFlow's allocator (its counters,
`tf.config.experimental.get_memory_info`, exist on GPUs only; they are added
as `device_peak_mib` where a GPU is used). Training, per shape: the RSS after
the imports and the data; the peak of tfgen's warm-up epoch (building the
model and the optimizer, tracing, 1 epoch of steps); the peak of the
hand-written step's warm-up (the same, over the RSS before it); the peak of
the timed rounds (both steps, their variables and graphs in one process).
Sampling: each number of steps in a fresh subprocess that loads the export,
calls `sample_ddim` once with 1 step at `--sample-batch` (the function's
set-up) and then, its peak started again, once with the steps: the RSS
before that call and its peak (the in-graph loop's memory must not grow
with the steps).

    python benchmarks/diffusion_speed.py            # recipe widths, batch 128, sampling batch 64
    python benchmarks/diffusion_speed.py --quick    # small widths and batches: a few minutes on 2 CPU cores

Results go to benchmarks/results/diffusion_speed.json (`--quick`:
diffusion_speed_quick.json) unless `--json` says otherwise.
"""

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import tensorflow as tf

from image_size_speed import random_images  # benchmarks/image_size_speed.py: random uint8 images of a shape
from tfgen.export import export_model, read_manifest
from tfgen.models import ConditionalDiffusion, Diffusion
from tfgen.models import diffusion as diffusion_lib
from tfgen.networks import UNet
from tfgen.networks.shapes import check_image_shape
from tfgen.training import Callback, Trainer

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS_DIR = os.path.join(HERE, "results")
SHAPES = ("28x28x1", "32x32x3", "64x64x3")
#: --quick: every size that decides the time, small (the rest as without it).
QUICK = {"base_filters": 8, "batch_size": 8, "steps": 5, "rounds": 9, "sample_batch": 16, "repeats": 2}
FULL = {"base_filters": Diffusion.recipe.model["base_filters"], "batch_size": Diffusion.recipe.batch_size,
        "steps": 10, "rounds": 5, "sample_batch": 64, "repeats": 3}
RESULT_PREFIX = "RESULT "


# ------------------------------------------------------------------ memory

def _status_mib(field):
    """A "Vm..." line of /proc/self/status in MiB (None where there is none)."""
    try:
        with open("/proc/self/status") as stream:
            for line in stream:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 2**10  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def rss_mib():
    """The process's resident set size now, MiB (None where /proc is missing)."""
    return _status_mib("VmRSS")


def peak_rss_mib():
    """The process's peak resident set size since the start or the last `reset_peak`, MiB: VmHWM, else ru_maxrss
    (KiB on Linux, bytes on macOS; since the start only)."""
    peak = _status_mib("VmHWM")
    if peak is not None:
        return peak
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def reset_peak():
    """Starts the peak RSS again from the current RSS (Linux: /proc/self/clear_refs "5"); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as stream:
            stream.write("5")
        return True
    except OSError:
        return False


def device_peak_mib():
    """TensorFlow's own peak of the first GPU's memory, MiB; None on CPUs (where it is not kept)."""
    if not tf.config.list_physical_devices("GPU"):
        return None
    return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2**20


# ------------------------------------------------------------------ training

def model_settings(args):
    """The recipe's model arguments with the benchmark's width and moving average."""
    return {**Diffusion.recipe.model, "base_filters": args.base_filters, "ema": args.ema or None}


def hand_written_step(settings, shape, learning_rate, beta_1):
    """A minimal compiled DDPM step: the same U-Net, the simple loss, Adam and (settings' ema) the moving average."""
    network = UNet(base_filters=settings["base_filters"], num_res_blocks=settings["num_res_blocks"], image_shape=shape)
    average = None
    if settings["ema"]:
        average = UNet(base_filters=settings["base_filters"], num_res_blocks=settings["num_res_blocks"],
                       image_shape=shape)
    optimizer = keras.optimizers.Adam(learning_rate, beta_1=beta_1)
    timesteps = settings["timesteps"]
    betas = np.linspace(1e-4, 0.02, timesteps)  # DDPM's linear schedule at T = 1000
    alphas_cumprod = tf.constant(np.cumprod(1.0 - betas), tf.float32)

    @tf.function(autograph=False)  # as tfgen's step (GenerativeModel.autograph): the same graph, traced sooner
    def step(images):
        x0 = tf.cast(images, tf.float32) * 2.0 - 1.0
        size = tf.shape(x0)[0]
        t = tf.random.uniform([size], 0, timesteps, tf.int32)
        noise = tf.random.normal(tf.shape(x0))
        abar = tf.reshape(tf.gather(alphas_cumprod, t), [-1, 1, 1, 1])
        with tf.GradientTape() as tape:
            predicted = network([tf.sqrt(abar) * x0 + tf.sqrt(1.0 - abar) * noise, t], training=True)
            loss = tf.reduce_mean(tf.square(predicted - noise))
        variables = network.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        if average is not None:
            updates = tf.cast(optimizer.iterations, tf.float32)
            rate = 1.0 - tf.minimum(settings["ema"], (1.0 + updates) / (10.0 + updates))
            for target, live in zip(average.weights, network.weights):
                target.assign_sub(rate * (target - live))
        return loss

    example = tf.zeros([1, *shape])
    network([example, tf.zeros([1], tf.int32)])
    if average is not None:
        average([example, tf.zeros([1], tf.int32)])
    optimizer.build(network.trainable_variables)  # its slots made here: a first call that makes them traces twice
    return step


class CpuClock:
    """A step function that adds up the process's CPU seconds (every thread's) spent inside its calls."""

    def __init__(self, function):
        self.function = function
        self.seconds = 0.0

    def __call__(self, *arguments):
        started = time.process_time()
        result = self.function(*arguments)
        self.seconds += time.process_time() - started
        return result

    def take(self):
        """The seconds added up since the last `take`."""
        seconds, self.seconds = self.seconds, 0.0
        return seconds


def images_per_second(function, dataset, steps, batch_size):
    """Runs `function` on the images of the first `steps` batches; images/s, timed as tfgen's epochs are (from the
    iterator's creation to the last step's result)."""
    started = time.perf_counter()
    for batch in dataset.take(steps):
        result = function(batch["image"])
    result.numpy()
    return steps * batch_size / (time.perf_counter() - started)


class Interleaved(Callback):
    """Between tfgen's epochs, one timed round of the hand-written step over the same epoch's batches; the CPU
    seconds inside both steps' calls (the measure that other work on the cores disturbs least)."""

    def __init__(self, settings, shape, args, memory):
        self.settings, self.shape, self.args, self.memory = settings, shape, args, memory
        self.step = None
        self.tfgen_clock = None
        self.rounds, self.tfgen_cpu, self.hand_cpu = [], [], []

    def on_epoch_begin(self, trainer, epoch, start_step=0):
        if self.tfgen_clock is None:  # the Trainer's compiled step (a private attribute: this benchmark's look inside)
            self.tfgen_clock = trainer._train_batch = CpuClock(trainer._train_batch)

    def on_epoch_end(self, trainer, epoch, logs):
        self.tfgen_cpu.append(self.tfgen_clock.take())
        warm_up = self.step is None
        if warm_up:  # after tfgen's warm-up epoch: its peak, then the hand-written step's warm-up and its own peak
            self.memory["tfgen_warmup_peak_mib"] = peak_rss_mib()
            self.memory["rss_before_hand_written_mib"] = rss_mib()
            self.memory["peak_was_reset"] = self.memory["peak_was_reset"] and reset_peak()
            self.step = CpuClock(hand_written_step(self.settings, self.shape, trainer.options.learning_rate,
                                                   trainer.options.beta_1))
        dataset = trainer.batches(trainer.train_data, epoch=epoch)
        self.rounds.append(images_per_second(self.step, dataset, self.args.steps, self.args.batch_size))
        self.hand_cpu.append(self.step.take())
        if warm_up:
            self.memory["hand_written_warmup_peak_mib"] = peak_rss_mib()
            self.memory["peak_was_reset"] = self.memory["peak_was_reset"] and reset_peak()


def train_child(args):
    """One shape: tfgen's Trainer against the hand-written step, interleaved; returns the shape's result."""
    shape = parse_shape(args.shape)
    data = random_images(shape, args.steps * args.batch_size)
    memory = {"rss_start_mib": rss_mib(), "peak_was_reset": reset_peak()}  # after the imports and the data
    settings = model_settings(args)
    recipe = Diffusion.recipe
    interleaved = Interleaved(settings, shape, args, memory)
    with tempfile.TemporaryDirectory() as run_dir:
        # One extra first epoch: it traces the step and warms the pipeline up (left out, as the hand-written one's).
        trainer = Trainer(Diffusion(**settings, image_shape=shape), data, os.path.join(run_dir, "run"),
                          epochs=args.rounds + 1, batch_size=args.batch_size, steps_per_epoch=args.steps,
                          learning_rate=recipe.learning_rate, beta_1=recipe.beta_1, callbacks=[interleaved], verbose=0)
        history = trainer.fit()
    memory["timed_rounds_peak_mib"] = peak_rss_mib()
    memory["device_peak_mib"] = device_peak_mib()
    tfgen_rounds = [entry["images_per_second"] for entry in history[1:]]
    hand_rounds = interleaved.rounds[1:]
    tfgen_median, hand_median = statistics.median(tfgen_rounds), statistics.median(hand_rounds)
    tfgen_cpu, hand_cpu = statistics.median(interleaved.tfgen_cpu[1:]), statistics.median(interleaved.hand_cpu[1:])
    return {
        "image_shape": list(shape), "batch_size": args.batch_size, "steps_per_round": args.steps,
        "parameters": int(sum(np.prod(v.shape) for v in trainer.model.network.trainable_weights)),
        "tfgen_images_per_second": tfgen_rounds, "hand_written_images_per_second": hand_rounds,
        "tfgen_ms_per_step": 1000 * args.batch_size / tfgen_median,
        "hand_written_ms_per_step": 1000 * args.batch_size / hand_median,
        "tfgen_vs_hand_written": tfgen_median / hand_median,
        "tfgen_vs_hand_written_best": max(tfgen_rounds) / max(hand_rounds),
        "tfgen_cpu_seconds": interleaved.tfgen_cpu[1:], "hand_written_cpu_seconds": interleaved.hand_cpu[1:],
        "tfgen_cpu_ms_per_step": 1000 * tfgen_cpu / args.steps,
        "hand_written_cpu_ms_per_step": 1000 * hand_cpu / args.steps,
        "tfgen_vs_hand_written_cpu": hand_cpu / tfgen_cpu,
        "memory": memory,
    }


# ------------------------------------------------------------------ sampling

class PythonDDIM:
    """DDIM (eta 0) driven from Python over an export's `denoise` signature: the update of
    `tfgen.models.diffusion.reverse_loop`, in NumPy, with classifier-free guidance from one call on a doubled batch."""

    def __init__(self, loaded, manifest):
        self.denoise = loaded.signatures["denoise"]
        config = manifest["model_config"]
        self.timesteps = int(config["timesteps"])
        self.shape = tuple(manifest.get("image_shape") or config["image_shape"])
        self.null_class = int(config["num_classes"])  # the U-Net's null class K
        betas = diffusion_lib.noise_schedule(config["schedule"], self.timesteps)
        self.alphas_cumprod = np.cumprod(1.0 - betas).astype(np.float32)  # float64, then float32 (as Schedule)

    def start(self, seeds):
        """x_T from each seed: the in-graph sampler's own draw (its start stream), so the two loops can be compared."""
        return diffusion_lib.noise_from_seeds(tf.constant(seeds, tf.int64), self.shape,
                                              diffusion_lib._START_STREAM).numpy()

    def __call__(self, seeds, labels, steps, guidance_scale):
        images = self.start(seeds)
        batch = len(seeds)
        labels = tf.constant(np.concatenate([labels, np.full_like(labels, self.null_class)]), tf.int64)
        scale = np.float32(guidance_scale)
        sequence = np.round(np.linspace(self.timesteps - 1, 0, steps)).astype(np.int32)
        for index, t in enumerate(sequence):
            abar = self.alphas_cumprod[t]
            abar_prev = self.alphas_cumprod[sequence[index + 1]] if index + 1 < steps else np.float32(1.0)
            both = self.denoise(noisy_images=tf.constant(np.concatenate([images, images])),
                                timestep=tf.fill([2 * batch], t), label=labels)["noise"].numpy()
            conditional, unconditional = both[:batch], both[batch:]
            eps = conditional + scale * (conditional - unconditional)
            x0 = np.clip((images - np.sqrt(1 - abar) * eps) / np.sqrt(abar), -1, 1)
            eps = (images - np.sqrt(abar) * x0) / np.sqrt(1 - abar)  # the noise of the clipped x_0
            images = np.sqrt(abar_prev) * x0 + np.sqrt(1 - abar_prev) * eps
        return np.clip((images + 1) / 2, 0, 1)


def in_graph_sampler(loaded):
    sample = loaded.signatures["sample_ddim"]

    def call(seeds, labels, steps, guidance_scale):
        return sample(seed=tf.constant(seeds, tf.int64), label=tf.constant(labels, tf.int64),
                      steps=tf.constant(steps, tf.int32), eta=tf.constant(0.0),
                      guidance_scale=tf.constant(guidance_scale, tf.float32))["images"].numpy()

    return call


def request(batch, num_classes):
    """Seeds 1..batch and labels cycling over the classes."""
    return np.arange(1, batch + 1, dtype=np.int64), np.arange(batch, dtype=np.int64) % num_classes


def export_sampler(args, folder):
    """An untrained conditional model of the recipe's settings, exported; returns (path, export seconds)."""
    settings = {**ConditionalDiffusion.recipe.model, "base_filters": args.base_filters}
    model = ConditionalDiffusion(**settings, image_shape=parse_shape(args.sample_shape))
    model.build_from_batch(model.zeros_batch())
    started = time.perf_counter()
    path = export_model(model, os.path.join(folder, "conditional_diffusion"))
    return path, time.perf_counter() - started


def time_sampling(path, args):
    """In-graph `sample_ddim` against the Python loop over `denoise`, interleaved; returns the rows."""
    started = time.perf_counter()
    loaded = tf.saved_model.load(path)
    load_s = time.perf_counter() - started
    manifest = read_manifest(path)
    paths = {"in-graph sample_ddim": in_graph_sampler(loaded), "Python loop over denoise": PythonDDIM(loaded, manifest)}
    num_classes = int(manifest["model_config"]["num_classes"])
    batches = sorted({1, args.sample_batch})
    times = {(name, batch, steps): [] for name in paths for batch in batches for steps in args.sample_steps}
    cpu = {key: [] for key in times}
    differences = {}
    for batch in batches:  # warm-up: one call of each path at each batch
        for call in paths.values():
            call(*request(batch, num_classes), min(args.sample_steps), args.guidance)
    for repeat in range(args.repeats):
        for batch in batches:
            for steps in args.sample_steps:
                outputs = {}
                for name, call in paths.items():
                    begun, begun_cpu = time.perf_counter(), time.process_time()
                    outputs[name] = call(*request(batch, num_classes), steps, args.guidance)
                    times[name, batch, steps].append(time.perf_counter() - begun)
                    cpu[name, batch, steps].append(time.process_time() - begun_cpu)
                first, second = outputs.values()
                differences[batch, steps] = float(np.max(np.abs(first - second)))
        print(f"  sampling repeat {repeat + 1}/{args.repeats} done", flush=True)
    rows = []
    for batch in batches:
        for steps in args.sample_steps:
            graph, python = (statistics.median(times[name, batch, steps]) for name in paths)
            graph_cpu, python_cpu = (statistics.median(cpu[name, batch, steps]) for name in paths)
            rows.append({
                "batch": batch, "steps": steps,
                "in_graph_ms_per_image": 1000 * graph / batch, "python_ms_per_image": 1000 * python / batch,
                "in_graph_over_python": graph / python,
                "in_graph_over_python_best": (min(times["in-graph sample_ddim", batch, steps])
                                              / min(times["Python loop over denoise", batch, steps])),
                "in_graph_cpu_ms_per_image": 1000 * graph_cpu / batch,
                "python_cpu_ms_per_image": 1000 * python_cpu / batch,
                "in_graph_over_python_cpu": graph_cpu / python_cpu,
                "in_graph_seconds": times["in-graph sample_ddim", batch, steps],
                "python_seconds": times["Python loop over denoise", batch, steps],
                "in_graph_cpu_seconds": cpu["in-graph sample_ddim", batch, steps],
                "python_cpu_seconds": cpu["Python loop over denoise", batch, steps],
                "max_abs_pixel_difference": differences[batch, steps],
            })
    return rows, load_s


def memory_child(args):
    """One number of steps in a fresh process: the RSS after loading the export, and the peak after one call."""
    memory = {"steps": args.memory_steps, "batch": args.sample_batch, "rss_start_mib": rss_mib()}
    loaded = tf.saved_model.load(args.export_dir)
    num_classes = int(read_manifest(args.export_dir)["model_config"]["num_classes"])
    sample = in_graph_sampler(loaded)
    inputs = request(args.sample_batch, num_classes)
    memory.update(load_peak_mib=peak_rss_mib(), rss_after_load_mib=rss_mib(), peak_was_reset=reset_peak())
    sample(*inputs, 1, args.guidance)  # the first call (the function's set-up), with one step
    memory.update(first_call_peak_mib=peak_rss_mib(), rss_before_mib=rss_mib())
    memory["peak_was_reset"] = memory["peak_was_reset"] and reset_peak()
    started = time.perf_counter()
    sample(*inputs, args.memory_steps, args.guidance)
    memory.update(seconds=time.perf_counter() - started, peak_mib=peak_rss_mib(), device_peak_mib=device_peak_mib())
    return memory


# ------------------------------------------------------------------ the parent

def run_child(arguments):
    """Runs this script in a fresh process with `arguments`; returns the dict it printed."""
    process = subprocess.run([sys.executable, os.path.abspath(__file__), *arguments], capture_output=True, text=True)
    lines = [line for line in process.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if process.returncode or not lines:
        tail = "\n".join(process.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"The child process {arguments} failed (exit {process.returncode}):\n{tail}")
    return json.loads(lines[-1][len(RESULT_PREFIX):])


def common_arguments(args):
    return ["--base-filters", str(args.base_filters), "--ema", str(args.ema), "--guidance", str(args.guidance)]


def print_training(rows):
    print(f"\n{'shape':9s} {'batch':>5s} {'tfgen ms/step':>14s} {'hand ms/step':>13s} {'tfgen/hand':>10s} {'best':>6s} "
          f"{'tfgen CPU ms':>13s} {'hand CPU ms':>12s} {'CPU ratio':>10s}")
    for row in rows:
        print(f"{'x'.join(map(str, row['image_shape'])):9s} {row['batch_size']:5d} {row['tfgen_ms_per_step']:14.1f} "
              f"{row['hand_written_ms_per_step']:13.1f} {row['tfgen_vs_hand_written']:10.3f} "
              f"{row['tfgen_vs_hand_written_best']:6.3f} {row['tfgen_cpu_ms_per_step']:13.1f} "
              f"{row['hand_written_cpu_ms_per_step']:12.1f} {row['tfgen_vs_hand_written_cpu']:10.3f}")
    print(f"\n{'shape':9s} {'RSS start':>10s} {'tfgen warm-up':>14s} {'hand warm-up':>13s} {'rounds peak':>12s}  "
          f"(MiB; the warm-ups: peak over the RSS before)")
    for row in rows:
        memory = row["memory"]
        print(f"{'x'.join(map(str, row['image_shape'])):9s} {memory['rss_start_mib']:10.0f} "
              f"{memory['tfgen_warmup_peak_mib'] - memory['rss_start_mib']:+14.0f} "
              f"{memory['hand_written_warmup_peak_mib'] - memory['rss_before_hand_written_mib']:+13.0f} "
              f"{memory['timed_rounds_peak_mib']:12.0f}")


def print_sampling(rows, memory_rows):
    print(f"\n{'batch':>5s} {'steps':>5s} {'in-graph ms/image':>18s} {'Python ms/image':>16s} {'in-graph/Python':>16s} "
          f"{'best':>6s} {'CPU ms in-graph':>16s} {'CPU ms Python':>14s} {'CPU ratio':>10s} {'max |diff|':>11s}")
    for row in rows:
        print(f"{row['batch']:5d} {row['steps']:5d} {row['in_graph_ms_per_image']:18.1f} "
              f"{row['python_ms_per_image']:16.1f} {row['in_graph_over_python']:16.3f} "
              f"{row['in_graph_over_python_best']:6.3f} {row['in_graph_cpu_ms_per_image']:16.1f} "
              f"{row['python_cpu_ms_per_image']:14.1f} {row['in_graph_over_python_cpu']:10.3f} "
              f"{row['max_abs_pixel_difference']:11.2e}")
    if memory_rows:
        print(f"\n{'steps':>5s} {'batch':>5s} {'RSS before':>11s} {'peak':>7s} {'peak - before':>14s} "
              f"{'first call peak':>16s}  (MiB, in-graph sample_ddim, one fresh process each)")
        for row in memory_rows:
            print(f"{row['steps']:5d} {row['batch']:5d} {row['rss_before_mib']:11.0f} {row['peak_mib']:7.0f} "
                  f"{row['peak_mib'] - row['rss_before_mib']:+14.1f} {row['first_call_peak_mib']:16.0f}")


def parse_shape(text):
    """"HxWxC" -> (H, W, C), a shape the U-Net builds (`tfgen.networks.shapes.check_image_shape`)."""
    try:
        shape = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        shape = ()
    if len(shape) != 3:
        raise argparse.ArgumentTypeError(f"an image shape is HxWxC, e.g. 32x32x3; received {text!r}")
    try:
        return check_image_shape(shape, argument="the image shape")
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def shape_argument(text):
    parse_shape(text)
    return text.lower()


def positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"a positive integer is expected; received {text!r}")
    return value


def parse_arguments(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"small sizes, a few minutes on 2 CPU cores: {QUICK}")
    parser.add_argument("--parts", nargs="+", choices=("train", "sample"), default=["train", "sample"])
    parser.add_argument("--base-filters", type=positive_int, help=f"the U-Net's width (default {FULL['base_filters']}, "
                        f"the recipe's; --quick {QUICK['base_filters']})")
    parser.add_argument("--ema", type=float, default=Diffusion.recipe.model["ema"],
                        help="the moving average's decay in both training steps (0: none; default the recipe's)")
    parser.add_argument("--shapes", nargs="+", type=shape_argument, default=list(SHAPES), help="training image shapes")
    parser.add_argument("--batch-size", type=positive_int, help=f"training batch (default {FULL['batch_size']}, the "
                        f"recipe's; --quick {QUICK['batch_size']})")
    parser.add_argument("--steps", type=positive_int, help=f"timed training steps per round (default {FULL['steps']}; "
                        f"--quick {QUICK['steps']})")
    parser.add_argument("--rounds", type=positive_int, help=f"timed rounds after the warm-up one (default "
                        f"{FULL['rounds']}; --quick {QUICK['rounds']})")
    parser.add_argument("--sample-shape", type=shape_argument, default="28x28x1", help="the sampled images' shape")
    parser.add_argument("--sample-batch", type=positive_int, help=f"the large sampling batch (default "
                        f"{FULL['sample_batch']}; --quick {QUICK['sample_batch']})")
    parser.add_argument("--sample-steps", nargs="+", type=positive_int, default=[10, 50, 250], help="DDIM steps")
    parser.add_argument("--guidance", type=float, default=1.0, help="the guidance scale of both samplers")
    parser.add_argument("--repeats", type=positive_int, help=f"timed calls per sampling setting (default "
                        f"{FULL['repeats']}; --quick {QUICK['repeats']})")
    parser.add_argument("--json", default=None, help="the results file (default benchmarks/results/"
                        "diffusion_speed.json, --quick diffusion_speed_quick.json)")
    # The children of the parent run (one process per training shape and per sampling memory setting).
    parser.add_argument("--child", choices=("train", "memory"), help=argparse.SUPPRESS)
    parser.add_argument("--shape", type=shape_argument, help=argparse.SUPPRESS)
    parser.add_argument("--export-dir", help=argparse.SUPPRESS)
    parser.add_argument("--memory-steps", type=positive_int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    for name, value in (QUICK if args.quick else FULL).items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    timesteps = Diffusion.recipe.model["timesteps"]
    if max(args.sample_steps) > timesteps:
        parser.error(f"--sample-steps must be at most the recipe's timesteps ({timesteps}); received "
                     f"{max(args.sample_steps)}")
    if not 0.0 <= args.ema < 1.0:
        parser.error(f"--ema must be in [0, 1) (0: no moving average); received {args.ema}")
    if args.guidance < 0.0:
        parser.error(f"--guidance must be non-negative; received {args.guidance}")
    return args


def main(argv=None):
    args = parse_arguments(argv)
    if args.child == "train":
        print(RESULT_PREFIX + json.dumps(train_child(args)))
        return
    if args.child == "memory":
        print(RESULT_PREFIX + json.dumps(memory_child(args)))
        return

    started = time.perf_counter()
    load_start = os.getloadavg()
    print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, {os.cpu_count()} CPUs, devices "
          f"{[d.device_type for d in tf.config.list_physical_devices()]}; base filters {args.base_filters}"
          + (" (--quick)" if args.quick else ""), flush=True)
    results = {"args": {key: value for key, value in vars(args).items() if not key.startswith(("child", "shape",
                                                                                               "export", "memory"))}}
    if "train" in args.parts:
        rows = []
        for shape in args.shapes:
            print(f"training {shape} ...", flush=True)
            rows.append(run_child(["--child", "train", "--shape", shape, "--batch-size", str(args.batch_size),
                                   "--steps", str(args.steps), "--rounds", str(args.rounds), *common_arguments(args)]))
        results["training"] = rows
        results["training_seconds"] = time.perf_counter() - started
        print_training(rows)
    if "sample" in args.parts:
        with tempfile.TemporaryDirectory() as folder:
            print("exporting the conditional model ...", flush=True)
            path, export_s = export_sampler(args, folder)
            print(f"  exported in {export_s:.0f} s; timing the samplers ...", flush=True)
            rows, load_s = time_sampling(path, args)
            memory_rows = []
            for steps in args.sample_steps:
                print(f"memory at {steps} steps ...", flush=True)
                memory_rows.append(run_child(["--child", "memory", "--export-dir", path, "--memory-steps", str(steps),
                                              "--sample-batch", str(args.sample_batch), *common_arguments(args)]))
        results["sampling_seconds"] = time.perf_counter() - started - results.get("training_seconds", 0.0)
        results["sampling"] = {"rows": rows, "export_s": export_s, "load_s": load_s,
                               "guidance_scale": args.guidance, "eta": 0.0,
                               "python_loop_guidance": "one denoise call per step on a doubled batch"}
        results["sampling_memory"] = memory_rows
        print_sampling(rows, memory_rows)
    results.update(seconds=time.perf_counter() - started, load_average_start=load_start,
                   load_average_end=os.getloadavg(), tensorflow=tf.__version__, keras=keras.__version__,
                   cpus=os.cpu_count(), platform=platform.platform(),
                   devices=[d.device_type for d in tf.config.list_physical_devices()])
    name = "diffusion_speed_quick.json" if args.quick else "diffusion_speed.json"
    path = args.json or os.path.join(RESULTS_DIR, name)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", encoding="utf-8") as stream:
        json.dump(results, stream, indent=1)
    print(f"\n{results['seconds']:.0f} s; results written to {os.path.relpath(path)}")


if __name__ == "__main__":
    main()
