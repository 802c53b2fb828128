"""The Variational Homoencoder: class-set sampling, its loss terms against TFP,
the unsupervised variant's cluster state across checkpoints, bad input."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
import tensorflow_probability as tfp

from conftest import synthetic_dataset
from tfgen.data import ClassSetDataset, ImageDataset, cluster_codes, sample_set_positions
from tfgen.evaluation.clustering import ClusterScoresCallback, clustering_scores, nmi, purity
from tfgen.losses import kl_normal
from tfgen.models import VHE, UnsupervisedVHE
from tfgen.training import ReclusterCallback, Trainer

SMALL = {"class_dim": 3, "latent_dim": 2, "hidden_units": 16}


def _grouped(count=48, num_classes=3, set_size=3, seed=0):
    """Synthetic images whose classes are balanced: count / num_classes examples each."""
    data = synthetic_dataset(count, seed=seed, num_classes=num_classes)
    labels = np.arange(count) % num_classes
    return ClassSetDataset(data.images, labels, num_classes=num_classes, set_size=set_size)


def _first(dataset, *args, **kwargs):
    return next(iter(dataset.batches(*args, **kwargs)))


# ------------------------------------------------------------ the sampler


def test_class_sets_hold_other_examples_of_the_same_class():
    data = _grouped(count=30, num_classes=3, set_size=4)
    pixels = data.images.reshape(len(data), -1)
    for batch in data.batches(8, epoch=2, seed=5, binarization="none"):
        index = batch["index"].numpy()
        assert batch["class_set"].shape == (len(index), 4, 28, 28, 1)
        np.testing.assert_array_equal(batch["label"].numpy(), data.labels[index])
        np.testing.assert_array_equal(batch["class_size"].numpy(), np.full(len(index), 10.0))
        for row, example in enumerate(index):
            # Each set element is some training image: find which (the random images are distinct).
            elements = np.round(batch["class_set"][row].numpy().reshape(4, -1) * 255).astype(np.uint8)
            members = [int(np.flatnonzero((pixels == element).all(axis=1))[0]) for element in elements]
            assert len(set(members)) == 4, "the set repeats an example"
            assert example not in members, "the set holds x itself"
            assert all(data.labels[m] == data.labels[example] for m in members)


def test_images_are_those_of_the_parent_pipeline_and_sets_are_binarized_too():
    data = _grouped()
    plain = ImageDataset(data.images, data.labels, num_classes=3)
    for kwargs in ({"epoch": 0, "seed": 1}, {"epoch": 3, "seed": 2, "skip_batches": 2}):
        ours, theirs = _first(data, 8, **kwargs), _first(plain, 8, **kwargs)
        np.testing.assert_array_equal(ours["image"].numpy(), theirs["image"].numpy())
        np.testing.assert_array_equal(ours["label"].numpy(), theirs["label"].numpy())
        assert set(np.unique(ours["class_set"].numpy())) <= {0.0, 1.0}


def test_sets_are_a_function_of_seed_and_epoch():
    data = _grouped()
    first = _first(data, 8, epoch=1, seed=3)
    again = _first(data, 8, epoch=1, seed=3)
    other = _first(data, 8, epoch=2, seed=3)
    for key in first:
        np.testing.assert_array_equal(first[key].numpy(), again[key].numpy())
    assert not np.array_equal(first["class_set"].numpy(), other["class_set"].numpy())
    # Skipping batches (a resumed run) gives the batches an uninterrupted epoch gives.
    full = list(data.batches(8, epoch=1, seed=3))
    skipped = list(data.batches(8, epoch=1, seed=3, skip_batches=2))
    for expected, actual in zip(full[2:], skipped):
        np.testing.assert_array_equal(expected["class_set"].numpy(), actual["class_set"].numpy())


def test_set_positions_are_distinct_uniform_and_exclude_x():
    counts = tf.fill([4000], tf.constant(5, tf.int64))
    positions = tf.constant(np.arange(4000) % 5, tf.int64)
    picks = sample_set_positions(positions, counts, 4, tf.constant([1, 2], tf.int64)).numpy()
    # With 4 of 4 others drawn, each row is exactly the other positions.
    for row, own in zip(picks[:50], positions.numpy()[:50]):
        assert sorted(row) == sorted(set(range(5)) - {own})
    picks = sample_set_positions(tf.zeros([20000], tf.int64), tf.fill([20000], tf.constant(4, tf.int64)), 1,
                                 tf.constant([3, 4], tf.int64)).numpy()[:, 0]
    frequencies = np.bincount(picks, minlength=4) / len(picks)
    np.testing.assert_allclose(frequencies, [0, 1 / 3, 1 / 3, 1 / 3], atol=0.02)


def test_bad_set_arguments_get_clear_errors():
    data = synthetic_dataset(20, num_classes=3)
    labels = np.array([0] * 10 + [1] * 8 + [2] * 2)
    with pytest.raises(ValueError, match=r"set_size must be a positive integer. Received: set_size=0"):
        ClassSetDataset(data.images, labels, num_classes=3, set_size=0)
    with pytest.raises(ValueError, match=r"set_size=3 needs at least 4 examples .*class 2: 2 example"):
        ClassSetDataset(data.images, labels, num_classes=3, set_size=3)
    with pytest.raises(ValueError, match=r"set_labels must be integers of shape \(20,\)"):
        ClassSetDataset(data.images, labels, num_classes=3, set_size=1, set_labels=np.zeros(3, np.int64))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        ClassSetDataset(data.images, labels, num_classes=3, set_size=1).batches(0)
    with pytest.raises(ValueError, match="class_dim must be a positive integer"):
        VHE(class_dim=0)
    with pytest.raises(ValueError, match="Unknown networks 'rnn'"):
        VHE(networks="rnn")
    model = VHE(**SMALL)
    with pytest.raises(ValueError, match=r"class_set of shape \(batch, set_size, 28, 28, 1\)"):
        model.encode_set(tf.zeros([2, 28, 28, 1]))


def test_small_clusters_are_merged_into_large_ones():
    rng = np.random.default_rng(0)
    codes = np.concatenate([rng.normal(0, 0.1, (30, 2)), rng.normal(10, 0.1, (30, 2)), [[50.0, 50.0]]])
    clusters = cluster_codes(codes, 3, min_cluster_size=4, random_state=0)
    assert np.bincount(clusters).max() <= 31 and np.all(np.bincount(clusters)[np.bincount(clusters) > 0] >= 4)
    np.testing.assert_array_equal(clusters, cluster_codes(codes, 3, min_cluster_size=4, random_state=0))
    with pytest.raises(ValueError, match="num_clusters must be an integer"):
        cluster_codes(codes, 0)



def test_one_kmeans_serves_the_pseudo_labels_and_the_baselines():
    from sklearn.cluster import KMeans

    from tfgen.data.kmeans import kmeans as the_kmeans
    from tfgen.evaluation.clustering import kmeans

    rng = np.random.default_rng(1)
    images = rng.uniform(size=(40, 4, 4, 1))
    flat32 = images.reshape(40, -1).astype(np.float32)
    # The baselines cluster flattened float32 features, the pseudo-labels float64 codes: the same KMeans call.
    expected = KMeans(n_clusters=3, n_init=1, random_state=2).fit(flat32).labels_
    np.testing.assert_array_equal(kmeans(images, 3, random_state=2), expected)
    np.testing.assert_array_equal(the_kmeans(flat32, 3, random_state=2), expected)
    codes = images.reshape(40, -1)
    expected = KMeans(n_clusters=3, n_init=1, random_state=2).fit(codes).labels_
    np.testing.assert_array_equal(cluster_codes(codes, 3, random_state=2), expected)
    with pytest.raises(ValueError, match="codes contain 16 NaN"):
        cluster_codes(np.where(np.arange(40)[:, None] == 3, np.nan, codes), 3)
    with pytest.raises(ValueError, match="features contain 16 NaN"):
        kmeans(np.where(np.arange(40)[:, None, None, None] == 3, np.nan, images), 3)

def test_purity_and_nmi():
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert purity(labels, np.array([5, 5, 5, 7, 7, 7])) == 1.0
    assert purity(labels, np.array([0, 0, 1, 1, 1, 1])) == pytest.approx(5 / 6)
    assert nmi(labels, np.array([1, 1, 1, 0, 0, 0])) == pytest.approx(1.0)
    assert clustering_scores(labels, np.zeros(6, np.int64)) == {"purity": 0.5, "nmi": 0.0}
    with pytest.raises(ValueError, match="same length"):
        purity(labels, labels[:3])


# ------------------------------------------------------------ the model


def _built(cls=VHE, batch=None, **kwargs):
    keras.utils.set_random_seed(0)
    model = cls(**{**SMALL, **kwargs})
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    model.build_from_batch(batch)
    return model


@pytest.mark.parametrize("mode", ["eager", "tf_function"])
def test_kl_terms_match_tfp(mode):
    batch = _first(_grouped(), 8, seed=1)
    model = _built(batch=batch)
    seed = tf.constant([4, 2], tf.int64)
    compute = model.compute_terms if mode == "eager" else tf.function(model.compute_terms)
    terms = {key: value.numpy() for key, value in compute(batch, seed).items()}
    tfd = tfp.distributions

    def normal(mean, log_var):
        return tfd.MultivariateNormalDiag(mean, tf.exp(0.5 * log_var))

    expected_c = tfd.kl_divergence(normal(terms["c_mean"], terms["c_log_var"]), normal(tf.zeros(3), tf.zeros(3)))
    np.testing.assert_allclose(terms["kl_c"], expected_c.numpy() / batch["class_size"].numpy(), rtol=1e-4)
    expected_z = tfd.kl_divergence(normal(terms["z_mean"], terms["z_log_var"]),
                                   normal(terms["prior_mean"], terms["prior_log_var"]))
    np.testing.assert_allclose(terms["kl_z"], expected_z.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(terms["loss"], terms["reconstruction_loss"] + terms["kl_c"] + terms["kl_z"], rtol=1e-6)
    # q(c|D) averages the elements' means and log-variances (= log standard deviations, doubled).
    flat = tf.reshape(batch["class_set"], [-1, 28, 28, 1])
    means, log_vars = model.element_encoder(flat)
    np.testing.assert_allclose(terms["c_mean"], means.numpy().reshape(8, 3, 3).mean(1), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(terms["c_log_var"], log_vars.numpy().reshape(8, 3, 3).mean(1), rtol=1e-5, atol=1e-6)
    metrics = model.compute_losses(batch, seed)
    np.testing.assert_allclose(metrics["kl_c"].numpy(), terms["kl_c"].mean(), rtol=1e-5)


def test_gradient_norms_are_those_of_each_examples_loss():
    batch = _first(_grouped(), 8, seed=1)
    model = _built(batch=batch)
    terms = model.compute_terms(batch, tf.constant([4, 2], tf.int64))
    c, z = tf.Variable(terms["c"]), tf.Variable(terms["z"])
    with tf.GradientTape() as tape:
        prior_mean, prior_log_var = model.prior_z(c)
        logits = model.generate(c, z, apply_sigmoid=False)
        reconstruction = tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(batch["image"], logits)[0])
        first_example = reconstruction + kl_normal(terms["z_mean"], terms["z_log_var"], prior_mean, prior_log_var)[0]
    grad_c, grad_z = tape.gradient(first_example, [c, z])
    np.testing.assert_allclose(terms["grad_c"][0].numpy(), grad_c[0].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(terms["grad_z"][0].numpy(), grad_z[0].numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_array_equal(grad_c[1:].numpy(), 0.0)


def test_in_batch_sets_use_other_examples_of_the_same_label():
    data = synthetic_dataset(8)
    batch = _first(data, 8, shuffle=False)
    labels = np.array([0, 0, 0, 1, 1, 2, 3, 3])
    batch = {"image": batch["image"], "label": tf.constant(labels)}
    model = VHE(**SMALL, set_size=6)
    sets = model._in_batch_class_set(batch, tf.constant([1, 1], tf.int64)).numpy()
    images = batch["image"].numpy()
    for row, label in enumerate(labels):
        members = [int(np.flatnonzero([np.array_equal(e, i) for i in images])[0]) for e in sets[row]]
        if (labels == label).sum() > 1:
            assert all(labels[m] == label and m != row for m in members)
        else:
            assert members == [row] * 6  # no partner: the example is its own set


def test_conv_networks_train_every_variable():
    batch = _first(_grouped(), 8, seed=1)
    model = _built(batch=batch, networks="conv")
    before = [v.numpy().copy() for v in model.trainable_variables]
    metrics = model.train_step(batch, tf.constant([1, 2], tf.int64))
    assert all(np.isfinite(v.numpy()) for v in metrics.values())
    assert all(not np.array_equal(b, v.numpy()) for b, v in zip(before, model.trainable_variables))
    assert model.few_shot(batch["class_set"][:2], 3, seed=tf.constant([1, 2], tf.int64)).shape == (2, 3, 28, 28, 1)


@pytest.mark.parametrize("cls", [VHE, UnsupervisedVHE])
def test_keras_save_and_load_round_trip(cls, tmp_path):
    kwargs = {"num_examples": 48} if cls is UnsupervisedVHE else {}
    batch = _first(_grouped(), 8, seed=1)
    model = _built(cls, batch=batch, **kwargs)
    path = str(tmp_path / "vhe.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_config() == model.get_config()
    seed = tf.constant([3, 3], tf.int64)
    for expected, actual in zip(model.get_weights(), loaded.get_weights()):
        np.testing.assert_array_equal(expected, actual)
    np.testing.assert_allclose(loaded.sample(2, seed).numpy(), model.sample(2, seed).numpy(), rtol=1e-6)


# ---------------------------------------------------- the unsupervised VHE


def _unsupervised_trainer(run_dir, data, callbacks=(), *, legacy=False):
    """A Trainer of the unsupervised VHE whose sets read the model's pseudo-labels (as tfgen.runs assembles it);
    `legacy`: the older way, fixed set labels of the first clustering and the deprecated `ReclusterCallback`."""
    keras.utils.set_random_seed(0)
    model = UnsupervisedVHE(num_examples=len(data), num_clusters=3, **SMALL)
    set_labels = model.update_clusters(0) if legacy else model.pseudo_labels.numpy
    train = ClassSetDataset(data.images, data.labels, num_classes=3, set_size=3, set_labels=set_labels)
    callbacks = [ReclusterCallback(), *callbacks] if legacy else list(callbacks)
    return Trainer(model, train, str(run_dir), epochs=2, batch_size=8, learning_rate=1e-3, seed=3, verbose=0,
                   callbacks=callbacks)


def test_steps_record_codes_and_epochs_recluster(tmp_path):
    data = _grouped()
    trainer = _unsupervised_trainer(tmp_path / "run", data)
    model, train = trainer.model, trainer.train_data
    initial = model.codes.numpy().copy()
    assert int(model.clustered_epoch.numpy()) == -1  # nothing clustered before the trainer's first epoch
    model.begin_epoch(0)  # what the trainer runs before the first epoch: the clustering of the initial codes
    assert int(model.clustered_epoch.numpy()) == 0 and len(np.unique(model.pseudo_labels.numpy())) > 1
    np.testing.assert_array_equal(train.class_labels, model.pseudo_labels.numpy())
    batch = next(iter(train.batches(8, epoch=0, seed=3)))
    model.train_step(batch, tf.constant([0, 0], tf.int64))
    changed = np.flatnonzero(np.any(model.codes.numpy() != initial, axis=1))
    np.testing.assert_array_equal(changed, np.sort(batch["index"].numpy()))
    labels_epoch0 = model.pseudo_labels.numpy().copy()
    model.begin_epoch(1)  # before the second epoch
    assert int(model.clustered_epoch.numpy()) == 1
    pseudo_labels = model.pseudo_labels.numpy()
    assert not np.array_equal(labels_epoch0, pseudo_labels)
    batch = next(iter(train.batches(8, epoch=1, seed=3)))  # the same dataset: its classes follow the model's
    np.testing.assert_array_equal(batch["class_size"].numpy(), np.bincount(pseudo_labels)[pseudo_labels[batch["index"].numpy()]])
    # The same or an earlier epoch never re-clusters: the latest clustering stays.
    model.begin_epoch(1)  # a run resumed inside epoch 2
    np.testing.assert_array_equal(model.update_clusters(0), pseudo_labels)
    np.testing.assert_array_equal(model.pseudo_labels.numpy(), pseudo_labels)


def test_the_trainer_runs_the_epoch_hook_before_each_epochs_batches(tmp_path):
    data = _grouped()
    trainer = _unsupervised_trainer(tmp_path / "run", data)
    model, train = trainer.model, trainer.train_data
    hook, calls = model.begin_epoch, []

    def begin_epoch(epoch):
        calls.append((epoch, int(trainer.epoch.numpy()), int(trainer.step_in_epoch.numpy())))
        hook(epoch)

    model.begin_epoch = begin_epoch
    trainer.fit(max_steps=4)  # stops inside the first epoch (6 steps)
    assert calls == [(0, 0, 0)] and int(model.clustered_epoch.numpy()) == 0
    assert trainer.train_data is train  # the data is never replaced: it reads the model's pseudo-labels
    resumed = _unsupervised_trainer(tmp_path / "run", data)
    resumed_hook, calls = resumed.model.begin_epoch, []

    def resumed_begin_epoch(epoch):
        calls.append((epoch, int(resumed.model.clustered_epoch.numpy())))
        resumed_hook(epoch)

    resumed.model.begin_epoch = resumed_begin_epoch
    resumed.fit(resume=True)
    # Again for the epoch resumed inside, whose clustering came back with the checkpoint; then the second epoch.
    assert calls == [(0, 0), (1, 0)] and int(resumed.model.clustered_epoch.numpy()) == 1


def test_the_deprecated_recluster_callback_trains_as_the_hook_does(tmp_path):
    data = _grouped()
    with pytest.warns(DeprecationWarning, match="ReclusterCallback is deprecated"):
        legacy = _unsupervised_trainer(tmp_path / "legacy", data, legacy=True)
    legacy.fit()
    np.testing.assert_array_equal(legacy.train_data.set_labels, legacy.model.pseudo_labels.numpy())  # epoch 2's
    current = _unsupervised_trainer(tmp_path / "current", data)
    current.fit()
    assert int(current.model.clustered_epoch.numpy()) == int(legacy.model.clustered_epoch.numpy()) == 1
    for want, got in zip(legacy.model.variables, current.model.variables):
        np.testing.assert_array_equal(got.numpy(), want.numpy())
    timeless = lambda history: [{key: value for key, value in entry.items()  # noqa: E731
                                 if key not in ("seconds", "images_per_second")} for entry in history]
    assert timeless(current.history) == timeless(legacy.history) and len(current.history) == 2
    with pytest.raises(ValueError, match="random_state=1"):
        ReclusterCallback(random_state=1)


def test_resumed_unsupervised_run_keeps_the_cluster_state(tmp_path):
    data = _grouped()
    uninterrupted = _unsupervised_trainer(tmp_path / "a", data)
    history = uninterrupted.fit()

    _unsupervised_trainer(tmp_path / "b", data).fit(max_steps=4)  # inside epoch 1 (6 steps)
    _unsupervised_trainer(tmp_path / "b", data).fit(resume=True, max_steps=4)  # ends epoch 1, inside epoch 2
    resumed = _unsupervised_trainer(tmp_path / "b", data)
    resumed_history = resumed.fit(resume=True)

    expected, actual = uninterrupted.model, resumed.model
    assert int(actual.clustered_epoch.numpy()) == int(expected.clustered_epoch.numpy()) == 1
    np.testing.assert_array_equal(actual.pseudo_labels.numpy(), expected.pseudo_labels.numpy())
    np.testing.assert_allclose(actual.codes.numpy(), expected.codes.numpy(), rtol=1e-5, atol=1e-6)
    for want, got in zip(expected.variables, actual.variables):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(resumed_history[-1]["train/loss"], history[-1]["train/loss"], rtol=1e-5)


def test_reclustering_checks_the_model_against_the_data(tmp_path):
    data = _grouped()
    model = UnsupervisedVHE(num_examples=10, num_clusters=2, **SMALL)
    for set_labels in (model.pseudo_labels.numpy, model.update_clusters(0)):
        with pytest.raises(ValueError, match=r"set_labels must be integers of shape \(48,\)"):
            ClassSetDataset(data.images, data.labels, num_classes=3, set_size=3, set_labels=set_labels)
    trainer = Trainer(model, data, str(tmp_path / "run"), epochs=1, batch_size=8, verbose=0,
                      callbacks=[ReclusterCallback()])
    with pytest.raises(ValueError, match="codes for 10 examples but the training data holds 48.*num_examples=48"):
        trainer.fit()


def test_plot_callback_writes_figures_and_cluster_scores(tmp_path):
    from tfgen.plotting import PlotCallback
    from tfgen.plotting.vhe import few_shot_support

    data = _grouped()
    plots = PlotCallback(support=few_shot_support(data, shots=3)[:2], num_samples=4)
    trainer = _unsupervised_trainer(tmp_path / "run", data, callbacks=[ClusterScoresCallback(), plots])
    trainer.epochs = 1
    trainer.fit()
    plots = sorted(p.name for p in (tmp_path / "run" / "plots").iterdir())
    assert {"nats_per_epoch.png", "gradient_norms.png", "cluster_scores.png", "few_shot_epoch001.png"} <= set(plots)
    scores = json.loads((tmp_path / "run" / "cluster_scores.json").read_text())
    assert [entry["epoch"] for entry in scores] == [1] and 0.0 <= scores[0]["nmi"] <= 1.0
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history[-1]["clusters/nmi"] == scores[0]["nmi"]  # logged in the history too
