"""InfoGAN's categorical code read as a classifier (Chen et al. 2016, Section 7.1)."""

import numpy as np
import tensorflow as tf

from tfgen import _checks
from tfgen.evaluation.classifier import image_arrays
from tfgen.evaluation.clustering import matched_accuracy


def _check_latent_codes(model):
    """Raises a TypeError unless `model` declares InfoGAN's codes (`latent_codes`: `generate(z, categorical,
    continuous)` and `predict_codes`)."""
    if not model.latent_codes:
        raise TypeError(f"model must be an InfoGAN (a model with latent_codes, which predict_codes reads back). "
                        f"Received: {type(model).__name__}")


def categorical_code_accuracy(model, data, batch_size=500):
    """Q's most likely categorical code for each real image, scored against the labels.

    Args:
        model: a trained `tfgen.models.InfoGAN`.
        data: a labelled `tfgen.data.ImageDataset` (e.g. the test split).

    Returns:
        {"accuracy", "error", "mapping" ({code: label}), "codes" (per image)}:
        accuracy after the best one-to-one matching of codes to labels.
    """
    _check_latent_codes(model)
    batch_size = _checks.positive_int("batch_size", batch_size)
    images, labels = image_arrays(data)
    codes = []
    for start in range(0, len(images), batch_size):
        logits, _, _ = model.predict_codes(tf.constant(images[start:start + batch_size]))
        codes.append(tf.argmax(logits, axis=-1).numpy())
    codes = np.concatenate(codes).astype(np.int64)
    accuracy, mapping = matched_accuracy(np.asarray(labels, np.int64), codes)
    return {"accuracy": accuracy, "error": 1.0 - accuracy, "mapping": mapping, "codes": codes}


def generated_code_accuracy(model, evaluator, per_code=500, seed=0, batch_size=500):
    """Does each categorical code draw one digit? The classifier reads InfoGAN's own samples.

    For every code value, `per_code` samples are drawn with random noise and
    continuous codes (the same draws for every code), labelled by
    `evaluator` (a `tfgen.evaluation.Evaluator`), and the codes are matched
    one-to-one to the predicted digits. 1.0: every code draws its own digit.
    Q can recover codes that change style rather than digit, so InfoGAN's
    `mi_loss` alone does not tell; this does.

    Returns:
        {"accuracy", "error", "mapping" ({code: digit}), "per_code" (for each
        code, the share of its samples predicted as its matched digit),
        "counts" ({code: how many of its samples were read as each class})}.
    """
    _check_latent_codes(model)
    per_code = _checks.positive_int("per_code", per_code)
    batch_size = _checks.positive_int("batch_size", batch_size)
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((per_code, model.latent_dim)).astype(np.float32)
    continuous = rng.uniform(-1.0, 1.0, (per_code, model.num_continuous)).astype(np.float32)
    codes, predicted = [], []
    for code in range(model.num_categories):
        for start in range(0, per_code, batch_size):
            stop = min(start + batch_size, per_code)
            categorical = np.full(stop - start, code, np.int64)
            images = model.generate(tf.constant(z[start:stop]), tf.constant(categorical), tf.constant(continuous[start:stop]))
            predicted.append(evaluator.predict(np.asarray(images)))
            codes.append(categorical)
    codes, predicted = np.concatenate(codes), np.concatenate(predicted)
    accuracy, mapping = matched_accuracy(predicted, codes)
    per_code_share = {
        int(code): float(np.mean(predicted[codes == code] == digit)) for code, digit in sorted(mapping.items())
    }
    num_classes = max(int(predicted.max()) + 1, getattr(evaluator, "num_classes", 0))
    counts = {
        code: np.bincount(predicted[codes == code], minlength=num_classes).tolist() for code in range(model.num_categories)
    }
    return {"accuracy": accuracy, "error": 1.0 - accuracy, "mapping": mapping, "per_code": per_code_share,
            "counts": counts}
