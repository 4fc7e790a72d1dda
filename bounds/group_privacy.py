"""Group privacy and certified robustness to poisoning: how many training points a prediction survives.

A learner that is (ε, δ)-DP in one training point is (kε, δ_k)-DP in k points, δ_k = δ (e^{kε} - 1)/(e^ε - 1)
(Dwork & Roth 2014, Thm. 2.2; Vadhan 2017, Lemma 2.2). A μ-GDP learner is kμ-GDP in k points, exactly
(Dong, Roth & Su 2022, Thm. 2.14). A prediction whose class has probability >= p_A over the learner's
randomness (runner-up <= p_B) then survives the insertion or removal of k points when PixelDP's condition
holds at (kε, δ_k) (Lecuyer et al. 2019, Prop. 1; Ma, Zhu & Hsu 2019), or, tightly for Gaussian learners,
when kμ < (Φ⁻¹(p_A) - Φ⁻¹(p_B))/2 (the GDP route of bounds/gaussian_radius.py with σ = 1/μ).
For any cost J in [0, B], E[J(D)] <= e^{kε} E[J(D')] + B δ_k (the expected-cost form, used for accuracy).
Proofs: proofs/group_privacy.py, proofs/poisoning_group_cost.py.
"""
from __future__ import annotations

import math

from bounds.gaussian_radius import gdp_radius
from bounds.pixeldp_radius import pixeldp_condition
from bounds.top_two import top_two
from mechanisms.validate import in_interval, integer, positive, probability


def group_privacy(eps, delta, k) -> tuple[float, float]:
    """(kε, δ Σ_{i<k} e^{iε}) = (kε, δ (e^{kε} - 1)/(e^ε - 1)): the guarantee for groups of k points.
    Proof: proofs/group_privacy.py."""
    eps = positive("eps", eps)
    delta = probability("delta", delta, one=False)
    k = integer("k", k, minimum=1)
    if k * eps > 700.0:
        return k * eps, (math.inf if delta > 0 else 0.0)
    return k * eps, delta * math.expm1(k * eps) / math.expm1(eps)


def certified_poisoning_size(eps, delta, p_a, p_b=None) -> int | float:
    """The largest k such that every change of at most k training points keeps the prediction of an
    (ε, δ)-DP learner: p_A > e^{2kε} p_B + (1 + e^{kε}) δ_k. 0 if not even one; math.inf when δ = p_B = 0.
    Proofs: proofs/group_privacy.py, proofs/pixeldp_condition.py."""
    eps = positive("eps", eps)
    delta = probability("delta", delta, one=False)
    p_a, p_b = top_two(p_a, p_b)
    if delta == 0.0 and p_b == 0.0 and p_a > 0.0:
        return math.inf

    def survives(k: int) -> bool:
        eps_k, delta_k = group_privacy(eps, delta, k)
        return delta_k < 1.0 and eps_k <= 700.0 and pixeldp_condition(p_a, p_b, eps_k, delta_k)

    if not survives(1):
        return 0
    lo, hi = 1, 2  # survives(lo), then find a failing hi and bisect
    while survives(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if survives(mid) else (lo, mid)
    return lo


def certified_poisoning_size_gdp(mu, p_a, p_b=None) -> int | float:
    """The largest k with kμ < (Φ⁻¹(p_A) - Φ⁻¹(p_B))/2 for a μ-GDP learner (tight for Gaussian learners):
    k < R, the GDP radius of noise σ = 1/μ (rounded down, so k is never over-reported). math.inf if R is.
    Proofs: proofs/group_privacy.py, proofs/cohen_gdp.py."""
    mu = positive("mu", mu)
    radius = gdp_radius(1.0 / mu, p_a, p_b)
    return radius if math.isinf(radius) else max(0, math.ceil(radius) - 1)


def expected_cost_bound(eps, delta, k, clean_cost, bound=1.0) -> float:
    """Upper bound on E[J(D)] for a learner trained on D, k points away from D' with E[J(D')] = clean_cost,
    for any cost J in [0, B]: min(B, e^{kε} E[J(D')] + B δ (e^{kε} - 1)/(e^ε - 1)) (group privacy integrated
    over the level sets of J; Ma, Zhu & Hsu 2019, Thm. 2). Proof: proofs/poisoning_group_cost.py."""
    bound = positive("bound", bound)
    clean_cost = in_interval("clean_cost", clean_cost, 0.0, bound, low_open=False, high_open=False)
    if integer("k", k) == 0:
        return clean_cost
    eps_k, delta_k = group_privacy(eps, delta, k)
    if eps_k > 700.0:
        return bound
    return min(bound, math.exp(eps_k) * clean_cost + bound * delta_k)


def certified_poisoning_size_for_accuracy(eps, delta, clean_accuracy, target_accuracy) -> int | float:
    """The largest k such that every k changed training points keep the expected accuracy of an (ε, δ)-DP
    learner >= target_accuracy: 1 - expected_cost_bound(ε, δ, k, 1 - clean_accuracy) >= target (J = 0-1 loss,
    B = 1); math.inf when the target is 0, or when the clean accuracy is 1 and δ = 0 (the bound stays 0).
    Proof: proofs/poisoning_group_cost.py."""
    clean_accuracy = probability("clean_accuracy", clean_accuracy)
    target_accuracy = probability("target_accuracy", target_accuracy)
    positive("eps", eps)
    probability("delta", delta, one=False)
    if target_accuracy > clean_accuracy:
        raise ValueError(f"target_accuracy must be <= clean_accuracy = {clean_accuracy!r}, got {target_accuracy!r}")
    if target_accuracy == 0.0 or (clean_accuracy == 1.0 and delta == 0.0):
        return math.inf

    def keeps(j: int) -> bool:
        return 1.0 - expected_cost_bound(eps, delta, j, 1.0 - clean_accuracy) >= target_accuracy

    lo, hi = 0, 1  # keeps(lo); find a failing hi, then bisect
    while keeps(hi):
        lo, hi = hi, 2 * hi
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if keeps(mid) else (lo, mid)
    return lo
