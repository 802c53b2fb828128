"""A behaviour snapshot of every registered model, to compare two versions of tfgen bit for bit.

A restructuring must not change what a run computes. This script trains
every registered model (and a few non-default option sets) for a smoke run
on real MNIST with a fixed seed through `tfgen.runs.train`, and writes, per
run, the history (every logged number), every variable of the final model
by its path, and a batch of samples drawn with a fixed seed. Run it on the
old and the new code, then compare:

    python benchmarks/behaviour_snapshot.py write OUT_OLD     # on the old checkout
    python benchmarks/behaviour_snapshot.py write OUT_NEW     # on the new one
    python benchmarks/behaviour_snapshot.py compare OUT_OLD OUT_NEW
    python benchmarks/behaviour_snapshot.py write OUT cvae vae   # only these runs

`compare` prints one line per run: "identical", or what differs (the
history keys, the variables and the largest absolute difference). The
exit status is 1 when anything differs. Only what both snapshots hold is
compared, and a run or variable one side lacks is listed.

Runs need the MNIST files (TFGEN_DATA_DIR, as for the test suite).
"""

import json
import os
import re
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TFGEN_OFFLINE", "1")
_SHARED_DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data")
if "TFGEN_DATA_DIR" not in os.environ and os.path.isdir(_SHARED_DATA):
    os.environ["TFGEN_DATA_DIR"] = os.path.abspath(_SHARED_DATA)

import numpy as np  # noqa: E402

#: The runs: (name, registered model, options of `tfgen.runs.train`); every model at its recipe, and the
#: option sets whose code paths the recipes leave out.
RUNS = [(name, name, {}) for name in (
    "cgan", "cvae", "dcgan", "gumbel_ssvae", "infogan", "mmd_vae", "ssvae", "vae", "vhe", "vhe_unsupervised")] + [
    ("vae_mlp_iwae", "vae", {"networks": "mlp", "num_importance_samples": 3, "analytic_kl": False}),
    ("cvae_concat_gaussian", "cvae", {"conditioning": "concat", "beta": 1.0, "likelihood": "gaussian_learned",
                                      "binarization": "none"}),
    ("dcgan_ema", "dcgan", {"generator_ema": 0.9}),
    ("vhe_unsupervised_2_epochs", "vhe_unsupervised", {"smoke": False, "epochs": 2, "steps_per_epoch": 3,
                                                        "train_examples": 256}),
]


def _samples(model):
    import tensorflow as tf

    seed = tf.constant([3, 4], tf.int64)
    if model.conditional:
        return np.asarray(model.sample(8, seed=seed, labels=np.arange(8) % model.num_classes))
    return np.asarray(model.sample(8, seed=seed))


def write(out, names=()):
    """Each run in a fresh process: a run's numbers must not depend on what the process ran before (the CVAE's
    graph rewrites do: its last bits differ after another model trained in the same process)."""
    import subprocess

    os.makedirs(out, exist_ok=True)
    for name, _, _ in RUNS:
        if not names or name in names:
            subprocess.run([sys.executable, os.path.abspath(__file__), "write-one", out, name], check=True)


def write_one(out, run_name):
    from tfgen import runs

    for name, model_name, options in RUNS:
        if name != run_name:
            continue
        options = {"smoke": True, "dataset": "mnist", "verbose": 0, **options}
        with tempfile.TemporaryDirectory() as folder:
            trainer = runs.train(model_name, out=os.path.join(folder, "run"), **options)
            model = trainer.model
            arrays = {f"var:{variable.path}": np.asarray(variable) for variable in model.variables}
            arrays["samples"] = _samples(model)
            np.savez(os.path.join(out, f"{name}.npz"), **arrays)
            with open(os.path.join(out, f"{name}.history.json"), "w", encoding="utf-8") as stream:
                json.dump(trainer.history, stream, indent=1, sort_keys=True)
        print(f"{name}: {len(arrays) - 1} variables, {len(trainer.history)} epochs", flush=True)


def _flat(entry, prefix=""):
    for key, value in entry.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _by_position(arrays):
    """{key: array} with each variable named by its position in `model.variables` and its path without Keras'
    per-process counters ("seed_generator_12/..." -> "seed_generator/..."): how many models a process made
    before this one is not behaviour."""
    named, position = {}, 0
    for key in arrays.files:
        if key.startswith("var:"):
            path = re.sub(r"_\d+(?=/|$)", "", key[len("var:"):])
            named[f"var {position:03d} {path}"] = arrays[key]
            position += 1
        else:
            named[key] = arrays[key]
    return named


def compare(old, new):
    different = False
    for name, _, _ in RUNS:
        paths = [os.path.join(folder, f"{name}.npz") for folder in (old, new)]
        if not all(os.path.isfile(path) for path in paths):
            print(f"{name}: missing in {[path for path in paths if not os.path.isfile(path)]}")
            different = True
            continue
        problems = []
        histories = []
        for folder in (old, new):
            with open(os.path.join(folder, f"{name}.history.json"), encoding="utf-8") as stream:
                histories.append(json.load(stream))
        if len(histories[0]) != len(histories[1]):
            problems.append(f"{len(histories[0])} against {len(histories[1])} epochs")
        for epoch, (before, after) in enumerate(zip(*histories), 1):
            before, after = dict(_flat(before)), dict(_flat(after))
            timing = ("seconds", "images_per_second")
            changed = sorted(key for key in set(before) & set(after)
                             if key not in timing and before[key] != after[key])
            only = sorted(set(before) ^ set(after))
            if changed:
                problems.append(f"epoch {epoch} history differs: {changed}")
            if only:
                problems.append(f"epoch {epoch} history keys on one side only: {only}")
        with np.load(paths[0]) as old_file, np.load(paths[1]) as new_file:
            before, after = _by_position(old_file), _by_position(new_file)
            for key in sorted(set(before) | set(after)):
                if key not in before or key not in after:
                    problems.append(f"{key} on one side only")
                elif before[key].shape != after[key].shape or not np.array_equal(before[key], after[key]):
                    gap = (float(np.max(np.abs(before[key].astype(np.float64) - after[key].astype(np.float64))))
                           if before[key].shape == after[key].shape else "shape")
                    problems.append(f"{key} differs (max |difference| {gap})")
        different |= bool(problems)
        print(f"{name}: " + ("identical" if not problems else "; ".join(problems)))
    return 1 if different else 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "write":
        write(argv[1], argv[2:])
        return 0
    if len(argv) == 3 and argv[0] == "write-one":
        write_one(argv[1], argv[2])
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        return compare(argv[1], argv[2])
    print(__doc__.split("\n\n")[1], file=sys.stderr)
    print("usage: behaviour_snapshot.py write OUT [RUN ...] | compare OLD NEW", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
