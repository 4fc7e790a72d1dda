"""Closed-form certified ℓ2 radii of Gaussian noise N(0, σ² I) around a classifier with top-class
probability >= p_A and runner-up probability <= p_B. Radii are open: the prediction cannot change for any
perturbation of norm < R; they are rounded down (bounds/safe_rounding.py)."""
from __future__ import annotations

from scipy import special

from bounds.safe_rounding import round_down
from bounds.top_two import route_inputs


def gdp_radius(sigma, p_a, p_b=None) -> float:
    """R = σ/2 (Φ⁻¹(p_A) - Φ⁻¹(p_B)), tight (Cohen, Rosenfeld & Kolter 2019, Thm. 1 and 2).

    Equivalently the f-DP route: the noise is μ-GDP with μ = r/σ for shifts of norm r, and μ-GDP keeps the
    prediction iff μ < (Φ⁻¹(p_A) - Φ⁻¹(p_B))/2 (Dong, Roth & Su 2022). Infinite when p_B = 0 or p_A = 1.
    Proofs: proofs/cohen_neyman_pearson.py, proofs/cohen_gdp.py.
    """
    sigma, p_a, p_b = route_inputs("sigma", sigma, p_a, p_b)
    if p_a <= p_b:
        return 0.0
    upper, lower = float(special.ndtri(p_a)), float(special.ndtri(p_b))
    return round_down(sigma / 2 * (upper - lower), scale=sigma / 2 * (abs(upper) + abs(lower)))


def tv_radius(sigma, p_a, p_b=None) -> float:
    """R = 2σ Φ⁻¹(1/2 + (p_A - p_B)/4): the prediction survives while TV(N(0, σ²I), N(δ, σ²I)) =
    2Φ(‖δ‖/2σ) - 1 < (p_A - p_B)/2. Saturates at 2σΦ⁻¹(3/4) ≈ 1.349σ. Proof: proofs/tv_radius.py."""
    sigma, p_a, p_b = route_inputs("sigma", sigma, p_a, p_b)
    if p_a <= p_b:
        return 0.0
    return round_down(2 * sigma * float(special.ndtri(0.5 + (p_a - p_b) / 4)), scale=sigma)

