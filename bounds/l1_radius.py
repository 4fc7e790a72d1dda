"""Certified radii for Laplace and uniform noise, and the conversion of a radius between ℓp norms.

Radii are open (no perturbation of norm < R changes the prediction) and rounded down
(bounds/safe_rounding.py). Proofs: proofs/laplace_radius.py, proofs/uniform_radius.py,
proofs/norm_conversion.py.
"""
from __future__ import annotations

import math

from bounds.safe_rounding import round_down
from bounds.top_two import route_inputs
from mechanisms.validate import choice, in_interval, integer


def laplace_pixeldp_radius(scale, p_a, p_b=None) -> float:
    """R = (b/2) ln(p_A/p_B): Laplace noise of scale b is (r/b)-DP at ℓ1 distance r, and PixelDP's condition
    with δ = 0 reads p_A > e^{2r/b} p_B (Lecuyer et al. 2019, Prop. 1). Infinite when p_B = 0.
    Proof: proofs/laplace_radius.py."""
    scale, p_a, p_b = route_inputs("scale", scale, p_a, p_b)
    if p_a <= p_b:
        return 0.0
    if p_b == 0.0:
        return math.inf
    log_a, log_b = math.log(p_a), math.log(p_b)
    return round_down(scale / 2 * (log_a - log_b), scale=scale / 2 * (abs(log_a) + abs(log_b)))


def teng_radius(scale, p_a, p_b=None) -> float:
    """R = -b ln(2(1 - p_A)) for p_A > 1/2 (Teng, Lee & Mellor 2020, Thm. 1): the top class keeps
    probability > 1/2 under every ℓ1 shift of norm < R. Needs only p_A (p_B is checked, not used).
    Infinite at p_A = 1. Proof: proofs/laplace_radius.py."""
    scale, p_a, _ = route_inputs("scale", scale, p_a, p_b)
    if p_a <= 0.5:
        return 0.0
    if p_a == 1.0:
        return math.inf
    return round_down(-scale * math.log(2 * (1 - p_a)))


def uniform_radius(half_width, p_a, p_b=None, *, norm=1, dim=None) -> float:
    """Radius for uniform noise U[-λ, λ]^d from the total-variation margin TV < (p_A - p_B)/2, with
    TV = 1 - Π_i (1 - |δ_i|/2λ) (Yang et al. 2020, Thm. 1 and its ℓ∞ analogue):
    ℓ1: TV <= ‖δ‖₁/2λ, R = λ(p_A - p_B) (= 2λ(p_A - 1/2) when p_B = 1 - p_A);
    ℓ∞: TV <= 1 - (1 - ‖δ‖∞/2λ)^d, R = 2λ(1 - (1 - (p_A - p_B)/2)^{1/d}) (= 2λ(1 - (3/2 - p_A)^{1/d})).
    Proof: proofs/uniform_radius.py.
    """
    half_width, p_a, p_b = route_inputs("half_width", half_width, p_a, p_b)
    norm = choice("norm", norm, (1, math.inf))
    if p_a <= p_b:
        return 0.0
    if norm == 1:
        return round_down(half_width * (p_a - p_b))  # p_A - p_B is exact to half an ulp of itself
    if dim is None:
        raise ValueError("dim (the input dimension) is needed for the l_inf radius of uniform noise")
    dim = integer("dim", dim, minimum=1)
    return round_down(-2 * half_width * math.expm1(math.log1p(-(p_a - p_b) / 2) / dim))


def convert_radius(radius, from_norm, to_norm, dim=None) -> float:
    """An ℓq radius R_q (q = from_norm) as an ℓp radius (p = to_norm): R_p = R_q · min(1, d^{1/p - 1/q}).

    For p <= q, ‖δ‖_q <= ‖δ‖_p, so the ℓp ball of radius R_q lies inside the ℓq one; for p > q,
    ‖δ‖_q <= d^{1/q - 1/p} ‖δ‖_p (Hölder), which is attained, so the factor is exact. ``dim`` (d) is
    needed only when p > q. E.g. ℓ2 → ℓ∞ divides by √d; a Gaussian ℓ2 radius is also an ℓ1 radius.
    Proof: proofs/norm_conversion.py.
    """
    radius = in_interval("radius", radius, 0.0, math.inf, low_open=False, high_open=False)
    norms = (1, 2, math.inf)
    from_norm, to_norm = choice("from_norm", from_norm, norms), choice("to_norm", to_norm, norms)
    if to_norm <= from_norm:
        return float(radius)
    if dim is None:
        raise ValueError(f"dim (the input dimension) is needed to turn an l{from_norm} radius into an "
                         f"l{to_norm} radius")
    dim = integer("dim", dim, minimum=1)
    return round_down(radius * dim ** (1 / to_norm - 1 / from_norm))
