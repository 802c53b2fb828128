"""Every public layer of `tfgen.layers` inside a *user's* Keras model.

For each layer (GaussianSampling, GumbelSoftmax, LabelProjection, LabelPlanes)
a small user model, Functional and Sequential, is compiled and fitted with
Keras' own `compile`/`fit`, saved to `.keras`, and reloaded in a fresh Python
process that imports `tfgen` (no `custom_objects`): the reloaded weights and
predictions must equal the in-memory model's.

All the models are built, fitted and saved first (a module-scoped fixture);
one subprocess then reloads them all, to pay for one TensorFlow import only.

GaussianSampling and GumbelSoftmax sample at inference too (they have no
`training=False` path), and a layer's `SeedGenerator` state is not saved in a
`.keras` file: a reloaded layer restarts its stream from its `seed`. So the
predictions are compared with the in-memory model's stream rewound to that
start (`rewind_noise`): the same noise, hence a full-output comparison
through the random layers, which also checks that the seed, the temperature
and the weights survive the reload.

Keras' `Sequential` takes one input per layer, while GaussianSampling,
LabelProjection and LabelPlanes take two (`[z_mean, z_log_var]`,
`[z, labels]`, `[images, labels]`). Their Sequential tests use the closest
thing a user would write: `SplitInputs`, the user's own small layer below,
which splits its one input along the last axis and calls the tfgen layer on
the two parts (so the tfgen layer is also nested inside a custom layer).
GumbelSoftmax takes logits and goes in a Sequential model directly.
"""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from tfgen.layers import GaussianSampling, GumbelSoftmax, LabelPlanes, LabelProjection

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
NUM_EXAMPLES = 64


@keras.saving.register_keras_serializable(package="tfgen_tests")
class SplitInputs(keras.layers.Layer):
    """A user's layer: splits its input along the last axis at `split` and calls the two-input `layer` on the parts.

    `first_shape` optionally reshapes the first part (e.g. flat pixels back to an image).
    """

    def __init__(self, layer, split, first_shape=None, **kwargs):
        super().__init__(**kwargs)
        if isinstance(layer, dict):
            layer = keras.saving.deserialize_keras_object(layer)
        self.layer = layer
        self.split = int(split)
        self.first_shape = None if first_shape is None else tuple(first_shape)

    def _part_shapes(self, input_shape):
        batch, size = input_shape[0], input_shape[-1]
        first = (batch, *self.first_shape) if self.first_shape else (batch, self.split)
        return [first, (batch, size - self.split)]

    def build(self, input_shape):
        # On load, `layer` arrives already built (from its own build config): build it only once.
        if not self.layer.built:
            self.layer.build(self._part_shapes(input_shape))

    def call(self, inputs):
        first, second = inputs[..., : self.split], inputs[..., self.split :]
        if self.first_shape:
            first = keras.ops.reshape(first, (-1, *self.first_shape))
        return self.layer([first, second])

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(self._part_shapes(input_shape))

    def get_config(self):
        config = {"layer": keras.saving.serialize_keras_object(self.layer), "split": self.split,
                  "first_shape": self.first_shape}
        return {**super().get_config(), **config}


def tfgen_layers(model):
    """The tfgen layers of a model, looking inside `SplitInputs`."""
    layers = [layer.layer if isinstance(layer, SplitInputs) else layer for layer in model.layers]
    return [layer for layer in layers if type(layer).__module__.startswith("tfgen.")]


def rewind_noise(model):
    """Puts each random tfgen layer's SeedGenerator back at its start, where a reloaded layer begins."""
    for layer in tfgen_layers(model):
        if hasattr(layer, "seed_generator"):
            assert layer.seed is not None, "the comparison needs seeded layers"
            layer.seed_generator.state.assign(keras.random.SeedGenerator(layer.seed).state.value)


# ---------------------------------------------------------------- the user's models
# Each builder returns (model, inputs, targets, name of a layer whose weights training must change).


def _rng():
    return np.random.default_rng(0)


def _one_hot(ids, num_classes=3):
    return np.eye(num_classes, dtype=np.float32)[ids]


def functional_gaussian_sampling():
    # A tiny VAE-like regressor: conv encoder -> (z_mean, z_log_var) -> sample -> Dense head.
    images = keras.Input((6, 6, 1))
    hidden = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(images))
    z_mean = keras.layers.Dense(2, name="z_mean")(hidden)
    z_log_var = keras.layers.Dense(2, name="z_log_var")(hidden)
    z = GaussianSampling(seed=3, name="sampling")([z_mean, z_log_var])
    outputs = keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(z))
    x = _rng().uniform(size=(NUM_EXAMPLES, 6, 6, 1)).astype(np.float32)
    y = x.mean(axis=(1, 2))
    # z_log_var reaches the loss only through the sampling layer.
    return keras.Model(images, outputs), [x], y, "z_log_var"


