"""Sample scores on any data: FID and KID on Inception-v3 features, and the sample classifier at any image shape.

Offline, a fixed Inception-v3 with random weights (seeded, `weights=None`,
75x75 input, its smallest) stands in for ImageNet's: the pipeline and the
formulas are what is tested, against references written here (the FID
formula through an eigendecomposition, not `scipy.linalg.sqrtm`; the KID
estimator by explicit loops).
"""

import urllib.error

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen.evaluation import inception
from tfgen.evaluation.classifier import (
    Evaluator,
    build_classifier,
    classifier_stages,
    load_classifier,
    save_classifier,
    train_classifier,
)

EPS64 = np.finfo(np.float64).eps
EPS32 = float(np.finfo(np.float32).eps)


@pytest.fixture(scope="module")
def random_inception():
    keras.utils.set_random_seed(0)
    return keras.applications.InceptionV3(include_top=False, weights=None, pooling="avg", input_shape=(75, 75, 3))


def _images(count, shape=(28, 28, 1), seed=0, scale=1.0):
    return np.random.default_rng(seed).random((count, *shape), dtype=np.float32) * np.float32(scale)


def _reference_fid(x, y):
    """||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^(1/2)), with Tr (S_x S_y)^(1/2) = sum sqrt(eig(S_x^½ S_y S_x^½))."""
    mu_x, mu_y = x.mean(0), y.mean(0)
    s_x = (x - mu_x).T @ (x - mu_x) / (len(x) - 1)
    s_y = (y - mu_y).T @ (y - mu_y) / (len(y) - 1)
    values, vectors = np.linalg.eigh(s_x)
    root_x = vectors @ np.diag(np.sqrt(np.clip(values, 0, None))) @ vectors.T
    middle = root_x @ s_y @ root_x
    trace_root = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)))
    return np.sum((mu_x - mu_y) ** 2) + np.trace(s_x) + np.trace(s_y) - 2 * trace_root, s_x


def _reference_kid(x, y):
    """The unbiased MMD^2 with k(a, b) = (a.b / d + 1)^3, by explicit loops over pairs."""
    m, d = len(x), x.shape[1]
    k = lambda a, b: (float(np.dot(a, b)) / d + 1.0) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j)
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j)
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m))
    return (xx + yy) / (m * (m - 1)) - 2.0 * xy / (m * m)


def test_preprocessing_resizes_tiles_grey_and_scales_to_minus_one_one():
    grey = _images(3, (28, 28, 1))
    rgb = np.repeat(grey, 3, axis=-1)
    # Grey is the same input as its 3-channel copy, exactly.
    np.testing.assert_array_equal(inception.preprocess(grey, (75, 75)).numpy(), inception.preprocess(rgb, (75, 75)).numpy())
    # Bilinear resize, then x -> 2x - 1: a few float32 roundings of values of magnitude <= 1.
    expected = 2.0 * tf.image.resize(rgb, (75, 75), method="bilinear").numpy() - 1.0
    np.testing.assert_allclose(inception.preprocess(rgb, (75, 75)).numpy(), expected, rtol=0, atol=8 * EPS32)
    # A constant image stays constant: 0.25 -> -0.5 (bilinear weights sum to 1, within float32 rounding).
    constant = inception.preprocess(np.full((1, 10, 13, 1), 0.25, np.float32), (75, 75)).numpy()
    assert constant.shape == (1, 75, 75, 3)
    np.testing.assert_allclose(constant, -0.5, rtol=0, atol=8 * EPS32)
    assert inception.preprocess(rgb).shape == (3, inception.INPUT_SIZE, inception.INPUT_SIZE, 3)


def test_features_of_any_size_and_channels_in_batches(random_inception):
    images = _images(10, (32, 20, 3), seed=1)
    one_pass = inception.inception_features(images, random_inception, batch_size=10)
    batched = inception.inception_features(images, random_inception, batch_size=3, verbose=True)
    assert one_pass.shape == (10, 2048) and one_pass.dtype == np.float64
    # Inference mode (batch norm from its moving statistics): each image's features do not depend on its batch;
    # only the float32 summation order of the convolutions can change with the batch size.
    np.testing.assert_allclose(batched, one_pass, rtol=1e-4, atol=1e-4 * np.abs(one_pass).max())
    grey = inception.inception_features(images[..., :1], random_inception)
    np.testing.assert_allclose(grey, inception.inception_features(np.repeat(images[..., :1], 3, -1), random_inception),
                               rtol=1e-5, atol=1e-6 * np.abs(grey).max())
    with pytest.raises(ValueError, match="images"):
        inception.inception_features(_images(2, (8, 8, 2)), random_inception)
    with pytest.raises(ValueError, match="images"):
        inception.inception_features(_images(2, (8, 8, 1), scale=255.0), random_inception)


