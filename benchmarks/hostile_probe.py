"""A sweep of hostile inputs and faults against a tfgen source tree, each outcome classified (issue 27, "Measure it").

Usage:
    python benchmarks/hostile_probe.py --tree PATH --out results.json [--only CLASS] [--timeout 60] [--jobs 2]

Every case runs `python -m tfgen.cli ARGS` (or a small Python snippet) as a
subprocess with PYTHONPATH=<tree>, in a fresh temporary folder, with
TFGEN_DATA_DIR and TFDS_DATA_DIR passed through from this environment,
TFGEN_OFFLINE=1 and TF_CPP_MIN_LOG_LEVEL=2. A case is:

* an id prefixed by its class (paths, sizes, types, conflicts, signals,
  concurrency, formats; "why" for the issue's own examples);
* a setup that lays files in the folder (a copy of a tiny trained run, a
  folder of user files, a corrupt history.json, ...; the tiny run, its
  export and a conditional model's are built once per sweep);
* the command, and optionally a fault: a signal sent after N seconds or once
  a file appears, a file truncated while the command runs, or a second
  command started first (a concurrent writer);
* an expectation: "refuse" (non-zero exit, one line of error matching a
  regex that names the real cause), "succeed" (exit 0), "either" (one of
  those two), or "stopped" (a signalled command ends, non-zero, at most one
  line); and checks of the files (user files byte-identical, a run folder
  still whole, every export version complete, ...).

Outcomes (the first that applies):

* hang: killed at --timeout;
* traceback: "Traceback" on stderr, death by a signal other than the one
  injected (a segfault, an abort), or exit 1 with "unexpected";
* silent: exit 0 where a refusal was expected, or a failed file check
  (something lost, overwritten or half-written);
* misleading: non-zero exit whose message does not match the expected
  cause, or more than one line of error on stderr;
* clear: what was expected.

Each injected fault (signal, kill, truncation, concurrent command) is
counted with whether the case's file checks passed (nothing lost).

Prints a markdown table of class x outcome and the non-clear cases; writes
every case's details to --out (JSON). Each child runs under `nice` with its
address space capped (--memory-gb), so a runaway allocation is a crash of the
child, not of the machine.
"""

import argparse
import concurrent.futures
import dataclasses
import glob
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from typing import Callable, Optional

CLASSES = ("why", "paths", "sizes", "types", "conflicts", "signals", "concurrency", "formats")
OUTCOMES = ("clear", "misleading", "traceback", "silent", "hang")

#: Start-up lines of TensorFlow's C++ runtime and absl (not tfgen's words).
_NOISE = re.compile(r"^(WARNING: All log messages before absl::InitializeLog|[IWEF]\d{4} [\d:.]+ +\d+ "
                    r"[\w.]+:\d+\]|\s*$)")
#: A library's Python warning ("file.py:12: UserWarning: ...") and the source line printed under it.
_LIBRARY_WARNING = re.compile(r"^\S+\.py:\d+: \w*Warning: ")
#: tfgen's own warning and note lines (not errors).
_TFGEN_NOTE = re.compile(r"^tfgen( \w+)?: (warning|note): ")

TRAIN = ["train", "vae", "--dataset", "mnist", "--train-examples", "64", "--batch-size", "32", "--epochs", "1"]
#: A run that trains for a while (about 0.5 s an epoch on one core), checkpointing every step.
LONG_TRAIN = TRAIN[:-1] + ["200", "--checkpoint-every-steps", "1"]

SNIPPET_WRAPPER = r"""
import sys
_EXPECTED = (ValueError, TypeError, LookupError, OSError)
try:
    exec(compile(sys.argv[1], "<case>", "exec"), {"__name__": "__case__"})
except _EXPECTED as error:
    line = (str(error).strip().splitlines() or [""])[0]
    print(f"error: {type(error).__name__}: {line}", file=sys.stderr)
    sys.exit(2)
except Exception as error:
    line = (str(error).strip().splitlines() or [""])[0]
    print(f"unexpected {type(error).__name__}: {line}", file=sys.stderr)
    sys.exit(1)
"""

_SNIPPET_PRELUDE = (
    "import numpy as np\n"
    "from tfgen.data import from_arrays\n"
    "from tfgen.models import MODELS\n"
    "from tfgen.training import Trainer\n"
    "def tiny_fit(data, **options):\n"
    "    model = MODELS['vae'](latent_dim=2)\n"
    "    Trainer(model, data, 'run', epochs=1, batch_size=4, verbose=0, **options).fit()\n"
)


# ------------------------------------------------------------------------------------------------ the cases


@dataclasses.dataclass
class Fault:
    """A fault injected into the case's command: `kind` is "signal", "truncate" or (set by a case with
    `concurrent`) "concurrent"; `after` seconds from the start, or `when` a glob (relative to the case
    folder) matches."""

    kind: str
    signal: int = 0
    repeat: int = 1
    gap: float = 0.3
    path: str = ""
    after: Optional[float] = None
    when: Optional[str] = None


@dataclasses.dataclass
class Case:
    id: str
    argv: Optional[list] = None  # tfgen arguments
    snippet: Optional[str] = None  # or Python code (numpy, from_arrays, MODELS, Trainer, tiny_fit in scope)
    setup: Optional[Callable] = None  # setup(ctx)
    expect: str = "refuse"  # refuse | succeed | either | stopped
    match: str = ""  # the cause a refusal must name (regex, case-insensitive)
    warn: str = ""  # succeed: a line stderr must hold (regex)
    checks: tuple = ()  # check(ctx) -> None or what was lost
    fault: Optional[Fault] = None
    concurrent: Optional[list] = None  # tfgen arguments started first (a concurrent writer)
    lead: object = None  # the primary command starts `lead` seconds, or once the glob `lead` matches, after it
    env: Optional[dict] = None
    timeout: Optional[float] = None

    @property
    def kind(self):
        return self.id.split(":", 1)[0]


def snapshot(ctx, relative):
    """Records the bytes of every file under `relative` (checked by `unchanged`)."""
    ctx.snapshots[relative] = _hashes(ctx.path(relative))


def _hashes(root):
    if os.path.isfile(root):
        return {"": _hash(root)}
    found = {}
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if name == ".tfgen.lock" or os.path.islink(path):
                continue
            found[os.path.relpath(path, root)] = _hash(path)
    return found


def _hash(path):
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


def unchanged(relative):
    def check(ctx):
        before = ctx.snapshots[relative]
        now = _hashes(ctx.path(relative)) if os.path.exists(ctx.path(relative)) else {}
        lost = [name or relative for name, digest in before.items() if now.get(name) != digest]
        return f"{relative}: changed or gone: {', '.join(sorted(lost)[:4])}" if lost else None
    check.__name__ = f"unchanged({relative})"
    return check


def contents_kept(relative):
    """Every file recorded by `snapshot(relative)` is still somewhere under `relative` (moving is fine)."""
    def check(ctx):
        now = set(_hashes(ctx.path(relative)).values()) if os.path.exists(ctx.path(relative)) else set()
        lost = [name for name, digest in ctx.snapshots[relative].items()
                if digest not in now and os.path.basename(name).startswith("ckpt-")]
        return f"{relative}: checkpoint files lost: {', '.join(sorted(lost)[:4])}" if lost else None
    check.__name__ = f"contents_kept({relative})"
    return check


def run_whole(relative):
    """The run folder's config.json and history.json parse, and its checkpoint index names an existing
    checkpoint (or none was ever written)."""
    def check(ctx):
        root = ctx.path(relative)
        if not os.path.isdir(root):
            return None if not ctx.snapshots.get(relative) else f"{relative}: gone"
        for name in ("config.json", "history.json"):
            path = os.path.join(root, name)
            if os.path.exists(path):
                try:
                    with open(path) as stream:
                        json.load(stream)
                except (ValueError, OSError) as error:
                    return f"{relative}/{name} unreadable: {error}"
        index = os.path.join(root, "checkpoints", "checkpoint")
        if os.path.exists(index):
            with open(index) as stream:
                text = stream.read()
            found = re.search(r'^model_checkpoint_path: "([^"]+)"', text, re.M)
            if not found:
                return f"{relative}/checkpoints/checkpoint names no checkpoint"
            target = found.group(1)
            target = target if os.path.isabs(target) else os.path.join(root, "checkpoints", target)
            if not os.path.exists(target + ".index"):
                return f"{relative}/checkpoints/checkpoint names a missing {os.path.basename(target)}"
        return None
    check.__name__ = f"run_whole({relative})"
    return check