def functional_gumbel_softmax():
    # Soft samples (hard=False) from conv-computed logits, then a Dense head.
    images = keras.Input((6, 6, 1))
    hidden = keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="relu")(images))
    logits = keras.layers.Dense(5, name="logits")(hidden)
    code = GumbelSoftmax(temperature=0.5, seed=4, name="gumbel")(logits)
    outputs = keras.layers.Dense(1)(code)
    x = _rng().uniform(size=(NUM_EXAMPLES, 6, 6, 1)).astype(np.float32)
    y = (x.mean(axis=(1, 2)) > 0.5).astype(np.float32)
    return keras.Model(images, outputs), [x], y, "logits"


def _labelled_codes():
    rng = _rng()
    features = rng.normal(size=(NUM_EXAMPLES, 4)).astype(np.float32)
    labels = rng.integers(0, 3, size=NUM_EXAMPLES).astype(np.int32)
    targets = (labels[:, None] == [0, 1, 2]).astype(np.float32) @ np.array([[-1.0], [0.5], [2.0]], np.float32)
    return features, labels, targets + 0.1 * features[:, :1]


def functional_label_projection_add():
    # A conditional decoder: code from Dense + integer class ids -> z + relu(Dense(one_hot)) -> head.
    features_input = keras.Input((4,))
    labels_input = keras.Input((), dtype="int32")
    z = keras.layers.Dense(3, name="code")(features_input)
    joined = LabelProjection(3, mode="add", name="projection")([z, labels_input])
    outputs = keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(joined))
    features, labels, targets = _labelled_codes()
    # The targets depend on the labels, which reach the head through the projection's own Dense.
    return keras.Model([features_input, labels_input], outputs), [features, labels], targets, "projection"


def functional_label_projection_concat():
    # Float one-hot labels, concatenated to the code.
    features_input = keras.Input((4,))
    labels_input = keras.Input((3,))
    z = keras.layers.Dense(3, name="code")(features_input)
    joined = LabelProjection(3, mode="concat", name="projection")([z, labels_input])
    outputs = keras.layers.Dense(1)(keras.layers.Dense(8, activation="relu")(joined))
    features, labels, targets = _labelled_codes()
    return keras.Model([features_input, labels_input], outputs), [features, _one_hot(labels)], targets, "code"


def _labelled_images():
    rng = _rng()
    images = rng.uniform(size=(NUM_EXAMPLES, 6, 6, 1)).astype(np.float32)
    labels = rng.integers(0, 3, size=NUM_EXAMPLES)
    return images, labels, (labels == 1).astype(np.float32)[:, None]  # learnable only from the planes


def functional_label_planes():
    # A tiny conditional discriminator fed integer class ids: image + planes -> conv -> logit (the
    # Sequential model below feeds one-hot labels).
    images_input = keras.Input((6, 6, 1))
    labels_input = keras.Input((), dtype="int32")
    joined = LabelPlanes(3, name="planes")([images_input, labels_input])
    assert joined.shape == (None, 6, 6, 4)  # the image's channel and one plane per class
    hidden = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(joined)
    outputs = keras.layers.Dense(1)(keras.layers.Flatten()(hidden))
    images, labels, targets = _labelled_images()
    return keras.Model([images_input, labels_input], outputs), [images, labels.astype(np.int32)], targets, "conv"


def sequential_gaussian_sampling():
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(4, name="moments"),  # [z_mean (2), z_log_var (2)]
        SplitInputs(GaussianSampling(seed=5), split=2, name="split_sampling"),
        keras.layers.Dense(8),
    ])
    x = _rng().normal(size=(NUM_EXAMPLES, 8)).astype(np.float32)
    return model, [x], x, "moments"


def sequential_gumbel_softmax():
    model = keras.Sequential([
        keras.Input((8,)),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(4, name="logits"),
        GumbelSoftmax(temperature=1.0, hard=True, seed=6, name="gumbel"),
        keras.layers.Dense(8),
    ])
    x = _rng().normal(size=(NUM_EXAMPLES, 8)).astype(np.float32)
    # Straight-through gradients must reach the logits.
    return model, [x], x, "logits"


def sequential_label_projection():
    model = keras.Sequential([
        keras.Input((4 + 3,)),  # [z (4), one-hot label (3)]
        SplitInputs(LabelProjection(3, mode="add"), split=4, name="split_projection"),
        keras.layers.Dense(8, activation="relu"),
        keras.layers.Dense(1),
    ])
    features, labels, targets = _labelled_codes()
    return model, [np.concatenate([features, _one_hot(labels)], axis=-1)], targets, "split_projection"


