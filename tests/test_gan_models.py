"""The GAN family: each player's update touches only its own variables, two optimizers,
clear errors on bad labels and codes, and the sample evaluator on tiny inputs."""

import json
import types
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import built_model, create_model, example_batch, synthetic_dataset
from tfgen import losses
from tfgen.evaluation import (
    Evaluator,
    build_classifier,
    frechet_distance_from_features,
    load_classifier,
    save_classifier,
    train_classifier,
)
from tfgen.layers import SpectralNormalization
from tfgen.models import MODELS, ConditionalGAN
from tfgen.models.gan import to_model_range
from tfgen.random import split_seed
from tfgen.training import make_checkpoint

GANS = ["dcgan", "cgan", "infogan"]


def _snapshot(variables):
    return [v.numpy().copy() for v in variables]


def _changed(before, variables):
    return [not np.array_equal(b, v.numpy()) for b, v in zip(before, variables)]


def _still(model):
    """The paths of the discriminator variables that a first update leaves as they are: with the hinge loss, D's
    logit bias, whose gradient, (share of fakes above -1) - (share of reals below 1), is 0 while every score is
    inside the margin, as at initialization. (WGAN-GP's critic has no logit bias: nothing could ever train it.)"""
    if model.loss != "hinge":
        return set()
    return {"discriminator/logit/bias", "discriminator/logit_spectral_norm/logit/bias"}


def _check_discriminator_moved(model, before, variables):
    still = _still(model)
    for moved, variable in zip(_changed(before, variables), variables):
        assert moved == (variable.path not in still), f"{variable.path} moved: {moved}"


@pytest.mark.parametrize("name", GANS)
def test_each_update_touches_only_its_own_players_variables(name, seed):
    model, batch = built_model(name)
    d_variables, g_variables = model.discriminator_variables(), model.generator_variables()
    assert {id(v) for v in d_variables}.isdisjoint({id(v) for v in g_variables})
    assert len(d_variables) + len(g_variables) == len(model.trainable_variables)

    d_before, g_before = _snapshot(d_variables), _snapshot(g_variables)
    model.discriminator_step(batch, seed)
    _check_discriminator_moved(model, d_before, d_variables)
    assert not any(_changed(g_before, g_variables)), "the discriminator's update moved a generator variable"
    assert int(model.d_optimizer.iterations.numpy()) == 1 and int(model.g_optimizer.iterations.numpy()) == 0

    d_before, g_before = _snapshot(d_variables), _snapshot(g_variables)
    model.generator_step(batch, seed + 1)
    assert all(_changed(g_before, g_variables)), "a generator variable did not change"
    assert not any(_changed(d_before, d_variables)), "the generator's update moved a discriminator variable"
    assert int(model.d_optimizer.iterations.numpy()) == 1 and int(model.g_optimizer.iterations.numpy()) == 1


def test_k_discriminator_steps_per_generator_step(seed):
    model = create_model("dcgan", discriminator_steps=3)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batch = next(iter(synthetic_dataset(8).batches(8, shuffle=False, binarization="none")))
    model.build_from_batch(batch)
    metrics = model.train_step(batch, seed)
    assert set(metrics) == {"loss", "d_loss", "g_loss", "gradient_penalty", "skipped_updates"}  # WGAN-GP's
    assert float(metrics["skipped_updates"]) == 0.0  # of its k + 1 = 4 updates, none skipped
    assert int(model.d_optimizer.iterations.numpy()) == 3 and int(model.g_optimizer.iterations.numpy()) == 1


def test_compile_gives_two_optimizers_with_the_same_configuration():
    model = create_model("dcgan")
    optimizer = keras.optimizers.Adam(3e-4, beta_1=0.5)
    model.compile(optimizer=optimizer)  # what the Trainer does
    assert model.optimizer is optimizer and model.g_optimizer is optimizer
    assert model.d_optimizer is not optimizer
    assert float(model.d_optimizer.learning_rate.numpy()) == pytest.approx(3e-4)
    assert model.d_optimizer.beta_1 == 0.5
    other = keras.optimizers.SGD(0.1)
    model.compile(optimizer=keras.optimizers.Adam(1e-4), d_optimizer=other)
    assert model.d_optimizer is other
    with pytest.raises(ValueError, match="two optimizer objects"):
        model.compile(optimizer=optimizer, d_optimizer=optimizer)