def resumable(relative, *extra):
    """`tfgen train ... --resume` on the run succeeds (costs one more tiny run)."""
    def check(ctx):
        result = ctx.tfgen(TRAIN[:-1] + ["2", "--out", relative, "--resume", *extra])
        if result["rc"] != 0:
            return f"{relative} not resumable: {result['message']}"
        return None
    check.__name__ = f"resumable({relative})"
    return check


def exports_whole(relative):
    """Every version folder of saved_models/<name> is complete (saved_model.pb and the manifest)."""
    def check(ctx):
        root = ctx.path(relative)
        if not os.path.isdir(root):
            return None
        for name in os.listdir(root):
            version = os.path.join(root, name)
            if name.isdigit() and os.path.isdir(version):
                missing = [part for part in ("saved_model.pb", "tfgen_manifest.json")
                           if not os.path.exists(os.path.join(version, part))]
                if missing:
                    return f"{relative}/{name} half-written (no {', '.join(missing)})"
        return None
    check.__name__ = f"exports_whole({relative})"
    return check


def image_or_absent(relative, magic=b"\x89PNG"):
    def check(ctx):
        path = ctx.path(relative)
        if not os.path.exists(path):
            return None
        with open(path, "rb") as stream:
            head = stream.read(8)
        if not head.startswith(magic):
            return f"{relative} is not a whole {magic!r} file ({os.path.getsize(path)} bytes)"
        return None
    check.__name__ = f"image_or_absent({relative})"
    return check


def json_or_absent(relative):
    def check(ctx):
        path = ctx.path(relative)
        if not os.path.exists(path):
            return None
        try:
            with open(path) as stream:
                json.load(stream)
        except ValueError:
            return f"{relative} half-written"
        return None
    check.__name__ = f"json_or_absent({relative})"
    return check


def jpeg_if_written(relative):
    return image_or_absent(relative, magic=b"\xff\xd8")


def concurrent_ok(ctx):
    """The concurrent command (the first writer) succeeded."""
    result = ctx.concurrent_result
    if result is None or result["rc"] == 0:
        return None
    return f"the concurrent command failed (rc {result['rc']}): {result['message']}"


def _png(path, value=128, size=(28, 28), mode="L"):
    from PIL import Image
    import numpy as np

    os.makedirs(os.path.dirname(path), exist_ok=True)
    rng = np.random.default_rng(value)
    shape = size[::-1] + ((3,) if mode == "RGB" else ())
    Image.fromarray(rng.integers(0, 256, size=shape, dtype=np.uint8), mode).save(path)


def image_folder(ctx, relative="images", classes=("a", "b"), per_class=10):
    for label in classes:
        for index in range(per_class):
            _png(ctx.path(f"{relative}/{label}/{index:02d}.png"), value=index)


def user_files(ctx, relative):
    os.makedirs(ctx.path(relative), exist_ok=True)
    ctx.write(f"{relative}/thesis.txt", "chapter one\n" * 50)
    ctx.write(f"{relative}/data/results.csv", "a,b\n1,2\n")
    snapshot(ctx, relative)


def copy_run(ctx, relative="run", source="run"):
    ctx.copy(source, relative)
    snapshot(ctx, relative)


def copy_exports(ctx):
    ctx.copy("saved_models", "saved_models")
    snapshot(ctx, "saved_models")


def _config(text):
    return lambda ctx: ctx.write("c.json", text)


def _seq(*steps):
    def setup(ctx):
        for step in steps:
            step(ctx)
    return setup


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tf_config(ports, index=0):
    return json.dumps({"cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
                       "task": {"type": "worker", "index": index}})


def _hold_port(ctx):
    """Binds and listens on a port for the case's duration; its TF_CONFIG names that port."""
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    ctx.resources.append(held)
    ctx.env["TF_CONFIG"] = _tf_config([held.getsockname()[1], _free_port()])


def _killed_before_checkpoint(ctx):
    """A fresh train killed (SIGKILL) once config.json exists, before any checkpoint."""
    ctx.tfgen(LONG_TRAIN + ["--out", "r"], fault=Fault("signal", signal.SIGKILL, when="r/config.json"))
    snapshot(ctx, "r")


