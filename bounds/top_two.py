"""The two class probabilities every certificate starts from: a lower bound p_A on the top class and an
upper bound p_B on the runner-up (p_B = 1 - p_A when only p_A is known)."""
from __future__ import annotations

from mechanisms.validate import positive, probability


def top_two(p_a, p_b=None) -> tuple[float, float]:
    """Checked (p_A, p_B): both in [0, 1] and p_A + p_B <= 1 (two classes cannot hold more than all).

    The sum is tested in floating point, so p_a=0.9, p_b=0.1 is accepted although 1 - 0.9 < 0.1 in float64;
    every radius decreases in p_B, so the few-ulp excess this admits can only lower a radius.
    """
    p_a = probability("p_a", p_a)
    if p_b is None:
        return p_a, 1.0 - p_a
    p_b = probability("p_b", p_b)
    if p_a + p_b > 1.0:
        raise ValueError(f"p_b must be in [0, 1 - p_a] = [0, {1.0 - p_a!r}], got {p_b!r}")
    return p_a, p_b


def route_inputs(scale_name: str, scale, p_a, p_b=None) -> tuple[float, float, float]:
    """Checked (noise scale, p_A, p_B) of a radius route: the scale > 0 and finite, then ``top_two``."""
    return (positive(scale_name, scale), *top_two(p_a, p_b))
