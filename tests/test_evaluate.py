"""`tfgen evaluate` and `tfgen.report.evaluate`: the scores of a model, of its export and of a run, and the
one-line refusals of bad input. Tiny models, a few dozen images, a handful of importance samples."""

import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import cli_error, REPO_ROOT, create_model, example_batch, requires_real_data, synthetic_dataset
from tfgen import cli
from tfgen.report import ExportScorer, draw_samples, evaluate
from tfgen.evaluation import Evaluator, build_classifier
from tfgen.evaluation.likelihood import likelihood_scores

SAVED_MODELS = os.path.join(REPO_ROOT, "saved_models")


def _trained(name, steps=3, **overrides):
    """A tiny instance of `name`, built and trained `steps` steps on synthetic images (seeded)."""
    keras.utils.set_random_seed(0)
    model = create_model(name, **overrides)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    batch = example_batch(model, size=16)
    model.build_from_batch(batch)
    for step in range(steps):
        model.train_step(batch, seed=np.array([step, 1], np.int64))
    return model


def _untrained_evaluator(num_classes=10):
    keras.utils.set_random_seed(0)
    return Evaluator(build_classifier(num_classes))


def test_likelihood_of_a_vae_is_seeded_and_above_its_elbo():
    model = _trained("vae")
    data = synthetic_dataset(24, seed=3)
    first = evaluate(model, dataset=data, iw_samples=50, seed=5, batch_size=12, progress=False)
    again = evaluate(model, dataset=data, iw_samples=50, seed=5, batch_size=12, progress=False)
    other = evaluate(model, dataset=data, iw_samples=50, seed=6, batch_size=12, progress=False)
    assert first == again  # the same seed gives the same report, to the last bit
    marginal = first["likelihood"]["marginal"]
    assert marginal != other["likelihood"]["marginal"]  # ...and the seed does reach the draws
    assert first["likelihood"]["images"] == 24 and first["likelihood"]["iw_samples"] == 50
    assert set(first) == {"model", "kind", "target", "dataset", "split", "seed", "likelihood"}
    # L_50 > the ELBO (the mean log-weight of the same codes): log-mean-exp exceeds the mean of any
    # 50 values that are not all equal, and so does its mean over images.
    assert marginal["log_likelihood"] > marginal["elbo"]
    assert marginal["gap"] == pytest.approx(marginal["log_likelihood"] - marginal["elbo"])
    assert marginal["nll"] == -marginal["log_likelihood"] > 0


def test_an_export_scores_as_its_model(tmp_path):
    from tfgen.export import export_model

    model = _trained("cvae", num_classes=10)
    data = synthetic_dataset(20, seed=4)
    exported = ExportScorer(export_model(model, str(tmp_path / "cvae")))
    assert (exported.conditional, exported.num_classes, exported.binarization) == (True, 10, model.binarization)
    options = dict(num_samples=7, seed=3, batch_size=10, progress=False)
    direct = likelihood_scores(model, data, **options)["given_label"]
    served = likelihood_scores(exported, data, **options)["given_label"]
    # The same graph on the same codes. A log-weight sums 784 pixel terms of about 1 nat and its float32
    # rounding is at most ~784 * 2**-24 relative (4.7e-5) whatever the order of the sum; the mean over
    # images and codes keeps that bound. rtol 1e-4 leaves room for the log-mean-exp in float64.
    for key in ("log_likelihood", "elbo"):
        assert served[key] == pytest.approx(direct[key], rel=1e-4)
    # The samples: one seed per image and class-major labels, through the model and through its export.
    images, labels = draw_samples(model, 20, seed=2, num_classes=10, progress=False)
    served_images, served_labels = draw_samples(exported, 20, seed=2, num_classes=10, progress=False)
    np.testing.assert_array_equal(labels, np.repeat(np.arange(10), 2))
    np.testing.assert_array_equal(served_labels, labels)
    # Pixels in [0, 1] out of a sigmoid: float32 rounding of ~1e-7 per op over a few dozen ops.
    np.testing.assert_allclose(served_images, images, atol=1e-5)


