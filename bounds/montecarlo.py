"""Monte-Carlo certification of a Gaussian-smoothed classifier: what n noise draws at level α can certify.

Cohen, Rosenfeld & Kolter 2019: CERTIFY bounds p_A from below by Clopper–Pearson at level α (one-sided)
and certifies R = σΦ⁻¹(p_A) when p_A > 1/2; PREDICT returns the top class only if a two-sided binomial
test of the top two counts rejects equality at level α. Their App. D corrects a test-set certified
accuracy for the α chance that each certificate is wrong. Proofs: proofs/sample_size_ceiling.py,
proofs/certified_accuracy_correction.py.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
from scipy import special, stats

from bounds.confidence import clopper_pearson_lower
from bounds.gaussian_radius import gdp_radius
from mechanisms.validate import choice, integer, positive, probability

TESTS = ("certify", "predict")
MAX_SAMPLES = 2.0 ** 53  # beyond, consecutive sample sizes are no longer distinct floats


class SampleSizeWarning(UserWarning):
    """Too few Monte-Carlo draws: the test can never pass, whatever the classifier does."""


def _least_passing(n: int, passes) -> int:
    """The least m >= 1 with passes(m), for a monotone predicate and a guess n that is off by a step or two
    (closed forms evaluated in floating point)."""
    while not passes(n):
        n += 1
    while n > 1 and passes(n - 1):
        n -= 1
    return n


def min_samples_to_pass(alpha, test: str = "certify") -> int:
    """The fewest draws with which the test can pass at all (every draw for the top class).

    certify: the Clopper–Pearson bound α^{1/n} must exceed 1/2, so n > log₂(1/α);
    predict: the two-sided binomial p-value 2^{1-n} must be <= α, so n >= log₂(2/α).
    Proof: proofs/sample_size_ceiling.py.
    """
    alpha = probability("alpha", alpha, zero=False, one=False)
    if choice("test", test, TESTS) == "certify":
        return _least_passing(math.floor(math.log2(1 / alpha)) + 1,
                              lambda m: clopper_pearson_lower(m, m, alpha) > 0.5)
    return _least_passing(max(1, math.ceil(math.log2(2 / alpha))),
                          lambda m: stats.binomtest(m, m, 0.5).pvalue <= alpha)


def check_sample_size(n, alpha, test: str = "certify") -> bool:
    """True if n draws can pass the test at level α; otherwise warn (SampleSizeWarning) and return False.
    Proof: proofs/sample_size_ceiling.py."""
    n = integer("n", n, minimum=1)
    needed = min_samples_to_pass(alpha, test)
    if n < needed:
        warnings.warn(SampleSizeWarning(f"{n} draws can never pass {test} at alpha={alpha:g}: "
                                        f"at least {needed} are needed"), stacklevel=2)
        return False
    return True


def monte_carlo_radius(count_a, n, sigma, alpha) -> float:
    """CERTIFY's radius σΦ⁻¹(p_A) with p_A the one-sided Clopper–Pearson lower bound at level α of
    count_a successes in n draws; 0.0 (abstain) unless p_A > 1/2 (Cohen et al. 2019, Alg. 1).
    Proofs: proofs/sample_size_ceiling.py, proofs/cohen_neyman_pearson.py."""
    sigma = positive("sigma", sigma)
    p_lower = clopper_pearson_lower(count_a, n, alpha)
    check_sample_size(n, alpha, "certify")
    return gdp_radius(sigma, p_lower) if p_lower > 0.5 else 0.0


def max_certifiable_radius(sigma, n, alpha) -> float:
    """The largest radius n draws can certify at level α: σΦ⁻¹(α^{1/n}), reached when all n draws agree
    (the Clopper–Pearson bound is then α^{1/n}); 0.0, with a warning, when n <= log₂(1/α).
    Computed as -σΦ⁻¹(1 - α^{1/n}) with 1 - α^{1/n} = -expm1(ln α / n), accurate for large n.
    Proof: proofs/sample_size_ceiling.py."""
    sigma = positive("sigma", sigma)
    n = integer("n", n, minimum=1)
    alpha = probability("alpha", alpha, zero=False, one=False)
    if not check_sample_size(n, alpha, "certify"):
        return 0.0
    return max(0.0, -sigma * float(special.ndtri(-math.expm1(math.log(alpha) / n))))


def min_samples_for_radius(radius, sigma, alpha) -> int:
    """The fewest draws n with σΦ⁻¹(α^{1/n}) >= radius: n = ⌈ln α / ln Φ(radius/σ)⌉ (then checked against
    ``max_certifiable_radius``). A radius needing more than 2^53 draws is refused (ValueError).
    Proof: proofs/sample_size_ceiling.py."""
    radius = positive("radius", radius)
    sigma = positive("sigma", sigma)
    alpha = probability("alpha", alpha, zero=False, one=False)
    log_phi = float(special.log_ndtr(radius / sigma))
    if log_phi == 0.0 or math.log(alpha) / log_phi > MAX_SAMPLES:
        raise ValueError(f"radius {radius:g} at sigma {sigma:g} and alpha {alpha:g} needs more than "
                         f"{MAX_SAMPLES:.3g} draws")

    def reaches(m: int) -> bool:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", SampleSizeWarning)
            return max_certifiable_radius(sigma, m, alpha) >= radius

    return _least_passing(max(1, math.ceil(math.log(alpha) / log_phi)), reaches)


def predict_pvalue(count_top, count_second) -> float:
    """Two-sided binomial test of count_top against count_second under p = 1/2 (PREDICT, Cohen et al.
    2019, Alg. 1; scipy.stats.binomtest). Proof: proofs/sample_size_ceiling.py."""
    count_top = integer("count_top", count_top)
    count_second = integer("count_second", count_second)
    if count_top + count_second == 0:
        return 1.0
    return float(stats.binomtest(count_top, count_top + count_second, 0.5).pvalue)


def predict(counts, alpha) -> int | None:
    """PREDICT: the index of the most frequent class if the two-sided binomial test of the top two counts
    rejects a tie at level α, else None (abstain). Warns when the draws can never pass.
    Proof: proofs/sample_size_ceiling.py."""
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.size < 2 or not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise ValueError("counts must be a 1-d sequence of at least two nonnegative integer counts")
    alpha = probability("alpha", alpha, zero=False, one=False)
    top, second = np.argsort(-counts, kind="stable")[:2]
    check_sample_size(max(1, int(counts.sum())), alpha, "predict")
    return int(top) if predict_pvalue(int(counts[top]), int(counts[second])) <= alpha else None


def certified_accuracy_lower_bound(accuracy, n_examples, alpha, rho) -> float:
    """A lower bound, holding with probability >= 1 - ρ, on the true certified accuracy behind an observed
    one on N test examples each certified at level α (Cohen et al. 2019, App. D): the wrong certificates
    are at most Binomial(N, α), so by Bernstein's inequality
    acc_true >= acc - α - sqrt(2α(1 - α) ln(1/ρ)/N) - 2 ln(1/ρ)/(3N) (floored at 0).
    Proof: proofs/certified_accuracy_correction.py."""
    accuracy = probability("accuracy", accuracy)
    n_examples = integer("n_examples", n_examples, minimum=1)
    alpha = probability("alpha", alpha, zero=False, one=False)
    rho = probability("rho", rho, zero=False, one=False)
    log_term = math.log(1 / rho)
    slack = alpha + math.sqrt(2 * alpha * (1 - alpha) * log_term / n_examples) + 2 * log_term / (3 * n_examples)
    return max(0.0, accuracy - slack)
