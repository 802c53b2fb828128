"""Argument checks shared by every layer of the package (it imports nothing from tfgen).

One rule for integer arguments: a Python `int` or a NumPy integer, never a
`bool` (a `True` is a mistake, not a 1), never a float (not even `3.0`) or a
string; the value comes back as a Python `int`. One rule for real-valued
arguments: an `int`, a `float` or a NumPy number, finite, never a `bool`; it
comes back as a Python `float`. Seeds are integers that fit in int64. Shapes
are compared on what is known statically (None matches any size); pixel
values (NumPy) must be finite and in [0, 1]. Every failure is a `ValueError`
naming the argument, what was expected and what was received.
"""

import difflib
import math

import numpy as np


def _integer_expectation(minimum, maximum):
    if maximum is not None:
        return f"an integer in [{minimum}, {maximum}]"
    if minimum == 1:
        return "a positive integer"
    if minimum == 0:
        return "a non-negative integer"
    if minimum is not None:
        return f"an integer >= {minimum}"
    return "an integer"


def integer(argument, value, minimum=None, maximum=None, allow_none=False):
    """`value` as a Python int if it is an integer in [minimum, maximum], else a `ValueError` naming `argument`.

    Args:
        argument: the argument's name, for the message.
        value: the value received.
        minimum: the smallest allowed value, or None.
        maximum: the largest allowed value, or None.
        allow_none: let `None` through unchanged (an optional argument).
    """
    if value is None and allow_none:
        return None
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, np.integer))
    if ok and minimum is not None and value < minimum:
        ok = False
    if ok and maximum is not None and value > maximum:
        ok = False
    if not ok:
        raise ValueError(f"{argument} must be {_integer_expectation(minimum, maximum)}. Received: {argument}={value!r}")
    return int(value)


def positive_int(argument, value, allow_none=False):
    """`integer(argument, value, minimum=1)`: counts, sizes, periods."""
    return integer(argument, value, minimum=1, allow_none=allow_none)


#: The most classes a dataset or model may have: a documented cap (ImageNet-21k has 21,841), far below what one
#: name per class and the models' one-hot codes cost in memory (a label of 2**40 made 2**40 class names).
MAX_CLASSES = 100_000


def class_count(argument, value, minimum=1):
    """A number of classes: an integer in [minimum, `MAX_CLASSES`], else a ValueError naming `argument`."""
    value = integer(argument, value, minimum=minimum)
    if value > MAX_CLASSES:
        raise ValueError(f"{argument} must be at most {MAX_CLASSES:,} classes (a documented cap: every class has a "
                         f"name and a column of the one-hot codes). Received: {argument}={value}")
    return value


def non_negative_int(argument, value, allow_none=False):
    """`integer(argument, value, minimum=0)`."""
    return integer(argument, value, minimum=0, allow_none=allow_none)


def number(argument, value, minimum=None, allow_minimum=True, maximum=None, allow_maximum=True, allow_none=False):
    """`value` as a finite Python float within the bounds, else a `ValueError` naming `argument`.

    Args:
        argument: the argument's name, for the message.
        value: the value received (int, float or NumPy number; not bool).
        minimum, maximum: the bounds, or None.
        allow_minimum, allow_maximum: whether the bound itself is allowed.
        allow_none: let `None` through unchanged.
    """
    if value is None and allow_none:
        return None
    ok = not isinstance(value, (bool, np.bool_)) and isinstance(value, (int, float, np.integer, np.floating))
    ok = ok and math.isfinite(float(value))
    if ok and minimum is not None:
        ok = value >= minimum if allow_minimum else value > minimum
    if ok and maximum is not None:
        ok = value <= maximum if allow_maximum else value < maximum
    if not ok:
        if minimum == 0 and maximum is None:
            expected = "a non-negative number" if allow_minimum else "a positive number"
        else:
            bounds = []
            if minimum is not None:
                bounds.append(f"{'>=' if allow_minimum else '>'} {minimum}")
            if maximum is not None:
                bounds.append(f"{'<=' if allow_maximum else '<'} {maximum}")
            expected = "a finite number" + (" " + " and ".join(bounds) if bounds else "")
        raise ValueError(f"{argument} must be {expected}. Received: {argument}={value!r}")
    return float(value)


def non_negative_number(argument, value, allow_none=False):
    """`number(argument, value, minimum=0)`: weights of loss terms, rates."""
    return number(argument, value, minimum=0, allow_none=allow_none)


def positive_number(argument, value, allow_none=False):
    """`number(argument, value, minimum=0, allow_minimum=False)`: temperatures, scales."""
    return number(argument, value, minimum=0, allow_minimum=False, allow_none=allow_none)


def boolean(argument, value):
    """`value` if it is a bool (or NumPy bool), else a `ValueError` naming `argument`."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{argument} must be True or False. Received: {argument}={value!r}")
    return bool(value)


def choice(argument, value, choices):
    """`value` if it is one of `choices`, else a `ValueError` listing them."""
    if value not in choices:
        raise ValueError(
            f"Unknown {argument} {value!r}. Expected one of {list(choices)}. Received: {argument}={value!r}"
        )
    return value


INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1


def seed(argument, value):
    """An integer seed that fits in int64 (TensorFlow's seeds), as a Python int."""
    value = integer(argument, value)
    if not INT64_MIN <= value <= INT64_MAX:
        raise ValueError(f"{argument} must be an integer within int64, [-2**63, 2**63 - 1]. Received: {argument}={value!r}")
    return value


def optional_seed(argument, value):
    """An integer seed (within int64) or None (the argument of the random layers and models)."""
    if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))):
        raise ValueError(f"{argument} must be an integer or None. Received: {argument}={value!r}")
    return None if value is None else seed(argument, value)


