"""Noise calibration: the noise scale a Gaussian or Laplace mechanism needs for (ε, δ)-DP at sensitivity Δ.

- classical Gaussian (Dwork & Roth 2014, Thm. A.1): σ = Δ sqrt(2 ln(1.25/δ))/ε, valid only for ε < 1;
- extended Gaussian mechanism (Phan et al. 2019, IJCAI, Thm. 2): σ = (√2 Δ / 2ε)(√s + √(s + ε)),
  s = ln(√(2/π)/δ), valid for every ε > 0;
- analytic Gaussian (Balle & Wang 2018, Thm. 8 and Alg. 1): the least σ whose exact profile has δ(ε) <= δ;
- Laplace: the least scale b whose exact profile δ(ε) = 1 - e^{(ε - Δ/b)/2} is <= δ: b = Δ/(ε - 2 ln(1 - δ)).
Every σ returned is rounded up (more noise: the guarantee still holds): the closed forms are evaluated at 30
digits and the analytic root is checked against the exact profile. Proof: proofs/noise_calibration.py (the
exact profiles, the three Gaussian calibrations, the Laplace root); REFERENCES.md §1 and §2 have reference values.
"""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
from scipy import optimize

from mechanisms import Gaussian, Laplace, gdp_delta
from mechanisms.validate import choice, in_interval, positive, probability, real

CALIBRATIONS = ("analytic", "classic", "extended")
EXTENDED_DELTA_MAX = math.sqrt(2.0 / math.pi)  # s = ln(√(2/π)/δ) must be positive


def _round_up(value: mp.mpf) -> float:
    """A value computed at 30 digits as the least float >= it (its error is far below half an ulp)."""
    nearest = float(value)
    return nearest if mp.mpf(nearest) >= value else float(np.nextafter(nearest, np.inf))


def classical_sigma(eps, delta, sensitivity=1.0) -> float:
    """σ = Δ sqrt(2 ln(1.25/δ))/ε (Dwork & Roth 2014, Thm. A.1); refused for ε >= 1, where it is unproven
    (and at ε = 8, δ = 0.05 it gives less noise than the exact requirement). Proof: proofs/noise_calibration.py."""
    eps = in_interval("eps", eps, 0.0, 1.0)
    delta = probability("delta", delta, zero=False, one=False)
    sensitivity = positive("sensitivity", sensitivity)
    with mp.workdps(30):
        return _round_up(sensitivity * mp.sqrt(2 * mp.log(mp.mpf("1.25") / delta)) / eps)


def extended_sigma(eps, delta, sensitivity=1.0) -> float:
    """Phan et al. 2019 (Extended Gaussian Mechanism, Thm. 2): σ = (√2 Δ / 2ε)(√s + √(s + ε)) with
    s = ln(√(2/π)/δ); any ε > 0, δ < √(2/π). Proof: proofs/noise_calibration.py."""
    eps = positive("eps", eps)
    delta = in_interval("delta", delta, 0.0, EXTENDED_DELTA_MAX)
    sensitivity = positive("sensitivity", sensitivity)
    with mp.workdps(30):  # s cancels for δ near √(2/π): float64 would lose its relative accuracy
        s = mp.log(mp.sqrt(2 / mp.pi) / delta)
        return _round_up(mp.sqrt(2) * sensitivity / (2 * eps) * (mp.sqrt(s) + mp.sqrt(s + eps)))


def analytic_mu(eps, delta) -> float:
    """The largest μ whose μ-GDP profile has δ_μ(ε) = Φ(μ/2 - ε/μ) - e^ε Φ(-μ/2 - ε/μ) <= δ, for ε >= 0.

    Root of ln δ_μ(ε) = ln δ (increasing in μ) by brentq on ln μ, then lowered by relative steps of 1e-14
    until the profile at the returned μ is <= δ: the result never overstates μ. At ε = 0,
    δ_μ(0) = 2Φ(μ/2) - 1 is the total variation. Balle & Wang 2018, Thm. 8.
    Proof: proofs/noise_calibration.py.
    """
    eps = real("eps", eps)
    if eps < 0:
        raise ValueError(f"eps must be >= 0, got {eps!r}")
    delta = probability("delta", delta, zero=False, one=False)
    log_delta = math.log(delta)

    def excess(log_mu: float) -> float:
        with np.errstate(divide="ignore"):
            return float(np.log(gdp_delta(math.exp(log_mu), eps))) - log_delta

    lo, hi = -1.0, 1.0
    while excess(lo) > 0:
        lo, hi = 2.0 * lo, lo
    while excess(hi) <= 0:
        lo, hi = hi, 2.0 * hi
    # at small μ the profile carries ~1e-12 relative rounding noise (cancellation), which can stall brentq's
    # convergence test: take its best estimate (disp=False) and let the check below make it safe
    log_mu, _ = optimize.brentq(excess, lo, hi, xtol=1e-14, maxiter=200, full_output=True, disp=False)
    mu = math.exp(log_mu)
    while gdp_delta(mu, eps) > delta:
        mu *= 1.0 - 1e-14
    return mu


def analytic_sigma(eps, delta, sensitivity=1.0) -> float:
    """The least σ with Gaussian(σ, Δ).delta(ε) <= δ (analytic Gaussian mechanism, Balle & Wang 2018,
    Alg. 1); σ = Δ/μ* for μ* = ``analytic_mu(eps, delta)``, rounded up so the returned σ satisfies it.
    Proof: proofs/noise_calibration.py."""
    eps = positive("eps", eps)
    sensitivity = positive("sensitivity", sensitivity)
    sigma = sensitivity / analytic_mu(eps, delta)
    while Gaussian(sigma, sensitivity).delta(eps) > delta:
        sigma = float(np.nextafter(sigma, np.inf))
    return sigma


def laplace_scale(eps, delta=0.0, sensitivity=1.0) -> float:
    """The least Laplace scale b with Laplace(b, Δ).delta(ε) <= δ: b = Δ/(ε - 2 ln(1 - δ)); δ = 0 gives the
    pure-DP b = Δ/ε (Dwork & Roth 2014, Thm. 3.6). Rounded up until the exact profile (mechanisms/laplace.py)
    at the returned b is <= δ. Proof: proofs/noise_calibration.py."""
    eps = positive("eps", eps)
    delta = probability("delta", delta, one=False)
    sensitivity = positive("sensitivity", sensitivity)
    with mp.workdps(30):
        scale = _round_up(sensitivity / (eps - 2 * mp.log1p(-mp.mpf(delta))))
    while Laplace(scale, sensitivity).delta(eps) > delta:
        scale = float(np.nextafter(scale, np.inf))
    return scale


def calibrate_sigma(eps, delta, sensitivity=1.0, calibration: str = "analytic") -> float:
    """Gaussian noise σ for (ε, δ)-DP at ℓ2 sensitivity Δ by the named calibration (see module doc).
    Proof: proofs/noise_calibration.py."""
    calibration = choice("calibration", calibration, CALIBRATIONS)
    return {"analytic": analytic_sigma, "classic": classical_sigma,
            "extended": extended_sigma}[calibration](eps, delta, sensitivity)
