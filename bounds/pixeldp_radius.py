"""PixelDP's route from (ε, δ)-DP to a certified radius, with the continuous supremum.

Lecuyer et al. 2019, Prop. 1: if the noise is (ε', δ')-DP for perturbations of size L, the prediction
survives every perturbation of size <= L when p_A > e^{2ε'} p_B + (1 + e^{ε'}) δ'. The same noise σ is
(ε', δ')-DP at every distance L <= σ · d(ε', δ'), where d = 1/σ(ε', δ') for the calibration's σ at unit
sensitivity; so the radius is sup over ε' of σ d(ε', δ'_max(ε')) with δ'_max = (p_A - e^{2ε'}p_B)/(1 + e^{ε'}).
PixelDP's own code searches a grid (δ' in [0.001, 0.3), ε' <= 1); here the supremum is searched on the
continuum. Proof: proofs/pixeldp_condition.py (the condition, the classical supremum 0.5704690830σ).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from bounds.noise_calibration import CALIBRATIONS, analytic_mu, classical_sigma, extended_sigma
from bounds.safe_rounding import EPS, round_down
from bounds.top_two import route_inputs, top_two
from mechanisms.validate import choice, probability, real

# Largest ε' searched (the condition allows every ε' when p_B = 0, and ε' up to ½ ln(p_A/p_B) otherwise);
# stopping the search here can only under-report the supremum.
EPS_PRIME_CAP = 64.0
GRID_POINTS = 48


def pixeldp_condition(p_a, p_b, eps, delta) -> bool:
    """Lecuyer et al. 2019, Prop. 1: p_A > e^{2ε} p_B + (1 + e^ε) δ, with a 16-ulp margin against rounding.
    Proof: proofs/pixeldp_condition.py."""
    p_a, p_b = top_two(p_a, p_b)
    eps = real("eps", eps)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    delta = probability("delta", delta)
    if eps > 700.0:  # e^{2ε} overflows; the condition cannot hold unless p_B = δ = 0
        return p_b == 0.0 and delta == 0.0 and p_a > 0.0
    needed = math.exp(2 * eps) * p_b + (1 + math.exp(eps)) * delta
    return p_a - needed > 16 * EPS * max(p_a, needed)


def _largest_delta(eps_prime: float, p_a: float, p_b: float) -> float:
    """δ'_max(ε') = (p_A - e^{2ε'} p_B)/(1 + e^{ε'}), lowered by 4 ulps of p_A (never above the true value)."""
    return (p_a - math.exp(2 * eps_prime) * p_b - 4 * EPS * p_a) / (1 + math.exp(eps_prime))


def _distance_per_sigma(calibration: str, eps_prime: float, delta_prime: float) -> float:
    """d(ε', δ'): the noise σ is (ε', δ')-DP up to distance σ·d by the calibration (0 where it says nothing)."""
    if delta_prime <= 0 or eps_prime < 0:
        return 0.0
    if calibration == "analytic":  # δ' <= 1/2 always
        return analytic_mu(eps_prime, delta_prime)
    if eps_prime == 0:
        return 0.0
    calibrate = classical_sigma if calibration == "classic" else extended_sigma
    return 1.0 / calibrate(eps_prime, delta_prime)


def pixeldp_radius(sigma, p_a, p_b=None, *, calibration: str = "analytic") -> float:
    """sup over ε' of σ · d(ε', δ'_max(ε')) (see module doc) for the calibration's (ε', δ') curve.

    ``calibration``: "analytic" (the exact curve of the noise; ε' from 0, where the condition is the TV
    margin), "classic" (PixelDP's σ = L sqrt(2 ln(1.25/δ'))/ε', ε' < 1: supremum 0.5704690830σ as
    p_A → 1), "extended" (Phan et al. 2019). Searched on a grid of ε' then refined by bounded Brent;
    every ε' tried gives a valid radius, so an imperfect search under-reports, never over-reports.
    Proofs: proofs/pixeldp_condition.py, proofs/tv_radius.py (ε' = 0), proofs/noise_calibration.py (the curves).
    """
    sigma, p_a, p_b = route_inputs("sigma", sigma, p_a, p_b)
    calibration = choice("calibration", calibration, CALIBRATIONS)
    if p_a <= p_b:
        return 0.0
    hi = EPS_PRIME_CAP if p_b == 0.0 else min(EPS_PRIME_CAP, 0.5 * (math.log(p_a) - math.log(p_b)))
    if calibration == "classic":  # the classical theorem needs ε' < 1 (and says nothing at ε' = 0)
        hi = min(hi, float(np.nextafter(1.0, 0.0)))

    def distance(eps_prime: float) -> float:
        return _distance_per_sigma(calibration, eps_prime, _largest_delta(eps_prime, p_a, p_b))

    grid = np.linspace(0.0, hi, GRID_POINTS)
    values = [distance(float(e)) for e in grid]
    best = int(np.argmax(values))
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, GRID_POINTS - 1)]
    refined = optimize.minimize_scalar(lambda e: -distance(e), bounds=(left, right), method="bounded",
                                       options={"xatol": 1e-12 * max(hi, 1.0)})
    return round_down(sigma * max(values[best], -float(refined.fun)))
