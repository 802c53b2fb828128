"""The semi-supervised VAEs (M2 and its Gumbel-softmax variant) and the labelled splits:
the enumerated loss against a hand computation, splits, masks, label errors, annealing."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import synthetic_dataset
from tfgen import losses
from tfgen.data import ImageDataset
from tfgen.data import SemiSupervisedDataset, labelled_split
from tfgen.models import GumbelSemiSupervisedVAE, SemiSupervisedVAE
from tfgen.training import Trainer


def _balanced_dataset(per_class=30, num_classes=10, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(num_classes), per_class)
    rng.shuffle(labels)
    images = rng.integers(0, 256, size=(len(labels), 28, 28, 1), dtype=np.uint8)
    return ImageDataset(images, labels, num_classes=num_classes, name="balanced")


def _model(cls=SemiSupervisedVAE, **kwargs):
    keras.utils.set_random_seed(0)
    model = cls(**{"latent_dim": 2, "num_classes": 10, **kwargs})
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    return model


def _batch(size=6, labelled=None, seed=0):
    rng = np.random.default_rng(seed)
    batch = {
        "image": tf.constant((rng.uniform(size=(size, 28, 28, 1)) < 0.3).astype(np.float32)),
        "label": tf.constant(rng.integers(0, 10, size=size), tf.int64),
    }
    if labelled is not None:
        batch["labelled"] = tf.constant(labelled, tf.float32)
    return batch


def test_enumerated_unlabelled_loss_on_a_two_class_example():
    # q = (1/4, 3/4), L = (1, 2): 1/4 + 3/2 + (1/4 log 1/4 + 3/4 log 3/4).
    value = losses.enumerated_unlabelled_loss(tf.constant([[1.0, 2.0]]), tf.constant([[0.0, np.log(3.0)]]))
    expected = 0.25 * 1.0 + 0.75 * 2.0 + (0.25 * np.log(0.25) + 0.75 * np.log(0.75))
    np.testing.assert_allclose(value.numpy(), [expected], rtol=1e-6)


def _numpy_bernoulli_log_likelihood(images, logits):
    return np.sum(images * -np.logaddexp(0, -logits) + (1 - images) * -np.logaddexp(0, logits), axis=(1, 2, 3))


def test_m2_loss_matches_a_hand_computation_on_a_tiny_case():
    """Two classes, a labelled and an unlabelled image; z made deterministic (variance e^-30)."""
    model = SemiSupervisedVAE(latent_dim=1, num_classes=2, alpha=0.7, encoder_units=4)
    batch = {
        "image": tf.constant((np.random.default_rng(1).uniform(size=(2, 28, 28, 1)) < 0.4).astype(np.float32)),
        "label": tf.constant([1, 0], tf.int64),
        "labelled": tf.constant([True, False]),
    }
    model.build_from_batch(batch)
    # q(z|x,y): z_mean = 0.2 + (0.3 if y = 0 else -0.7), log variance -30, whatever x.
    kernel = np.zeros((4 + 2, 2), np.float32)
    kernel[4:, 0] = [0.3, -0.7]
    model.encoder_head.set_weights([kernel, np.array([0.2, -30.0], np.float32)])

    images = batch["image"].numpy()
    logits = model.classifier(batch["image"]).numpy()
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)

    def cvae_loss(image, label):
        z_mean = 0.2 + kernel[4 + label, 0]
        one_hot = tf.one_hot([label], 2)
        decoder_logits = model.decoder(model.label_projection([tf.constant([[z_mean]], tf.float32), one_hot])).numpy()
        kl = 0.5 * (30.0 + np.exp(-30.0) + z_mean**2 - 1.0)
        return -_numpy_bernoulli_log_likelihood(image[None], decoder_logits)[0] + kl

    labelled = cvae_loss(images[0], 1) - 0.7 * np.log(probs[0, 1])
    entropy = -np.sum(probs[1] * np.log(probs[1]))
    unlabelled = probs[1, 0] * cvae_loss(images[1], 0) + probs[1, 1] * cvae_loss(images[1], 1) - entropy
    expected = (labelled + unlabelled) / 2

    for compute in (model.compute_losses, tf.function(model.compute_losses)):
        metrics = compute(batch, seed=tf.constant([3, 4], tf.int64))
        np.testing.assert_allclose(metrics["loss"].numpy(), expected, rtol=1e-4)
        np.testing.assert_allclose(metrics["unlabelled_loss"].numpy(), unlabelled, rtol=1e-4)
        np.testing.assert_allclose(metrics["classification_loss"].numpy(), -np.log(probs[0, 1]), rtol=1e-4)


def test_hidden_labels_of_unlabelled_rows_are_never_used():
    model = _model()
    batch = _batch(labelled=[1, 0, 1, 0, 0, 0])
    model.build_from_batch(batch)
    other = {**batch, "label": tf.constant([batch["label"][0].numpy(), 7, batch["label"][2].numpy(), 1, 2, 3], tf.int64)}
    seed = tf.constant([1, 2], tf.int64)
    np.testing.assert_allclose(model.compute_losses(batch, seed)["loss"], model.compute_losses(other, seed)["loss"])
    # Unlabelled rows may even carry -1.
    minus_one = {**batch, "label": tf.where(batch["labelled"] > 0, batch["label"], -1)}
    np.testing.assert_allclose(model.compute_losses(minus_one, seed)["loss"], model.compute_losses(batch, seed)["loss"])


def test_a_batch_without_a_mask_is_all_labelled():
    model = _model()
    batch = _batch()
    model.build_from_batch(batch)
    seed = tf.constant([1, 2], tf.int64)
    unmasked = model.compute_losses(batch, seed)
    masked = model.compute_losses({**batch, "labelled": tf.ones([6], tf.bool)}, seed)
    # The masked path draws z for every (image, class) pair: equal up to the sampling noise.
    for name in ("classification_loss", "accuracy", "entropy", "unlabelled_loss"):
        np.testing.assert_allclose(unmasked[name], masked[name], rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(unmasked["loss"], masked["loss"], rtol=1e-2)
    assert float(unmasked["unlabelled_loss"]) == 0.0


def test_bad_labels_get_clear_errors():
    model = _model()
    batch = _batch()
    model.build_from_batch(batch)
    seed = tf.constant([1, 2], tf.int64)
    with pytest.raises(ValueError, match=r"class id in \[0, 10\)\. Received: labels with min=0, max=12"):
        model.compute_losses({**batch, "label": tf.constant([0, 1, 2, 3, 4, 12], tf.int64)}, seed)
    with pytest.raises(ValueError, match="have 5 classes, expected num_classes=10"):
        model.compute_losses({**batch, "label": tf.one_hot(batch["label"] % 5, 5)}, seed)
    with pytest.raises(ValueError, match=r"must be class ids of shape \(batch,\)"):
        model.compute_losses({**batch, "label": tf.zeros([6, 1], tf.int64)}, seed)
    with pytest.raises(ValueError, match="Expected 6 labels, one per example. Received: 4"):
        model.compute_losses({**batch, "label": tf.zeros([4], tf.int64)}, seed)
    with pytest.raises(ValueError, match="rows summing to 1"):
        model.compute_losses({**batch, "label": tf.fill([6, 10], 0.5)}, seed)
    with pytest.raises(TypeError, match="integer class ids or float one-hot"):
        model.compute_losses({**batch, "label": tf.constant(["a"] * 6)}, seed)
    with pytest.raises(ValueError, match="labelled mask must hold only 0 and 1"):
        model.compute_losses({**batch, "labelled": tf.fill([6], 0.5)}, seed)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"class id in \[0, 10\)"):
        tf.function(model.compute_losses)({**batch, "label": tf.constant([0, 1, 2, 3, 4, 12], tf.int64)}, seed)
    with pytest.raises(ValueError, match=r"labels must be a class id in \[0, 10\)"):
        model.sample(3, seed=seed, labels=10)


def test_classify_endpoint_gives_probabilities():
    model = _model()
    model.build_from_batch(_batch())
    function, signature = model.serving_endpoints()["classify"]
    outputs = function(_batch()["image"])
    np.testing.assert_allclose(outputs["probabilities"].numpy().sum(-1), 1.0, rtol=1e-5)
    assert outputs["label"].dtype == tf.int64 and signature[0].shape[0] is None


def test_gumbel_variant_anneals_the_temperature_from_the_optimizer_step():
    model = _model(GumbelSemiSupervisedVAE, anneal_rate=1e-3, anneal_every=100, min_temperature=0.5)
    batch = _batch(labelled=[1, 0, 0, 0, 0, 1])
    model.build_from_batch(batch)
    step = tf.function(model.train_step)
    metrics = step(batch, tf.constant([0, 0], tf.int64))
    assert float(metrics["temperature"]) == pytest.approx(1.0)
    model.optimizer.iterations.assign(250)  # as if restored from a checkpoint at step 250
    metrics = step(batch, tf.constant([0, 1], tf.int64))
    assert float(metrics["temperature"]) == pytest.approx(np.exp(-1e-3 * 200), rel=1e-6)
    model.optimizer.iterations.assign(10**6)
    assert float(step(batch, tf.constant([0, 2], tf.int64))["temperature"]) == pytest.approx(0.5)
    assert float(model.gumbel.temperature.numpy()) == pytest.approx(0.5)


@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_variant_trains_the_classifier_from_unlabelled_rows(hard):
    model = _model(GumbelSemiSupervisedVAE, hard=hard)
    batch = _batch(labelled=[0, 0, 0, 0, 0, 0])
    model.build_from_batch(batch)
    before = [v.numpy().copy() for v in model.classifier.trainable_variables]
    metrics = model.train_step(batch, tf.constant([4, 4], tf.int64))
    assert np.isfinite(metrics["loss"].numpy()) and float(metrics["classification_loss"]) == 0.0
    after = model.classifier.trainable_variables
    assert all(not np.array_equal(b, a.numpy()) for b, a in zip(before, after))


def test_split_has_n_labels_per_class_and_is_reproducible():
    data = _balanced_dataset()
    split = labelled_split(data, 6, seed=1)
    assert isinstance(split, SemiSupervisedDataset) and split.num_labelled == 60
    np.testing.assert_array_equal(np.bincount(split.labels[split.labelled], minlength=10), [6] * 10)
    np.testing.assert_array_equal(split.labelled, labelled_split(data, 6, seed=1).labelled)
    assert not np.array_equal(split.labelled, labelled_split(data, 6, seed=2).labelled)
    by_total = labelled_split(data, num_labels=20, seed=1)
    np.testing.assert_array_equal(np.bincount(by_total.labels[by_total.labelled], minlength=10), [2] * 10)
    assert labelled_split(data, seed=1).num_labelled == len(data)  # None: every label
    np.testing.assert_array_equal(split.labelled_subset().labels, split.labels[split.labelled])


def test_split_argument_errors():
    data = _balanced_dataset()
    with pytest.raises(ValueError, match="Class 0 has only 30 examples.*labels_per_class=31"):
        labelled_split(data, 31)
    with pytest.raises(ValueError, match="num_labels must be a multiple of the number of classes"):
        labelled_split(data, num_labels=25)
    with pytest.raises(ValueError, match="not both"):
        labelled_split(data, 3, num_labels=30)
    with pytest.raises(ValueError, match="labels_per_class must be a positive integer. Received: labels_per_class=0"):
        labelled_split(data, 0)
    with pytest.raises(ValueError, match="labelled_per_batch=8 leaves no room"):
        next(iter(labelled_split(data, 3, labelled_per_batch=8).batches(8)))


def test_mixed_batches_hold_k_labelled_examples_hide_other_labels_and_resume():
    split = labelled_split(_balanced_dataset(), 3, seed=0, labelled_per_batch=4)
    batches = list(split.batches(10, epoch=2, seed=5, binarization="none"))
    assert len(batches) == split.num_batches(10) == (300 - 30) // 6
    for batch in batches:
        mask = batch["labelled"].numpy()
        assert mask.dtype == np.float32 and mask.sum() == 4
        assert np.all(batch["label"].numpy()[mask == 0] == 0)
    # Labelled images are real labelled examples with their true labels.
    lookup = {split.images[i].tobytes(): split.labels[i] for i in np.flatnonzero(split.labelled)}
    first = batches[0]
    for image, label in zip(first["image"].numpy()[:4], first["label"].numpy()[:4]):
        assert lookup[np.round(image * 255).astype(np.uint8).tobytes()] == label
    again = list(split.batches(10, epoch=2, seed=5, binarization="none", skip_batches=3))
    for expected, actual in zip(batches[3:], again):
        for key in ("image", "label", "labelled"):
            np.testing.assert_array_equal(expected[key], actual[key])
    other_epoch = next(iter(split.batches(10, epoch=3, seed=5, binarization="none")))
    assert not np.array_equal(other_epoch["image"], batches[0]["image"])


def test_trainer_runs_m2_on_a_split_and_reports_test_accuracy(tmp_path):
    split = labelled_split(synthetic_dataset(64), seed=0, labelled_per_batch=None)
    split = SemiSupervisedDataset(split.images, split.labels, 10, "tiny", labelled=np.arange(64) % 4 == 0,
                                  labelled_per_batch=2)
    model = SemiSupervisedVAE(latent_dim=2, num_classes=10)
    trainer = Trainer(model, split, str(tmp_path / "run"), test_data=synthetic_dataset(16, seed=1), epochs=1,
                      batch_size=8, learning_rate=1e-3, seed=0, steps_per_epoch=3, verbose=0)
    history = trainer.fit()
    assert 0.0 <= history[-1]["test/accuracy"] <= 1.0
    assert np.isfinite(history[-1]["train/loss"])


def test_error_rate_counts_the_wrong_argmax_of_q_y_given_x():
    from tfgen.evaluation import error_rate

    data = _balanced_dataset(per_class=3)
    model = _model()
    wrong = 0
    for batch in data.batches(7, shuffle=False, binarization="dynamic", seed=1):
        wrong += int(np.sum(np.argmax(model.classify(batch["image"]).numpy(), axis=-1) != batch["label"].numpy()))
    assert error_rate(model, data, batch_size=7) == wrong / 30


def test_the_old_module_of_error_rate_still_imports_with_a_warning():
    import importlib
    import sys

    from tfgen.evaluation import semi_supervised

    sys.modules.pop("tfgen.evaluation.classification", None)
    with pytest.warns(DeprecationWarning, match="tfgen.evaluation.classification is deprecated"):
        old = importlib.import_module("tfgen.evaluation.classification")
    assert old.error_rate is semi_supervised.error_rate