def test_fid_matches_the_formula_on_features_of_a_fixed_network(random_inception):
    real = inception.inception_features(_images(48, seed=2), random_inception)
    fake = inception.inception_features(_images(48, seed=3, scale=0.5), random_inception)  # darker images
    columns = np.argsort(-real.std(0))[:8]  # 8 features, 48 images: full-rank covariances
    x, y = real[:, columns], fake[:, columns]
    expected, s_x = _reference_fid(x, y)
    # Both float64 on an 8x8 problem: relative error ~ eps * D * cond(S), and cond(S) is checked to be < 1e4,
    # so 1e-8 of the scale Tr(S) is a wide bound (the two only differ in how the square root is taken).
    assert np.linalg.cond(s_x) < 1e4
    scale = np.trace(s_x)
    assert expected > 100 * 1e-8 * scale  # the sets differ: the test is not 0 == 0
    assert inception.fid(x, y) == pytest.approx(expected, rel=1e-8, abs=1e-8 * scale)
    assert inception.frechet_distance(*inception.feature_statistics(x), *inception.feature_statistics(y)) == \
        pytest.approx(expected, rel=1e-8, abs=1e-8 * scale)


def test_fid_known_cases():
    rng = np.random.default_rng(4)
    features = rng.normal(size=(200, 16)) @ rng.normal(size=(16, 16))
    sigma = np.cov(features, rowvar=False)
    # Identical sets: sqrtm(S S) = S up to sqrtm's float64 error, about eps * D * cond(S) relative to Tr(S).
    bound = 10 * EPS64 * 16 * np.linalg.cond(sigma) * np.trace(sigma)
    assert abs(inception.fid(features, features)) <= bound
    # Shifted Gaussians with one covariance: exactly ||delta||^2 (same error bound).
    mu, delta = rng.normal(size=16), rng.normal(size=16)
    assert inception.frechet_distance(mu, sigma, mu + delta, sigma) == pytest.approx(delta @ delta, abs=bound)
    # Diagonal covariances: sum (sqrt(a) - sqrt(b))^2 + ||delta||^2.
    a, b = rng.uniform(0.5, 2.0, 16), rng.uniform(0.5, 2.0, 16)
    closed = delta @ delta + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert inception.frechet_distance(mu, np.diag(a), mu + delta, np.diag(b)) == pytest.approx(closed, rel=1e-12)
    # A singular product stays finite: within the eps offset's effect (2 * 2 sqrt(eps)) of the closed form 2.
    singular = inception.frechet_distance(np.zeros(2), np.diag([1.0, 0.0]), np.zeros(2), np.diag([0.0, 1.0]))
    assert singular == pytest.approx(2.0, abs=4 * np.sqrt(1e-6))
    with pytest.raises(ValueError, match="sigma2"):
        inception.frechet_distance(mu, sigma, mu, sigma[:3, :3])
    with pytest.raises(ValueError, match="fake_features"):
        inception.fid(features, features[:, :3])


def test_kid_matches_explicit_loops_and_is_near_zero_for_one_distribution():
    rng = np.random.default_rng(5)
    x, y = rng.normal(size=(20, 4)), rng.normal(0.3, 1.2, size=(20, 4))
    # subset_size >= both sets: every subset is the whole set in another order, which the estimate ignores.
    mean, std = inception.kid(x, y, num_subsets=3, subset_size=50)
    expected = _reference_kid(x, y)
    assert abs(expected) > 1e-3
    assert mean == pytest.approx(expected, rel=1e-10)
    assert std <= 1e-10 * abs(expected)  # summation order only
    # Two samples of one distribution: unbiased, so the mean is within (two) subset stds of 0; a shift is far from it.
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 8))
    mean, std = inception.kid(a, b, num_subsets=50, subset_size=100, seed=0)
    assert abs(mean) < 2 * std
    shifted, shifted_std = inception.kid(a, b + 0.5, num_subsets=50, subset_size=100, seed=0)
    assert shifted > 5 * shifted_std
    assert inception.kid(a, b, num_subsets=5, subset_size=50, seed=1) == inception.kid(a, b, num_subsets=5,
                                                                                      subset_size=50, seed=1)


def test_scorer_caches_the_real_features_and_saves_them(tmp_path):
    # A tiny stand-in network (6 features): a 2048x2048 sqrtm takes minutes on two cores.
    keras.utils.set_random_seed(1)
    network = keras.Sequential([keras.Input((16, 16, 3)), keras.layers.Conv2D(6, 3, activation="tanh"),
                                keras.layers.GlobalAveragePooling2D()])
    real = (np.random.default_rng(6).integers(0, 256, (24, 28, 28, 1))).astype(np.uint8)  # uint8, as datasets hold
    scorer = inception.InceptionScorer(real, model=network, batch_size=8)
    fake = _images(24, seed=7, scale=0.5)
    scores = scorer.scores(fake, num_subsets=4, subset_size=12)
    real_features = inception.inception_features(real.astype(np.float32) / 255.0, network)
    fake_features = inception.inception_features(fake, network)
    np.testing.assert_allclose(scorer.real_features, real_features, rtol=1e-4, atol=1e-4 * np.abs(real_features).max())
    assert scores["fid"] == pytest.approx(inception.fid(scorer.real_features, fake_features), rel=1e-4)
    assert set(scores) == {"fid", "kid", "kid_std"}
    path = scorer.save_statistics(str(tmp_path / "real.npz"))
    again = inception.InceptionScorer.from_statistics(path, model=network)
    assert again.fid(fake_features=fake_features) == scorer.fid(fake_features=fake_features)
    with pytest.raises(ValueError, match="exactly one"):
        scorer.fid()