def test_the_class_labels_of_n_samples_come_in_two_orders():
    from tfgen.labels import BLOCKS, sample_class_ids

    cycle = sample_class_ids(7, 3)  # model.sample(n) and the GANs' per-epoch scores
    np.testing.assert_array_equal(cycle, [0, 1, 2, 0, 1, 2, 0])
    blocks = sample_class_ids(7, 3, BLOCKS)  # tfgen evaluate and tfgen sample: class-major
    np.testing.assert_array_equal(blocks, [0, 0, 0, 1, 1, 2, 2])
    np.testing.assert_array_equal(sample_class_ids(20, 10, BLOCKS), np.repeat(np.arange(10), 2))  # one row per class
    assert cycle.dtype == blocks.dtype == np.int64
    traced = sample_class_ids(tf.constant(7), 3, BLOCKS)  # a count known only in a graph
    np.testing.assert_array_equal(traced.numpy(), blocks)
    with pytest.raises(ValueError, match="order"):
        sample_class_ids(4, 2, "random")
    with pytest.raises(ValueError, match="num_samples"):
        sample_class_ids(0, 2)


def test_an_export_is_read_through_the_declarations_of_its_model(tmp_path):
    from tfgen.export import export_model

    model = _trained("mmd_vae")
    scorer = ExportScorer(export_model(model, str(tmp_path / "mmd_vae")))
    assert (scorer.registered_name, scorer.scores, scorer.likelihood_kind, scorer.conditional) == \
        ("mmd_vae", ("mmd",), None, False)
    images = example_batch(model, size=4)["image"]
    np.testing.assert_allclose(scorer.reconstruct(images), model.reconstruct(images), atol=1e-5)
    np.testing.assert_allclose(scorer.sample_from_seeds([3, 4]), model.sample_from_seeds([3, 4]), atol=1e-5)
    with pytest.raises(ValueError, match="unconditional"):
        scorer.sample_from_seeds([3, 4], labels=[0, 1])


@pytest.mark.parametrize("name, sections", [
    ("ssvae", {"likelihood", "classification_error", "samples"}),
    ("mmd_vae", {"mmd"}),
    ("dcgan", {"samples"}),
    ("vhe", {"likelihood"}),
])
def test_each_model_gets_the_scores_it_has(name, sections):
    model = _trained(name, steps=1, **({"num_classes": 10} if name == "ssvae" else {}))
    data = synthetic_dataset(64, seed=5, num_classes=4) if name == "vhe" else synthetic_dataset(16, seed=5)
    report = evaluate(model, dataset=data, iw_samples=3 if "likelihood" in sections else None, max_images=16,
                      batch_size=8, num_samples=20, classifier=_untrained_evaluator(), progress=False)
    assert sections == set(report) - {"model", "kind", "target", "dataset", "split", "seed"}
    if name == "ssvae":  # given the label, and with the label summed out
        assert set(report["likelihood"]) >= {"given_label", "marginal"}
        assert 0.0 <= report["classification_error"]["error"] <= 1.0
        assert 0.0 <= report["samples"]["label_accuracy"] <= 1.0
    elif name == "mmd_vae":
        assert report["mmd"]["images"] == 16 and report["mmd"]["squared_error"] > 0
        with pytest.raises(ValueError, match="mmd_vae has no likelihood"):
            evaluate(model, dataset=data, iw_samples=3, progress=False)
    elif name == "vhe":  # the class sets come from the whole split; only the first 16 images are scored
        assert report["likelihood"]["images"] == 16 and "given_class_set" in report["likelihood"]
    else:
        assert 1 <= report["samples"]["predicted_classes"] <= 10


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory):
    """A VAE run folder on 128 MNIST images, two steps (no callbacks: nothing but the run's files)."""
    from tfgen import data
    from tfgen.training import Trainer

    run = str(tmp_path_factory.mktemp("evaluate") / "vae")
    keras.utils.set_random_seed(0)
    Trainer(create_model("vae"), data.load("mnist", "train", examples=128), run, epochs=1, batch_size=64,
            verbose=0).fit(max_steps=2)
    return run


