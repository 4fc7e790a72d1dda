"""Rényi-DP accountant: ε(δ) from a mechanism's RDP curve, minimised over real orders α > 1.

Composition adds RDP curves (Mironov 2017, Prop. 1; mechanisms/core.py); an RDP guarantee ε(α) at one
order converts to (ε, δ)-DP by either
- ``standard``: ε(α) + log(1/δ)/(α - 1)                          (Mironov 2017, Prop. 3), or
- ``improved``: ε(α) + log((α - 1)/α) - (log δ + log α)/(α - 1)  (Balle et al. 2020, Thm. 21;
  Canonne, Kamath & Steinke 2020, Prop. 12), never larger than the standard one for α > 1.
Every order gives a valid bound, so the minimum over α is one too; it is found on a geometric grid of
α - 1 and refined by a bounded scalar search around the best grid point (not restricted to the integer
and half-integer orders the peers tabulate). Proofs: proofs/rdp_composition.py, proofs/rdp_conversion.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from mechanisms.validate import choice, probability

CONVERSIONS = ("improved", "standard")
#: α - 1 ranges over this geometric grid before refinement
ALPHA_MINUS_ONE = np.geomspace(1e-3, 1e4, 29)


@dataclass(frozen=True)
class RdpEpsilon:
    """ε(δ) from RDP, the order that attains it, and the conversion used."""

    epsilon: float
    alpha: float
    conversion: str


def convert(rdp_value, alpha, delta: float, conversion: str = "improved"):
    """(ε, δ)-DP implied by ε(α)-RDP at order α > 1 (vectorised over rdp_value and alpha)."""
    conversion = choice("conversion", conversion, CONVERSIONS)
    alpha = np.asarray(alpha, dtype=float)
    if np.any(~(alpha > 1)):
        raise ValueError("alpha must be > 1 for an RDP-to-DP conversion")
    log_delta = math.log(delta)
    if conversion == "standard":
        return rdp_value - log_delta / (alpha - 1.0)
    return rdp_value + np.log1p(-1.0 / alpha) - (log_delta + np.log(alpha)) / (alpha - 1.0)


def rdp_epsilon(mechanism, delta: float, conversion: str = "improved") -> RdpEpsilon:
    """min over real α > 1 of the chosen conversion of ``mechanism.rdp(α)``, at least 0 (ε(δ) is an infimum
    over ε >= 0). Works for any mechanism of mechanisms/ (any composition, either relation)."""
    delta = probability("delta", delta, zero=False, one=False)
    conversion = choice("conversion", conversion, CONVERSIONS)

    def objective(log_am1: float) -> float:
        alpha = 1.0 + math.exp(log_am1)
        return float(convert(mechanism.rdp(alpha), alpha, delta, conversion))

    grid = np.log(ALPHA_MINUS_ONE)
    values = np.array([objective(x) for x in grid])
    i = int(np.nanargmin(values))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, grid.size - 1)]
    best_x, best = grid[i], float(values[i])
    if hi > lo:
        res = optimize.minimize_scalar(objective, bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-6})
        if res.fun < best:
            best_x, best = float(res.x), float(res.fun)
    if not math.isfinite(best):
        raise FloatingPointError("the RDP curve is infinite at every order: no (ε, δ) bound from RDP")
    return RdpEpsilon(max(0.0, best), 1.0 + math.exp(best_x), conversion)
