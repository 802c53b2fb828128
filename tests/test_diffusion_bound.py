"""The diffusion models' variational bound in `tfgen evaluate` (`tfgen.evaluation.likelihood.variational_bound_scores`):
the mean of the model's own estimates drawn with the seeds `importance_seeds(seed, image, draw)`, the same numbers for
the same seed whatever the batches and calls, bits/dim, an export scored as its model, and the one-line refusals.
Tiny untrained models (T = 6, `_built`): their bound is huge, but it is the same arithmetic as a trained one's."""

import math
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import cli_error, synthetic_dataset
from tfgen import cli
from tfgen.data import ImageDataset
from tfgen.evaluation import Evaluator, build_classifier
from tfgen.evaluation.likelihood import check_bound_samples, importance_seeds, variational_bound_scores
from tfgen.models import ConditionalDiffusion, Diffusion
from tfgen.report import ExportScorer, evaluate, format_summary

TINY = {"timesteps": 6, "base_filters": 4, "num_res_blocks": 1, "attention_max_side": 0, "num_levels": 1,
        "sampling_steps": 2, "ema": None}  # the average (a second U-Net) is the conformance descriptors' to cover
#: How much one image's estimate may move, relatively, between calls that group the rows differently (or between
#: the model and its export's graph): tests/conformance/test_saved_model.py derives it for the variational_bound
#: signature (a few ulps of the U-Net's output through its ~30 layers, 2**-15; a sum of D positive terms moves
#: relatively by at most its largest term's move), with room: 2**-12.
ROW_RTOL = 2.0**-12
NUM_DIMS = 28 * 28 * 1


def _built(cls, **kwargs):
    """A tiny untrained model whose U-Net output layer is scaled by 0.1 (DDPM starts it at zero): its predicted x_0
    then lies near the data, as a trained model's does. An untrained one's lies far in the tails of the decoder's
    discretized Gaussian (the term of t = 0), where the float32 difference of two CDFs near 1 cancels: a one-ulp
    change of the network's output (another grouping of the rows in a call, a graph against eager) then moves one
    pixel's term between log(1e-12) and log(2**-24), 11 nats, and ROW_RTOL would not hold."""
    keras.utils.set_random_seed(0)
    model = cls(**{**TINY, **kwargs})
    model.compile(optimizer=keras.optimizers.Adam())
    model.build_from_batch(model.zeros_batch(2))
    for weight in model.network.out.weights:
        weight.assign(0.1 * weight)
    return model


@pytest.fixture(scope="module")
def diffusion():
    return _built(Diffusion)


@pytest.fixture(scope="module")
def conditional():
    return _built(ConditionalDiffusion, num_classes=3)


@pytest.fixture(scope="module")
def conditional_export(conditional, tmp_path_factory):
    from tfgen.export import export_model

    return export_model(conditional, str(tmp_path_factory.mktemp("bound") / "conditional_diffusion"))


def _direct(model, data, seed, draws):
    """Each image's mean of `draws` estimates of `model.variational_bound`, draw j of image i with the seed
    importance_seeds(seed, i, j), all rows in one eager call."""
    count = len(data)
    image, draw = np.repeat(np.arange(count), draws), np.tile(np.arange(draws), count)
    seeds = importance_seeds(seed, image, draw)
    labels = () if not model.conditional else (tf.constant(data.labels[image]),)
    values = model.variational_bound(tf.constant(data.images[image].astype(np.float32) / 255.0), tf.constant(seeds),
                                     *labels)
    return np.asarray(values, np.float64).reshape(count, draws).mean(axis=1)


def _assert_scores_of(scores, means):
    """`scores` are the mean and standard error of the per-image `means`, each of which may have moved by ROW_RTOL
    relatively (the estimates are positive, so their means and the mean over images keep that relative bound)."""
    count = len(means)
    assert scores["images"] == count
    assert scores["nats"] == pytest.approx(means.mean(), rel=ROW_RTOL)
    # The standard deviation is the Euclidean norm of the centred values over sqrt(n - 1): moving each value by
    # |d_i| <= ROW_RTOL * m_i moves it by at most ROW_RTOL * ||m|| / sqrt(n - 1); the standard error divides by sqrt(n).
    stderr_atol = ROW_RTOL * np.sqrt(np.sum(means**2) / (count - 1)) / math.sqrt(count)
    assert abs(scores["nats_stderr"] - means.std(ddof=1) / math.sqrt(count)) <= stderr_atol