def sequential_label_planes():
    model = keras.Sequential([
        keras.Input((6 * 6 + 3,)),  # [flat 6x6x1 image (36), one-hot label (3)]
        SplitInputs(LabelPlanes(3), split=36, first_shape=(6, 6, 1), name="split_planes"),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
        keras.layers.Flatten(),
        keras.layers.Dense(1),
    ])
    images, labels, targets = _labelled_images()
    return model, [np.concatenate([images.reshape(NUM_EXAMPLES, -1), _one_hot(labels)], axis=-1)], targets, "conv"


FUNCTIONAL = {
    "GaussianSampling": functional_gaussian_sampling,
    "GumbelSoftmax": functional_gumbel_softmax,
    "LabelProjection-add": functional_label_projection_add,
    "LabelProjection-concat": functional_label_projection_concat,
    "LabelPlanes": functional_label_planes,
}
SEQUENTIAL = {
    "GaussianSampling": sequential_gaussian_sampling,
    "GumbelSoftmax": sequential_gumbel_softmax,
    "LabelProjection": sequential_label_projection,
    "LabelPlanes": sequential_label_planes,
}
EXPECTED_CLASS = {
    "GaussianSampling": GaussianSampling,
    "GumbelSoftmax": GumbelSoftmax,
    "LabelProjection": LabelProjection,
    "LabelPlanes": LabelPlanes,
}
ANNEALED_TEMPERATURE = 0.3  # set after fitting the Sequential GumbelSoftmax model: must survive the reload


# ---------------------------------------------------------------- fit, save, reload in a fresh process

_RELOAD_SCRIPT = r'''
"""Reloads the saved models in a fresh interpreter: first without tfgen, then with it imported."""
import importlib.util, json, sys, traceback

import keras
import numpy as np

root, test_file = sys.argv[1:]
with open(f"{root}/manifest.json") as file:
    manifest = json.load(file)
report = {}
# Before tfgen is imported its layers are unknown to Keras: the Functional files must not load.
for key, entry in manifest.items():
    report[key] = {}
    if entry["check_unregistered"]:
        try:
            keras.saving.load_model(f"{root}/{key}.keras")
            report[key]["unregistered_error"] = None
        except Exception as error:
            report[key]["unregistered_error"] = f"{type(error).__name__}: {error}"
import tfgen  # registers the layers under the package "tfgen"

# The user's own layer (SplitInputs) and helpers live in the test module.
spec = importlib.util.spec_from_file_location("keras_reuse_user_code", test_file)
user_code = importlib.util.module_from_spec(spec)
spec.loader.exec_module(user_code)
for key, entry in manifest.items():
    try:
        model = keras.saving.load_model(f"{root}/{key}.keras")
        with np.load(f"{root}/{key}.inputs.npz") as data:
            inputs = [data[f"x{i}"] for i in range(len(data.files))]
        predictions = model.predict(inputs if len(inputs) > 1 else inputs[0], batch_size=len(inputs[0]), verbose=0)
        weights = {f"w{i}": w for i, w in enumerate(model.get_weights())}
        np.savez(f"{root}/{key}.reloaded.npz", predictions=predictions, **weights)
        layers = user_code.tfgen_layers(model)
        report[key]["classes"] = [f"{type(layer).__module__}.{type(layer).__qualname__}" for layer in layers]
        report[key]["registered_names"] = [keras.saving.get_registered_name(type(layer)) for layer in layers]
        report[key]["temperatures"] = [float(layer.temperature.numpy()) for layer in layers
                                       if hasattr(layer, "temperature")]
    except Exception:
        report[key]["error"] = traceback.format_exc()
with open(f"{root}/report.json", "w") as file:
    json.dump(report, file)
'''


def _predict(model, inputs):
    rewind_noise(model)
    return model.predict(inputs if len(inputs) > 1 else inputs[0], batch_size=len(inputs[0]), verbose=0)


def _loss(model, inputs, targets):
    rewind_noise(model)  # the same noise before and after fitting: the losses are comparable
    return model.evaluate(inputs if len(inputs) > 1 else inputs[0], targets, batch_size=len(inputs[0]), verbose=0)


