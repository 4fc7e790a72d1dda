"""One-sided confidence bounds on a probability from Monte-Carlo samples, at an explicit level α.

Each ``*_lower`` bound L satisfies P(L > p) <= α over the draws (one-sided); each ``*_upper`` bound is the
lower bound of the complementary probability, U = 1 - L(1 - p̂). Use ``bonferroni`` to share α over K
classes (PixelDP's ln(K/η) and ln(2K/η) are the bounds at α = η/K). Lower bounds are rounded down.
"""
from __future__ import annotations

import math

from scipy import stats

from bounds.safe_rounding import round_down
from mechanisms.validate import in_interval, integer, probability


def _level(alpha) -> float:
    return probability("alpha", alpha, zero=False, one=False)


def _counts(successes, n) -> tuple[int, int]:
    n = integer("n", n, minimum=1)
    successes = integer("successes", successes)
    if successes > n:
        raise ValueError(f"successes must be in [0, n] = [0, {n}], got {successes}")
    return successes, n


def clopper_pearson_lower(successes, n, alpha) -> float:
    """Exact binomial lower bound Beta.ppf(α, k, n - k + 1) (0 when k = 0) (Clopper & Pearson 1934); the
    bound CERTIFY uses (Cohen et al. 2019, Alg. 1). With k = n it is α^{1/n} (proofs/sample_size_ceiling.py).
    Proof: proofs/confidence_bounds.py."""
    successes, n = _counts(successes, n)
    alpha = _level(alpha)
    if successes == 0:
        return 0.0
    return round_down(float(stats.beta.ppf(alpha, successes, n - successes + 1)))


def clopper_pearson_upper(successes, n, alpha) -> float:
    """Exact binomial upper bound Beta.ppf(1 - α, k + 1, n - k) = 1 - (lower bound for n - k successes).
    Proof: proofs/confidence_bounds.py."""
    successes, n = _counts(successes, n)
    return 1.0 - clopper_pearson_lower(n - successes, n, alpha)


def hoeffding_lower(mean, n, alpha) -> float:
    """p̂ - sqrt(ln(1/α)/(2n)) for the mean of n i.i.d. samples in [0, 1] (Hoeffding 1963), floored at 0.
    Proof: proofs/confidence_bounds.py."""
    mean = probability("mean", mean)
    n = integer("n", n, minimum=1)
    alpha = _level(alpha)
    return max(0.0, round_down(mean - math.sqrt(math.log(1 / alpha) / (2 * n)), scale=1.0))


def hoeffding_upper(mean, n, alpha) -> float:
    """p̂ + sqrt(ln(1/α)/(2n)), capped at 1. Proof: proofs/confidence_bounds.py."""
    return 1.0 - hoeffding_lower(1.0 - probability("mean", mean), n, alpha)


def bernstein_lower(mean, variance, n, alpha) -> float:
    """Empirical Bernstein (Maurer & Pontil 2009, Thm. 4) for n >= 2 i.i.d. samples in [0, 1] with sample
    variance V̂ (denominator n - 1): p̂ - sqrt(2 V̂ ln(2/α)/n) - 7 ln(2/α)/(3(n - 1)), floored at 0.
    For counts, V̂ = k(n - k)/(n(n - 1)) (``bernoulli_variance``). Proof: proofs/confidence_bounds.py."""
    mean = probability("mean", mean)
    variance = in_interval("variance", variance, 0.0, math.inf, low_open=False)
    n = integer("n", n, minimum=2)
    alpha = _level(alpha)
    log_term = math.log(2 / alpha)
    width = math.sqrt(2 * variance * log_term / n) + 7 * log_term / (3 * (n - 1))
    return max(0.0, round_down(mean - width, scale=1.0))


def bernstein_upper(mean, variance, n, alpha) -> float:
    """p̂ + sqrt(2 V̂ ln(2/α)/n) + 7 ln(2/α)/(3(n - 1)), capped at 1. Proof: proofs/confidence_bounds.py."""
    return 1.0 - bernstein_lower(1.0 - probability("mean", mean), variance, n, alpha)


def bernoulli_variance(successes, n) -> float:
    """Unbiased sample variance k(n - k)/(n(n - 1)) of n >= 2 draws of a 0/1 variable with k ones.
    Proof: proofs/confidence_bounds.py."""
    successes, n = _counts(successes, n)
    integer("n", n, minimum=2)
    return successes * (n - successes) / (n * (n - 1))


def bonferroni(alpha, tests) -> float:
    """α / m: the per-test level that keeps the family-wise error of m one-sided tests at most α.
    Proof: proofs/confidence_bounds.py."""
    return _level(alpha) / integer("tests", tests, minimum=1)