def test_missing_weights_offline_fail_at_once_saying_where_to_put_them(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setenv("TFGEN_OFFLINE", "1")
    with pytest.raises(inception.InceptionWeightsUnavailable, match=inception.WEIGHTS_FILE) as raised:
        inception.inception_model()
    assert str(tmp_path / "models") in str(raised.value)

    def no_network(**kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setenv("TFGEN_OFFLINE", "0")
    monkeypatch.setattr(keras.applications, "InceptionV3", no_network)
    with pytest.raises(inception.InceptionWeightsUnavailable, match="download failed.*no route to host"):
        inception.inception_model()


# The sample classifier on any labelled data.

#: The classifier's weights at 28x28x1 before image shapes were configurable: saved files must keep loading.
LAYOUT_28 = [("conv1/kernel", (3, 3, 1, 32)), ("conv1/bias", (32,)), ("conv2/kernel", (3, 3, 32, 64)),
             ("conv2/bias", (64,)), ("features/kernel", (1600, 128)), ("features/bias", (128,)),
             ("logits/kernel", (128, 10)), ("logits/bias", (10,))]


def test_classifier_keeps_its_28x28_layout_and_deepens_with_the_size():
    assert [(weight.path, tuple(weight.shape)) for weight in build_classifier(10).weights] == LAYOUT_28
    for shape, stages in (((28, 28, 1), 2), ((32, 32, 3), 2), ((64, 64, 3), 3), ((128, 96, 3), 4), ((10, 10, 1), 2)):
        model = build_classifier(7, image_shape=shape)
        assert classifier_stages(shape) == stages
        grid = model.get_layer(f"pool{stages}").output.shape[1:3]
        assert max(grid) <= 8 and min(grid) >= 1, (shape, grid)
        assert model.output.shape[-1] == 7
    with pytest.raises(ValueError, match="image_shape"):
        build_classifier(10, image_shape=(8, 8, 1))


def test_classifier_trains_and_loads_on_rgb_images_with_any_number_of_classes(tmp_path):
    rng = np.random.default_rng(8)
    labels = np.arange(60) % 3
    images = rng.random((60, 32, 32, 3), dtype=np.float32) * 0.3
    images[np.arange(60), :, :, labels] += 0.7  # class c: channel c bright
    model, accuracy = train_classifier((images, labels), (images, labels), epochs=2, batch_size=20, verbose=0)
    assert model.input.shape[1:] == (32, 32, 3) and model.output.shape[-1] == 3
    assert accuracy > 0.9  # three colours: learnt at once (chance: 1/3)
    path = save_classifier(model, str(tmp_path / "classifier.weights.h5"))
    loaded = load_classifier(path, num_classes=3, image_shape=(32, 32, 3))
    np.testing.assert_allclose(loaded.predict(images[:8], verbose=0), model.predict(images[:8], verbose=0), rtol=1e-5)
    evaluator = Evaluator.from_weights(path, num_classes=3, image_shape=(32, 32, 3))
    assert evaluator.image_shape == (32, 32, 3) and evaluator.features(images[:4]).shape == (4, 128)
    with pytest.raises(ValueError, match="image_shape=\\(28, 28, 1\\)"):
        load_classifier(path, num_classes=3)
    with pytest.raises(ValueError, match="labelled"):
        train_classifier((images, None), epochs=1, verbose=0)


def test_sample_scores_on_unlabelled_real_data_use_the_classifiers_predictions():
    from tfgen.evaluation.gan import sample_scores

    class Unlabelled:  # what sample_scores reads of a dataset with labels=None
        images = (np.random.default_rng(9).random((30, 12, 12, 1)) * 255).astype(np.uint8)
        labels = None

        def take(self, count):
            return self

    class Generator:  # what sample_scores reads of a model: its declarations and `sample`
        conditional = False
        latent_codes = False

        def sample(self, count, seed=None):
            return tf.random.stateless_uniform([count, 12, 12, 1], seed=[3, 4])

    keras.utils.set_random_seed(2)
    evaluator = Evaluator(build_classifier(3, image_shape=(12, 12, 1)))
    scores = sample_scores(Generator(), evaluator, Unlabelled(), num_samples=30)
    predicted = evaluator.predict(Unlabelled.images.astype(np.float32) / 255.0)
    assert scores["real_diversity"] == pytest.approx(np.mean(list(evaluator.diversity(
        Unlabelled.images.astype(np.float32) / 255.0, predicted).values())))
    assert "code_error" not in scores and 1 <= scores["predicted_classes"] <= 3