def test_generated_images_are_in_minus_one_one_inside_and_zero_one_outside(seed):
    model, batch = built_model("dcgan")
    latents = model.draw_latents(4, seed)
    raw = model.generate_raw(latents).numpy()
    assert raw.min() >= -1.0 and raw.max() <= 1.0 and raw.min() < 0.0
    np.testing.assert_allclose(model.generate(latents["z"]).numpy(), (raw + 1.0) / 2.0, rtol=1e-6, atol=1e-7)


def test_cgan_bad_labels_get_clear_errors(seed):
    model, batch = built_model("cgan")
    bad = {**batch, "label": tf.constant([0, 1, 2, 3, 4, 5, 6, 12], tf.int64)}
    with pytest.raises(ValueError, match=r"batch\['label'\] must be a class id in \[0, 10\). Received: .*max=12"):
        model.train_step(bad, seed)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"must be a class id in \[0, 10\)"):
        tf.function(model.train_step)(bad, seed)
    with pytest.raises(TypeError, match="integer class ids"):
        model.train_step({**batch, "label": tf.one_hot(batch["label"], 10)}, seed)
    with pytest.raises(ValueError, match="no 'label' entry"):
        model.train_step({"image": batch["image"]}, seed)
    with pytest.raises(ValueError, match=r"Expected 8 batch\[.label.\], one per example. Received: 3"):
        model.train_step({**batch, "label": batch["label"][:3]}, seed)
    with pytest.raises(ValueError, match=r"must be a class id in \[0, 10\)"):
        model.sample(2, seed=seed, labels=[3, 10])
    with pytest.raises(ValueError, match=r"z of shape \(batch, 8\)"):
        model.generate(tf.zeros([2, 5]), tf.constant([1, 2]))
    with pytest.raises(ValueError, match=r"one-hot of shape \(batch, 10\)"):
        model.generate(tf.zeros([2, 8]), tf.zeros([2, 9]))


def test_cgan_options_and_sampling(seed):
    with pytest.raises(ValueError, match="Unknown label_input 'bogus'"):
        ConditionalGAN(label_input="bogus")
    model = create_model("cgan", label_input="vector")
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batch = next(iter(synthetic_dataset(8).batches(8, shuffle=False, binarization="none")))
    model.build_from_batch(batch)
    assert model.discriminator.planes is None
    assert all(np.isfinite(v.numpy()) for v in model.train_step(batch, seed).values())
    planes_model, _ = built_model("cgan")
    assert planes_model.discriminator.conv1.kernel.shape[2] == 11  # 1 image channel + 10 label planes
    # sample(labels=...) draws the requested classes; one-hot and id labels agree.
    z = tf.random.stateless_normal([3, 8], seed=[1, 2])
    np.testing.assert_allclose(planes_model.generate(z, tf.constant([1, 4, 9])).numpy(),
                               planes_model.generate(z, tf.one_hot([1, 4, 9], 10)).numpy(), rtol=1e-6)
    sample = planes_model.serving_endpoints()["sample"][0]
    images = sample(tf.constant([1, 2, 3], tf.int64), tf.constant([4, 4, 9], tf.int64))["images"].numpy()
    assert images.shape == (3, 28, 28, 1)
    np.testing.assert_allclose(  # the same seed and label give the same image, whatever the batch
        images[1:], sample(tf.constant([2, 3], tf.int64), tf.constant([4, 9], tf.int64))["images"].numpy(), rtol=1e-5)
    with pytest.raises((ValueError, tf.errors.InvalidArgumentError), match=r"\[0, 10\)"):
        sample(tf.constant([1], tf.int64), tf.constant([10], tf.int64))


