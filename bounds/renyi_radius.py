"""The Rényi-divergence route to a certified ℓ2 radius (Li, Chen, Wang & Carin 2019, Thm. 1).

Lemma (Li et al.): if D_α(Q || P) < -ln(1 - p_A - p_B + 2 M_{1-α}(p_A, p_B)) for the power mean
M_{1-α}(p_A, p_B) = ((p_A^{1-α} + p_B^{1-α})/2)^{1/(1-α)}, the top class of P is the top class of Q.
Gaussian noise gives D_α(N(x+δ, σ²I) || N(x, σ²I)) = α‖δ‖²/(2σ²) (Mironov 2017, Prop. 7), so
R = sup_{α>1} σ sqrt(-(2/α) ln(1 - p_A - p_B + 2 M_{1-α}(p_A, p_B))).
Proof: proofs/renyi_radius.py (the lemma as a constrained minimum; the Gaussian divergence in
proofs/gaussian_rdp.py).
"""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
from scipy import optimize, special

from bounds.safe_rounding import round_down
from bounds.top_two import route_inputs

LOG_ORDER_RANGE = (-20.0, 20.0)  # α - 1 searched in [e^-20, e^20]
GRID_POINTS = 41


def _squared_radius_per_sigma(alpha: float, p_a: float, p_b: float) -> float:
    """-(2/α) ln(1 - p_A - p_B + 2 M_{1-α}(p_A, p_B)) in float64, the power mean in log space.

    Near α = 1 the mean of p^{1-α} is 1 + (mean of expm1((1-α) ln p)), taken through log1p: the plain
    log-sum-exp loses every digit there, and at p_A = 0.5078125 = 1 - p_B its noise steered the search to
    α - 1 = e^-20, where the exact radius is 5e-6 (relative) below the supremum."""
    with np.errstate(divide="ignore", over="ignore"):
        logs = (1 - alpha) * np.log([p_a, p_b])
        if logs.max() < 1.0:
            log_mean = math.log1p(float(np.expm1(logs).mean())) / (1 - alpha)
        else:
            log_mean = (special.logsumexp(logs) - math.log(2.0)) / (1 - alpha)
    return -2.0 / alpha * math.log(1 - p_a - p_b + 2 * math.exp(log_mean))


def _squared_radius_per_sigma_exact(alpha: float, p_a: float, p_b: float) -> mp.mpf:
    """The same at 40 digits (the float version cancels when p_A ≈ p_B); valid for any α > 1."""
    with mp.workdps(40):
        a, pa, pb = mp.mpf(alpha), mp.mpf(p_a), mp.mpf(p_b)
        mean = ((pa ** (1 - a) + pb ** (1 - a)) / 2) ** (1 / (1 - a)) if pb > 0 else mp.mpf(0)
        return -2 / a * mp.log(1 - pa - pb + 2 * mean)


def renyi_radius(sigma, p_a, p_b=None) -> float:
    """R = sup_{α>1} σ sqrt(-(2/α) ln(1 - p_A - p_B + 2 M_{1-α}(p_A, p_B))) (Li et al. 2019, Thm. 1).

    The order is searched over ln(α - 1) in [-20, 20] (a grid, then bounded Brent in float64); the value at
    the chosen α is recomputed at 40 digits, so the search can only under-report. Infinite at p_A = 1.
    Proofs: proofs/renyi_radius.py, proofs/gaussian_rdp.py.
    """
    sigma, p_a, p_b = route_inputs("sigma", sigma, p_a, p_b)
    if p_a <= p_b:
        return 0.0
    if p_a == 1.0:
        return math.inf

    def objective(log_order: float) -> float:
        return -_squared_radius_per_sigma(1.0 + math.exp(log_order), p_a, p_b)

    grid = np.linspace(*LOG_ORDER_RANGE, GRID_POINTS)
    best = int(np.argmin([objective(t) for t in grid]))
    left, right = grid[max(best - 1, 0)], grid[min(best + 1, GRID_POINTS - 1)]
    log_order = optimize.minimize_scalar(objective, bounds=(left, right), method="bounded",
                                         options={"xatol": 1e-10}).x
    exact = _squared_radius_per_sigma_exact(1.0 + math.exp(log_order), p_a, p_b)
    return round_down(sigma * float(mp.sqrt(max(exact, 0))))
