"""Gaussian-DP central-limit approximation of DP-SGD — an *approximation*, never returned as a bound.

For T steps of the Poisson-subsampled Gaussian (rate q, noise multiplier σ), the composed trade-off curve
tends to μ-GDP with μ = q sqrt(T (e^{1/σ²} - 1)) (Bu, Dong, Long & Su 2020, Thm. 3; Dong, Roth & Su 2022,
Cor. 5.4). REFERENCES §1 records it 2-10% *below* the certified ε on the DP-SGD grid: use it for intuition only.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from mechanisms import gdp_epsilon
from mechanisms.validate import integer, positive, probability


@dataclass(frozen=True)
class CltApproximation:
    """ε of the limiting μ-GDP curve; ``is_bound`` is False by construction."""

    epsilon: float
    mu: float
    is_bound: bool = False
    method: str = "gdp-clt (approximation, not a bound)"


def clt_mu(noise_multiplier: float, sample_rate: float, steps: int) -> float:
    """μ = q sqrt(T (e^{1/σ²} - 1))."""
    sigma = positive("noise_multiplier", noise_multiplier)
    q = probability("sample_rate", sample_rate, zero=False)
    steps = integer("steps", steps, minimum=1)
    return q * math.sqrt(steps * math.expm1(sigma ** -2))


def clt_epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> CltApproximation:
    """ε(δ) of μ-GDP at the CLT μ (an approximation of DP-SGD's ε, not a bound)."""
    delta = probability("delta", delta, zero=False, one=False)
    mu = clt_mu(noise_multiplier, sample_rate, steps)
    return CltApproximation(max(0.0, gdp_epsilon(mu, delta)), mu)