@pytest.mark.parametrize("name", GANS)
def test_the_averaged_generator_follows_its_recurrence_and_leaves_training_unchanged(name):
    """`generator_ema`: the generator's path is the one it takes without an average (bit for bit: the average
    only reads it), the average follows average <- a + (1 - d_t) (g - a) with d_t = min(d, (1 + t) / (10 + t))
    after each generator update t, and samples come from the average."""
    decay, steps = 0.5, 4
    models = {}
    for ema in (None, decay):
        keras.utils.set_random_seed(0)
        model = create_model(name, generator_ema=ema)
        model.compile(optimizer=keras.optimizers.Adam(1e-3))
        batch = example_batch(model)
        model.build_from_batch(batch)
        models[ema] = model
    plain, averaged = models[None], models[decay]
    assert plain.generator_average is None and plain.sampling_generator is plain.generator
    assert averaged.sampling_generator is averaged.generator_average
    assert not averaged.generator_average.trainable_variables  # never trained by an optimizer
    assert len(averaged.trainable_variables) == len(plain.trainable_variables)
    generator = averaged.generator.weights
    expected = _snapshot(generator)  # the average starts as the generator
    np.testing.assert_array_equal(np.concatenate([w.ravel() for w in expected]),
                                  np.concatenate([w.ravel() for w in _snapshot(averaged.generator_average.weights)]))
    for step in range(1, steps + 1):
        for model in (plain, averaged):
            model.train_step(batch, tf.constant([step, 3], tf.int64))
        d_t = np.float32(min(decay, (1 + step) / (10 + step)))
        expected = [a + (np.float32(1) - d_t) * (g - a) for a, g in zip(expected, _snapshot(generator))]
    for live, reference in zip(averaged.generator.weights, plain.generator.weights):
        np.testing.assert_array_equal(live.numpy(), reference.numpy())
    got = _snapshot(averaged.generator_average.weights)
    # float32 arithmetic: each update rounds three times a value no larger than max |a|, |g|; over `steps` updates
    # the difference from the NumPy float32 recurrence stays below steps * 3 * eps * that magnitude.
    for value, reference in zip(got, expected):
        scale = max(float(np.abs(reference).max()), 1.0)
        np.testing.assert_allclose(value, reference, rtol=0, atol=steps * 3 * np.finfo(np.float32).eps * scale)
    assert max(float(np.abs(a - g.numpy()).max()) for a, g in zip(got, generator)) > 1e-4  # it does lag behind
    # Samples (and so the figures and the exports) come from the average; training sees the generator.
    latents = averaged.draw_latents(4, tf.constant([5, 6], tf.int64))
    inputs = averaged.generator_inputs(latents)
    np.testing.assert_array_equal(averaged.generate_raw(latents).numpy(),
                                  averaged.generator_average(inputs, training=False).numpy())
    assert not np.allclose(averaged.generate_raw(latents).numpy(), averaged.generator(inputs, training=False).numpy())
    for bad in (0, 1, 1.5, -0.1):
        with pytest.raises(ValueError, match="generator_ema"):
            create_model(name, generator_ema=bad)


def test_the_averaged_generator_is_checkpointed_and_saved(tmp_path, seed):
    """A checkpoint and a `.keras` file hold the average; a model without one reads neither's extra weights."""
    model, batch = built_model("cgan")  # the descriptor keeps an average
    for step in range(3):
        model.train_step(batch, seed + step)
    path = make_checkpoint(model, model.optimizer).save(str(tmp_path / "ckpt"))
    restored, _ = built_model("cgan", seed=1)
    make_checkpoint(restored, restored.optimizer).restore(path).assert_consumed()
    for got, want in zip(restored.generator_average.weights, model.generator_average.weights):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    model.save(tmp_path / "cgan.keras")
    loaded = keras.saving.load_model(tmp_path / "cgan.keras")
    np.testing.assert_array_equal(loaded.sample(3, seed=seed).numpy(), model.sample(3, seed=seed).numpy())


def test_infogan_codes_metrics_and_bad_code_sizes(seed):
    model, batch = built_model("infogan")
    metrics = model.train_step(batch, seed)
    assert set(metrics) == {"loss", "d_loss", "g_loss", "mi_loss", "skipped_updates"}
    np.testing.assert_allclose(
        metrics["loss"].numpy(),
        (metrics["d_loss"] + metrics["g_loss"] + model.info_weight * metrics["mi_loss"]).numpy(), rtol=1e-6)
    latents = model.draw_latents(64, seed)
    assert latents["continuous"].shape == (64, 2)
    assert latents["continuous"].numpy().min() >= -1.0 and latents["continuous"].numpy().max() <= 1.0
    assert latents["categorical"].numpy().max() < 10
    logits, mean, log_std = model.predict_codes(batch["image"])
    assert logits.shape == (8, 10) and mean.shape == (8, 2) and log_std.shape == (8, 2)
    z = tf.zeros([2, 8])
    assert model.generate(z, tf.constant([0, 3]), tf.zeros([2, 2])).shape == (2, 28, 28, 1)
    with pytest.raises(ValueError, match=r"continuous codes must have shape \(batch, 2\). Received: continuous.shape=\(2, 3\)"):
        model.generate(z, tf.constant([0, 3]), tf.zeros([2, 3]))
    with pytest.raises(ValueError, match=r"one-hot of shape \(batch, 10\)"):
        model.generate(z, tf.zeros([2, 7]), tf.zeros([2, 2]))
    with pytest.raises(ValueError, match=r"categorical must be a class id in \[0, 10\)"):
        model.generate(z, tf.constant([0, 10]), tf.zeros([2, 2]))
    with pytest.raises(ValueError, match="2 rows"):
        model.generate(z, tf.constant([0, 1, 2]), tf.zeros([3, 2]))
    with pytest.raises(ValueError, match="num_categories must be an integer >= 2"):
        MODELS["infogan"](num_categories=1)


