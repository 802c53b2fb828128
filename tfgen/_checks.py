"""Argument checks shared by every layer of the package (it imports nothing from tfgen).

One rule for integer arguments: a Python `int` or a NumPy integer, never a
`bool` (a `True` is a mistake, not a 1), never a float (not even `3.0`) or a
string; the value comes back as a Python `int`. One rule for real-valued
arguments: an `int`, a `float` or a NumPy number, finite, never a `bool`; it
comes back as a Python `float`. Every failure is a `ValueError` naming the
argument, what was expected and what was received.
"""

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


def optional_seed(argument, value):
    """An integer seed or None (the argument of the random layers and models)."""
    if value is not None and (isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer))):
        raise ValueError(f"{argument} must be an integer or None. Received: {argument}={value!r}")
    return None if value is None else int(value)


#: A run's seed and seed + 1 (its evaluation stream) are both int64 stateless-seed components.
SEED_RANGE = (-(2**63), 2**63 - 2)


def seed(argument, value):
    """A run's seed: an integer in `SEED_RANGE` (so it and seed + 1 fit in an int64)."""
    return integer(argument, value, minimum=SEED_RANGE[0], maximum=SEED_RANGE[1])

