"""A small CNN classifier trained on the data, used to score generated samples (any labelled image dataset).

Trained by tfgen (`train_classifier`), saved and loaded as plain Keras
weights (`save_classifier` / `load_classifier`), and wrapped by `Evaluator`:

* `label_accuracy(images, labels)`: the fraction of images the classifier
  puts in the class they were generated for (conditional models; chance is
  1 / num_classes, a generator that ignores its label scores near it).
* `features(images)`: the penultimate (128-unit) layer.
* `diversity(images, labels)`: per class, the mean pairwise Euclidean
  distance between feature vectors (a collapsed class scores near 0;
  compare with the same number on real images).
* `frechet_distance(real_images, fake_images)`: the Fréchet distance between
  Gaussians fitted to the two feature sets. It is meant for MNIST-like data
  and for comparing runs scored by one saved classifier; FID proper (on
  Inception-v3's features, comparable with published numbers) is
  `tfgen.evaluation.inception`.

Architecture: conv stages, each a valid 3x3 convolution with ReLU and a 2x2
max-pool; stage k (1-based) has 32 * 2^(k-1) filters, at most 256. There are
at least two stages, and stages are added while the feature map's larger
side is above 8 (`classifier_stages`): 2 stages at 28x28 and 32x32, 3 at
64x64, 4 at 128x128. Then Flatten, Dense 128 ReLU ("features"), Dropout 0.3,
Dense num_classes (logits). At 28x28x1 this is exactly the classifier of
earlier versions (the same layers, names and weight shapes), so saved
`classifier.weights.h5` files keep loading. Images are float in [0, 1],
shape (N, height, width, channels), any channel count.

This API is shared by the GAN and conditional-VAE work: keep it stable.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen._files import WEIGHTS_SUFFIX, check_file_format, write_atomic  # noqa: F401 (WEIGHTS_SUFFIX re-exported)
from tfgen.networks import IMAGE_SHAPE

#: The classifier's weights file: Keras' weights-only HDF5 format, named by this ending.

FEATURES_LAYER = "features"
#: Conv stages are added while the feature map's larger side is above this.
MAX_FINAL_GRID = 8
#: The smallest image side the two compulsory stages accept (10 -> 8 -> 4 -> 2 -> 1).
MIN_IMAGE_SIDE = 10


def _check_image_shape(image_shape):
    try:
        image_shape = tuple(int(size) for size in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be (height, width, channels). Received: image_shape={image_shape!r}") from None
    if len(image_shape) != 3 or min(image_shape) < 1:
        raise ValueError(f"image_shape must be three positive integers (height, width, channels). "
                         f"Received: image_shape={image_shape!r}")
    if min(image_shape[:2]) < MIN_IMAGE_SIDE:
        raise ValueError(f"image_shape must be at least {MIN_IMAGE_SIDE}x{MIN_IMAGE_SIDE} pixels for the classifier's "
                         f"two conv stages. Received: image_shape={image_shape!r}")
    return image_shape


def classifier_stages(image_shape):
    """The number of conv stages of the classifier for images of `image_shape` (module docstring).

    Each stage maps a side s to (s - 2) // 2; there are at least 2 stages,
    and one more while the larger side is above `MAX_FINAL_GRID` and the
    smaller one can still be halved (>= 4).
    """
    height, width, _ = _check_image_shape(image_shape)
    stages = 0
    while stages < 2 or (max(height, width) > MAX_FINAL_GRID and min(height, width) >= 4):
        height, width = (height - 2) // 2, (width - 2) // 2
        stages += 1
    return stages


def build_classifier(num_classes=10, image_shape=IMAGE_SHAPE, dropout=0.3):
    """The (untrained) classifier: a Functional Keras model from images in [0, 1] to logits.

    Args:
        num_classes: the number of classes (>= 2).
        image_shape: (height, width, channels) of the images, each side >= 10;
            the depth follows from it (`classifier_stages`).
        dropout: the dropout rate before the logits.

    Returns:
        A `keras.Model` named "sample_classifier" with a layer named "features".

    Raises:
        ValueError: `num_classes` below 2 or an `image_shape` that is not
            three positive integers with sides of at least 10.
    """
    num_classes = _checks.class_count("num_classes", num_classes, minimum=2)
    image_shape = _check_image_shape(image_shape)
    inputs = keras.Input(image_shape, name="images")
    hidden = inputs
    for stage in range(1, classifier_stages(image_shape) + 1):
        filters = min(32 * 2 ** (stage - 1), 256)
        hidden = keras.layers.Conv2D(filters, 3, activation="relu", name=f"conv{stage}")(hidden)
        hidden = keras.layers.MaxPooling2D(2, name=f"pool{stage}")(hidden)
    hidden = keras.layers.Flatten(name="flatten")(hidden)
    features = keras.layers.Dense(128, activation="relu", name=FEATURES_LAYER)(hidden)
    hidden = keras.layers.Dropout(dropout, name="dropout")(features)
    logits = keras.layers.Dense(num_classes, name="logits", dtype="float32")(hidden)  # float32 under any policy
    return keras.Model(inputs, logits, name="sample_classifier")


def image_arrays(data):
    """(images float32 in [0, 1], labels int64) from an ImageDataset or an (images, labels) pair."""
    if hasattr(data, "images") and hasattr(data, "labels"):
        images, labels = data.images, data.labels
    elif isinstance(data, (tuple, list)) and len(data) == 2:
        images, labels = data
    else:
        raise TypeError(f"Expected a tfgen.data.ImageDataset or an (images, labels) pair. Received: {type(data).__name__}")
    if labels is None:
        raise ValueError(f"The sample classifier needs labelled data. Received: the unlabelled dataset "
                         f"{getattr(data, 'name', 'images')!r} (labels=None)")
    images = np.asarray(images)
    images = images.astype(np.float32) / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
    return images, np.asarray(labels).astype(np.int64)


def train_classifier(train_data, test_data=None, epochs=3, batch_size=128, learning_rate=1e-3, seed=0, verbose=1,
                     num_classes=None):
    """Trains the classifier; returns `(model, test_accuracy)`.

    Args:
        train_data: a `tfgen.data.ImageDataset` (uint8 images) or an
            `(images, labels)` pair (float images in [0, 1] or uint8).
        test_data: the same, for the reported accuracy (None: accuracy is None).
        epochs: passes over the training data (3 reach about 99% on MNIST).
        batch_size, learning_rate: Adam's settings.
        seed: fixes the initialization and the data order.
        verbose: Keras's fit verbosity.
        num_classes: default: the dataset's `num_classes`, or 1 + the largest
            label of a pair.

    Returns:
        (the trained `keras.Model` returning logits, test accuracy in [0, 1] or None).
        The architecture follows the images' shape (`build_classifier`).

    Raises:
        TypeError: data that is neither an ImageDataset nor a pair.
        ValueError: unlabelled data, or a bad setting.
    """
    epochs = _checks.positive_int("epochs", epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    learning_rate = _checks.positive_number("learning_rate", learning_rate)
    images, labels = image_arrays(train_data)
    num_classes = num_classes or getattr(train_data, "num_classes", None) or max(int(labels.max()) + 1, 2)
    keras.utils.set_random_seed(seed)
    model = build_classifier(num_classes, image_shape=images.shape[1:])
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    model.fit(images, labels, epochs=epochs, batch_size=batch_size, shuffle=True, verbose=verbose)
    accuracy = None
    if test_data is not None:
        accuracy = Evaluator(model).label_accuracy(*image_arrays(test_data))
    return model, accuracy


def save_classifier(model, path):
    """Saves the classifier's weights to `path` (must end in `.weights.h5`)."""
    check_file_format(path, (WEIGHTS_SUFFIX,))
    return write_atomic(path, model.save_weights, suffix=WEIGHTS_SUFFIX)


