"""Checks for arguments at the public boundary: a clear error naming the parameter and its range.

Every function returns the checked value as a Python float/int so callers can write
``sigma = positive("sigma", sigma)``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np


def real(name: str, value) -> float:
    """A finite real number (bool is refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if math.isnan(value):
        raise ValueError(f"{name} must be a number, got NaN")
    return value


def positive(name: str, value, *, allow_inf: bool = False) -> float:
    """value > 0 (finite unless allow_inf)."""
    value = real(name, value)
    if not value > 0 or (math.isinf(value) and not allow_inf):
        raise ValueError(f"{name} must be > 0{'' if allow_inf else ' and finite'}, got {value!r}")
    return value


def in_interval(name: str, value, low: float, high: float, *, low_open: bool = True,
                high_open: bool = True) -> float:
    """value in the interval with the given endpoints, e.g. delta in (0, 1)."""
    value = real(name, value)
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return value


def probability(name: str, value, *, zero: bool = True, one: bool = True) -> float:
    """A probability in [0, 1]; ``zero``/``one`` say whether the endpoints are allowed."""
    return in_interval(name, value, 0.0, 1.0, low_open=not zero, high_open=not one)


def integer(name: str, value, *, minimum: int = 0) -> int:
    """An integer >= minimum; integral floats such as 1e4 are accepted, 2.5 is not."""
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be an integer, got bool {value!r}")
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif isinstance(value, numbers.Real) and float(value).is_integer():
        value = int(value)
    else:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def choice(name: str, value, options) -> str:
    """One of a fixed set of strings."""
    if value not in options:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, options))}, got {value!r}")
    return value


def orders(name: str, alpha, *, minimum: float = 1.0, inclusive: bool = True) -> np.ndarray:
    """Rényi orders as a float array: each alpha >= minimum (or > minimum), inf allowed, no NaN."""
    arr = np.asarray(alpha, dtype=float)
    if arr.size == 0:
        raise ValueError(f"{name} must contain at least one order")
    if np.isnan(arr).any():
        raise ValueError(f"{name} must not contain NaN")
    bad = arr < minimum if inclusive else arr <= minimum
    if bad.any():
        op = ">=" if inclusive else ">"
        raise ValueError(f"{name} must be {op} {minimum:g}, got {arr[bad].ravel()[0]!r}")
    return arr