@pytest.mark.parametrize("name", GANS)
def test_config_round_trip(name):
    model = create_model(name)
    clone = MODELS[name].from_config(model.get_config())
    config, clone_config = model.get_config(), clone.get_config()
    config.pop("name"), clone_config.pop("name")
    assert clone_config == config
    json.dumps(config)


# ------------------------------------------------------------- the objectives

#: Each objective with the discriminator it is trained with here: WGAN-GP's critic without batch norm (required),
#: the hinge loss with spectral normalization (Miyato et al.'s SN-GAN), the minimax game with the DCGAN's.
OBJECTIVES = {"minimax": {"discriminator_batch_norm": True, "spectral_norm": False},
              "wgan_gp": {"discriminator_batch_norm": False, "spectral_norm": False},
              "hinge": {"discriminator_batch_norm": False, "spectral_norm": True}}


def _objective_model(name, loss, **overrides):
    keras.utils.set_random_seed(0)
    model = create_model(name, loss=loss, **{**OBJECTIVES.get(loss, {}), **overrides})
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batch = example_batch(model)
    model.build_from_batch(batch)
    return model, batch


@pytest.mark.parametrize("loss", sorted(OBJECTIVES))
@pytest.mark.parametrize("name", GANS)
def test_one_step_of_each_objective_is_finite_and_moves_both_players(name, loss, seed):
    model, batch = _objective_model(name, loss)
    d_variables, g_variables = model.discriminator_variables(), model.generator_variables()
    d_before, g_before = _snapshot(d_variables), _snapshot(g_variables)
    metrics = model.train_step(batch, seed)
    assert set(metrics) == {*model.metric_names, "skipped_updates"}
    assert ("gradient_penalty" in metrics) == (loss == "wgan_gp")
    assert all(np.isfinite(float(value)) for value in metrics.values()), metrics
    assert float(metrics["skipped_updates"]) == 0.0
    _check_discriminator_moved(model, d_before, d_variables)
    assert all(_changed(g_before, g_variables)), "a generator variable did not change"


@pytest.mark.parametrize("loss", ["non_saturating", *sorted(OBJECTIVES)])
def test_each_objective_is_its_pair_of_losses_on_the_steps_scores(loss, seed):
    """The CGAN (the model whose D takes a condition) against `tfgen.losses` on D's scores, drawn as the step
    draws them: the latents from the step's seed (with WGAN-GP, from the first of its two halves; the second gives
    eps), the gradient penalty at eps x + (1 - eps) G(z) with D's label held at the real example's; with WGAN-GP
    the critic's fakes are drawn with the real examples' labels (the penalty's lines join pairs of one label)."""
    overrides = {"label_smoothing": 0.1} if loss in ("minimax", "non_saturating") else {}
    model, batch = _objective_model("cgan", loss, **overrides)
    assert model.loss == loss
    d_objective, d_metrics = model.discriminator_objective(batch, seed, training=False)
    g_objective, g_metrics = model.generator_objective(batch, seed, training=False)
    latent_seed, penalty_seed = split_seed(seed, 2) if loss == "wgan_gp" else (seed, None)
    real, real_condition = to_model_range(batch["image"]), model.real_condition(batch)
    latents = model.draw_latents(8, latent_seed)
    if loss == "wgan_gp":
        latents["labels"] = real_condition
    fake = model.generator(model.generator_inputs(latents), training=False)
    real_scores = model.discriminate(real, real_condition, False)[0]
    fake_scores = model.discriminate(fake, model.fake_condition(latents), False)[0]
    g_latents = model.draw_latents(8, seed)  # the generator's objective draws from its whole seed
    g_fake = model.generator(model.generator_inputs(g_latents), training=False)
    g_scores = model.discriminate(g_fake, model.fake_condition(g_latents), False)[0]
    if loss == "wgan_gp":
        eps = tf.random.stateless_uniform([8], penalty_seed)
        penalty = losses.gradient_penalty(lambda x: model.discriminate(x, real_condition, False)[0], real, fake, eps)
        expected_d = losses.wasserstein_critic_loss(real_scores, fake_scores) + model.gradient_penalty * penalty
        np.testing.assert_allclose(d_metrics["gradient_penalty"].numpy(), penalty.numpy(), rtol=1e-6)
        assert float(penalty) > 0.0
    elif loss == "hinge":
        expected_d = losses.hinge_discriminator_loss(real_scores, fake_scores)
    else:
        expected_d = losses.discriminator_loss(real_scores, fake_scores, label_smoothing=model.label_smoothing)
    expected_g = {"non_saturating": losses.generator_loss, "minimax": losses.minimax_generator_loss}.get(
        loss, losses.wasserstein_generator_loss)(g_scores)
    # The same float32 operations on the same values in the same order as the step's: equal to rounding only.
    np.testing.assert_allclose(d_objective.numpy(), expected_d.numpy(), rtol=1e-6)
    np.testing.assert_allclose(g_objective.numpy(), expected_g.numpy(), rtol=1e-6)
    assert set(d_metrics) == ({"d_loss", "gradient_penalty"} if loss == "wgan_gp" else {"d_loss"})


