"""The conditional VAE: conditioning options, likelihoods (Bernoulli, sigma-VAE), class samples,
label errors, serialization; the label projection layer; the calibrated-decoder losses."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen import losses
from tfgen.layers import LabelProjection
from tfgen.models import CVAE

SEED = tf.constant([3, 5], tf.int64)


def _batch(size=8, seed=0, binary=True):
    rng = np.random.default_rng(seed)
    images = rng.uniform(size=(size, 28, 28, 1)).astype(np.float32)
    if binary:
        images = (images < 0.3).astype(np.float32)
    return {"image": tf.constant(images), "label": tf.constant(rng.integers(0, 10, size=size), tf.int64)}


def _model(**kwargs):
    keras.utils.set_random_seed(0)
    model = CVAE(**{"latent_dim": 2, "num_classes": 10, **kwargs})
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"conditioning": "concat", "encoder_sees_label": True},
        {"likelihood": "gaussian_learned", "beta": 0.5},
        {"likelihood": "gaussian_optimal", "analytic_kl": False},
    ],
)
def test_loss_goes_down_on_a_fixed_batch(kwargs):
    model = _model(**kwargs)
    batch = _batch(binary=kwargs.get("likelihood", "bernoulli") == "bernoulli")
    model.build_from_batch(batch)
    step = tf.function(model.train_step)
    first = float(step(batch, SEED)["loss"])
    for index in range(15):
        last = step(batch, SEED + index)
    assert set(last) == {*model.metric_names, "skipped_updates"}
    assert float(last["loss"]) < first


def test_loss_is_reconstruction_plus_beta_times_kl():
    model = _model(beta=0.25)
    batch = _batch()
    model.build_from_batch(batch)
    metrics = model.compute_losses(batch, SEED)
    np.testing.assert_allclose(
        metrics["loss"], metrics["reconstruction_loss"] + 0.25 * metrics["kl_loss"], rtol=1e-5
    )


def test_mask_keeps_only_labelled_rows():
    model = _model()
    batch = _batch()
    model.build_from_batch(batch)
    mask = tf.constant([1, 1, 0, 0, 1, 0, 0, 0], tf.float32)
    masked = model.compute_losses({**batch, "labelled": mask}, SEED)
    keep = mask.numpy()[:, None, None, None] > 0
    # Whatever the masked-out rows hold, the loss is the same.
    changed = {"image": tf.where(keep, batch["image"], 1.0), "label": tf.where(mask > 0, batch["label"], 9),
               "labelled": mask}
    np.testing.assert_allclose(masked["loss"], model.compute_losses(changed, SEED)["loss"], rtol=1e-6)
    # A labelled row counts.
    labelled_changed = {**changed, "image": tf.where(keep, 1.0 - batch["image"], 1.0)}
    assert abs(float(masked["loss"]) - float(model.compute_losses(labelled_changed, SEED)["loss"])) > 0.1


def test_sample_generates_the_chosen_class_from_the_same_z():
    model = _model()
    model.build_from_batch(_batch())
    threes = model.sample(4, seed=SEED, labels=3).numpy()
    assert threes.shape == (4, 28, 28, 1) and 0 <= threes.min() and threes.max() <= 1
    np.testing.assert_array_equal(threes, model.sample(4, seed=SEED, labels=[3, 3, 3, 3]).numpy())
    np.testing.assert_allclose(threes, model.sample(4, seed=SEED, labels=tf.one_hot([3] * 4, 10)).numpy(), rtol=1e-6)
    assert not np.allclose(threes, model.sample(4, seed=SEED, labels=7).numpy())
    cycled = model.sample(12, seed=SEED).numpy()  # no label: the classes in turn
    np.testing.assert_allclose(cycled[3], model.sample(12, seed=SEED, labels=3).numpy()[3], rtol=1e-6)


def test_the_deprecated_sample_spellings_still_draw_the_same_images():
    model = _model()
    model.build_from_batch(_batch())
    threes = model.sample(4, labels=3, seed=SEED).numpy()
    with pytest.warns(DeprecationWarning, match="label=.... is deprecated"):
        np.testing.assert_array_equal(model.sample(4, seed=SEED, label=3).numpy(), threes)
    with pytest.warns(DeprecationWarning, match="positional arguments is deprecated"):
        np.testing.assert_array_equal(model.sample(4, SEED, 3).numpy(), threes)  # CVAE's old (n, seed, labels)
    with pytest.raises(TypeError, match="labels both as a positional argument and as a keyword"):
        model.sample(4, SEED, 3, labels=3)


def test_label_errors_name_the_problem():
    model = _model()
    batch = _batch()
    model.build_from_batch(batch)
    with pytest.raises(ValueError, match=r"class id in \[0, 10\)\. Received: labels with min=-1"):
        model.compute_losses({**batch, "label": tf.constant([-1] * 8, tf.int64)}, SEED)
    with pytest.raises(ValueError, match="have 3 classes, expected num_classes=10"):
        model.decode(tf.zeros([2, 2]), tf.one_hot([0, 1], 3))
    with pytest.raises(ValueError, match="Expected 2 labels, one per example. Received: 3"):
        model.decode(tf.zeros([2, 2]), tf.constant([0, 1, 2]))
    with pytest.raises(ValueError, match=r"z must have shape \(batch, 2\)"):
        model.decode(tf.zeros([2, 3]), tf.constant([0, 1]))
    with pytest.raises(ValueError, match=r"Expected 4 labels, one per example. Received: 2"):
        model.sample(4, seed=SEED, labels=[1, 2])
    with pytest.raises(ValueError, match="encoder sees the label: pass labels"):
        _model(encoder_sees_label=True).encode(batch["image"])


def test_constructor_checks():
    with pytest.raises(ValueError, match="Unknown conditioning .*Received: conditioning='sum'"):
        CVAE(conditioning="sum")
    with pytest.raises(ValueError, match="Unknown likelihood .*Received: likelihood='laplace'"):
        CVAE(likelihood="laplace")
    with pytest.raises(ValueError, match="beta must be a non-negative number. Received: beta=-1"):
        CVAE(beta=-1)
    with pytest.raises(ValueError, match="num_classes must be an integer >= 2. Received: num_classes=1"):
        CVAE(num_classes=1)


def test_get_config_round_trip_and_weights_transfer():
    model = _model(conditioning="concat", encoder_sees_label=True, likelihood="gaussian_learned", beta=0.1)
    batch = _batch()
    model.build_from_batch(batch)
    clone = CVAE.from_config(model.get_config())
    assert clone.get_config()["likelihood"] == "gaussian_learned" and clone.get_config()["beta"] == 0.1
    clone.build_from_batch(batch)
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.sample(3, seed=SEED).numpy(), model.sample(3, seed=SEED).numpy(), rtol=1e-6)


def test_serving_endpoints_take_int64_labels_with_a_none_batch_dimension():
    model = _model(encoder_sees_label=True)
    model.build_from_batch(_batch())
    endpoints = model.serving_endpoints()
    assert set(endpoints) == {"encode", "decode", "sample", "reconstruct", "log_importance_weights"}
    for _, signature in endpoints.values():
        # A free batch dimension on every input but the scalar number of codes of log_importance_weights.
        assert all(spec.shape[0] is None for spec in signature if spec.name != "num_samples")
    assert [spec.name for spec in endpoints["log_importance_weights"][1]] == ["images", "label", "seed", "num_samples"]
    sample, signature = endpoints["sample"]
    assert [spec.name for spec in signature] == ["seed", "label"]
    images = sample(tf.constant([1, 2], tf.int64), tf.constant([4, 4], tf.int64))["images"]
    alone = sample(tf.constant([2], tf.int64), tf.constant([4], tf.int64))["images"]
    np.testing.assert_allclose(images[1:], alone, rtol=1e-6)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class id in \[0, 10\)"):
        tf.function(sample, input_signature=signature)(tf.constant([1], tf.int64), tf.constant([10], tf.int64))


def test_label_projection_add_and_concat():
    z = tf.ones([2, 3])
    added = LabelProjection(4, mode="add")
    out = added([z, tf.constant([0, 3])])
    assert out.shape == (2, 3)
    np.testing.assert_allclose(out, added([z, tf.one_hot([0, 3], 4)]), rtol=1e-6)
    assert np.all(out.numpy() >= 1.0)  # z + ReLU(...)
    concat = LabelProjection(4, mode="concat")([z, tf.constant([1, 2])])
    np.testing.assert_array_equal(concat, np.concatenate([np.ones([2, 3]), np.eye(4)[[1, 2]]], axis=1))
    with pytest.raises(ValueError, match="Unknown mode .*Received: mode='mean'"):
        LabelProjection(4, mode="mean")
    with pytest.raises(ValueError, match=r"they have 5 classes, expected num_classes=4"):
        LabelProjection(4)([z, tf.zeros([2, 5])])
    # Integer ids out of range are refused (tf.one_hot alone would give a row of zeros).
    with pytest.raises(ValueError, match=r"class id in \[0, 4\)\. Received: labels with min=1, max=4"):
        LabelProjection(4, mode="concat")([z, tf.constant([1, 4])])
    layer = LabelProjection(4, mode="concat", name="projection")
    assert LabelProjection.from_config(layer.get_config()).get_config() == layer.get_config()


def test_label_projection_in_a_functional_model_saved_as_keras(tmp_path):
    z = keras.Input((3,))
    labels = keras.Input((4,))
    outputs = keras.layers.Dense(2)(LabelProjection(4, name="projection")([z, labels]))
    model = keras.Model([z, labels], outputs)
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = [rng.normal(size=(32, 3)).astype(np.float32), np.eye(4, dtype=np.float32)[rng.integers(0, 4, 32)]]
    model.fit(x, rng.normal(size=(32, 2)).astype(np.float32), epochs=1, verbose=0)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_allclose(restored.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5)


def test_calibrated_decoder_losses_against_closed_forms():
    rng = np.random.default_rng(0)
    targets = rng.uniform(size=(3, 4, 4, 1)).astype(np.float32)
    mean = rng.uniform(size=(3, 4, 4, 1)).astype(np.float32)
    log_sigma = -0.7
    expected = np.sum(
        -0.5 * np.log(2 * np.pi) - log_sigma - 0.5 * (targets - mean) ** 2 / np.exp(2 * log_sigma), axis=(1, 2, 3)
    )
    np.testing.assert_allclose(losses.gaussian_log_likelihood(targets, mean, log_sigma), expected, rtol=1e-5)
    mse = np.mean((targets - mean) ** 2)
    optimal = losses.optimal_log_sigma(targets, mean, min_log_sigma=-6.0).numpy()
    np.testing.assert_allclose(optimal, -6.0 + np.log1p(np.exp(0.5 * np.log(mse) + 6.0)), rtol=1e-5)
    # The optimum: the likelihood is highest at sigma* (a perturbation lowers it).
    at_optimum = losses.gaussian_log_likelihood(targets, mean, 0.5 * np.log(mse)).numpy().sum()
    for delta in (-0.1, 0.1):
        assert losses.gaussian_log_likelihood(targets, mean, 0.5 * np.log(mse) + delta).numpy().sum() < at_optimum


@pytest.mark.parametrize("name", ["cvae", "ssvae", "gumbel_ssvae"])
def test_model_survives_a_keras_file_round_trip(name, tmp_path):
    from conftest import built_model

    model, batch = built_model(name)
    model.train_step(batch, SEED)
    model.save(tmp_path / "model.keras")
    restored = keras.saving.load_model(tmp_path / "model.keras")
    assert type(restored) is type(model) and restored.get_config()["num_classes"] == model.num_classes
    for expected, actual in zip(model.get_weights(), restored.get_weights()):
        np.testing.assert_array_equal(actual, expected)
    np.testing.assert_allclose(restored.sample(3, seed=SEED, labels=1), model.sample(3, seed=SEED, labels=1), rtol=1e-6)
