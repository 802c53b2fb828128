"""The package's one rule for arguments (`tfgen._checks`), one home for random draws (`tfgen.random`)
and one helper for class ids -> one-hot (`tfgen.labels`)."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfgen import _checks, labels
from tfgen import random as tfgen_random

# ------------------------------------------------------------------ arguments


@pytest.mark.parametrize("value", [3, np.int64(3), np.int32(3)])
def test_integers_are_python_ints_numpy_ints_included(value):
    assert _checks.integer("count", value, minimum=1) == 3 and type(_checks.integer("count", value)) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, "3", None, [3]])
def test_integers_refuse_bools_floats_strings(value):
    with pytest.raises(ValueError, match=re.escape(f"count must be an integer. Received: count={value!r}")):
        _checks.integer("count", value)


@pytest.mark.parametrize("minimum, maximum, value, expected", [
    (1, None, 0, "a positive integer"), (0, None, -1, "a non-negative integer"), (2, None, 1, "an integer >= 2"),
    (1, 5, 6, r"an integer in \[1, 5\]"),
])
def test_integer_bounds_are_named_in_the_message(minimum, maximum, value, expected):
    with pytest.raises(ValueError, match=f"size must be {expected}. Received: size={value}"):
        _checks.integer("size", value, minimum=minimum, maximum=maximum)
    assert _checks.integer("size", None, minimum=minimum, allow_none=True) is None


@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), "1", -0.5])
def test_numbers_are_finite_and_never_bools(value):
    with pytest.raises(ValueError, match="beta must be a non-negative number"):
        _checks.non_negative_number("beta", value)


def test_number_bounds_and_types():
    assert _checks.positive_number("tau", np.float32(0.5)) == 0.5 and type(_checks.positive_number("tau", 2)) is float
    with pytest.raises(ValueError, match="tau must be a positive number. Received: tau=0"):
        _checks.positive_number("tau", 0)
    with pytest.raises(ValueError, match="smoothing must be a finite number >= 0 and < 1"):
        _checks.number("smoothing", 1.0, minimum=0, maximum=1, allow_maximum=False)
    with pytest.raises(ValueError, match="Unknown mode 'x'. Expected one of"):
        _checks.choice("mode", "x", ("a", "b"))
    with pytest.raises(ValueError, match="hard must be True or False"):
        _checks.boolean("hard", 1)
    with pytest.raises(ValueError, match="seed must be an integer or None"):
        _checks.optional_seed("seed", 1.5)


# ------------------------------------------------------------------ random draws


def test_a_seed_gives_a_stateless_draw_and_none_the_generators_stream():
    seed = tf.constant([3, 4], tf.int64)
    np.testing.assert_array_equal(tfgen_random.normal([3, 2], seed), tf.random.stateless_normal([3, 2], seed=seed))
    np.testing.assert_array_equal(tfgen_random.uniform([4], seed, minval=-1.0, maxval=1.0),
                                  tf.random.stateless_uniform([4], seed=seed, minval=-1.0, maxval=1.0))
    ids = tfgen_random.class_ids([50], 7, seed)
    assert ids.dtype == tf.int64 and 0 <= int(tf.reduce_min(ids)) and int(tf.reduce_max(ids)) < 7
    first, second = keras.random.SeedGenerator(5), keras.random.SeedGenerator(5)
    a, b = tfgen_random.normal([3], None, first), tfgen_random.normal([3], None, first)
    assert not np.array_equal(a, b)  # the stream moves on
    np.testing.assert_array_equal(a, tfgen_random.normal([3], None, second))  # the same seed, the same stream
    assert tfgen_random.split_seed(None, 3) == [None, None, None]
    left, right = tfgen_random.split_seed(seed, 2)
    assert not np.array_equal(left, right)


def test_per_seed_draws_depend_on_their_own_seed_only():
    both = tfgen_random.normal_from_seeds(tf.constant([5, 6], tf.int64), 4)
    alone = tfgen_random.normal_from_seeds(tf.constant([6], tf.int64), 4)
    np.testing.assert_array_equal(both[1:], alone)
    assert not np.allclose(both[0], both[1])
    ids = tfgen_random.class_ids_from_seeds(tf.range(200, dtype=tf.int64), 10)
    assert set(ids.numpy().tolist()) == set(range(10))
    codes = tfgen_random.uniform_from_seeds(tf.constant([1, 2], tf.int64), 3)
    assert codes.shape == (2, 3) and float(tf.reduce_max(tf.abs(codes))) <= 1.0


# ------------------------------------------------------------------ labels


def test_one_hot_from_ids_and_rows():
    np.testing.assert_array_equal(labels.one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(labels.one_hot(tf.constant([[1], [2]]), 3, allow_column=True), [[0, 1, 0], [0, 0, 1]])
    soft = tf.constant([[0.25, 0.75, 0.0]])
    np.testing.assert_array_equal(labels.one_hot(soft, 3, check_distributions=True), soft)


def test_one_hot_refuses_what_tf_one_hot_would_silently_accept():
    with pytest.raises(ValueError, match=r"labels must be a class id in \[0, 3\)\. Received: labels with min=0, max=3"):
        labels.one_hot([0, 3], 3)
    with pytest.raises(ValueError, match=r"y must be a class id in \[0, 3\)"):
        labels.one_hot([-1], 3, "y")
    with pytest.raises(ValueError, match=r"Integer labels must be class ids of shape \(batch,\)"):
        labels.one_hot([[0, 1]], 3)
    with pytest.raises(ValueError, match="rows summing to 1"):
        labels.one_hot([[0.5, 0.7, 0.0]], 3, check_distributions=True)
    with pytest.raises(TypeError, match="must be integer class ids. Received: dtype=float32"):
        labels.one_hot([[1.0, 0.0, 0.0]], 3, allow_float=False)
    with pytest.raises(ValueError, match="Expected 3 labels, one per example. Received: 2"):
        labels.one_hot([0, 1], 3, batch_size=3)
    # Hidden labels of unlabelled rows (mask 0) may hold anything.
    np.testing.assert_array_equal(labels.one_hot([1, 9], 3, mask=tf.constant([1.0, 0.0]))[0], [0, 1, 0])


def test_one_hot_checks_inside_a_graph_too():
    one_hot = tf.function(lambda ids: labels.one_hot(ids, 4, "labels"))
    np.testing.assert_array_equal(one_hot(tf.constant([3, 1])), [[0, 0, 0, 1], [0, 1, 0, 0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"labels must be a class id in \[0, 4\)"):
        one_hot(tf.constant([4, 1]))
    masked = tf.function(lambda ids, mask: labels.one_hot(ids, 4, mask=mask))
    masked(tf.constant([9, 1]), tf.constant([0.0, 1.0]))  # the unlabelled row is not checked
    with pytest.raises(tf.errors.InvalidArgumentError, match="class id"):
        masked(tf.constant([9, 1]), tf.constant([1.0, 1.0]))


def test_tests_skipped_for_want_of_data_are_named_with_how_to_supply_the_files():
    from types import SimpleNamespace

    from conftest import NO_REAL_DATA, missing_data_summary

    reports = [SimpleNamespace(nodeid="tests/test_b.py::test_two", longrepr=("tests/test_b.py", 3, f"Skipped: {NO_REAL_DATA}")),
               SimpleNamespace(nodeid="tests/test_a.py::test_one", longrepr=("tests/test_a.py", 1, f"Skipped: {NO_REAL_DATA}")),
               SimpleNamespace(nodeid="tests/test_c.py::test_gpu", longrepr=("tests/test_c.py", 1, "Skipped: no GPU"))]
    lines = missing_data_summary(reports)
    assert lines[0].startswith("2 tests were skipped")
    assert lines[1:3] == ["  tests/test_a.py::test_one", "  tests/test_b.py::test_two"]
    assert "TFGEN_DATA_DIR=DIR" in lines[3] and "mnist/" in lines[3]
    assert missing_data_summary(reports[2:]) == []
