"""Class labels: integer class ids to one-hot rows, with range checks, eagerly and in the graph.

`tf.one_hot` turns an out-of-range id silently into an all-zero row; every
place in tfgen that turns ids into one-hot rows goes through `one_hot`
here, which refuses them:

* eagerly, at once, with a `ValueError` naming the argument, the valid range
  and the received extremes;
* in a graph (`tf.function`, a Keras functional model, an exported
  signature), by `tf.debugging` assertions on which the result depends, which
  fail the call with the same message (`InvalidArgumentError`).

`sample_class_ids` is the one place that says which class each of n samples
of a conditional model is drawn for.
"""

import numpy as np
import tensorflow as tf

from tfgen import _checks


def _range_message(argument, num_classes):
    return f"{argument} must be a class id in [0, {num_classes})"


def check_class_ids(labels, num_classes, argument="labels", mask=None):
    """Integer class ids `labels`, checked to lie in [0, num_classes).

    Args:
        labels: an integer tensor (or array) of class ids, any shape.
        num_classes: the number of classes.
        argument: the name used in the messages.
        mask: optional float/bool tensor of `labels`' shape; ids are only
            checked where it is nonzero (e.g. hidden labels of unlabelled
            examples may hold anything).

    Returns:
        The ids as a tensor (in a graph, one that depends on the assertions).

    Raises:
        TypeError: when `labels` is not an integer tensor.
        ValueError: (eagerly) when an id is out of range.
    """
    labels = tf.convert_to_tensor(labels)
    if not labels.dtype.is_integer:
        raise TypeError(f"{argument} must be integer class ids. Received: dtype={labels.dtype.name}")
    checked = labels if mask is None else tf.boolean_mask(labels, tf.cast(mask, tf.float32) > 0.5)
    message = _range_message(argument, num_classes)
    if tf.executing_eagerly():
        values = checked.numpy()
        if values.size and (values.min() < 0 or values.max() >= num_classes):
            raise ValueError(f"{message}. Received: {argument} with min={values.min()}, max={values.max()}")
        return labels
    checks = [
        tf.debugging.assert_non_negative(checked, message=message),
        tf.debugging.assert_less(checked, tf.cast(num_classes, checked.dtype), message=message),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(labels)


def _check_batch_size(labels, batch_size, argument):
    static = tf.get_static_value(batch_size)
    if static is not None and labels.shape[0] is not None:
        if int(static) != labels.shape[0]:
            raise ValueError(f"Expected {int(static)} {argument}, one per example. Received: {labels.shape[0]}")
        return labels
    check = tf.debugging.assert_equal(
        tf.shape(labels, out_type=tf.int64)[0], tf.cast(batch_size, tf.int64),
        message=f"Expected one entry of {argument} per example",
    )
    if tf.executing_eagerly():
        return labels
    with tf.control_dependencies([check]):
        return tf.identity(labels)


def _check_distributions(one_hot, argument):
    message = f"one-hot {argument} must be non-negative with rows summing to 1"
    if tf.executing_eagerly():
        values = one_hot.numpy()
        if values.size and (values.min() < 0 or not np.allclose(values.sum(-1), 1.0, atol=1e-3)):
            raise ValueError(f"{message}. Received row sums {values.sum(-1)[:5]}..., min={values.min()}")
        return one_hot
    checks = [
        tf.debugging.assert_non_negative(one_hot, message=message),
        tf.debugging.assert_near(tf.reduce_sum(one_hot, -1), tf.ones_like(one_hot[:, 0]), atol=1e-3, message=message),
    ]
    with tf.control_dependencies(checks):
        return tf.identity(one_hot)


def one_hot(labels, num_classes, argument="labels", *, batch_size=None, mask=None, allow_float=True,
            check_distributions=False, allow_column=False, dtype=tf.float32):
    """One-hot rows (batch, num_classes) from int class ids (batch,) or float one-hot rows.

    Args:
        labels: int class ids of shape (batch,), or (with `allow_float`)
            float rows of shape (batch, num_classes): one-hot, or soft labels
            (class probabilities, e.g. Gumbel-softmax samples, or mixtures to
            interpolate between classes).
        num_classes: the number of classes.
        argument: the argument's name, for messages.
        batch_size: the expected number of labels (int or scalar tensor), or None.
        mask: optional (batch,) float mask; ids are only range-checked where it is 1.
        allow_float: accept float rows (else only ids).
        check_distributions: float rows must be non-negative and sum to 1
            (within 1e-3).
        allow_column: also accept ids of shape (batch, 1).
        dtype: the dtype of the result.

    Raises:
        ValueError: wrong shape, wrong number of classes, out-of-range ids, rows
            that are not distributions, or a batch-size mismatch.
        TypeError: labels that are neither integers nor (allowed) floats.
    """
    num_classes = _checks.integer("num_classes", num_classes, minimum=1)
    labels = tf.convert_to_tensor(labels)
    rank = labels.shape.rank
    float_hint = f" (or float one-hot of shape (batch, {num_classes}))" if allow_float else ""
    if labels.dtype.is_integer:
        if allow_column and rank == 2 and labels.shape[-1] == 1:
            labels = tf.squeeze(labels, axis=-1)
            rank = 1
        if rank != 1:
            raise ValueError(
                f"Integer {argument} must be class ids of shape (batch,){float_hint}. "
                f"Received: {argument}.shape={labels.shape}"
            )
        result = tf.one_hot(check_class_ids(labels, num_classes, argument, mask=mask), num_classes, dtype=dtype)
    elif labels.dtype.is_floating and allow_float:
        if rank != 2:
            raise ValueError(
                f"Float {argument} must be one-hot of shape (batch, {num_classes}) (or integer class ids of shape "
                f"(batch,)). Received: {argument}.shape={labels.shape}"
            )
        if labels.shape[-1] != num_classes:
            raise ValueError(
                f"Float {argument} must be one-hot of shape (batch, {num_classes}): they have {labels.shape[-1]} "
                f"classes, expected num_classes={num_classes}. Received: {argument}.shape={labels.shape}"
            )
        result = tf.cast(labels, dtype)
        if check_distributions:
            result = _check_distributions(result, argument)
    else:
        expected = "integer class ids or float one-hot rows" if allow_float else "integer class ids"
        raise TypeError(f"{argument} must be {expected}. Received: dtype={labels.dtype.name}")
    if batch_size is not None:
        result = _check_batch_size(result, batch_size, argument)
    return result


def class_ids_per_sample(labels, num_samples, argument="labels"):
    """`labels`, one int class id per sample or one for all, as an int64 NumPy vector of `num_samples` ids
    (not range-checked: `check_class_ids`). A ValueError or TypeError naming `argument` otherwise."""
    labels = np.asarray(labels.numpy() if tf.is_tensor(labels) else labels)
    if labels.dtype == object and labels.size and all(isinstance(value, int) for value in labels.reshape(-1)):
        # Python ints beyond int64 (NumPy keeps them as objects): no class has such an id.
        raise ValueError(f"{argument} must be class ids; {max(labels.reshape(-1), key=abs)} is beyond any number of "
                         f"classes (int64).")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{argument} must be integer class ids, one per sample. Received: dtype={labels.dtype}")
    if labels.ndim > 1 or labels.size not in (1, num_samples):
        raise ValueError(f"{argument} must be one class id per sample ({num_samples}) or one for all. "
                         f"Received: {argument}.shape={labels.shape}")
    return np.broadcast_to(labels.astype(np.int64).reshape(-1), (num_samples,)).copy()


def labelled_mask(batch, batch_size):
    """The batch's "labelled" mask as float32 0/1, or None when the batch has none (all labelled)."""
    mask = batch.get("labelled") if hasattr(batch, "get") else None
    if mask is None:
        return None
    mask = tf.convert_to_tensor(mask)
    if mask.shape.rank != 1:
        raise ValueError(f"The labelled mask must have shape (batch,). Received: labelled.shape={mask.shape}")
    if not (mask.dtype == tf.bool or mask.dtype.is_floating or mask.dtype.is_integer):
        raise TypeError(f"The labelled mask must be bool or 0/1 numbers. Received: dtype={mask.dtype.name}")
    mask = tf.cast(mask, tf.float32)
    if tf.executing_eagerly():
        values = mask.numpy()
        if not np.all((values == 0) | (values == 1)):
            raise ValueError(f"The labelled mask must hold only 0 and 1. Received values {np.unique(values)[:5]}")
        static = tf.get_static_value(batch_size)
        if static is not None and len(values) != int(static):
            raise ValueError(f"Expected one labelled flag per example ({int(static)}). Received: {len(values)}")
    return mask


def masked_mean(values, count):
    """sum(values) / max(count, 1): the mean over rows that may be absent."""
    return tf.reduce_sum(values) / tf.maximum(tf.cast(count, values.dtype), 1.0)


#: The orders of `sample_class_ids`: the classes in turn, or class-major blocks.
CYCLE = "cycle"
BLOCKS = "blocks"
ORDERS = (CYCLE, BLOCKS)


def sample_class_ids(num_samples, num_classes, order=CYCLE):
    """The class ids of `num_samples` samples of a conditional model with `num_classes` classes, int64 (num_samples,).

    Two orders, each the one its users have always drawn (their numbers
    depend on it):

    * "cycle": the classes in turn, 0, 1, ..., K - 1, 0, 1, ... (`arange(n) % K`):
      `sample(n)` without labels and the GANs' per-epoch sample scores;
    * "blocks": class-major, `n / K` samples of class 0, then of class 1, ...
      (`(arange(n) * K) // n`; with n = rows x columns and K = rows, one row
      per class): `tfgen evaluate` and `tfgen sample`.

    Args:
        num_samples: n, a positive int, or an integer tensor (a count known
            only in a graph).
        num_classes: K, a positive int.
        order: "cycle" or "blocks".

    Returns:
        A NumPy int64 array for an int `num_samples`, else an int64 tensor.
    """
    num_classes = _checks.positive_int("num_classes", num_classes)
    order = _checks.choice("order", order, ORDERS)
    if tf.is_tensor(num_samples):
        count = tf.cast(num_samples, tf.int64)
        positions = tf.range(count)
    else:
        count = _checks.positive_int("num_samples", num_samples)
        positions = np.arange(count, dtype=np.int64)
    return positions % num_classes if order == CYCLE else (positions * num_classes) // count