@pytest.fixture(scope="module")
def reuse(tmp_path_factory):
    """Fits and saves every user model, then reloads them all in one fresh process."""
    root = tmp_path_factory.mktemp("keras_reuse")
    results, manifest = {}, {}
    builders = {("functional", k): v for k, v in FUNCTIONAL.items()}
    builders.update({("sequential", k): v for k, v in SEQUENTIAL.items()})
    for (kind, name), build in builders.items():
        key = f"{kind}-{name}"
        keras.utils.set_random_seed(0)
        model, inputs, targets, watched = build()
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        weights_before = [w.copy() for w in model.get_layer(watched).get_weights()]
        loss_before = _loss(model, inputs, targets)
        model.fit(inputs if len(inputs) > 1 else inputs[0], targets, epochs=3, batch_size=16, verbose=0)
        loss_after = _loss(model, inputs, targets)
        if key == "sequential-GumbelSoftmax":
            model.get_layer("gumbel").set_temperature(ANNEALED_TEMPERATURE)  # e.g. by an annealing schedule
        model.save(root / f"{key}.keras")
        np.savez(root / f"{key}.inputs.npz", **{f"x{i}": x for i, x in enumerate(inputs)})
        manifest[key] = {"check_unregistered": kind == "functional"}
        results[key] = {
            "model": model,
            "weights_before": weights_before,
            "weights_after": model.get_layer(watched).get_weights(),
            "loss_before": loss_before,
            "loss_after": loss_after,
            "predictions": _predict(model, inputs),
            "weights": model.get_weights(),
        }
    (root / "manifest.json").write_text(json.dumps(manifest))
    script = root / "reload.py"
    script.write_text(_RELOAD_SCRIPT)
    from background import CHILD_THREADS  # here: the fresh process imports this file, without tests/ on its path

    env = {**os.environ, **CHILD_THREADS, "TF_CPP_MIN_LOG_LEVEL": "2"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in [REPO_ROOT, env.get("PYTHONPATH")] if p)
    process = subprocess.run([sys.executable, str(script), str(root), os.path.abspath(__file__)],
                             cwd=root, env=env, capture_output=True, text=True, timeout=300)
    report = json.loads((root / "report.json").read_text()) if process.returncode == 0 else {}
    for key, result in results.items():
        result["process"] = process
        result["report"] = report.get(key, {})
        reloaded = root / f"{key}.reloaded.npz"
        if reloaded.exists():
            with np.load(reloaded) as data:
                result["reloaded_predictions"] = data["predictions"]
                result["reloaded_weights"] = [data[f"w{i}"] for i in range(len(data.files) - 1)]
    return results


def _check_fitted_and_reloaded(result, layer_name):
    # Training through the tfgen layer changed the watched weights and lowered the loss (same noise both times).
    assert not all(np.allclose(a, b) for a, b in zip(result["weights_before"], result["weights_after"]))
    assert result["loss_after"] < result["loss_before"]
    # The fresh process loaded the file, with tfgen's own classes found through their registration.
    process, report = result["process"], result["report"]
    assert process.returncode == 0, process.stderr[-3000:]
    assert "error" not in report, report.get("error")
    cls = EXPECTED_CLASS[layer_name]
    assert report["classes"] == [f"{cls.__module__}.{cls.__qualname__}"]
    assert report["registered_names"] == [f"tfgen>{cls.__name__}"]
    # Same weights (the GumbelSoftmax temperature included) and the same predictions as in memory.
    assert len(result["reloaded_weights"]) == len(result["weights"])
    for reloaded, expected in zip(result["reloaded_weights"], result["weights"]):
        np.testing.assert_array_equal(reloaded, expected)
    assert result["reloaded_predictions"].shape == result["predictions"].shape
    np.testing.assert_allclose(result["reloaded_predictions"], result["predictions"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(FUNCTIONAL))
def test_functional_model_fits_saves_and_reloads_in_a_fresh_process(reuse, name):
    result = reuse[f"functional-{name}"]
    layer_name = name.split("-")[0]
    _check_fitted_and_reloaded(result, layer_name)
    # Without `import tfgen` the same file does not load: the layer is found through its registration.
    error = result["report"]["unregistered_error"]
    assert error is not None and f"Could not locate class '{layer_name}'" in error, error


@pytest.mark.parametrize("name", list(SEQUENTIAL))
def test_sequential_model_fits_saves_and_reloads_in_a_fresh_process(reuse, name):
    result = reuse[f"sequential-{name}"]
    _check_fitted_and_reloaded(result, name)
    if name == "GumbelSoftmax":
        assert result["report"]["temperatures"] == [pytest.approx(ANNEALED_TEMPERATURE)]
        # Hard samples: the head sees exact one-hot vectors.
        model = result["model"]
        rewind_noise(model)
        codes = keras.Model(model.inputs, model.get_layer("gumbel").output).predict(
            np.zeros((5, 8), np.float32), verbose=0)
        np.testing.assert_array_equal(np.sort(codes, axis=-1), np.tile([0.0, 0.0, 0.0, 1.0], (5, 1)))
