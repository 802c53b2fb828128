"""The figures of docs/models/diffusion.md, drawn from a class-conditional diffusion export alone.

    python benchmarks/diffusion_figures.py saved_models/mnist_diffusion --out-dir docs/figures

Writes three PNG files into --out-dir:

* `diffusion_denoising.png`: the reverse process of a few images, one row
  per image, columns from pure noise (left) to the finished image (right):
  the predicted x_0 at evenly spaced steps of a 50-step DDIM loop run here
  in Python over the export's `denoise` signature (the loop a user of
  `denoise` writes; the export's `sample_ddim` runs the same loop in its
  graph);
* `diffusion_guidance.png`: one row per guidance scale (--scales), one
  column per class, the same seed in every cell of a column: what w does;
* `diffusion_class_rows.png`: --per-class samples of every class at the
  export's own `sample` settings, one row per class.
"""

import argparse
import os

import numpy as np

from tfgen.models.diffusion import Schedule, noise_schedule
from tfgen.plotting.common import class_names_for, plot_images
from tfgen.serving import ExportedModel


def denoising_sequence(exported, seeds, labels, steps=50, columns=10, guidance_scale=3.0):
    """The predicted x_0 (in [0, 1]) of DDIM (eta = 0) at `columns` evenly spaced steps, per seed:
    (len(seeds) * columns, H, W, C), row-major; the last column is the finished image."""
    config = exported.manifest["model_config"]
    schedule = Schedule(noise_schedule(config["schedule"], config["timesteps"]))
    denoise = exported.signature("denoise")
    timesteps = np.round(np.linspace(schedule.timesteps - 1, 0, steps)).astype(np.int32)
    rng = np.random.default_rng(int(seeds[0]))
    images = rng.standard_normal((len(seeds), *exported.image_shape)).astype(np.float32)
    shown = set(np.round(np.linspace(0, steps - 1, columns)).astype(int))
    null = np.full(len(labels), exported.num_classes, np.int64)
    frames = []
    for index, t in enumerate(timesteps):
        abar = schedule.alphas_cumprod[t]
        abar_prev = schedule.alphas_cumprod[timesteps[index + 1]] if index + 1 < steps else 1.0
        t_batch = np.full(len(seeds), t, np.int32)
        both = denoise(noisy_images=np.concatenate([images, images]), timestep=np.concatenate([t_batch, t_batch]),
                       label=np.concatenate([labels, null]))["noise"].numpy()
        conditional, unconditional = np.split(both, 2)
        eps = conditional + guidance_scale * (conditional - unconditional)
        x0 = np.clip((images - np.sqrt(1 - abar) * eps) / np.sqrt(abar), -1, 1)
        eps = (images - np.sqrt(abar) * x0) / np.sqrt(1 - abar)
        images = (np.sqrt(abar_prev) * x0 + np.sqrt(1 - abar_prev) * eps).astype(np.float32)
        if index in shown:
            frames.append((x0 + 1) / 2)
    return np.stack(frames, axis=1).reshape(-1, *exported.image_shape), sorted(shown)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("export", help="saved_models/<name> of a conditional_diffusion export")
    parser.add_argument("--out-dir", default="docs/figures")
    parser.add_argument("--scales", default="0,1,3,5", help="the guidance scales of the grid's rows")
    parser.add_argument("--steps", type=int, default=50, help="DDIM steps of every figure")
    parser.add_argument("--per-class", type=int, default=10)
    args = parser.parse_args()
    exported = ExportedModel(args.export)
    classes = exported.num_classes
    names = class_names_for(classes, exported.class_names)
    os.makedirs(args.out_dir, exist_ok=True)

    labels = np.arange(min(classes, 6), dtype=np.int64)
    frames, shown = denoising_sequence(exported, np.arange(len(labels)) + 100, labels, steps=args.steps)
    path = plot_images(frames, os.path.join(args.out_dir, "diffusion_denoising.png"),
                       title=f"predicted x_0 along a {args.steps}-step DDIM loop (steps {shown[0] + 1} to "
                             f"{shown[-1] + 1}), guidance 3", rows=len(labels),
                       row_labels=[names[label] for label in labels])
    print("wrote", path)

    scales = [float(value) for value in args.scales.split(",")]
    seeds = np.tile(np.arange(classes, dtype=np.int64) + 200, len(scales))
    class_ids = np.tile(np.arange(classes, dtype=np.int64), len(scales))
    images = np.concatenate([
        exported.sample(seeds[:classes], class_ids[:classes], signature="sample_ddim", steps=args.steps, eta=0.0,
                        guidance_scale=scale) for scale in scales])
    path = plot_images(images, os.path.join(args.out_dir, "diffusion_guidance.png"),
                       title="rows: guidance scale w; columns: classes, one seed each", rows=len(scales),
                       row_labels=[f"w = {scale:g}" for scale in scales])
    print("wrote", path)

    seeds = np.tile(np.arange(args.per_class, dtype=np.int64), classes)
    class_ids = np.repeat(np.arange(classes, dtype=np.int64), args.per_class)
    path = plot_images(exported.sample(seeds, class_ids), os.path.join(args.out_dir, "diffusion_class_rows.png"),
                       title="one row per class (the export's sample signature)", rows=classes, row_labels=names)
    print("wrote", path)


if __name__ == "__main__":
    main()
