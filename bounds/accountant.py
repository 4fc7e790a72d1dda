"""The accountant: a certified bracket lower <= ε(δ) <= upper for any mechanism of mechanisms/.

- ``exact``: the mechanism's privacy profile is known in closed form (one step of any pair; compositions of
  Gaussians, which are μ-GDP); the bracket is the exact root widened by its floating-point tolerance.
- ``pld``: the certified PLD bracket of bounds/pld.py in every direction of the neighbouring relation; the
  privacy of the mechanism is the worse direction (Zhu, Dong & Wang 2022, Thm. 10), so the bracket is the
  elementwise maximum. Directions after the first are bracketed at a coarse resolution first and refined
  only when their coarse upper bound could be the largest.
- ``rdp-fallback``: when float64 cannot certify the PLD upper bound (very small δ, very large ε), the upper
  end is the RDP bound of bounds/rdp.py (always valid, looser), flagged in ``method``.
ε is never negative (ε(δ) is an infimum over ε >= 0), never NaN and never inf.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from bounds.pld import Resolution, direction_bracket
from bounds.rdp import rdp_epsilon
from mechanisms import Mechanism, dpsgd
from mechanisms.validate import integer, positive, probability

#: relative floating-point tolerance of the exact path's root (brentq at 1e-14 plus δ's rounding)
EXACT_RTOL = 1e-12
#: grid multiplier of the coarse first pass over a direction
COARSE = 8.0


@dataclass(frozen=True)
class EpsilonBracket:
    """lower <= ε(δ) <= upper; ``estimate`` is the midpoint; ``method`` says how the bracket was obtained."""

    lower: float
    estimate: float
    upper: float
    method: str
    delta: float

    @property
    def width(self) -> float:
        return self.upper - self.lower


def _bracket(lower: float, upper: float, method: str, delta: float) -> EpsilonBracket:
    lower, upper = max(0.0, float(lower)), max(0.0, float(upper))
    return EpsilonBracket(lower, 0.5 * (lower + upper), upper, method, delta)


def _pld_bracket(mechanism: Mechanism, delta: float, resolution: Resolution) -> tuple[float, float]:
    """Max over directions; the first (forward: usually the worse) at full resolution, any other one
    first by a coarse upper bound alone, refined only when that exceeds the best upper bound so far (a
    direction left unrefined has ε below the maximum, so its lower bound is not needed)."""
    coarse = Resolution(grid=resolution.grid * COARSE, max_fft=resolution.max_fft)
    lower = upper = -math.inf
    for i, comps in enumerate(mechanism.directions().values()):
        rough = direction_bracket(comps, delta, coarse, lower=False) if i else None
        found = rough
        if rough is None or rough.upper > upper:
            found = direction_bracket(comps, delta, resolution)
            if rough is not None:            # both are certified; the fine one can fail where the coarse did not
                found = found.intersected(rough)
        lower, upper = max(lower, found.lower), max(upper, found.upper)
    return float(lower), float(upper)


def epsilon_bracket(mechanism: Mechanism, delta: float,
                    resolution: Resolution = Resolution()) -> EpsilonBracket:
    """Certified bracket of ε(δ) for ``mechanism`` (see the module doc for the three methods)."""
    delta = probability("delta", delta, zero=False, one=False)
    if not isinstance(mechanism, Mechanism):
        raise TypeError(f"mechanism must be a mechanisms.Mechanism, got {type(mechanism).__name__}")
    if mechanism.has_exact_profile:
        eps = mechanism.epsilon(delta)
        slack = EXACT_RTOL * max(1.0, abs(eps))
        return _bracket(eps - slack, eps + slack, "exact", delta)
    try:
        lower, upper = _pld_bracket(mechanism, delta, resolution)
    except FloatingPointError:
        lower, upper = 0.0, math.inf
    if math.isfinite(upper):
        return _bracket(lower, upper, "pld", delta)
    rdp = rdp_epsilon(mechanism, delta).epsilon
    return _bracket(min(lower, rdp) if math.isfinite(lower) else 0.0, rdp, "rdp-fallback", delta)


def dpsgd_epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                  resolution: Resolution = Resolution()) -> EpsilonBracket:
    """ε(δ) of DP-SGD: ``steps`` Poisson-sampled (rate q) Gaussians, noise multiplier σ, Δ = 1, add/remove."""
    sigma, q, steps = dpsgd_arguments(noise_multiplier, sample_rate, steps)
    return epsilon_bracket(dpsgd(sigma, q, steps), delta, resolution)


def dpsgd_arguments(noise_multiplier, sample_rate, steps) -> tuple[float, float, int]:
    """The checked DP-SGD parameters: σ > 0, q in (0, 1], steps an integer >= 1."""
    return (positive("noise_multiplier", noise_multiplier),
            probability("sample_rate", sample_rate, zero=False), integer("steps", steps, minimum=1))
