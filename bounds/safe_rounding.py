"""Rounding in the safe direction: a radius computed in floating point is lowered by a margin that covers
the rounding error of the few operations that produced it, so that it is never over-reported."""
from __future__ import annotations

import math

import numpy as np

EPS = float(np.finfo(float).eps)
MARGIN = 16 * EPS  # 3.6e-15: covers the few-ulp error of a closed form built from ndtri, log, exp


def round_down(value: float, *, scale: float = 0.0, margin: float = MARGIN) -> float:
    """``value`` lowered by ``margin`` × max(|value|, ``scale``), never below 0 for a nonnegative value.

    ``scale`` is the magnitude of the largest intermediate term (the error of a difference is relative
    to its terms, not to the result). Infinite values are returned unchanged.
    """
    if math.isinf(value):
        return value
    lowered = value - margin * max(abs(value), abs(scale))
    return max(lowered, 0.0) if value >= 0 else lowered