def positive_ints(argument, values):
    """A list or tuple of positive integers (layer sizes), as a tuple of Python ints."""
    if not isinstance(values, (list, tuple)):
        raise ValueError(f"{argument} must be a list of positive integers. Received: {argument}={values!r}")
    return tuple(positive_int(argument, value) for value in values)


def _static_shape(value):
    """The known shape of a tensor, array or nested list as a tuple (None: unknown sizes), or None if the rank is unknown."""
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    if getattr(shape, "rank", 0) is None:  # a TensorShape of unknown rank
        return None
    return tuple(None if size is None else int(size) for size in shape)


def shape(argument, value, expected):
    """Raises a ValueError unless `value`'s shape fits `expected`.

    Args:
        argument: the argument's name, for the message.
        value: a tensor, array or nested list.
        expected: a tuple of sizes; an entry that is a string ("batch") or
            None matches any size, and so does a size unknown statically.
    """
    actual = _static_shape(value)
    if actual is None:
        return value
    fits = len(actual) == len(expected) and all(
        isinstance(want, str) or want is None or have is None or have == want for have, want in zip(actual, expected)
    )
    if not fits:
        described = ", ".join("?" if want is None else str(want) for want in expected)
        if len(expected) == 1:
            described += ","
        raise ValueError(f"{argument} must have shape ({described}). Received: {argument}.shape={actual}")
    return value


def same_shape(argument, value, other_argument, other, broadcast=False):
    """Raises a ValueError unless `value` has the shape of `other` (or, with `broadcast`, broadcasts with it)."""
    first, second = _static_shape(value), _static_shape(other)
    if first is None or second is None:
        return value
    if broadcast:
        fits = all(a is None or b is None or a == b or a == 1 or b == 1
                   for a, b in zip(reversed(first), reversed(second)))
    else:
        fits = len(first) == len(second) and all(a is None or b is None or a == b for a, b in zip(first, second))
    if not fits:
        relation = "broadcast with" if broadcast else "have the shape of"
        raise ValueError(
            f"{argument} must {relation} {other_argument}. "
            f"Received: {argument}.shape={first}, {other_argument}.shape={second}"
        )
    return value


def pixel_values(argument, images):
    """Raises a ValueError unless the NumPy `images` are finite and in [0, 1]; the message gives the extremes."""
    images = np.asarray(images)
    if images.size == 0:
        return images
    # One pass: NaN compares False, so NaN, infinities and values outside [0, 1] all fail.
    if not np.all(np.abs(images - 0.5) <= 0.5):
        raise ValueError(pixel_message(argument, images))
    return images


def pixel_message(argument, values, expectation=None):
    """The message of pixel values outside [0, 1] (NumPy `values`, already known to be bad).

    `expectation` replaces the first sentence, "{argument} must lie in
    [0, 1] (finite pixel intensities)"; what was received follows.
    """
    expectation = expectation or f"{argument} must lie in [0, 1] (finite pixel intensities)"
    finite = np.isfinite(values)
    described = f"min={values[finite].min()}, max={values[finite].max()}, " if finite.any() else ""
    return f"{expectation}. Received: {argument} with {described}{int(np.sum(~finite))} NaN or infinite values"


#: A run's seed and seed + 1 (its evaluation stream) are both int64 stateless-seed components.
SEED_RANGE = (INT64_MIN, INT64_MAX - 1)


def seed_span(argument, value, count, lower):
    """Refuses a first seed `value` whose `count` seeds value, value + 1, ... do not all fit in int64 (NumPy would
    make them floats); `lower` names what to lower, e.g. "--seed or --samples"."""
    if value + count - 1 > INT64_MAX:
        raise ValueError(f"{argument}={value} and {count:,} seeds after it pass int64's largest value, 2**63 - 1: "
                         f"lower {lower}")
    return value


def run_seed(argument, value):
    """A training run's seed: an integer in `SEED_RANGE` (so it and seed + 1 fit in an int64)."""
    return integer(argument, value, minimum=SEED_RANGE[0], maximum=SEED_RANGE[1])



def float_images(argument, images, channels=(1, 3)):
    """`images` as a NumPy array, checked to be a non-empty (N, height, width, C) batch of float pixel
    intensities in [0, 1] with C in `channels` (grey or RGB by default)."""
    images = np.asarray(images)
    shape(argument, images, ("N", "height", "width", "channels"))
    if images.shape[-1] not in channels:
        raise ValueError(f"{argument} must have {' or '.join(map(str, channels))} channels (grey or RGB). "
                         f"Received: {argument}.shape={images.shape}")
    if len(images) == 0:
        raise ValueError(f"{argument} must hold at least one image. Received: {argument}.shape={images.shape}")
    if not np.issubdtype(images.dtype, np.floating):
        raise TypeError(f"{argument} must be float pixel intensities in [0, 1]. Received: dtype={images.dtype}")
    return pixel_values(argument, images)


def did_you_mean(name, known):
    """" Did you mean 'x'?" naming the closest of the names `known` to the unknown `name`, or "" when none is close
    (the tail of an unknown-name message: an option, a flag, a keyword argument)."""
    close = difflib.get_close_matches(str(name), sorted(str(item) for item in known), n=1, cutoff=0.6)
    return f" Did you mean {close[0]!r}?" if close else ""


def parse_labels_per_class(text):
    """The command line's --labels-per-class: "all" (None) or an integer (checked where the option is)."""
    return None if text == "all" else int(text)