def cases():
    S = signal
    EVAL = ["--iw-samples", "2", "--max-images", "10", "--quiet"]
    run_checks = (run_whole("run"), contents_kept("run"))
    table = [
        # ----------------------------------------------------------------------- the issue's own examples
        Case("why:evaluate-out-is-run-config", ["evaluate", "run", "--out", "run/config.json", *EVAL], setup=copy_run,
             match=r"config\.json|--out|run folder", checks=(unchanged("run"),)),
        Case("why:export-name-holds-user-tmp-folder", ["export", "run", "--name", "x"],
             setup=_seq(copy_run, lambda ctx: user_files(ctx, "saved_models/x/.tmp-foo")),
             expect="succeed", checks=(unchanged("saved_models/x/.tmp-foo"), exports_whole("saved_models/x"))),
        Case("why:second-resume-from", TRAIN[:-1] + ["2", "--out", "run", "--resume-from", "ckpt-1"],
             setup=_seq(copy_run, lambda ctx: ctx.tfgen(TRAIN[:-1] + ["2", "--out", "run", "--resume-from", "ckpt-1"]),
                        lambda ctx: snapshot(ctx, "run")),
             expect="either", match=r"resume.from|ckpt-1|superseded", checks=run_checks),
        Case("why:nonfinite-every-update-skipped", TRAIN[:-1] + ["2", "--out", "r", "--batch-size", "8",
                                                                 "--learning-rate", "1e30",
                                                                 "--max-nonfinite-steps", "1000"],
             match=r"non-finite|skipped|applied", checks=(run_whole("r"),)),
        Case("why:sigkill-before-checkpoint-then-resume", TRAIN + ["--out", "r", "--resume"],
             setup=_killed_before_checkpoint, expect="either", match=r"checkpoint|--resume", checks=(run_whole("r"),)),
        Case("why:sigkill-before-checkpoint-then-fresh-train", TRAIN + ["--out", "r"],
             setup=_killed_before_checkpoint, expect="either", match=r"--resume|exists|already|r\b",
             checks=(run_whole("r"),)),
        Case("why:export-while-training-rotates-checkpoints", ["export", "run", "--name", "x"], setup=copy_run,
             concurrent=TRAIN[:-1] + ["25", "--out", "run", "--resume", "--checkpoint-every-steps", "1"],
             lead="run/checkpoints/ckpt-6.index", expect="either", match=r"lock|training|checkpoint|busy",
             checks=(concurrent_ok, exports_whole("saved_models/x"), run_whole("run"))),
        Case("why:multiworker-peer-never-starts-sigint", TRAIN + ["--out", "r", "--strategy", "multiworker"],
             setup=lambda ctx: ctx.env.update(TF_CONFIG=_tf_config([_free_port(), _free_port()])),
             fault=Fault("signal", S.SIGINT, after=8), expect="stopped", match=r"interrupt|worker|peer",
             checks=(run_whole("r"),)),
        Case("why:iw-samples-1e9", ["evaluate", "run", "--iw-samples", "1000000000", "--max-images", "10", "--quiet",
                                    "--out", "e.json"], setup=copy_run, match=r"iw.samples|importance"),
        Case("why:sample-label-2-to-40", ["sample", "--model", "saved_models/cvae", "--label", "1099511627776",
                                          "--out", "s.png"], setup=copy_exports, match=r"label"),
        Case("why:sample-grid-3000x3000", ["sample", "--model", "saved_models/vae", "--columns", "3000", "--rows",
                                           "3000", "--out", "s.png"], setup=copy_exports,
             match=r"columns|rows|grid|pixels", checks=(image_or_absent("s.png"),)),
        Case("why:out-folder-holds-user-files", TRAIN + ["--out", "mine"], setup=lambda ctx: user_files(ctx, "mine"),
             expect="either", match=r"mine|--out|not empty|holds", checks=(unchanged("mine"),)),
        Case("why:dataset-MNIST-capitals", TRAIN[:2] + ["--dataset", "MNIST"] + TRAIN[4:] + ["--out", "r"],
             expect="either", match=r"mnist"),
        Case("why:config-smoke-string-false", TRAIN + ["--out", "r", "--config", "c.json"],
             setup=_config('{"smoke": "false"}'), match=r"smoke"),
        Case("why:flag-and-set-differ", TRAIN + ["--out", "r", "--set", "batch_size=16"], match=r"batch.size"),
        Case("why:tf-config-with-default-strategy", TRAIN + ["--out", "r"],
             setup=lambda ctx: ctx.env.update(TF_CONFIG=_tf_config([_free_port(), _free_port()])),
             expect="succeed", warn=r"TF_CONFIG", checks=(run_whole("r"),)),
        Case("why:allow-changes-without-resume", TRAIN + ["--out", "r", "--allow-changes"], match=r"allow.changes"),
        Case("why:resume-with-changed-train-examples", TRAIN[:5] + ["32"] + TRAIN[6:-1] + ["2", "--out", "run", "--resume"],
             setup=copy_run, match=r"train.examples", checks=(unchanged("run"),)),
        Case("why:resume-from-points-into-another-run",
             TRAIN[:-1] + ["2", "--out", "run", "--resume-from", "../other/checkpoints/ckpt-1"],
             setup=_seq(copy_run, lambda ctx: copy_run(ctx, "other")), match=r"resume.from|other|another run",
             checks=(unchanged("run"), unchanged("other"))),
        Case("why:sample-out-jpg", ["sample", "--model", "saved_models/vae", "--out", "s.jpg"], setup=copy_exports,
             expect="either", match=r"\.png|jpe?g", checks=(jpeg_if_written("s.jpg"),)),
        Case("why:image-folder-symlink-loop", TRAIN[:2] + ["--dataset", "images"] + TRAIN[4:] + ["--out", "r"],
             setup=_seq(image_folder, lambda ctx: os.symlink("..", ctx.path("images/a/loop"))),
             expect="either", match=r"symlink|loop|images"),
        Case("why:arrays-5-channels", snippet="tiny_fit(from_arrays(np.zeros((8, 28, 28, 5), np.uint8)))",
             match=r"channel|shape"),
        Case("why:arrays-height-0", snippet="tiny_fit(from_arrays(np.zeros((8, 0, 28, 1), np.uint8)))",
             match=r"height|shape|empty|size"),
        Case("why:trainer-eager-no", snippet="tiny_fit(from_arrays(np.zeros((8, 28, 28, 1), np.uint8)), eager='no')",
             match=r"eager"),
        Case("why:train-only-image-folder", ["evaluate", "run", *EVAL, "--dataset", "images"],
             setup=_seq(copy_run, lambda ctx: image_folder(ctx, "images/train", classes=[str(i) for i in range(10)],
                                                           per_class=2)),
             expect="either", match=r"test|split|images|dataset", checks=(unchanged("run"),)),
        Case("why:train-on-train-only-image-folder", TRAIN[:2] + ["--dataset", "images"] + TRAIN[4:] + ["--out", "r"],
             setup=lambda ctx: image_folder(ctx, "images/train"), expect="either", match=r"test|split|images"),
        Case("why:worker-port-taken", TRAIN + ["--out", "r", "--strategy", "multiworker"], setup=_hold_port,
             match=r"port|address|in use|bind"),
        Case("why:set-non-json-value", TRAIN + ["--out", "r", "--set", "latent_dim=two"], match=r"latent.dim"),
        Case("why:config-non-json-value", TRAIN + ["--out", "r", "--config", "c.json"],
             setup=_config('{"learning_rate": NaN}'), match=r"learning.rate|c\.json|JSON"),
        Case("why:sample-label-huge", ["sample", "--model", "saved_models/cvae", "--label", "9" * 40, "--out",
                                       "s.png"], setup=copy_exports, match=r"label"),
        Case("why:corrupt-history-json", TRAIN[:-1] + ["2", "--out", "run", "--resume"],
             setup=_seq(copy_run, lambda ctx: ctx.write("run/history.json", '{"train/loss": [543.3,'),
                        lambda ctx: snapshot(ctx, "run")),
             match=r"history\.json", checks=(contents_kept("run"),)),

        # ----------------------------------------------------------------------------------------- paths
        Case("paths:out-is-a-file", TRAIN + ["--out", "f"], setup=lambda ctx: (ctx.write("f", "mine"),
                                                                             snapshot(ctx, "f")),
             match=r"\bf\b|not a directory|--out", checks=(unchanged("f"),)),
        Case("paths:out-under-a-file", TRAIN + ["--out", "f/run"], setup=lambda ctx: (ctx.write("f", "mine"),
                                                                                 snapshot(ctx, "f")),
             match=r"\bf\b|not a directory|--out", checks=(unchanged("f"),)),
        Case("paths:out-in-proc", TRAIN + ["--out", "/proc/tfgen-probe-run"], match=r"/proc|--out|denied|read-only"),
        Case("paths:saved-models-dir-inside-run", ["export", "run", "--name", "x", "--saved-models-dir", "run"],
             setup=copy_run, expect="either", match=r"saved.models.dir|run folder|\brun\b",
             checks=(contents_kept("run"), run_whole("run"))),
        Case("paths:out-with-dotdot", TRAIN + ["--out", "sub/../r"], setup=lambda ctx: os.makedirs(ctx.path("sub")),
             expect="succeed", checks=(run_whole("r"),)),
        Case("paths:out-unicode-name", TRAIN + ["--out", "rün-日本"], expect="succeed", checks=(run_whole("rün-日本"),)),
        Case("paths:out-name-300-chars", TRAIN + ["--out", "a" * 300], match=r"too long|--out"),
        Case("paths:export-name-escapes", ["export", "run", "--name", "../escape"], setup=copy_run,
             match=r"name|\.\./escape"),
        Case("paths:export-name-empty", ["export", "run", "--name", ""], setup=copy_run, match=r"name"),
        Case("paths:evaluate-missing-run", ["evaluate", "nothere", *EVAL], match=r"nothere"),
        Case("paths:sample-missing-model", ["sample", "--model", "saved_models/none", "--out", "s.png"],
             match=r"none"),
        Case("paths:sample-out-is-a-folder", ["sample", "--model", "saved_models/vae", "--out", "somedir"],
             setup=_seq(copy_exports, lambda ctx: user_files(ctx, "somedir")), match=r"somedir|png",
             checks=(unchanged("somedir"),)),
        Case("paths:sample-out-missing-parent", ["sample", "--model", "saved_models/vae", "--out", "nodir/s.png"],
             setup=copy_exports, expect="either", match=r"nodir", checks=(image_or_absent("nodir/s.png"),)),
        Case("paths:evaluate-out-is-history", ["evaluate", "run", *EVAL, "--out", "run/history.json"], setup=copy_run,
             match=r"history\.json|--out|run folder", checks=(unchanged("run"),)),
        Case("paths:export-of-an-export", ["export", "saved_models/vae", "--name", "y"], setup=copy_exports,
             match=r"run|config\.json|saved_models/vae", checks=(unchanged("saved_models"),)),
        Case("paths:dataset-folder-missing", TRAIN[:2] + ["--dataset", "./nofolder"] + TRAIN[4:] + ["--out", "r"],
             match=r"nofolder"),
        Case("paths:out-is-symlink-to-user-folder", TRAIN + ["--out", "link"],
             setup=lambda ctx: (user_files(ctx, "mine"), os.symlink("mine", ctx.path("link"))),
             expect="either", match=r"link|mine|--out|not empty", checks=(unchanged("mine"),)),

        # ----------------------------------------------------------------------------------------- sizes
        Case("sizes:batch-size-0", TRAIN[:7] + ["0"] + TRAIN[8:] + ["--out", "r"], match=r"batch.size"),
        Case("sizes:batch-size-negative", TRAIN[:7] + ["-1"] + TRAIN[8:] + ["--out", "r"], match=r"batch.size"),
        Case("sizes:batch-size-10-to-12", TRAIN[:7] + ["1000000000000"] + TRAIN[8:] + ["--out", "r"],
             match=r"batch.size"),
        Case("sizes:batch-larger-than-data", TRAIN[:7] + ["128"] + TRAIN[8:] + ["--out", "r"], expect="either",
             match=r"batch.size|examples"),
        Case("sizes:image-size-1", TRAIN + ["--out", "r", "--image-size", "1"], match=r"image.size|image.shape|1x1"),
        Case("sizes:image-size-100000", TRAIN + ["--out", "r", "--image-size", "100000"], match=r"image.size"),
        Case("sizes:sample-columns-0", ["sample", "--model", "saved_models/vae", "--columns", "0", "--out", "s.png"],
             setup=copy_exports, match=r"columns"),
        Case("sizes:sample-rows-1e9", ["sample", "--model", "saved_models/vae", "--rows", "1000000000", "--out",
                                       "s.png"], setup=copy_exports, match=r"rows|grid|pixels"),
        Case("sizes:epochs-0", TRAIN[:-1] + ["0", "--out", "r"], match=r"epochs"),
        Case("sizes:train-examples-0", TRAIN[:5] + ["0"] + TRAIN[6:] + ["--out", "r"], match=r"train.examples"),
        Case("sizes:latent-dim-0", TRAIN + ["--out", "r", "--latent-dim", "0"], match=r"latent.dim"),
        Case("sizes:evaluate-batch-size-0", ["evaluate", "run", *EVAL, "--batch-size", "0"], setup=copy_run,
             match=r"batch.size"),
        Case("sizes:seed-2-to-64", TRAIN + ["--out", "r", "--seed", str(2 ** 64)], match=r"seed"),
        Case("sizes:learning-rate-0", TRAIN + ["--out", "r", "--learning-rate", "0"], match=r"learning.rate"),
        Case("sizes:steps-per-epoch-0", TRAIN + ["--out", "r", "--steps-per-epoch", "0"], match=r"steps.per.epoch"),
        Case("sizes:evaluate-max-images-huge", ["evaluate", "run", "--iw-samples", "2", "--quiet", "--max-images",
                                                "1000000000000", "--batch-size", "1000"], setup=copy_run,
             expect="either", match=r"max.images"),

        # ----------------------------------------------------------------------------------------- types
        Case("types:config-bool-for-int", TRAIN + ["--out", "r", "--config", "c.json"],
             setup=_config('{"max_steps": true}'), match=r"max.steps"),
        Case("types:config-float-for-int", TRAIN + ["--out", "r", "--config", "c.json"],
             setup=_config('{"steps_per_epoch": 1.5}'), match=r"steps.per.epoch"),
        Case("types:config-list-for-str", TRAIN + ["--out", "r", "--config", "c.json"],
             setup=_config('{"binarization": ["none"]}'), match=r"binarization"),
        Case("types:config-str-for-float", TRAIN + ["--out", "r", "--config", "c.json"],
             setup=_config('{"learning_rate": "fast"}'), match=r"learning.rate"),
        Case("types:config-model-not-object", TRAIN + ["--out", "r", "--config", "c.json"],
             setup=_config('{"model": [2]}'), match=r"model"),
        Case("types:config-object-for-int", TRAIN + ["--out", "r", "--config", "c.json"],
             setup=_config('{"checkpoint_every_steps": {"a": 1}}'), match=r"checkpoint.every.steps"),
        Case("types:set-float-for-int", TRAIN + ["--out", "r", "--set", "latent_dim=2.5"], match=r"latent.dim"),
        Case("types:set-bool-for-int", TRAIN + ["--out", "r", "--set", "latent_dim=true"], match=r"latent.dim"),
        Case("types:set-str-for-list", TRAIN + ["--out", "r", "--set", "hidden_units=\"abc\"", "--set",
                                                "networks=\"mlp\""], match=r"hidden.units"),
        Case("types:flag-float-for-int", TRAIN[:-1] + ["1.5", "--out", "r"], match=r"epochs"),
        Case("types:sample-label-float", ["sample", "--model", "saved_models/cvae", "--label", "1.5", "--out",
                                          "s.png"], setup=copy_exports, match=r"label|1\.5"),
        Case("types:model-latent-dim-str", snippet="MODELS['vae'](latent_dim='2')", match=r"latent.dim"),
        Case("types:arrays-labels-float", snippet="tiny_fit(from_arrays(np.zeros((8, 28, 28, 1), np.uint8), "
                                                  "labels=np.full(8, 0.5)))", match=r"label"),
        Case("types:trainer-epochs-str", snippet="tiny_fit(from_arrays(np.zeros((8, 28, 28, 1), np.uint8)), "
                                                 "max_steps='3')", match=r"max.steps"),

        # ------------------------------------------------------------------------------------- conflicts
        Case("conflicts:config-vs-flag", TRAIN + ["--out", "r", "--config", "c.json"], setup=_config('{"epochs": 3}'),
             expect="succeed", checks=(run_whole("r"), lambda ctx: _config_value(ctx, "r", "epochs", 1))),
        Case("conflicts:config-set-flag-three-ways", TRAIN + ["--out", "r", "--config", "c.json", "--set",
                                                              "epochs=2"], setup=_config('{"epochs": 3}'),
             match=r"epochs"),
        Case("conflicts:resume-and-resume-from", TRAIN[:-1] + ["2", "--out", "run", "--resume", "--resume-from",
                                                               "ckpt-1"], setup=copy_run, expect="either",
             match=r"resume", checks=run_checks),
        Case("conflicts:data-dir-and-tfds-dir", TRAIN + ["--out", "r", "--data-dir", "d1", "--tfds-dir", "d2"],
             match=r"tfds.dir|data.dir"),
        Case("conflicts:set-same-name-twice", TRAIN + ["--out", "r", "--set", "latent_dim=2", "--set",
                                                       "latent_dim=3"], match=r"latent.dim"),
        Case("conflicts:analytic-kl-with-iwae", TRAIN + ["--out", "r", "--analytic-kl", "--num-importance-samples",
                                                         "5"], match=r"analytic.kl|importance"),
        Case("conflicts:resume-as-another-model", ["train", "cvae"] + TRAIN[2:-1] + ["2", "--out", "run", "--resume"],
             setup=copy_run, match=r"vae|model", checks=(unchanged("run"),)),
        Case("conflicts:evaluate-other-dataset", ["evaluate", "run", *EVAL, "--dataset", "fashion_mnist"],
             setup=copy_run, match=r"dataset|mnist", checks=(unchanged("run"),)),
        Case("conflicts:resume-with-new-seed", TRAIN[:-1] + ["2", "--out", "run", "--resume", "--seed", "5"],
             setup=copy_run, match=r"seed|allow.changes", checks=(unchanged("run"),)),
        Case("conflicts:resume-with-new-latent-dim", TRAIN[:-1] + ["2", "--out", "run", "--resume", "--latent-dim",
                                                                   "3"], setup=copy_run,
             match=r"latent.dim|allow.changes", checks=(unchanged("run"),)),
        Case("conflicts:export-other-model-into-name", ["export", "crun", "--name", "vae"],
             setup=_seq(copy_exports, lambda ctx: copy_run(ctx, "crun", "crun")), expect="either",
             match=r"vae|cvae|model", checks=(contents_kept("saved_models"), exports_whole("saved_models/vae"), _version_kept)),
        Case("conflicts:likelihood-vs-binarization", TRAIN + ["--out", "r", "--likelihood", "gaussian_learned",
                                                              "--binarization", "dynamic"], expect="either",
             match=r"binarization|likelihood"),

        # --------------------------------------------------------------------------------------- signals
        Case("signals:sigterm-during-train", LONG_TRAIN + ["--out", "r"], expect="stopped",
             fault=Fault("signal", S.SIGTERM, when="r/checkpoints/ckpt-3.index"), match=r"interrupt|SIGTERM|stop",
             checks=(run_whole("r"), resumable("r"))),
        Case("signals:sigint-during-train", LONG_TRAIN + ["--out", "r"], expect="stopped",
             fault=Fault("signal", S.SIGINT, when="r/checkpoints/ckpt-3.index"), match=r"interrupt|SIGINT|stop",
             checks=(run_whole("r"),)),
        Case("signals:sigint-twice-during-train", LONG_TRAIN + ["--out", "r"], expect="stopped",
             fault=Fault("signal", S.SIGINT, repeat=2, gap=0.2, when="r/checkpoints/ckpt-3.index"),
             match=r"interrupt|SIGINT|stop", checks=(run_whole("r"), resumable("r"))),
        Case("signals:sigterm-during-startup", LONG_TRAIN + ["--out", "r"], expect="stopped",
             fault=Fault("signal", S.SIGTERM, after=2.0), match=r"interrupt|SIGTERM|stop", checks=(run_whole("r"),)),
        Case("signals:sighup-during-train", LONG_TRAIN + ["--out", "r"], expect="stopped",
             fault=Fault("signal", S.SIGHUP, when="r/checkpoints/ckpt-3.index"), match=r"interrupt|SIGHUP|hang.?up|stop",
             checks=(run_whole("r"),)),
        Case("signals:sigkill-at-second-checkpoint", LONG_TRAIN + ["--out", "r"], expect="stopped",
             fault=Fault("signal", S.SIGKILL, when="r/checkpoints/ckpt-2*"), checks=(run_whole("r"), resumable("r"))),
        Case("signals:sigint-during-resume", TRAIN[:-1] + ["200", "--out", "run", "--resume",
                                                           "--checkpoint-every-steps", "1"],
             setup=copy_run, expect="stopped", fault=Fault("signal", S.SIGINT, when="run/checkpoints/ckpt-4.index"),
             match=r"interrupt|SIGINT|stop", checks=(run_whole("run"),)),
        Case("signals:sigkill-during-resume-from", TRAIN[:-1] + ["200", "--out", "run", "--resume-from", "ckpt-1",
                                                                 "--checkpoint-every-steps", "1"],
             setup=copy_run, expect="stopped", fault=Fault("signal", S.SIGKILL, when="run/checkpoints/super*"),
             checks=(run_whole("run"), contents_kept("run"))),
        Case("signals:sigterm-during-export", ["export", "run", "--name", "x"], setup=copy_run, expect="stopped",
             fault=Fault("signal", S.SIGTERM, when="saved_models/x/.tmp-*"), match=r"interrupt|SIGTERM|stop",
             checks=(exports_whole("saved_models/x"), unchanged("run"))),
        Case("signals:sigkill-during-export-then-export", ["export", "run", "--name", "x"],
             setup=_seq(copy_run, lambda ctx: ctx.tfgen(["export", "run", "--name", "x"],
                                                        fault=Fault("signal", S.SIGKILL, when="saved_models/x/.tmp-*"))),
             expect="succeed", checks=(exports_whole("saved_models/x"), unchanged("run"))),
        Case("signals:sigint-during-evaluate", ["evaluate", "run", "--iw-samples", "5000", "--quiet"], setup=copy_run,
             expect="stopped", fault=Fault("signal", S.SIGINT, after=12), match=r"interrupt|SIGINT|stop",
             checks=(json_or_absent("run/evaluation.json"), unchanged("run"))),
        Case("signals:sigterm-during-classifier-training", ["evaluate", "crun", "--quiet", "--samples", "100"],
             setup=lambda ctx: copy_run(ctx, "crun", "crun"), expect="stopped",
             fault=Fault("signal", S.SIGTERM, after=10), match=r"interrupt|SIGTERM|stop",
             checks=(unchanged("crun"), _classifier_cache_whole)),
        Case("signals:sigterm-during-large-sample", ["sample", "--model", "saved_models/vae", "--columns", "150",
                                                     "--rows", "150", "--out", "s.png"], setup=copy_exports,
             expect="stopped", fault=Fault("signal", S.SIGTERM, after=6.5), match=r"interrupt|SIGTERM|stop",
             checks=(image_or_absent("s.png"),)),

        # ----------------------------------------------------------------------------------- concurrency
        Case("concurrency:two-trains-one-folder", TRAIN + ["--out", "r"],
             concurrent=TRAIN[:-1] + ["15", "--out", "r"], lead="r/config.json",
             match=r"lock|in use|another|running|already|exists", checks=(concurrent_ok, run_whole("r"))),
        Case("concurrency:two-resumes-one-folder", TRAIN[:-1] + ["3", "--out", "run", "--resume"], setup=copy_run,
             concurrent=TRAIN[:-1] + ["60", "--out", "run", "--resume"], lead="run/checkpoints/ckpt-4.index",
             match=r"lock|in use|another|running", checks=(concurrent_ok, run_whole("run"))),
        Case("concurrency:fresh-train-while-resuming", TRAIN + ["--out", "run"], setup=copy_run,
             concurrent=TRAIN[:-1] + ["60", "--out", "run", "--resume"], lead="run/checkpoints/ckpt-4.index",
             match=r"lock|in use|another|running|exists|resume", checks=(concurrent_ok, run_whole("run"))),
        Case("concurrency:evaluate-during-training", ["evaluate", "run", *EVAL, "--out", "e.json"], setup=copy_run,
             concurrent=TRAIN[:-1] + ["20", "--out", "run", "--resume", "--checkpoint-every-steps", "1"],
             lead="run/checkpoints/ckpt-4.index", expect="either", match=r"lock|training|checkpoint|busy",
             checks=(concurrent_ok, run_whole("run"), json_or_absent("e.json"))),
        Case("concurrency:export-during-resume-from", ["export", "run", "--name", "x"], setup=copy_run,
             concurrent=TRAIN[:-1] + ["20", "--out", "run", "--resume-from", "ckpt-1", "--checkpoint-every-steps", "1"],
             lead="run/checkpoints/super*", expect="either", match=r"lock|training|checkpoint|busy",
             checks=(concurrent_ok, exports_whole("saved_models/x"), run_whole("run"))),
        Case("concurrency:two-exports-same-name", ["export", "run", "--name", "x"], setup=copy_run,
             concurrent=["export", "run", "--name", "x"], lead="saved_models/x/.tfgen.lock", expect="either",
             match=r"lock|in use|another|running", checks=(concurrent_ok, exports_whole("saved_models/x"))),
        Case("concurrency:two-samples-same-out", ["sample", "--model", "saved_models/vae", "--out", "s.png"],
             setup=copy_exports, concurrent=["sample", "--model", "saved_models/vae", "--columns", "40", "--out",
                                             "s.png"], lead=5.0, expect="succeed",
             checks=(concurrent_ok, image_or_absent("s.png"))),
        Case("concurrency:two-evaluates-same-out", ["evaluate", "run", *EVAL, "--out", "e.json"], setup=copy_run,
             concurrent=["evaluate", "run", *EVAL, "--out", "e.json"], lead=5.0, expect="either",
             match=r"lock|in use|e\.json", checks=(concurrent_ok, json_or_absent("e.json"))),
        Case("concurrency:sample-while-exporting-new-version", ["sample", "--model", "saved_models/vae", "--out",
                                                                 "s.png"],
             setup=_seq(copy_exports, lambda ctx: copy_run(ctx, "run")), concurrent=["export", "run", "--name", "vae"],
             lead="saved_models/vae/.tmp-*", expect="succeed",
             checks=(concurrent_ok, exports_whole("saved_models/vae"), image_or_absent("s.png"))),
        Case("concurrency:evaluate-export-while-exporting", ["evaluate", "saved_models/vae", *EVAL, "--out", "e.json"],
             setup=_seq(copy_exports, lambda ctx: copy_run(ctx, "run")), concurrent=["export", "run", "--name", "vae"],
             lead="saved_models/vae/.tmp-*", expect="succeed", checks=(concurrent_ok, exports_whole("saved_models/vae"))),
        Case("concurrency:stale-lock-of-dead-process", TRAIN[:-1] + ["2", "--out", "run", "--resume"],
             setup=_seq(copy_run, lambda ctx: ctx.write("run/.tfgen.lock", json.dumps(
                 {"pid": 999999, "host": socket.gethostname(), "command": "tfgen train"}))),
             expect="succeed", checks=(run_whole("run"), contents_kept("run"))),
        Case("concurrency:checkpoint-truncated-during-evaluate", ["evaluate", "run", "--iw-samples", "50", "--quiet",
                                                                  "--max-images", "200"], setup=copy_run,
             fault=Fault("truncate", path="run/checkpoints/ckpt-2.data-00000-of-00001", after=3.0), expect="either",
             match=r"ckpt|checkpoint|truncat|corrupt|data"),
        Case("concurrency:image-truncated-during-training", TRAIN[:2] + ["--dataset", "images"] + TRAIN[4:-1]
             + ["3", "--out", "r"], setup=image_folder, fault=Fault("truncate", path="images/a/05.png", after=3.0),
             expect="either", match=r"05\.png", checks=(run_whole("r"),)),

        # --------------------------------------------------------------------------------------- formats
        Case("formats:gif-in-image-folder", TRAIN[:2] + ["--dataset", "images"] + TRAIN[4:] + ["--out", "r"],
             setup=_seq(image_folder, lambda ctx: _gif(ctx.path("images/a/z.gif"))), expect="either",
             match=r"z\.gif|gif"),
        Case("formats:zero-byte-png", TRAIN[:2] + ["--dataset", "images"] + TRAIN[4:] + ["--out", "r"],
             setup=_seq(image_folder, lambda ctx: ctx.write("images/a/bad.png", "")), match=r"bad\.png"),
        Case("formats:garbage-png", TRAIN[:2] + ["--dataset", "images"] + TRAIN[4:] + ["--out", "r"],
             setup=_seq(image_folder, lambda ctx: ctx.write("images/b/bad.png", "not a png at all")),
             match=r"bad\.png"),
        Case("formats:mixed-grey-and-rgb", TRAIN[:2] + ["--dataset", "images"] + TRAIN[4:] + ["--out", "r"],
             setup=_seq(image_folder, lambda ctx: _png(ctx.path("images/b/rgb.png"), mode="RGB")), expect="either",
             match=r"rgb\.png|channels"),
        Case("formats:sample-out-bmp", ["sample", "--model", "saved_models/vae", "--out", "s.bmp"], setup=copy_exports,
             match=r"\.bmp|png"),
        Case("formats:evaluate-out-txt", ["evaluate", "run", *EVAL, "--out", "e.txt"], setup=copy_run,
             expect="either", match=r"e\.txt|json", checks=(json_or_absent("e.txt"),)),
        Case("formats:config-yaml", TRAIN + ["--out", "r", "--config", "c.json"], setup=_config("epochs: 1\n"),
             match=r"c\.json|JSON"),
        Case("formats:config-json-list", TRAIN + ["--out", "r", "--config", "c.json"], setup=_config("[1, 2]"),
             match=r"c\.json|object|mapping|dict"),
        Case("formats:config-empty-file", TRAIN + ["--out", "r", "--config", "c.json"], setup=_config(""),
             match=r"c\.json|empty|JSON"),
        Case("formats:config-trailing-comma", TRAIN + ["--out", "r", "--config", "c.json"],
             setup=_config('{"epochs": 1,}'), match=r"c\.json|JSON"),
        Case("formats:run-config-json-is-list", TRAIN[:-1] + ["2", "--out", "run", "--resume"],
             setup=_seq(copy_run, lambda ctx: ctx.write("run/config.json", "[]"), lambda ctx: snapshot(ctx, "run")),
             match=r"config\.json", checks=(unchanged("run"),)),
        Case("formats:export-run-config-truncated", ["export", "run", "--name", "x"],
             setup=_seq(copy_run, lambda ctx: ctx.write("run/config.json", '{"model": "va'),
                        lambda ctx: snapshot(ctx, "run")), match=r"config\.json", checks=(unchanged("run"),)),
        Case("formats:checkpoint-index-truncated", TRAIN[:-1] + ["2", "--out", "run", "--resume"],
             setup=_seq(copy_run, lambda ctx: ctx.write("run/checkpoints/ckpt-2.index", b"\0" * 10),
                        lambda ctx: snapshot(ctx, "run")),
             expect="either", match=r"ckpt-2|checkpoint", checks=(contents_kept("run"),)),
        Case("formats:checkpoint-state-garbage", TRAIN[:-1] + ["2", "--out", "run", "--resume"],
             setup=_seq(copy_run, lambda ctx: ctx.write("run/checkpoints/checkpoint", "}}} garbage {{{"),
                        lambda ctx: snapshot(ctx, "run")),
             expect="either", match=r"checkpoint", checks=(contents_kept("run"),)),
        Case("formats:manifest-corrupt", ["sample", "--model", "saved_models/vae", "--out", "s.png"],
             setup=_seq(copy_exports, lambda ctx: ctx.write("saved_models/vae/1/tfgen_manifest.json", "{nope")),
             match=r"manifest"),
        Case("formats:history-json-is-list", TRAIN[:-1] + ["2", "--out", "run", "--resume"],
             setup=_seq(copy_run, lambda ctx: ctx.write("run/history.json", "[]"), lambda ctx: snapshot(ctx, "run")),
             expect="either", match=r"history\.json", checks=(contents_kept("run"),)),
    ]
    ids = [case.id for case in table]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    return table