def test_spectral_norm_state_follows_the_steps_is_put_back_when_one_is_skipped_and_is_checkpointed(seed, tmp_path):
    model, batch = built_model("infogan")  # the descriptor: spectral normalization (and the minimax loss)
    wrappers = [layer for layer in model.discriminator._flatten_layers() if isinstance(layer, SpectralNormalization)]
    # D's two convolutions (28x28) and its logit; Q's head (a classifier of the codes) is not D's score: none.
    assert sorted(wrapper.name for wrapper in wrappers) == ["conv1_spectral_norm", "conv2_spectral_norm",
                                                            "logit_spectral_norm"]
    assert not any(isinstance(layer, SpectralNormalization) for layer in model.q_head._flatten_layers())
    vectors = [wrapper.vector_u for wrapper in wrappers]
    assert all(any(vector is state for state in model._non_trainable_state()) for vector in vectors)
    before = _snapshot(vectors)
    model.discriminator_step(batch, seed)
    assert all(_changed(before, vectors)), "a training step must move every power iteration's vector"
    # A NaN in D's first kernel: its u would become NaN in the forward pass; the skipped update puts u back.
    for compiled in (False, True):
        kernel = wrappers[0].layer.kernel
        healthy = kernel.numpy()
        poisoned = healthy.copy()
        poisoned.flat[0] = np.nan
        kernel.assign(poisoned)
        before = _snapshot(vectors)
        step = tf.function(model.discriminator_step) if compiled else model.discriminator_step
        assert float(step(batch, seed)["skipped_updates"]) == 1.0
        for old, vector in zip(before, vectors):
            np.testing.assert_array_equal(vector.numpy(), old)
        kernel.assign(healthy)
    path = make_checkpoint(model, model.optimizer).save(str(tmp_path / "ckpt"))
    restored, _ = built_model("infogan", seed=1)
    make_checkpoint(restored, restored.optimizer).restore(path).assert_consumed()
    restored_vectors = [layer.vector_u for layer in restored.discriminator._flatten_layers()
                        if isinstance(layer, SpectralNormalization)]
    for old, vector in zip(_snapshot(vectors), restored_vectors):
        np.testing.assert_array_equal(vector.numpy(), old)


@pytest.mark.parametrize("name", GANS)
def test_the_objective_options_round_trip_and_configs_without_them_load_as_before(name):
    model = create_model(name, loss="wgan_gp", gradient_penalty=2.5, spectral_norm=True, discriminator_batch_norm=False,
                         label_smoothing=0.0)
    config = json.loads(json.dumps(model.get_config()))
    clone = MODELS[name].from_config(config)
    assert (clone.loss, clone.gradient_penalty, clone.spectral_norm) == ("wgan_gp", 2.5, True)
    assert isinstance(clone.discriminator.conv1, SpectralNormalization)
    assert isinstance(clone.discriminator.logit, SpectralNormalization)
    assert not clone.discriminator.logit.layer.use_bias  # a Wasserstein critic's logit has no bias
    # A config written before the options existed (no "loss", "gradient_penalty", "spectral_norm"): today's default.
    old = {key: value for key, value in config.items() if key not in ("loss", "gradient_penalty", "spectral_norm")}
    legacy = MODELS[name].from_config({**old, "discriminator_batch_norm": True})
    assert (legacy.loss, legacy.gradient_penalty, legacy.spectral_norm) == ("non_saturating", 10.0, False)
    assert legacy.metric_names[:3] == ("loss", "d_loss", "g_loss") and "gradient_penalty" not in legacy.metric_names
    assert not any(isinstance(layer, SpectralNormalization) for layer in legacy.discriminator._flatten_layers())
    assert legacy.discriminator.logit.use_bias


# ------------------------------------------------------------- the evaluator


