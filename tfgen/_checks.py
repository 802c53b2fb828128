"""Argument checks shared by every layer of the package (it imports nothing from tfgen)."""

import numpy as np


def positive_int(argument, value, allow_none=False):
    """`value` as a Python int if it is a positive integer (not a bool), else a `ValueError` naming `argument`.

    Args:
        argument: the argument's name, for the message.
        value: the value received.
        allow_none: let `None` through unchanged (an optional argument).
    """
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{argument} must be a positive integer. Received: {argument}={value!r}")
    return int(value)