def load_classifier(path, num_classes=10, image_shape=IMAGE_SHAPE):
    """The classifier with the weights saved at `path` by `save_classifier`.

    Args:
        path: the `.weights.h5` file.
        num_classes: the classes it was trained on (the dataset's `num_classes`).
        image_shape: the images' (height, width, channels) it was trained on
            (the dataset's `image_shape`); the default is MNIST's.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: weights of another architecture (another image shape or
            number of classes), with both named.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No classifier weights at {path!r}; train one with tfgen.evaluation.train_classifier.")
    check_file_format(path, (WEIGHTS_SUFFIX,))
    model = build_classifier(num_classes, image_shape=image_shape)
    try:
        model.load_weights(path)
    except ValueError as error:
        raise ValueError(f"The classifier weights at {path!r} do not fit a classifier of num_classes={num_classes} "
                         f"and image_shape={tuple(image_shape)} (trained on other data?): {error}") from error
    return model


def frechet_distance_from_features(features_a, features_b):
    """Fréchet distance between Gaussians fitted to two feature sets (N, D) and (M, D).

        d^2 = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))

    Tr((S_a S_b)^(1/2)) is computed as the sum of the square roots of the
    eigenvalues of S_a^(1/2) S_b S_a^(1/2), a symmetric PSD matrix, which
    avoids the complex round-off of a general matrix square root.
    """
    features_a = np.asarray(features_a, np.float64)
    features_b = np.asarray(features_b, np.float64)
    if features_a.ndim != 2 or features_b.ndim != 2 or features_a.shape[1] != features_b.shape[1]:
        raise ValueError(
            "features_a and features_b must be two feature matrices of shapes (N, D) and (M, D). "
            f"Received: features_a.shape={features_a.shape}, features_b.shape={features_b.shape}"
        )
    for argument, features in (("features_a", features_a), ("features_b", features_b)):
        if len(features) < 2:
            raise ValueError(f"{argument} must hold at least 2 rows (images). Received: {argument}.shape={features.shape}")
    mean_a, mean_b = features_a.mean(0), features_b.mean(0)
    cov_a = np.cov(features_a, rowvar=False)
    cov_b = np.cov(features_b, rowvar=False)
    eigenvalues, eigenvectors = np.linalg.eigh(cov_a)
    sqrt_a = (eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None))) @ eigenvectors.T
    middle = sqrt_a @ cov_b @ sqrt_a
    trace_sqrt = np.sum(np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2.0), 0.0, None)))
    distance = np.sum((mean_a - mean_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2.0 * trace_sqrt
    return float(max(distance, 0.0))


class Evaluator:
    """Scores images with a trained classifier (see the module docstring).

    Args:
        classifier: a model from `train_classifier` / `load_classifier` (or
            any Functional model with a layer named "features" and logits out).
        batch_size: images per forward pass.

    All methods take float images in [0, 1] of the classifier's input shape
    (N, height, width, channels) (NumPy or tensors), and return NumPy / Python values.
    """

    def __init__(self, classifier, batch_size=256):
        if not isinstance(classifier, keras.Model):
            raise TypeError(f"classifier must be a keras.Model. Received: {type(classifier).__name__}")
        try:
            features_output = classifier.get_layer(FEATURES_LAYER).output
        except ValueError as error:
            raise ValueError(f"classifier has no layer named {FEATURES_LAYER!r} (use tfgen.evaluation.build_classifier).") from error
        self.classifier = classifier
        self.batch_size = _checks.positive_int("batch_size", batch_size)
        self.num_classes = int(classifier.output.shape[-1])
        self.num_features = int(features_output.shape[-1])
        self.image_shape = tuple(int(size) for size in classifier.input.shape[1:])
        self._both = keras.Model(classifier.input, [features_output, classifier.output])

    @classmethod
    def from_weights(cls, path, num_classes=10, batch_size=256, image_shape=IMAGE_SHAPE):
        """An Evaluator for the classifier weights saved at `path` (`load_classifier`)."""
        return cls(load_classifier(path, num_classes, image_shape=image_shape), batch_size=batch_size)

    def _check_images(self, images, argument="images"):
        images = np.asarray(images, dtype=np.float32)
        expected = tuple(self.classifier.input.shape[1:])
        if images.ndim != 4 or tuple(images.shape[1:]) != expected:
            raise ValueError(f"{argument} must have shape (N, {', '.join(map(str, expected))}). Received: {argument}.shape={images.shape}")
        return _checks.pixel_values(argument, images)

    def _features_and_logits(self, images):
        images = self._check_images(images)
        if len(images) == 0:
            return np.zeros((0, self.num_features), np.float32), np.zeros((0, self.num_classes), np.float32)
        features, logits = [], []
        for start in range(0, len(images), self.batch_size):
            batch_features, batch_logits = self._both(images[start : start + self.batch_size], training=False)
            features.append(np.asarray(batch_features))
            logits.append(np.asarray(batch_logits))
        return np.concatenate(features), np.concatenate(logits)

    def predict(self, images):
        """The predicted class of each image, int64 (N,)."""
        return np.argmax(self._features_and_logits(images)[1], axis=-1).astype(np.int64)

    def class_probabilities(self, images):
        """The classifier's softmax probabilities, float32 (N, num_classes)."""
        return tf.nn.softmax(self._features_and_logits(images)[1]).numpy()

    def label_accuracy(self, images, labels):
        """The fraction of images classified as their `labels` (int (N,)): a float in [0, 1]."""
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(labels) != len(images):
            raise ValueError(f"Expected one label per image. Received: {len(images)} images and {len(labels)} labels")
        return float(np.mean(self.predict(images) == labels))

    def features(self, images):
        """The classifier's penultimate-layer features, float32 (N, 128)."""
        return self._features_and_logits(images)[0]

    def diversity(self, images, labels):
        """Per class, the mean pairwise Euclidean distance between the images' features.

        Args:
            images: (N, height, width, channels) in [0, 1].
            labels: the class of each image (the class a conditional model
                was asked for, or `predict(images)` for unconditional ones).

        Returns:
            {class id: mean distance}, for every class with at least two images.
        """
        labels = np.asarray(labels).astype(np.int64).reshape(-1)
        if len(labels) != len(images):
            raise ValueError(f"Expected one label per image. Received: {len(images)} images and {len(labels)} labels")
        features = self.features(images).astype(np.float64)
        result = {}
        for label in np.unique(labels):
            group = features[labels == label]
            if len(group) < 2:
                continue
            squared = np.sum(group**2, axis=1)
            distances = np.sqrt(np.clip(squared[:, None] + squared[None, :] - 2.0 * group @ group.T, 0.0, None))
            count = len(group)
            result[int(label)] = float(distances.sum() / (count * (count - 1)))
        return result

    def frechet_distance(self, real_images, fake_images):
        """The Fréchet distance between the two sets in this classifier's feature space.

        The formula of the Fréchet Inception Distance (Heusel, Ramsauer,
        Unterthiner, Nessler and Hochreiter, "GANs Trained by a Two
        Time-Scale Update Rule Converge to a Local Nash Equilibrium", NeurIPS
        2017), but this is NOT FID: the features are this small classifier's
        128 penultimate units, trained on the data, not Inception-v3's 2048
        pool units trained on ImageNet (FID proper: `tfgen.evaluation.inception`). Its values are not comparable with
        published FIDs, nor across classifiers (retraining changes the
        scale); compare runs scored with the same saved classifier only. It
        is also biased upwards for small sets: use the same number of images
        (thousands) for the runs you compare.
        """
        return frechet_distance_from_features(self.features(real_images), self.features(fake_images))