@pytest.fixture(scope="module")
def evaluator():
    keras.utils.set_random_seed(0)
    return Evaluator(build_classifier(10))


def test_frechet_distance_of_identical_sets_is_zero_and_grows_with_a_shift(evaluator):
    images = np.random.default_rng(0).uniform(size=(40, 28, 28, 1)).astype(np.float32)
    assert evaluator.frechet_distance(images, images) == pytest.approx(0.0, abs=1e-6)
    assert evaluator.frechet_distance(images, np.clip(images * 0.2, 0, 1)) > 1e-3


def test_frechet_distance_from_features_against_scipy():
    from scipy import linalg

    rng = np.random.default_rng(1)
    a = rng.normal(size=(200, 4))
    b = rng.normal(size=(150, 4)) @ rng.normal(size=(4, 4)) + 1.0
    mean_a, mean_b, cov_a, cov_b = a.mean(0), b.mean(0), np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    expected = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a + cov_b - 2 * np.real(linalg.sqrtm(cov_a @ cov_b)))
    np.testing.assert_allclose(frechet_distance_from_features(a, b), expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"\(N, D\) and \(M, D\)"):
        frechet_distance_from_features(a, b[:, :3])


def test_label_accuracy_features_and_diversity(evaluator):
    rng = np.random.default_rng(2)
    images = rng.uniform(size=(12, 28, 28, 1)).astype(np.float32)
    predicted = evaluator.predict(images)
    assert evaluator.label_accuracy(images, predicted) == 1.0
    assert evaluator.label_accuracy(images, (predicted + 1) % 10) == 0.0
    features = evaluator.features(images)
    assert features.shape == (12, 128)
    labels = np.array([0] * 6 + [1] * 6)
    diversity = evaluator.diversity(images, labels)
    group = features[:6].astype(np.float64)
    expected = np.mean([np.linalg.norm(group[i] - group[j]) for i in range(6) for j in range(6) if i != j])
    assert set(diversity) == {0, 1}
    np.testing.assert_allclose(diversity[0], expected, rtol=1e-5)
    collapsed = np.repeat(images[:1], 5, axis=0)  # one image five times: no diversity
    assert evaluator.diversity(collapsed, np.zeros(5))[0] == pytest.approx(0.0, abs=1e-3)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        evaluator.features(images * 3)
    with pytest.raises(ValueError, match="one label per image"):
        evaluator.label_accuracy(images, labels[:3])


def test_train_save_and_load_classifier(tmp_path):
    model, accuracy = train_classifier(synthetic_dataset(64), synthetic_dataset(32, seed=1), epochs=1, batch_size=32, verbose=0)
    assert 0.0 <= accuracy <= 1.0
    path = save_classifier(model, str(tmp_path / "clf.weights.h5"))
    images = synthetic_dataset(8, seed=2).images.astype(np.float32) / 255.0
    np.testing.assert_allclose(load_classifier(path).predict(images, verbose=0), model.predict(images, verbose=0), rtol=1e-5)
    with pytest.raises(ValueError, match=".weights.h5"):
        save_classifier(model, str(tmp_path / "clf.h5"))
    with pytest.raises(FileNotFoundError, match="train one"):
        load_classifier(str(tmp_path / "missing.weights.h5"))