def _config_value(ctx, run, name, expected):
    try:
        with open(ctx.path(f"{run}/config.json")) as stream:
            config = json.load(stream)
    except (OSError, ValueError) as error:
        return f"{run}/config.json unreadable: {error}"
    found = config.get(name, config.get("training", {}).get(name))
    return None if found == expected else f"{run}/config.json records {name}={found!r}, the flag said {expected!r}"


def _version_kept(ctx):
    before = {name: digest for name, digest in ctx.snapshots["saved_models"].items() if name.startswith("vae/1/")}
    now = _hashes(ctx.path("saved_models"))
    lost = [name for name, digest in before.items() if now.get(name) != digest]
    return f"saved_models/vae/1 changed: {lost[:3]}" if lost else None


def _classifier_cache_whole(ctx):
    for path in glob.glob(ctx.path(".cache/**/*"), recursive=True):
        if os.path.isfile(path) and path.endswith(".h5"):
            with open(path, "rb") as stream:
                if stream.read(8) != b"\x89HDF\r\n\x1a\n":
                    return f"half-written classifier {os.path.relpath(path, ctx.dir)}"
    return None


def _gif(path):
    from PIL import Image
    import numpy as np

    Image.fromarray(np.full((28, 28), 100, np.uint8), "L").save(path, format="GIF")


