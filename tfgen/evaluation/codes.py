"""InfoGAN's categorical code read as a classifier (Chen et al. 2016, Section 7.1)."""

import numpy as np
import tensorflow as tf

from tfgen.evaluation.classifier import image_arrays
from tfgen.evaluation.clustering import matched_accuracy


def categorical_code_accuracy(model, data, batch_size=500):
    """Q's most likely categorical code for each real image, scored against the labels.

    Args:
        model: a trained `tfgen.models.InfoGAN`.
        data: a labelled `tfgen.data.ImageDataset` (e.g. the test split).

    Returns:
        {"accuracy", "error", "mapping" ({code: label}), "codes" (per image)}:
        accuracy after the best one-to-one matching of codes to labels.
    """
    if not hasattr(model, "predict_codes"):
        raise TypeError(f"model must be an InfoGAN (it has no predict_codes). Received: {type(model).__name__}")
    images, labels = image_arrays(data)
    codes = []
    for start in range(0, len(images), batch_size):
        logits, _, _ = model.predict_codes(tf.constant(images[start:start + batch_size]))
        codes.append(tf.argmax(logits, axis=-1).numpy())
    codes = np.concatenate(codes).astype(np.int64)
    accuracy, mapping = matched_accuracy(np.asarray(labels, np.int64), codes)
    return {"accuracy": accuracy, "error": 1.0 - accuracy, "mapping": mapping, "codes": codes}