@requires_real_data
def test_the_cli_scores_a_run_and_writes_its_report(mnist_run, capsys):
    assert cli.main(["evaluate", mnist_run, "--iw-samples", "5", "--max-images", "40", "--batch-size", "20",
                     "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "IW log-likelihood" in printed and "bits/dim" not in printed  # Bernoulli pixels: not 8-bit
    with open(os.path.join(mnist_run, "evaluation.json"), encoding="utf-8") as stream:
        report = json.load(stream)
    assert (report["model"], report["kind"], report["dataset"]) == ("vae", "run", "mnist")
    assert (report["likelihood"]["images"], report["likelihood"]["iw_samples"]) == (40, 5)
    assert f"{report['likelihood']['marginal']['nll']:.2f} nats" in printed


@pytest.mark.parametrize("argv, expected", [
    (["evaluate", "saved_models/mnist_cgan", "--iw-samples", "0"], "argument --iw-samples: expected a positive"),
    (["evaluate", "saved_models/mnist_cgan", "--iw-samples", "10"], "cgan has no likelihood"),
    (["evaluate", "saved_models/mnist_cgan", "--bound-samples", "2"],
     "cgan has no variational bound: only the diffusion models have one"),
    (["evaluate", "saved_models/fashion_vae_latent2", "--bound-samples", "2"],
     "vae has no variational bound (the diffusion models' score): its likelihood is estimated by importance sampling"),
    (["evaluate", "saved_models/fashion_vae_latent2", "--iw-samples", "10"],
     "no 'log_importance_weights' signature (exported by an older tfgen): re-export the run"),
    (["evaluate", "saved_models/mnist_cgan", "--dataset", "fashion_mnist"], "was trained on 'mnist', not 'fashion_mnist'"),
    (["evaluate", "saved_models"], "is neither a tfgen run folder"),
    (["evaluate", "saved_models/mnist_cgan", "--out", "saved_models/mnist_cgan/1/report.json"],
     "lies inside the export"),
])
def test_bad_input_gets_one_line(capsys, monkeypatch, argv, expected):
    monkeypatch.chdir(REPO_ROOT)
    assert expected in cli_error(capsys, argv)
    assert not os.path.exists(os.path.join(SAVED_MODELS, "mnist_cgan", "1", "report.json"))


@requires_real_data
def test_a_run_asked_for_another_dataset_gets_one_line(mnist_run, capsys):
    err = cli_error(capsys, ["evaluate", mnist_run, "--dataset", "fashion_mnist", "--iw-samples", "2"])
    assert "was trained on 'mnist', not 'fashion_mnist'" in err


@requires_real_data
def test_a_shipped_export_without_the_likelihood_signature_still_gets_its_sample_scores():
    # saved_models/mnist_cvae/1 predates `log_importance_weights` (version 2 has it): its samples are scored, the likelihood is
    # left out with a note (asked for with iw_samples it is refused, test_bad_input_gets_one_line).
    report = evaluate(os.path.join(SAVED_MODELS, "mnist_cvae", "1"), num_samples=20,
                      classifier=_untrained_evaluator(), progress=False)
    assert (report["model"], report["kind"], report["dataset"]) == ("cvae", "export", "mnist")
    assert "likelihood" not in report and "re-export the run" in report["notes"][0]
    assert 0.0 <= report["samples"]["label_accuracy"] <= 1.0 and report["samples"]["num_samples"] == 20


def test_the_sample_classifier_is_trained_once_and_cached(tmp_path, monkeypatch):
    from tfgen.report import samples_classifier

    monkeypatch.setenv("TFGEN_CACHE_DIR", str(tmp_path))
    model, data = create_model("dcgan"), synthetic_dataset(64, seed=6)
    facts = {"kind": "export", "path": None, "dataset": "mnist"}
    loads = []

    def train_data():
        loads.append(1)
        return data

    first, path = samples_classifier(model, facts, data, train_data, "mnist", progress=False)
    assert path == str(tmp_path / "classifiers" / "mnist-28x28x1.weights.h5") and os.path.isfile(path)
    assert os.listdir(tmp_path / "classifiers") == ["mnist-28x28x1.weights.h5"]  # no temporary file left
    second, again = samples_classifier(model, facts, data, train_data, "mnist", progress=False)
    assert again == path and len(loads) == 1  # the second evaluation reads the cache, trains nothing
    images = data.images[:16].astype(np.float32) / 255.0
    np.testing.assert_array_equal(second.predict(images), first.predict(images))


def test_fid_without_the_inception_weights_is_one_line_before_any_work(capsys, monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))  # an empty Keras cache, offline (conftest)
    monkeypatch.setenv("TFGEN_OFFLINE", "1")
    err = cli_error(capsys, ["evaluate", os.path.join(SAVED_MODELS, "mnist_cgan"), "--fid", "--samples", "20"])
    assert "The Inception-v3 weights for FID/KID are not available" in err


def test_the_old_module_name_is_a_deprecated_alias_of_tfgen_report():
    import importlib
    import sys
    import warnings

    from tfgen import report

    sys.modules.pop("tfgen.evaluate", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        old = importlib.import_module("tfgen.evaluate")
    assert any(issubclass(warning.category, DeprecationWarning) and "tfgen.report" in str(warning.message)
               for warning in caught)
    assert old.evaluate is report.evaluate and old.ExportScorer is report.ExportScorer