# ------------------------------------------------------------------------------------------------ running


class Context:
    """One case's folder, environment and records."""

    def __init__(self, probe, case, folder):
        self.probe, self.case, self.dir = probe, case, folder
        self.env = dict(probe.env, TFGEN_CACHE_DIR=os.path.join(folder, ".cache"), **(case.env or {}))
        self.snapshots, self.resources, self.faults = {}, [], []
        self.concurrent_result = None

    def path(self, relative):
        return os.path.join(self.dir, relative)

    def write(self, relative, content):
        path = self.path(relative)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        with open(path, "wb" if isinstance(content, bytes) else "w", encoding=None if isinstance(content, bytes)
                  else "utf-8") as stream:
            stream.write(content)

    def copy(self, source, relative):
        shutil.copytree(os.path.join(self.probe.shared, source), self.path(relative), symlinks=True,
                        ignore=shutil.ignore_patterns(".tfgen.lock"))

    def tfgen(self, argv, fault=None):
        """Runs a tfgen command in the case's folder (setups and checks); its faults are counted."""
        return self.probe.execute(self, self.probe.command(argv), fault)


class Probe:
    def __init__(self, tree, timeout, memory_gb):
        self.tree, self.timeout, self.memory = os.path.abspath(tree), timeout, int(memory_gb * (1 << 30))
        self.env = {key: os.environ[key] for key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR") if key in os.environ}
        for key in ("TFGEN_DATA_DIR", "TFDS_DATA_DIR"):
            if key in os.environ:
                self.env[key] = os.environ[key]
        self.env.update(PYTHONPATH=self.tree, TFGEN_OFFLINE=os.environ.get("TFGEN_OFFLINE", "1"),
                        TF_CPP_MIN_LOG_LEVEL=os.environ.get("TF_CPP_MIN_LOG_LEVEL", "2"), PYTHONUNBUFFERED="1")
        self.shared = None

    def command(self, argv):
        return [sys.executable, "-m", "tfgen.cli", *argv]

    def _limits(self):
        # The signals' default actions, whatever this sweep inherited (nohup ignores SIGHUP, a shell's
        # background job SIGINT): the cases see what a user's terminal sends.
        for number in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGQUIT):
            signal.signal(number, signal.SIG_DFL)
        os.nice(10)
        resource.setrlimit(resource.RLIMIT_AS, (self.memory, self.memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def start(self, ctx, command):
        stdout = tempfile.TemporaryFile(dir=ctx.dir)
        stderr = tempfile.TemporaryFile(dir=ctx.dir)
        process = subprocess.Popen(command, cwd=ctx.dir, env=ctx.env, stdout=stdout, stderr=stderr,
                                   stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=self._limits)
        return process, stdout, stderr, time.monotonic()

    def finish(self, handle, timeout, injected_signal=0):
        process, stdout, stderr, started = handle
        hang = False
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            hang = True
            _kill_group(process)
            process.wait()
        wall = time.monotonic() - started
        stdout.seek(0)
        stderr.seek(0)
        out = stdout.read().decode("utf-8", "replace")
        err = stderr.read().decode("utf-8", "replace")
        stdout.close()
        stderr.close()
        _kill_group(process)  # anything it left behind
        rc = process.returncode
        return describe(rc, out, err, wall, hang, injected_signal)

    def execute(self, ctx, command, fault=None, timeout=None):
        handle = self.start(ctx, command)
        injector = None
        record = None
        if fault is not None:
            record = {"kind": fault.kind, "signal": signal.Signals(fault.signal).name if fault.signal else None,
                      "injected": False, "at_s": None, "path": fault.path or None, "state": None}
            ctx.faults.append(record)
            injector = threading.Thread(target=self._inject, args=(ctx, handle, fault, record), daemon=True)
            injector.start()
        result = self.finish(handle, timeout or self.timeout, fault.signal if fault and fault.kind == "signal" else 0)
        if injector is not None:
            injector.join()
        return result

    def _inject(self, ctx, handle, fault, record):
        process, _, _, started = handle
        deadline = started + (self.timeout if fault.after is None else fault.after)
        while process.poll() is None:
            if fault.when is not None:
                if glob.glob(ctx.path(fault.when)):
                    break
                if time.monotonic() > started + self.timeout:
                    return
            elif time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        else:
            return  # ended before the fault
        record["at_s"] = round(time.monotonic() - started, 2)
        record["state"] = _state(ctx)
        if fault.kind == "signal":
            for index in range(fault.repeat):
                if process.poll() is not None:
                    break
                try:
                    os.kill(process.pid, fault.signal)
                    record["injected"] = True
                except ProcessLookupError:
                    break
                time.sleep(fault.gap)
        elif fault.kind == "truncate":
            path = ctx.path(fault.path)
            if os.path.exists(path) and process.poll() is None:
                os.truncate(path, os.path.getsize(path) // 2)
                record["injected"] = True

    def run_case(self, case):
        folder = tempfile.mkdtemp(prefix="hostile-")
        ctx = Context(self, case, folder)
        started = time.monotonic()
        entry = {"id": case.id, "class": case.kind, "expect": case.expect, "match": case.match or None}
        try:
            if case.setup is not None:
                case.setup(ctx)
            if case.snippet is not None:
                command = [sys.executable, "-c", SNIPPET_WRAPPER, _SNIPPET_PRELUDE + case.snippet]
                entry["command"] = ["python", "-c", case.snippet]
            else:
                command = self.command(case.argv)
                entry["command"] = ["tfgen", *case.argv]
            concurrent = None
            if case.concurrent is not None:
                concurrent = self.start(ctx, self.command(case.concurrent))
                record = {"kind": "concurrent", "command": ["tfgen", *case.concurrent], "injected": False,
                          "at_s": None, "state": None}
                ctx.faults.append(record)
                if _wait_for(ctx, concurrent[0], case.lead, self.timeout):
                    record["injected"] = True
                    record["at_s"] = round(time.monotonic() - concurrent[3], 2)
                    record["state"] = _state(ctx)
            result = self.execute(ctx, command, case.fault, case.timeout)
            if concurrent is not None:
                ctx.concurrent_result = self.finish(concurrent, self.timeout)
            lost = []
            for check in case.checks:
                message = check(ctx)
                if message:
                    lost.append(message)
            entry.update(result)
            entry["checks"] = [getattr(check, "__name__", "check") for check in case.checks]
            entry["lost"] = lost
            if ctx.concurrent_result is not None:
                entry["concurrent"] = {key: ctx.concurrent_result[key] for key in ("rc", "signal", "message", "hang",
                                                                                   "traceback")}
            entry["outcome"], entry["why"] = classify(case, result, lost, ctx.concurrent_result)
            missed = [record["kind"] for record in ctx.faults if not record["injected"]]
            if missed:  # the case did not test what it says: the command ended before its fault struck
                entry["outcome"], entry["why"] = "probe-error", f"fault not injected ({', '.join(missed)}); " \
                                                                f"{entry['outcome']}: {entry['why']}"
        except Exception as error:  # noqa: BLE001 - a broken case is reported, the sweep goes on
            entry.update(outcome="probe-error", why=f"{type(error).__name__}: {error}")
        finally:
            for held in ctx.resources:
                held.close()
            entry["faults"] = ctx.faults
            for record in ctx.faults:
                if record["injected"]:
                    record["lost"] = bool(entry.get("lost"))
            entry["case_s"] = round(time.monotonic() - started, 1)
            _chmod_back(folder)
            shutil.rmtree(folder, ignore_errors=True)
        return entry

    def build_shared(self, folder):
        """The tiny trained runs and exports every case copies (built once per sweep)."""
        self.shared = folder
        ctx = Context(self, Case("shared"), folder)
        steps = [TRAIN + ["--out", "run", "--checkpoint-every-steps", "1"],
                 ["export", "run", "--name", "vae"],
                 ["train", "cvae"] + TRAIN[2:] + ["--out", "crun"],
                 ["export", "crun", "--name", "cvae"]]
        for argv in steps:
            result = self.execute(ctx, self.command(argv), timeout=max(self.timeout, 180))
            if result["rc"] != 0:
                raise SystemExit(f"shared setup failed: tfgen {' '.join(argv)}: {result['message']}\n"
                                 f"{result['stderr_tail']}")
        for root, _, files in os.walk(folder):
            for name in files:
                if name == ".tfgen.lock":
                    os.remove(os.path.join(root, name))


def _kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _chmod_back(folder):
    for root, dirs, _ in os.walk(folder):
        for name in dirs:
            try:
                os.chmod(os.path.join(root, name), 0o755)
            except OSError:
                pass


def _wait_for(ctx, process, lead, timeout):
    """Waits until `lead` (seconds, or a glob that matches) while `process` runs; True if it still runs then."""
    started = time.monotonic()
    while process.poll() is None and time.monotonic() - started < timeout:
        if isinstance(lead, (int, float)):
            if time.monotonic() - started >= lead:
                return True
        elif lead is None or glob.glob(ctx.path(lead)):
            return True
        time.sleep(0.05)
    return False


def _state(ctx):
    """What the case folder holds when a fault strikes (checkpoints, export versions), in a few words."""
    found = sorted(os.path.relpath(path, ctx.dir) for pattern in ("*/checkpoints/ckpt-*.index", "saved_models/*/*")
                   for path in glob.glob(ctx.path(pattern)))
    return ", ".join(found[-6:]) or "no checkpoint or export yet"


def error_lines(stderr):
    """The lines of stderr that are tfgen's (or Python's) errors: without TensorFlow's start-up log, library
    warnings and tfgen's own warning and note lines."""
    lines, skip_next = [], False
    for line in stderr.splitlines():
        line = line.split("\r")[-1]
        if skip_next:
            skip_next = False
            if line.startswith(" "):
                continue
        if _NOISE.match(line) or _TFGEN_NOTE.match(line):
            continue
        if _LIBRARY_WARNING.match(line):
            skip_next = True
            continue
        lines.append(line)
    return lines


def describe(rc, out, err, wall, hang, injected_signal=0):
    errors = error_lines(err)
    died = -rc if rc is not None and rc < 0 else 0
    message = next((line for line in errors if re.search(r"error|unexpected|refus", line, re.I)), None)
    if message is None and errors:
        message = errors[-1]
    traceback = ("Traceback (most recent call last)" in err or (died and died != injected_signal)
                 or (rc == 1 and bool(re.search(r"\bunexpected\b", err))))
    return {"rc": rc, "signal": signal.Signals(died).name if died else None, "hang": hang, "wall_s": round(wall, 1),
            "message": message, "error_lines": len(errors), "traceback": bool(traceback),
            "warnings": [line for line in err.splitlines() if _TFGEN_NOTE.match(line)][:5],
            "stderr_tail": "\n".join(errors[-8:])[-2000:], "stdout_tail": out[-600:]}


def classify(case, result, lost, concurrent):
    """(outcome, why) of a case's result (module docstring)."""
    if result["hang"]:
        return "hang", f"still running after {result['wall_s']} s"
    if concurrent is not None and concurrent["hang"]:
        return "hang", "the concurrent command hung"
    if result["traceback"]:
        return "traceback", result["signal"] and f"died of {result['signal']}" or result["message"]
    if concurrent is not None and concurrent["traceback"]:
        return "traceback", f"the concurrent command: {concurrent['message']}"
    rc, message, count = result["rc"], result["message"] or "", result["error_lines"]
    if lost:
        return "silent", (f"exit {rc}: " if case.expect != "succeed" else "") + "; ".join(lost)
    if case.expect == "succeed":
        if rc != 0:
            return "misleading", f"exit {rc} where success was expected: {message}"
        if case.warn and not any(re.search(case.warn, line, re.I) for line in result["warnings"]):
            return "misleading", f"no warning matching {case.warn!r}"
        return "clear", None
    if rc == 0:
        if case.expect == "either":
            return "clear", None
        return "silent", "exit 0" + (" (the signal was ignored)" if case.expect == "stopped" else
                                     " where a refusal was expected")
    if case.expect == "stopped" and result["signal"] and count == 0:
        return "clear", None  # ended by the injected signal's default action, nothing lost
    if count > 1:
        return "misleading", f"{count} lines of error; first: {message}"
    if case.expect == "stopped" and not case.match:
        return "clear", None
    if not message or not re.search(case.match, message, re.I):
        return "misleading", f"does not name {case.match!r}: {message or '(no message)'}"
    return "clear", None


# ------------------------------------------------------------------------------------------------ reporting


def table(entries):
    counts = {kind: dict.fromkeys(OUTCOMES, 0) for kind in CLASSES}
    for entry in entries:
        if entry["outcome"] not in OUTCOMES:  # a probe error is the sweep's, not tfgen's: listed, not counted
            continue
        outcome = entry["outcome"]
        counts.setdefault(entry["class"], dict.fromkeys(OUTCOMES, 0))[outcome] += 1
    return counts


def markdown(counts):
    lines = ["| class | " + " | ".join(OUTCOMES) + " | total |", "|---" * (len(OUTCOMES) + 2) + "|"]
    totals = dict.fromkeys(OUTCOMES, 0)
    for kind, row in counts.items():
        if not sum(row.values()):
            continue
        lines.append(f"| {kind} | " + " | ".join(str(row[o]) for o in OUTCOMES) + f" | {sum(row.values())} |")
        for outcome in OUTCOMES:
            totals[outcome] += row[outcome]
    lines.append("| **all** | " + " | ".join(str(totals[o]) for o in OUTCOMES) + f" | {sum(totals.values())} |")
    return "\n".join(lines)


def fault_summary(entries):
    injected = [record for entry in entries for record in entry.get("faults", []) if record["injected"]]
    return {"injected": len(injected), "nothing_lost": sum(not record.get("lost") for record in injected),
            "by_kind": {kind: sum(record["kind"] == kind for record in injected)
                        for kind in sorted({record["kind"] for record in injected})}}


def scrub(value, tree):
    """`value` (JSON) with this machine's paths replaced by names: the cases' folders by <case>, the tree by
    <tree>, the data folders by their variables, Python's prefix by <python> and the home folder by ~."""
    if isinstance(value, dict):
        return {key: scrub(item, tree) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item, tree) for item in value]
    if not isinstance(value, str):
        return value
    value = re.sub(re.escape(tempfile.gettempdir()) + r"/hostile-[\w-]+", "<case>", value)
    replacements = [(os.path.abspath(tree), "<tree>"), (sys.prefix, "<python>")]
    replacements += [(os.environ[key], f"${key}") for key in ("TFGEN_DATA_DIR", "TFDS_DATA_DIR") if os.environ.get(key)]
    replacements += [(os.path.expanduser("~"), "~")]
    for old, new in sorted(replacements, key=lambda pair: -len(pair[0])):
        value = value.replace(old, new)
    return value


def _git_commit(tree):
    try:
        return subprocess.run(["git", "-C", tree, "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tree", required=True, help="the tfgen source tree to probe (its root)")
    parser.add_argument("--out", required=True, help="the JSON results")
    parser.add_argument("--only", action="append", default=None,
                        help="a class (or a case id, or an id prefix) to run; repeatable")
    parser.add_argument("--timeout", type=float, default=60, help="seconds a command may run before it counts as hung")
    parser.add_argument("--jobs", type=int, default=2, help="cases run at once")
    parser.add_argument("--memory-gb", type=float, default=6, help="each child's address-space cap")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    parser.add_argument("--merge", action="store_true",
                        help="replace only the cases run (--only) in an existing --out, keeping the others")
    args = parser.parse_args(argv)

    selected = [case for case in cases()
                if not args.only or any(case.kind == only or case.id.startswith(only) for only in args.only)]
    if args.list:
        for case in selected:
            print(case.id)
        return 0
    if not selected:
        parser.error(f"no case matches --only {args.only}")
    probe = Probe(args.tree, args.timeout, args.memory_gb)
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="hostile-shared-") as shared:
        print(f"building the shared runs in {args.tree} ...", file=sys.stderr, flush=True)
        probe.build_shared(shared)
        entries = []
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(probe.run_case, case): case for case in selected}
            for future in concurrent.futures.as_completed(futures):
                entry = future.result()
                entries.append(entry)
                print(f"[{len(entries)}/{len(selected)}] {entry['outcome']:<10} {entry['id']} "
                      f"({entry['case_s']} s)", file=sys.stderr, flush=True)
    if args.merge and os.path.exists(args.out):
        with open(args.out) as stream:
            kept = [entry for entry in json.load(stream)["cases"] if entry["id"] not in {e["id"] for e in entries}]
        entries += kept
    order = {case.id: index for index, case in enumerate(cases())}
    entries.sort(key=lambda entry: order.get(entry["id"], len(order)))
    counts = table(entries)
    faults = fault_summary(entries)
    results = {"tree": os.path.basename(probe.tree), "commit": _git_commit(probe.tree), "date": time.strftime("%Y-%m-%d %H:%M:%S"),
               "seconds": round(time.time() - started), "timeout_s": args.timeout, "jobs": args.jobs,
               "table": counts, "faults": faults, "cases": entries}
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as stream:
        json.dump(scrub(results, probe.tree), stream, indent=1, ensure_ascii=False)
        stream.write("\n")
    print(markdown(counts))
    print(f"\nfaults injected: {faults['injected']} ({faults['by_kind']}), nothing lost in "
          f"{faults['nothing_lost']}\n")
    for entry in entries:
        if entry["outcome"] != "clear":
            print(f"- {entry['id']}: {entry['outcome']}: {entry.get('why') or entry.get('message')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