def test_diagnostics_callback_logs_writes_json_and_warns(tmp_path, evaluator):
    from tfgen.evaluation import GANDiagnosticsCallback

    model, _ = built_model("cgan")
    callback = GANDiagnosticsCallback(evaluator, synthetic_dataset(40), num_samples=20, warn_accuracy=1.01)
    trainer = types.SimpleNamespace(model=model, run_dir=str(tmp_path), epochs=2)
    logs = {"epoch": 1}
    with pytest.warns(RuntimeWarning, match="ignoring its label"):
        callback.on_epoch_end(trainer, 1, logs)
    for key in ("label_accuracy", "diversity", "real_diversity", "diversity_ratio", "frechet_distance"):
        assert np.isfinite(logs[f"gan/{key}"]), key
    entries = json.loads((tmp_path / "gan_diagnostics.json").read_text())
    assert [e["epoch"] for e in entries] == [1]
    quiet = GANDiagnosticsCallback(evaluator, synthetic_dataset(40), num_samples=20, warn_accuracy=0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet.on_epoch_end(trainer, 2, {"epoch": 2})
    assert [e["epoch"] for e in json.loads((tmp_path / "gan_diagnostics.json").read_text())] == [1, 2]


def test_matched_accuracy_finds_the_best_one_to_one_matching():
    from tfgen.evaluation import matched_accuracy, purity

    labels = np.array([0, 0, 1, 1, 2, 2, 2, 2])
    accuracy, mapping = matched_accuracy(labels, (labels + 1) % 3)  # renamed clusters: perfect
    assert accuracy == 1.0 and mapping == {1: 0, 2: 1, 0: 2}
    # Cluster 5 holds all of class 2 and half of class 0: it takes class 2 (4 examples), cluster 7 gets class 0
    # (1 example), cluster 9 class 1 (2). Purity lets cluster 5 and 7 both vote; matching cannot.
    clusters = np.array([5, 7, 9, 9, 5, 5, 5, 5])
    accuracy, mapping = matched_accuracy(labels, clusters)
    assert mapping == {5: 2, 7: 0, 9: 1} and accuracy == pytest.approx(7 / 8)
    assert matched_accuracy(labels, np.zeros(8, np.int64))[0] == pytest.approx(4 / 8) == purity(labels, np.zeros(8, np.int64))
    with pytest.raises(ValueError, match="same length"):
        matched_accuracy(labels, clusters[:3])


def test_infogan_categorical_code_accuracy_reads_q_on_real_images():
    from tfgen.evaluation import categorical_code_accuracy

    model, _ = built_model("infogan")
    data = synthetic_dataset(20)
    scores = categorical_code_accuracy(model, data, batch_size=8)
    logits, _, _ = model.predict_codes(tf.constant(data.images[:20].astype(np.float32) / 255.0))
    np.testing.assert_array_equal(scores["codes"], np.argmax(logits.numpy(), axis=-1))
    assert 0.0 < scores["accuracy"] <= 1.0 and scores["error"] == pytest.approx(1 - scores["accuracy"])
    with pytest.raises(TypeError, match="InfoGAN"):
        categorical_code_accuracy(built_model("dcgan")[0], data)


def test_diagnostics_callback_logs_the_infogan_code_error_each_epoch(tmp_path, evaluator):
    from tfgen.evaluation import GANDiagnosticsCallback, categorical_code_accuracy

    model, _ = built_model("infogan")
    real = synthetic_dataset(40)
    callback = GANDiagnosticsCallback(evaluator, real, num_samples=20, warn_accuracy=0.0, code_samples=4)
    logs = {"epoch": 1}
    callback.on_epoch_end(types.SimpleNamespace(model=model, run_dir=str(tmp_path), epochs=1), 1, logs)
    expected = categorical_code_accuracy(model, real.take(20))["error"]
    assert logs["gan/code_error"] == pytest.approx(expected)
    assert json.loads((tmp_path / "gan_diagnostics.json").read_text())[0]["code_error"] == pytest.approx(expected)
    assert "code_error" not in callback.evaluate(built_model("dcgan")[0])
    # After training: the code read as a classifier of all the real images, and each code's samples.
    callback.on_train_end(types.SimpleNamespace(model=model, run_dir=str(tmp_path), epochs=1, verbose=0), logs)
    final = json.loads((tmp_path / "code_accuracy.json").read_text())
    assert final["error"] == pytest.approx(categorical_code_accuracy(model, real)["error"])
    assert sum(sum(counts) for counts in final["generated"]["counts"].values()) == 4 * model.num_categories


def test_plot_callback_draws_the_conditional_gan_figures(tmp_path):
    from tfgen.plotting import PlotCallback

    model, _ = built_model("cgan")
    trainer = types.SimpleNamespace(model=model, run_dir=str(tmp_path), epochs=2, history=[{"epoch": 1, "train/loss": 1.0}],
                                    test_data=None)
    callback = PlotCallback(every=1, num_samples=4)
    callback.on_epoch_end(trainer, 1, {"epoch": 1})
    plots = sorted(path.name for path in (tmp_path / "plots").iterdir())
    assert plots == ["class5_across_epochs.png", "class_rows_epoch001.png", "losses.png", "samples_epoch001.png"]
    trainer.history.append({"epoch": 2, "train/loss": 0.5})
    callback.on_epoch_end(trainer, 2, {"epoch": 2})
    assert sorted(callback.tracked) == [1, 2]  # the tracked class, one row per epoch
    callback.on_train_end(trainer, {})
    assert {"class_rows_final.png", "interpolation_final.png"} <= {path.name for path in (tmp_path / "plots").iterdir()}
    with pytest.raises(ValueError, match="Unknown figures"):
        PlotCallback(figures=["nope"])


def test_infogan_discriminator_dense_layer_is_shared_with_q_and_checkpointed(seed, tmp_path):

    keras.utils.set_random_seed(0)
    model = create_model("infogan", discriminator_hidden_units=(24,))
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batch = example_batch(model)
    model.build_from_batch(batch)
    assert model.spectral_norm  # the descriptor's: the checkpoint below holds the power iterations' vectors too
    assert model.discriminator.dense0.layer.kernel.shape[-1] == 24
    assert model.q_head.dense.kernel.shape[0] == 24  # Q reads D's Dense features
    logits, _, _ = model.predict_codes(tf.zeros([3, 28, 28, 1]))
    assert logits.shape == (3, model.num_categories)
    d_variables = model.discriminator_variables()
    before = _snapshot(d_variables)
    model.discriminator_step(batch, seed)
    assert all(_changed(before, d_variables))
    clone = MODELS["infogan"].from_config(model.get_config())
    assert clone.discriminator_hidden_units == (24,) and clone.discriminator.hidden_units == (24,)
    # Every variable, the Dense layer's batch-norm statistics included, goes into the checkpoint and comes
    # back through the model alone, as `restore_model` loads it.
    path = make_checkpoint(model).save(str(tmp_path / "ckpt"))
    clone.build_from_batch(batch)
    make_checkpoint(clone).restore(path).expect_partial().assert_existing_objects_matched()
    assert len(clone.variables) == len(model.variables)
    for expected, actual in zip(model.variables, clone.variables):
        np.testing.assert_array_equal(actual.numpy(), expected.numpy(), err_msg=expected.path)
    with pytest.raises(ValueError, match="discriminator_hidden_units"):
        create_model("infogan", discriminator_hidden_units=(0,))


def test_generated_code_accuracy_matches_codes_to_the_digits_they_draw(evaluator):
    from tfgen.evaluation import generated_code_accuracy

    class Drawer:  # code c draws an image whose mean brightness is c / 10
        latent_dim, num_categories, num_continuous = 3, 10, 2
        latent_codes = True

        def predict_codes(self, images):
            raise AssertionError("not used")

        def generate(self, z, categorical, continuous):
            assert z.shape[0] == categorical.shape[0] == continuous.shape[0]
            level = tf.cast(categorical, tf.float32)[:, None, None, None] / 10.0
            return tf.broadcast_to(level, [z.shape[0], 28, 28, 1])

    class ShiftedReader:  # reads brightness c / 10 as digit (c + 3) % 10
        def predict(self, images):
            return ((np.round(images.mean(axis=(1, 2, 3)) * 10).astype(np.int64) + 3) % 10)

    class ConstantReader:
        def predict(self, images):
            return np.zeros(len(images), np.int64)

    scores = generated_code_accuracy(Drawer(), ShiftedReader(), per_code=7, batch_size=4)
    assert scores["accuracy"] == 1.0 and scores["mapping"] == {c: (c + 3) % 10 for c in range(10)}
    assert scores["per_code"] == {c: 1.0 for c in range(10)}
    assert scores["counts"][4] == [0] * 7 + [7, 0, 0]  # code 4 is read as digit 7 every time
    collapsed = generated_code_accuracy(Drawer(), ConstantReader(), per_code=5)
    assert collapsed["accuracy"] == pytest.approx(0.1) and collapsed["error"] == pytest.approx(0.9)
    assert all(counts == [5] for counts in collapsed["counts"].values())
    with pytest.raises(ValueError, match="per_code"):
        generated_code_accuracy(Drawer(), ShiftedReader(), per_code=0)
    with pytest.raises(TypeError, match="InfoGAN"):
        generated_code_accuracy(built_model("dcgan")[0], ShiftedReader())
    infogan = built_model("infogan")[0]  # the real path: InfoGAN.generate and the classifier
    real = generated_code_accuracy(infogan, evaluator, per_code=3)
    assert 0.1 <= real["accuracy"] <= 1.0 and set(real["per_code"]) <= set(range(infogan.num_categories))


@pytest.mark.parametrize("name, old_module", [("dcgan", "tfgen.models.gan"), ("gumbel_ssvae", "tfgen.models.gumbel_cvae")])
def test_configs_naming_the_modules_before_their_renames_still_load(name, old_module):
    # DCGAN lived in tfgen.models.gan and the Gumbel M2 in tfgen.models.gumbel_cvae; .keras files written
    # then name the old modules, and Keras must find the classes by their registered names.
    model = create_model(name)
    config = keras.saving.serialize_keras_object(model)
    assert config["module"] != old_module
    config["module"] = old_module
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is MODELS[name] and restored.get_config() == model.get_config()
