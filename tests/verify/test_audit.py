"""ε audits against REFERENCES §4 (500 trials per world: largest ε_LB 4.91), scipy's beta quantiles,
brute-force enumeration of the one-run tail, its closed-form ceiling, and statistically: a correct mechanism's
ε_LB stays <= ε at the stated confidence, and the two broken Gaussian-mean mechanisms are caught at ε 1 and 4."""
import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from verify.audit import (distinguishing_audit, epsilon_lower_bound, gaussian_mean, max_certifiable_epsilon,
                          one_run_audit, one_run_epsilon_lower_bound, one_run_pvalue)


def test_audit_ceiling_matches_references():
    assert max_certifiable_epsilon(500) == pytest.approx(4.91, abs=5e-3)
    lo = stats.beta.ppf(0.025, 500, 1)  # Clopper–Pearson at α/2 each side
    hi = stats.beta.ppf(1 - 0.025, 1, 500)
    assert max_certifiable_epsilon(500) == pytest.approx(math.log(lo / hi), rel=1e-9)


def test_counts_bound_uses_clopper_pearson_from_scipy():
    b = epsilon_lower_bound(450, 500, 40, 500, delta=1e-5, alpha=0.05)
    tpr = stats.beta.ppf(0.025, 450, 51)
    fpr = stats.beta.ppf(0.975, 41, 460)
    assert b.epsilon == pytest.approx(max(math.log((tpr - 1e-5) / fpr), math.log((1 - fpr - 1e-5) / (1 - tpr))),
                                      rel=1e-9)
    assert epsilon_lower_bound(250, 500, 250, 500).epsilon == 0.0
    with pytest.raises(ValueError, match="successes"):
        epsilon_lower_bound(600, 500, 0, 500)


@pytest.mark.parametrize("r,v", [(8, 6), (10, 10), (12, 7)])
def test_one_run_tail_equals_brute_force(r, v):
    eps = 0.7
    q = math.exp(eps) / (1 + math.exp(eps))
    brute = sum(q ** sum(g) * (1 - q) ** (r - sum(g)) for g in itertools.product((0, 1), repeat=r) if sum(g) >= v)
    assert one_run_pvalue(eps, 100, r, v) == pytest.approx(brute, rel=1e-10)


def test_one_run_ceiling_is_closed_form():
    r, beta = 100, 0.05
    q = beta ** (1 / r)  # all r guesses right: reject while q^r <= β
    assert one_run_epsilon_lower_bound(1000, r, r, beta=beta) == pytest.approx(math.log(q / (1 - q)), abs=2e-3)
    assert one_run_epsilon_lower_bound(1000, r, r, beta=beta) <= math.log(q / (1 - q))
    assert one_run_epsilon_lower_bound(1000, r, 50) == 0.0
    assert one_run_epsilon_lower_bound(1000, r, 90, delta=1e-5) < one_run_epsilon_lower_bound(1000, r, 90)


@settings(max_examples=20)
@given(eps=st.floats(0.2, 3.0), seed=st.integers(0, 10_000))
def test_one_run_audit_of_randomized_response_stays_below_epsilon(eps, seed):
    """Theorem (Steinke et al. 2023, Thm. 3.1): for an ε-DP mechanism, P[ε_LB > ε] <= β. Randomized response
    on each inclusion bit is exactly ε-DP per canary and tight, the hardest case."""
    beta, runs = 0.05, 30
    keep = math.exp(eps) / (1 + math.exp(eps))

    def run_once(include, run_seed):
        rng = np.random.default_rng(run_seed + 1)
        flipped = np.where(rng.random(include.size) < keep, include, ~include)
        return flipped + rng.random(include.size) * 0.1  # ties broken at random

    above = sum(one_run_audit(run_once, 400, 200, beta=beta, seed=seed * runs + i).epsilon > eps for i in range(runs))
    assert stats.binom.sf(above - 1, runs, beta) > 1e-4


def test_gaussian_mean_audit_never_exceeds_a_correct_claim():
    """Theorem (Jagielski et al. 2020): ε_LB <= ε with probability >= 1 - α; over independent audits the rate
    of ε_LB > ε is tested against α."""
    audits, alpha = 20, 0.05
    above = 0
    for i in range(audits):
        eps = (1.0, 4.0)[i % 2]
        result = distinguishing_audit(gaussian_mean(eps, 1e-5), 200, delta=1e-5, alpha=alpha, seed=1000 * i)
        above += result.violates(eps)
        assert result.epsilon <= result.max_certifiable
    assert stats.binom.sf(above - 1, audits, alpha) > 1e-4


@pytest.mark.parametrize("variant", ["no-clipping", "noise-over-sqrt-n"])
@pytest.mark.parametrize("eps", [1.0, 4.0])
def test_broken_gaussian_mean_is_caught(variant, eps):
    """REFERENCES §4: broken DP (no clipping; noise / √n) caught at claimed ε 1 and 4 with 500 trials per world
    (threshold chosen on half, bound on the other 250: ceiling 4.21 > 4)."""
    result = distinguishing_audit(gaussian_mean(eps, 1e-5, variant=variant), 500, delta=1e-5, seed=7)
    assert result.max_certifiable > 4.0
    assert result.violates(eps), f"{variant} at eps={eps}: epsilon_lb={result.epsilon:.3f}"


def test_audit_arguments_are_checked():
    with pytest.raises(ValueError, match="variant"):
        gaussian_mean(1.0, 1e-5, variant="off-by-one")
    with pytest.raises(ValueError, match="guesses"):
        one_run_pvalue(1.0, 10, 20, 5)
    with pytest.raises(ValueError, match="delta"):
        epsilon_lower_bound(1, 2, 0, 2, delta=1.0)
