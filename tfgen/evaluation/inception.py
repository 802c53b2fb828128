"""FID and KID on Inception-v3 features: sample quality comparable with published numbers, on any images.

* `inception_model()`: Keras's ImageNet Inception-v3 without its top,
  average-pooled (2048 features per image). Keras downloads the weights on
  first use (about 84 MB, into its cache, `KERAS_HOME` or `~/.keras`,
  folder `models/`); offline, or with `TFGEN_OFFLINE=1`, a missing file
  fails at once with one line saying where to put it.
* `inception_features(images)`: images in [0, 1], any size, 1 or 3
  channels -> resized bilinearly to the network's input (299x299), grey
  tiled to RGB, scaled to [-1, 1] (`keras.applications.inception_v3.
  preprocess_input`) -> (N, 2048) float64 features, in batches.
* `frechet_distance(mu1, sigma1, mu2, sigma2)`: the Fréchet distance of two
  Gaussians, computed as the reference TTUR implementation does (Heusel et
  al. 2017): float64, `scipy.linalg.sqrtm` of S1 S2, an epsilon added to
  the diagonals when that product is singular, a negligible imaginary part
  dropped.
* `fid(real_features, fake_features)`: FID = ||mu_r - mu_f||^2 +
  Tr(S_r + S_f - 2 (S_r S_f)^(1/2)) of Gaussians fitted to the features.
* `kid(real_features, fake_features)`: the Kernel Inception Distance
  (Binkowski, Sutherland, Arbel and Gretton, "Demystifying MMD GANs", ICLR
  2018): the unbiased estimate of MMD^2 with the kernel
  k(x, y) = (x.y / d + 1)^3, averaged over random subsets; (mean, std).
* `InceptionScorer`: holds the real images' features and statistics once,
  and scores any number of sample sets against them.

FID is biased upwards for small sets (compare runs with the same number of
samples, 10k or more for published numbers); KID is unbiased, its std says
how much the estimate moves between subsets. The classifier-feature Fréchet
distance of `tfgen.evaluation.Evaluator` is a different, MNIST-scale number.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen._files import write_atomic

#: The weights file Keras downloads for `InceptionV3(include_top=False, weights="imagenet")`.
WEIGHTS_FILE = "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"
WEIGHTS_URL = "https://storage.googleapis.com/tensorflow/keras-applications/inception_v3/" + WEIGHTS_FILE
INPUT_SIZE = 299
NUM_FEATURES = 2048
OFFLINE_ENV = "TFGEN_OFFLINE"


class InceptionWeightsUnavailable(RuntimeError):
    """The ImageNet Inception-v3 weights are neither in Keras's cache nor downloadable."""


