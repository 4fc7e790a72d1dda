"""From privacy to certified robustness: every route from a noise mechanism to a certified radius.

A noise mechanism that is (ε, δ)-DP for inputs at ℓ_norm distance Δ (Gaussian for ℓ2, Laplace for ℓ1)
randomizes a classifier whose top class has probability >= p_A and runner-up <= p_B. Each route turns a
notion of DP into the largest radius within which the prediction cannot change:

  Gaussian (ℓ2): "gdp"     σ/2 (Φ⁻¹(p_A) - Φ⁻¹(p_B)), tight (Cohen et al. 2019; f-DP)  bounds/gaussian_radius.py
                 "renyi"   Li et al. 2019, optimised over α                          bounds/renyi_radius.py
                 "tv"      total-variation margin                                     bounds/gaussian_radius.py
                 "pixeldp" Lecuyer et al. 2019, continuous supremum over (ε', δ')       bounds/pixeldp_radius.py
  Laplace (ℓ1):  "pixeldp" (b/2) ln(p_A/p_B); "teng" -b ln(2(1 - p_A))                   bounds/l1_radius.py
  uniform:       "tv"      Yang et al. 2020, ℓ1 and ℓ∞                                  bounds/l1_radius.py
  "auto": the tightest sound route of the noise (gdp for Gaussian; the larger Laplace route).
Radii in other norms follow by the ℓq → ℓp conversion (``convert_radius``). Radii are open and never
over-reported. Proofs: proofs/radius_ordering.py (every route <= gdp) and the route's own proof.
"""
from __future__ import annotations

import math

from bounds.gaussian_radius import gdp_radius, tv_radius
from bounds.l1_radius import convert_radius, laplace_pixeldp_radius, teng_radius, uniform_radius
from bounds.noise_calibration import CALIBRATIONS, calibrate_sigma, laplace_scale
from bounds.pixeldp_radius import pixeldp_radius
from bounds.renyi_radius import renyi_radius
from mechanisms.validate import choice, positive

ROUTES = {
    "gaussian": ("gdp", "renyi", "tv", "pixeldp"),
    "laplace": ("pixeldp", "teng"),
    "uniform": ("tv",),
}
AUTO = {"gaussian": ("gdp",), "laplace": ("pixeldp", "teng"), "uniform": ("tv",)}
DEFAULT_NOISE = {2: "gaussian", 1: "laplace"}
NORMS = (1, 2, math.inf)


def _native_radii(noise: str, route: str, scale: float, p_a, p_b, dim, calibration: str) -> dict:
    """{norm: radius} in the norms the route certifies directly."""
    if noise == "gaussian":
        if route == "pixeldp":
            return {2: pixeldp_radius(scale, p_a, p_b, calibration=calibration)}
        return {2: {"gdp": gdp_radius, "renyi": renyi_radius, "tv": tv_radius}[route](scale, p_a, p_b)}
    if noise == "laplace":
        return {1: {"pixeldp": laplace_pixeldp_radius, "teng": teng_radius}[route](scale, p_a, p_b)}
    radii = {1: uniform_radius(scale, p_a, p_b, norm=1)}
    if dim is not None:
        radii[math.inf] = uniform_radius(scale, p_a, p_b, norm=math.inf, dim=dim)
    return radii


def _checked_noise(sigma, norm, noise, calibration) -> tuple[float, float, str, str]:
    sigma = positive("sigma", sigma)
    norm = choice("norm", norm, NORMS)
    if noise is None:
        if norm not in DEFAULT_NOISE:
            raise ValueError("noise must be named ('gaussian', 'laplace' or 'uniform') for norm=inf")
        noise = DEFAULT_NOISE[norm]
    noise = choice("noise", noise, tuple(ROUTES))
    return sigma, norm, noise, choice("calibration", calibration, CALIBRATIONS)


def _route_radius(noise: str, route: str, sigma: float, p_a, p_b, norm, dim, calibration: str) -> float:
    """The route's radius in ℓ_norm: the best conversion of its native radii."""
    native = _native_radii(noise, route, sigma, p_a, p_b, dim, calibration)
    return max(convert_radius(r, q, norm, dim) for q, r in native.items())