def test_the_bound_is_the_mean_of_the_models_estimates_with_one_seed_per_image_and_draw(diffusion):
    assert importance_seeds(5, [2], 1)[0] == 5 * 2**40 + 2 * 2**16 + 1  # seed | image | draw
    data = synthetic_dataset(7, seed=3)
    # Batches of 4 and 3 images, calls of 5 rows: image 1's three draws fall in two calls.
    options = dict(seed=5, timesteps_per_image=3, progress=False)
    scores = variational_bound_scores(diffusion, data, batch_size=4, rows_per_call=5, **options)
    means = _direct(diffusion, data, seed=5, draws=3)
    _assert_scores_of(scores, means)
    assert (scores["timesteps_per_image"], scores["seed"], scores["binarization"], scores["given_label"]) == \
        (3, 5, "none", False)
    # bits/dim = nats / (D ln 2), for the bound and its standard error (float64: a division, 1e-15 relative).
    assert scores["bits_per_dim"] == pytest.approx(scores["nats"] / (NUM_DIMS * math.log(2)), rel=1e-12)
    assert scores["bits_per_dim_stderr"] == pytest.approx(scores["nats_stderr"] / (NUM_DIMS * math.log(2)), rel=1e-12)
    # The same seed gives the same numbers: to the last bit with the same calls, within the rows' float error with
    # other batches and calls (the seeds do not depend on them: below).
    assert variational_bound_scores(diffusion, data, batch_size=4, rows_per_call=5, **options) == scores
    # max_images scores the first images alone (here in one call of 9 rows).
    _assert_scores_of(variational_bound_scores(diffusion, data, batch_size=7, max_images=3, **options), means[:3])
    # The comparison can fail: another seed draws other timesteps, which move the estimates by orders of magnitude
    # more than the float error.
    other = _direct(diffusion, data, seed=6, draws=3)
    assert abs(other.mean() - means.mean()) > 100 * ROW_RTOL * means.mean()


def test_the_conditional_bound_is_given_the_test_labels_and_needs_them(conditional):
    data = synthetic_dataset(6, seed=4, num_classes=3)
    scores = variational_bound_scores(conditional, data, seed=2, timesteps_per_image=2, batch_size=4, progress=False)
    assert scores["given_label"] is True
    _assert_scores_of(scores, _direct(conditional, data, seed=2, draws=2))
    unlabelled = ImageDataset(images=data.images, labels=None, name="unlabelled")
    expected = r"conditional_diffusion's variational bound on -log p\(x\|y\) given the label needs labelled data; " \
               r"'unlabelled' has no labels"
    with pytest.raises(ValueError, match=expected):
        variational_bound_scores(conditional, unlabelled, progress=False)
    with pytest.raises(ValueError, match=expected):  # tfgen evaluate: before the samples are drawn
        evaluate(conditional, dataset=unlabelled, num_samples=2, progress=False)


def test_evaluate_reports_the_bound_of_an_export_as_of_its_model(conditional, conditional_export):
    data = synthetic_dataset(6, seed=5, num_classes=3)
    scorer = ExportScorer(conditional_export)
    assert (scorer.scores, scorer.conditional, scorer.num_classes) == (("variational_bound", "samples"), True, 3)
    keras.utils.set_random_seed(0)
    classifier = Evaluator(build_classifier(3))
    options = dict(dataset=data, bound_samples=2, seed=1, batch_size=4, num_samples=6, classifier=classifier,
                   progress=False)
    direct, served = evaluate(conditional, **options), evaluate(conditional_export, **options)
    assert set(direct) == set(served) == {"model", "kind", "target", "dataset", "split", "seed", "variational_bound",
                                          "samples"}
    assert served["kind"] == "export"
    means = _direct(conditional, data, seed=1, draws=2)
    for report in (direct, served):
        _assert_scores_of(report["variational_bound"], means)
        assert report["variational_bound"]["timesteps_per_image"] == 2
    bound = served["variational_bound"]
    summary = format_summary(served)
    assert f"variational bound on -log p(x|y)  {bound['nats']:.2f} ± {bound['nats_stderr']:.2f} nats" in summary
    assert f"bits/dim (bound)                  {bound['bits_per_dim']:.4f} ± {bound['bits_per_dim_stderr']:.4f}" \
        in summary
    # The export's signature refuses what the model refuses.
    with pytest.raises(ValueError, match="needs labels"):
        scorer.variational_bound(tf.zeros([1, 28, 28, 1]), [1])