def keras_cache_dir():
    """The folder where Keras keeps downloaded model weights (`$KERAS_HOME/models` or `~/.keras/models`)."""
    return os.path.join(os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras"), "models")


def _unavailable(reason):
    return InceptionWeightsUnavailable(
        f"The Inception-v3 weights for FID/KID are not available ({reason}): download {WEIGHTS_URL} and put it at "
        f"{os.path.join(keras_cache_dir(), WEIGHTS_FILE)!r} (or set KERAS_HOME to a folder whose models/ holds it)."
    )


def inception_model():
    """Keras's ImageNet Inception-v3, `include_top=False, pooling="avg"`: (N, 299, 299, 3) in [-1, 1] -> (N, 2048).

    Raises:
        InceptionWeightsUnavailable: the weights are not in Keras's cache
            and `TFGEN_OFFLINE=1` is set or the download failed.
    """
    cached = os.path.isfile(os.path.join(keras_cache_dir(), WEIGHTS_FILE))
    if not cached and os.environ.get(OFFLINE_ENV, "") not in ("", "0"):
        raise _unavailable(f"{OFFLINE_ENV}={os.environ[OFFLINE_ENV]} and the file is not in Keras's cache")
    try:
        return keras.applications.InceptionV3(include_top=False, weights="imagenet", pooling="avg",
                                              input_shape=(INPUT_SIZE, INPUT_SIZE, 3))
    except Exception as error:  # noqa: BLE001 - URLError, HTTPError, OSError, socket errors...
        if cached:
            raise
        raise _unavailable(f"the download failed: {type(error).__name__}: {error}") from error


def _model_input_size(model):
    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or shape[-1] != 3 or shape[0] is None or shape[1] is None:
        raise ValueError(f"model must take fixed-size RGB images (N, height, width, 3). Received: input shape {shape}")
    return int(shape[0]), int(shape[1])


def _check_images(images):
    return _checks.float_images("images", images)


def preprocess(images, size=(INPUT_SIZE, INPUT_SIZE)):
    """Images in [0, 1], (N, H, W, 1 or 3) -> Inception's input: (N, *size, 3) float32 in [-1, 1].

    Bilinear resizing (no antialiasing, as `tf.image.resize` does by
    default), grey tiled to three channels, then
    `keras.applications.inception_v3.preprocess_input` (x * 2 - 1 of [0, 1]).
    """
    images = tf.convert_to_tensor(images, tf.float32)
    if tuple(images.shape[1:3]) != tuple(size):
        images = tf.image.resize(images, size, method="bilinear")
    if images.shape[-1] == 1:
        images = tf.tile(images, [1, 1, 1, 3])
    return keras.applications.inception_v3.preprocess_input(images * 255.0)


def inception_features(images, model=None, batch_size=50, verbose=False):
    """Inception-v3's pooled features of images in [0, 1]: (N, 2048) float64.

    Args:
        images: (N, height, width, 1 or 3) float in [0, 1], any size (NumPy or tensor).
        model: the feature network (default: `inception_model()`, loaded
            once per call; pass one to reuse it). Any Keras model from
            fixed-size RGB images in [-1, 1] to (N, D) works, e.g. a small
            stand-in for tests; images are resized to its input size.
        batch_size: images per forward pass.
        verbose: show a progress bar.

    Raises:
        ValueError, TypeError: images that are not (N, H, W, 1 or 3) floats in [0, 1].
        InceptionWeightsUnavailable: see `inception_model`.
    """
    images = _check_images(images)
    batch_size = _checks.positive_int("batch_size", batch_size)
    model = inception_model() if model is None else model
    size = _model_input_size(model)
    progress = keras.utils.Progbar(len(images), unit_name="image") if verbose else None
    features = []
    for start in range(0, len(images), batch_size):
        batch = preprocess(images[start : start + batch_size], size)
        features.append(np.asarray(model(batch, training=False), np.float64))
        if progress is not None:
            progress.update(min(start + batch_size, len(images)))
    return np.concatenate(features).reshape(len(images), -1)


def _check_features(argument, features, minimum=2):
    features = np.asarray(features, np.float64)
    _checks.shape(argument, features, ("N", "features"))
    if len(features) < minimum:
        raise ValueError(f"{argument} must hold at least {minimum} rows (images). Received: {argument}.shape={features.shape}")
    if not np.all(np.isfinite(features)):
        raise ValueError(f"{argument} must be finite. Received: {argument} with NaN or inf")
    return features


def feature_statistics(features):
    """(mean (D,), covariance (D, D)) of (N, D) features, float64, the covariance unbiased (N - 1)."""
    features = _check_features("features", features)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def _sqrtm(matrix):
    import warnings

    from scipy import linalg

    with warnings.catch_warnings():  # a singular product: handled by frechet_distance's offset
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        return linalg.sqrtm(matrix)


def frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    """The Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2):

        d^2 = ||mu1 - mu2||^2 + Tr(sigma1 + sigma2 - 2 (sigma1 sigma2)^(1/2))

    As in the reference TTUR implementation: float64; when
    `scipy.linalg.sqrtm(sigma1 @ sigma2)` is not finite (a singular
    product), `eps` is added to both diagonals; the complex part sqrtm may
    return is dropped when the diagonal's imaginary parts are below 1e-3.

    Args:
        mu1, mu2: means (D,).
        sigma1, sigma2: covariances (D, D).
        eps: the diagonal offset for a singular product.

    Returns:
        The squared Fréchet distance, a Python float.

    Raises:
        ValueError: shapes that do not match, or a significant imaginary part.
    """
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    sigma1, sigma2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    _checks.shape("mu1", mu1, ("D",))
    _checks.same_shape("mu2", mu2, "mu1", mu1)
    _checks.shape("sigma1", sigma1, (len(mu1), len(mu1)))
    _checks.same_shape("sigma2", sigma2, "sigma1", sigma1)
    eps = _checks.positive_number("eps", eps)
    diff = mu1 - mu2
    covmean = _sqrtm(sigma1 @ sigma2)
    if not np.all(np.isfinite(covmean)):
        offset = np.eye(len(mu1)) * eps
        covmean = _sqrtm((sigma1 + offset) @ (sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0.0, atol=1e-3):
            raise ValueError(f"The square root of sigma1 @ sigma2 has a significant imaginary part "
                             f"(max {np.max(np.abs(covmean.imag)):.3g}): are both covariance matrices PSD?")
        covmean = covmean.real
    return float(diff @ diff + np.trace(sigma1) + np.trace(sigma2) - 2.0 * np.trace(covmean))


def fid(real_features, fake_features, eps=1e-6):
    """FID: the Fréchet distance of Gaussians fitted to (N, D) and (M, D) features (`frechet_distance`)."""
    real_features = _check_features("real_features", real_features)
    fake_features = _check_features("fake_features", fake_features)
    _check_same_width(real_features, fake_features)
    return frechet_distance(*feature_statistics(real_features), *feature_statistics(fake_features), eps=eps)


def _check_same_width(real_features, fake_features):
    if real_features.shape[1] != fake_features.shape[1]:
        raise ValueError(f"real_features and fake_features must have as many features. "
                         f"Received: real_features.shape={real_features.shape}, fake_features.shape={fake_features.shape}")


def polynomial_kernel(x, y):
    """KID's kernel k(x, y) = (x.y / d + 1)^3 between the rows of (N, d) and (M, d): (N, M) float64."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def kid(real_features, fake_features, num_subsets=100, subset_size=1000, seed=0):
    """KID: the unbiased MMD^2 estimate with `polynomial_kernel`, over random subsets (Binkowski et al. 2018).

    Each of `num_subsets` draws m = min(subset_size, N, M) rows of each set
    without replacement and computes

        sum_{i != j} k(x_i, x_j) / (m (m - 1)) + sum_{i != j} k(y_i, y_j) / (m (m - 1))
            - 2 sum_{i, j} k(x_i, y_j) / m^2.

    Args:
        real_features, fake_features: (N, D) and (M, D).
        num_subsets: how many subsets.
        subset_size: rows per subset (at most the smaller set's size is used).
        seed: the subsets' NumPy seed.

    Returns:
        (mean, std) of the subsets' estimates, Python floats. The mean is an
        unbiased estimate of MMD^2 (it can be slightly negative).
    """
    real_features = _check_features("real_features", real_features)
    fake_features = _check_features("fake_features", fake_features)
    _check_same_width(real_features, fake_features)
    num_subsets = _checks.positive_int("num_subsets", num_subsets)
    subset_size = _checks.integer("subset_size", subset_size, minimum=2)
    m = min(subset_size, len(real_features), len(fake_features))
    rng = np.random.default_rng(_checks.seed("seed", seed))
    estimates = np.empty(num_subsets)
    for index in range(num_subsets):
        x = real_features[rng.choice(len(real_features), m, replace=False)]
        y = fake_features[rng.choice(len(fake_features), m, replace=False)]
        k_xx, k_yy = polynomial_kernel(x, x), polynomial_kernel(y, y)
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        estimates[index] = within - 2.0 * polynomial_kernel(x, y).sum() / (m * m)
    return float(estimates.mean()), float(estimates.std())


class InceptionScorer:
    """FID and KID of sample sets against one set of real images, whose features are computed once.

    Args:
        real_images: float images in [0, 1] (N, H, W, 1 or 3), uint8 images,
            or a `tfgen.data.ImageDataset` (its first `num_real` images).
        num_real: at most this many real images (None: all).
        model: the feature network (default: `inception_model()`, loaded on first use).
        batch_size, verbose: as for `inception_features`.

    Attributes:
        real_features: (N, D) float64, computed on first use.
        mu, sigma: their mean and covariance.

    `save_statistics(path)` / `InceptionScorer.from_statistics(path)` keep
    the real features in a `.npz` file, so the real set is not run again.
    """

    def __init__(self, real_images=None, num_real=None, model=None, batch_size=50, verbose=False):
        self.num_real = _checks.positive_int("num_real", num_real, allow_none=True)
        self.batch_size = _checks.positive_int("batch_size", batch_size)
        self.verbose = verbose
        self._model = model
        self._real_images = real_images
        self._real_features = None
        self._statistics = None

    @property
    def model(self):
        if self._model is None:
            self._model = inception_model()
        return self._model

    def features(self, images):
        """`inception_features` of float images in [0, 1] (uint8 images are scaled by 1/255)."""
        images = np.asarray(images)
        if images.dtype == np.uint8:
            images = images.astype(np.float32) / 255.0
        return inception_features(images, self.model, self.batch_size, self.verbose)

    @property
    def real_features(self):
        if self._real_features is None:
            if self._real_images is None:
                raise ValueError("InceptionScorer has no real images: pass real_images or use from_statistics.")
            images = getattr(self._real_images, "images", self._real_images)
            images = images[: self.num_real] if self.num_real else images
            self._real_features = self.features(images)
        return self._real_features

    @property
    def statistics(self):
        """(mu, sigma) of the real features."""
        if self._statistics is None:
            self._statistics = feature_statistics(self.real_features)
        return self._statistics

    def fid(self, fake_images=None, fake_features=None):
        """FID of `fake_images` (or of precomputed `fake_features`) against the real set."""
        fake_features = self._fake(fake_images, fake_features)
        _check_same_width(self.real_features, fake_features)
        return frechet_distance(*self.statistics, *feature_statistics(fake_features))

    def kid(self, fake_images=None, fake_features=None, num_subsets=100, subset_size=1000, seed=0):
        """KID (mean, std) of `fake_images` (or of precomputed `fake_features`) against the real set."""
        return kid(self.real_features, self._fake(fake_images, fake_features), num_subsets, subset_size, seed)

    def scores(self, fake_images, num_subsets=100, subset_size=1000, seed=0):
        """{"fid", "kid", "kid_std"} of `fake_images`, their features computed once."""
        features = self.features(fake_images)
        kid_mean, kid_std = self.kid(fake_features=features, num_subsets=num_subsets, subset_size=subset_size, seed=seed)
        return {"fid": self.fid(fake_features=features), "kid": kid_mean, "kid_std": kid_std}

    def _fake(self, fake_images, fake_features):
        if (fake_images is None) == (fake_features is None):
            raise ValueError("Pass exactly one of fake_images and fake_features.")
        return self.features(fake_images) if fake_features is None else _check_features("fake_features", fake_features)

    def save_statistics(self, path):
        """Writes the real features to `path` (.npz); returns the path."""
        features = self.real_features
        return write_atomic(path, lambda temporary: np.savez(temporary, real_features=features), suffix=".npz")

    @classmethod
    def from_statistics(cls, path, model=None, batch_size=50, verbose=False):
        """A scorer whose real features are read from `save_statistics`'s file."""
        if not os.path.isfile(path):
            raise FileNotFoundError(f"No saved real features at {path!r}; write them with InceptionScorer.save_statistics.")
        scorer = cls(model=model, batch_size=batch_size, verbose=verbose)
        with np.load(path) as stored:
            scorer._real_features = _check_features("real_features", stored["real_features"])
        return scorer