def radius_from_noise(sigma, p_a, p_b=None, *, route: str = "auto", norm=2, noise=None, dim=None,
                      calibration: str = "analytic") -> float:
    """Certified radius in ℓ_norm for noise of known scale: ``sigma`` is the Gaussian σ, the Laplace scale b
    or the uniform half-width λ.

    ``noise`` defaults to "gaussian" for norm=2 and "laplace" for norm=1 (name it for norm=inf);
    ``route`` one of ROUTES[noise] or "auto" (for Gaussian noise "auto" is "gdp", which is tight);
    ``calibration`` names the (ε', δ') curve the Gaussian "pixeldp" route searches; ``dim`` (input
    dimension) is needed where a radius is converted to a larger p (e.g. ℓ2 → ℓ∞ divides by √d).
    Returns 0.0 when nothing can be certified (p_A <= p_B).
    Proofs: proofs/radius_ordering.py, proofs/norm_conversion.py and the route's own.
    """
    sigma, norm, noise, calibration = _checked_noise(sigma, norm, noise, calibration)
    route = choice(f"route (for {noise} noise)", route, ROUTES[noise] + ("auto",))
    chosen = AUTO[noise] if route == "auto" else (route,)
    return max(_route_radius(noise, r, sigma, p_a, p_b, norm, dim, calibration) for r in chosen)


def radii_from_noise(sigma, p_a, p_b=None, *, norm=2, noise=None, dim=None,
                     calibration: str = "analytic") -> dict[str, float]:
    """{route: radius} for every route of the noise, plus "auto" (arguments as in radius_from_noise).
    Proofs: proofs/radius_ordering.py and each route's own."""
    sigma, norm, noise, calibration = _checked_noise(sigma, norm, noise, calibration)
    radii = {r: _route_radius(noise, r, sigma, p_a, p_b, norm, dim, calibration) for r in ROUTES[noise]}
    radii["auto"] = max(radii[r] for r in AUTO[noise])
    return radii


def calibrated_noise(eps, delta, sensitivity, *, norm=2, calibration: str = "analytic") -> tuple[str, float]:
    """(noise, scale) of the mechanism that is (ε, δ)-DP at ℓ_norm distance ``sensitivity``: Gaussian σ by
    the calibration for norm=2 (bounds/noise_calibration.py); the exact Laplace scale for norm=1 (δ = 0
    gives the classical b = Δ/ε; only calibration="analytic", the exact profile, applies).
    Proof: proofs/noise_calibration.py."""
    norm = choice("norm", norm, (1, 2))
    calibration = choice("calibration", calibration, CALIBRATIONS)
    if norm == 2:
        return "gaussian", calibrate_sigma(eps, delta, sensitivity, calibration)
    if calibration != "analytic":
        raise ValueError(f"calibration for Laplace noise (norm=1) must be 'analytic' (the exact profile), "
                         f"got {calibration!r}")
    return "laplace", laplace_scale(eps, delta, sensitivity)


def certified_radius(eps, delta, sensitivity, p_a, p_b=None, *, route: str = "auto", norm=2,
                     calibration: str = "analytic") -> float:
    """Largest radius (units of ``sensitivity``) within which the prediction cannot change, for noise
    calibrated to (ε, δ)-DP at distance ``sensitivity``: Gaussian (norm=2; calibration "analytic",
    "classic" (ε < 1 only) or "extended") or Laplace (norm=1). 0.0 when nothing can be certified.
    Routes: see the module doc; "pixeldp" searches the calibration's own (ε', δ') curve.
    Proofs: proofs/cohen_neyman_pearson.py, proofs/radius_ordering.py, proofs/noise_calibration.py."""
    noise, scale = calibrated_noise(eps, delta, sensitivity, norm=norm, calibration=calibration)
    return radius_from_noise(scale, p_a, p_b, route=route, norm=norm, noise=noise, calibration=calibration)