def test_the_cli_refuses_in_one_line(conditional_export, capsys, tmp_path):
    # A flat folder of images: no labels; its test split is every 10th file.
    folder = tmp_path / "unlabelled"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for index in range(10):
        pixels = rng.integers(0, 256, size=(28, 28, 1), dtype=np.uint8)
        (folder / f"{index}.png").write_bytes(tf.io.encode_png(pixels).numpy())
    export = os.path.dirname(conditional_export)
    err = cli_error(capsys, ["evaluate", export, "--dataset", str(folder), "--samples", "3", "--quiet"])
    assert "variational bound on -log p(x|y) given the label needs labelled data; 'unlabelled/test' has no labels" \
        in err
    err = cli_error(capsys, ["evaluate", export, "--iw-samples", "5"])
    assert "conditional_diffusion has no importance-weighted likelihood: it is scored by its variational bound" in err
    assert "--bound-samples K" in err
    err = cli_error(capsys, ["evaluate", export, "--bound-samples", "0"])
    assert "argument --bound-samples: expected a positive" in err


def test_bound_samples_are_checked_and_refused_by_models_without_the_bound():
    assert check_bound_samples(1) == 1 and check_bound_samples(np.int64(2**16)) == 2**16
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(ValueError, match="timesteps_per_image must be a positive integer"):
            check_bound_samples(bad)
    with pytest.raises(ValueError, match="at most 65,536"):
        check_bound_samples(2**16 + 1)
    from conftest import create_model

    data = synthetic_dataset(4, seed=1)
    with pytest.raises(ValueError, match=r"bound_samples must be a positive integer"):
        evaluate(create_model("diffusion"), dataset=data, bound_samples=0, progress=False)
    with pytest.raises(ValueError, match=r"bound_samples must be at most 65,536 .*lower --bound-samples"):
        evaluate(create_model("diffusion"), dataset=data, bound_samples=10**9, progress=False)
    with pytest.raises(ValueError, match="rows_per_call must be a positive integer"):
        variational_bound_scores(create_model("diffusion"), data, rows_per_call=0, progress=False)
    with pytest.raises(ValueError, match=r"vae has no variational bound \(the diffusion models' score\): its "
                                         r"likelihood is estimated by importance sampling \(--iw-samples K\)"):
        evaluate(create_model("vae"), dataset=data, bound_samples=1, progress=False)
    with pytest.raises(ValueError, match="dcgan has no variational bound: only the diffusion models have one"):
        evaluate(create_model("dcgan"), dataset=data, bound_samples=1, progress=False)
    with pytest.raises(ValueError, match="diffusion has no importance-weighted likelihood"):
        evaluate(create_model("diffusion"), dataset=data, iw_samples=3, progress=False)


def test_an_export_samples_through_sample_ddim_with_the_settings_given(conditional, conditional_export):
    """`ExportedModel.sample(..., signature="sample_ddim", **settings)` (benchmarks/score_exports.py --setting): at
    the model's own settings it draws what `sample` draws; a missing or fractional integer setting is refused."""
    from tfgen.serving import ExportedModel

    exported = ExportedModel(os.path.dirname(conditional_export))
    seeds, labels = np.arange(3), np.array([0, 2, 1])
    settings = {"steps": conditional.sampling_steps, "eta": conditional.eta, "guidance_scale": conditional.guidance_scale}
    np.testing.assert_allclose(exported.sample(seeds, labels, signature="sample_ddim", **settings),
                               exported.sample(seeds, labels), atol=conditional.sample_row_atol, rtol=0)
    with pytest.raises(ValueError, match=r"takes the settings \['eta', 'guidance_scale', 'steps'\]"):
        exported.sample(seeds, labels, signature="sample_ddim", steps=2)
    with pytest.raises(ValueError, match="'steps' must be an integer"):
        exported.sample(seeds, labels, signature="sample_ddim", **{**settings, "steps": 2.5})
