"""Monte-Carlo certificates: confidence bounds (coverage by exact binomial tests), PREDICT, the sample-size
ceiling, and Cohen et al.'s App. D correction.

References: REFERENCES.md §2 (ceilings, median bounds at p = 0.99, n = 1000), mpmath's incomplete beta,
exact binomial probabilities, scipy's binomtest as the peer for PREDICT.
"""
import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from bounds.confidence import (bernoulli_variance, bernstein_lower, bernstein_upper, bonferroni,
                               clopper_pearson_lower, clopper_pearson_upper, hoeffding_lower, hoeffding_upper)
from bounds.montecarlo import (SampleSizeWarning, certified_accuracy_lower_bound, check_sample_size,
                               max_certifiable_radius, min_samples_for_radius, min_samples_to_pass,
                               monte_carlo_radius, predict, predict_pvalue)

ALPHA = 0.05


def failure_probability(fails, p, n):
    """Exact P(fails(k)) for k ~ Binomial(n, p): the pmf summed over the counts where the bound fails."""
    ks = np.arange(n + 1)
    return float(stats.binom.pmf(ks[[fails(int(k)) for k in ks]], n, p).sum())


@pytest.mark.parametrize("p, n", [(0.7, 50), (0.95, 200), (0.5, 31), (0.999, 1000)])
def test_clopper_pearson_coverage_by_simulation_and_exact_binomial_test(p, n):
    # many simulated draws; the failure count must not be significantly above α (one-sided exact test)
    rng = np.random.default_rng(20240601)
    trials = 20000
    bounds = np.array([clopper_pearson_lower(k, n, ALPHA) for k in range(n + 1)])
    failures = int((bounds[rng.binomial(n, p, size=trials)] > p).sum())
    assert stats.binomtest(failures, trials, ALPHA, alternative="greater").pvalue > 1e-3
    # and exactly: the failure probability is at most α
    assert failure_probability(lambda k: bounds[k] > p, p, n) <= ALPHA


@given(p=st.floats(0.01, 0.99), n=st.integers(2, 300), alpha=st.sampled_from([0.001, 0.01, 0.05, 0.2]))
def test_every_lower_bound_covers_exactly(p, n, alpha):
    assert failure_probability(lambda k: clopper_pearson_lower(k, n, alpha) > p, p, n) <= alpha
    assert failure_probability(lambda k: hoeffding_lower(k / n, n, alpha) > p, p, n) <= alpha
    assert failure_probability(lambda k: bernstein_lower(k / n, bernoulli_variance(k, n), n, alpha) > p, p, n) <= alpha
    assert failure_probability(lambda k: clopper_pearson_upper(k, n, alpha) < p, p, n) <= alpha
    assert failure_probability(lambda k: hoeffding_upper(k / n, n, alpha) < p, p, n) <= alpha


@pytest.mark.parametrize("k, n, alpha", [(990, 1000, 0.001), (3, 10, 0.05), (100000, 100000, 0.001), (1, 7, 0.2)])
def test_clopper_pearson_is_the_beta_quantile(k, n, alpha):
    # mpmath: the regularized incomplete beta I_x(k, n - k + 1) at the bound equals α
    mp.mp.dps = 30
    lower = clopper_pearson_lower(k, n, alpha)
    assert float(mp.betainc(k, n - k + 1, 0, lower, regularized=True)) == pytest.approx(alpha, rel=1e-9)
    assert clopper_pearson_lower(0, n, alpha) == 0.0 and clopper_pearson_upper(n, n, alpha) == 1.0
    assert clopper_pearson_upper(k, n, alpha) == pytest.approx(1 - clopper_pearson_lower(n - k, n, alpha), abs=1e-15)


def test_reference_medians_at_p_099_n_1000():
    # REFERENCES.md §2: median lower bounds (k = 990) at η = 0.001, K = 1: CP 0.97604, Bernstein 0.95997,
    # Hoeffding 0.93123
    assert clopper_pearson_lower(990, 1000, 0.001) == pytest.approx(0.97604, abs=5e-6)
    assert bernstein_lower(0.99, bernoulli_variance(990, 1000), 1000, 0.001) == pytest.approx(0.95997, abs=5e-6)
    assert hoeffding_lower(0.99, 1000, 0.001) == pytest.approx(0.93123, abs=5e-6)


def test_bonferroni_matches_pixeldp_union_bound():
    # PixelDP: Hoeffding half-width sqrt(ln(K/η)/(2n)) over K classes = the bound at α = η/K
    eta, classes, n = 0.05, 10, 500
    width = 0.6 - hoeffding_lower(0.6, n, bonferroni(eta, classes))
    assert width == pytest.approx(math.sqrt(math.log(classes / eta) / (2 * n)), rel=1e-12)
    assert 0.6 + width == pytest.approx(hoeffding_upper(0.6, n, eta / classes), rel=1e-12)
    assert bernstein_upper(0.5, 0.25, n, 0.01) > 0.5


@pytest.mark.parametrize("n, ceiling", [(100, 1.5005), (1000, 2.4633), (10 ** 4, 3.1986), (10 ** 5, 3.8115)])
def test_max_certifiable_radius_reference(n, ceiling):
    # REFERENCES.md §2: σΦ⁻¹(α^{1/n}) at α = 0.001
    assert max_certifiable_radius(1.0, n, 0.001) == pytest.approx(ceiling, abs=5e-5)
    assert max_certifiable_radius(2.0, n, 0.001) == pytest.approx(2 * ceiling, abs=1e-4)
    # the ceiling is what CERTIFY returns when every draw agrees
    assert monte_carlo_radius(n, n, 1.0, 0.001) == pytest.approx(max_certifiable_radius(1.0, n, 0.001), rel=1e-9)


@given(radius=st.floats(0.05, 4.0), alpha=st.sampled_from([0.001, 0.01, 0.05]))
def test_min_samples_for_radius_is_the_least_n(radius, alpha):
    n = min_samples_for_radius(radius, 1.0, alpha)
    assert max_certifiable_radius(1.0, n, alpha) >= radius
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        assert n == 1 or max_certifiable_radius(1.0, n - 1, alpha) < radius


def test_too_few_draws_warn_and_cannot_pass():
    # CERTIFY: n <= log2(1/α) can never certify; PREDICT: n < log2(2/α) can never answer (REFERENCES §2)
    assert min_samples_to_pass(0.001, "certify") == 10 and min_samples_to_pass(0.001, "predict") == 11
    with pytest.warns(SampleSizeWarning, match="never pass certify"):
        assert max_certifiable_radius(1.0, 9, 0.001) == 0.0
    with pytest.warns(SampleSizeWarning, match="never pass certify"):
        assert monte_carlo_radius(9, 9, 1.0, 0.001) == 0.0
    with pytest.warns(SampleSizeWarning, match="never pass predict"):
        assert predict([10, 0, 0], 0.001) is None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_sample_size(10, 0.001) and predict([11, 0], 0.001) == 0


@given(counts=st.lists(st.integers(0, 300), min_size=2, max_size=6), alpha=st.sampled_from([0.001, 0.05]))
def test_predict_is_scipys_two_sided_binomial_test(counts, alpha):
    order = np.argsort(-np.asarray(counts), kind="stable")
    top, second = counts[order[0]], counts[order[1]]
    expected = (stats.binomtest(top, top + second, 0.5).pvalue <= alpha) if top + second else False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        assert predict(counts, alpha) == (int(order[0]) if expected else None)
    assert predict_pvalue(top, second) == (stats.binomtest(top, top + second, 0.5).pvalue if top + second else 1.0)


def test_monte_carlo_radius_abstains_below_one_half():
    assert monte_carlo_radius(520, 1000, 1.0, 0.001) == 0.0  # p_A lower bound < 1/2
    p_lower = clopper_pearson_lower(990, 1000, 0.001)
    assert monte_carlo_radius(990, 1000, 0.25, 0.001) == pytest.approx(0.25 * stats.norm.ppf(p_lower), rel=1e-12)


@pytest.mark.parametrize("n, alpha, rho", [(500, 0.001, 0.001), (10 ** 4, 0.001, 0.05), (10 ** 6, 0.001, 0.001),
                                           (1000, 0.1, 0.01), (100, 0.001, 0.1)])
def test_certified_accuracy_correction_covers_the_binomial_quantile(n, alpha, rho):
    # the wrong certificates are at most Binomial(N, α); the correction must exceed its (1 - ρ)-quantile / N
    slack = 1.0 - certified_accuracy_lower_bound(1.0, n, alpha, rho)
    assert slack * n >= stats.binom.ppf(1 - rho, n, alpha)
    assert slack == pytest.approx(alpha + math.sqrt(2 * alpha * (1 - alpha) * math.log(1 / rho) / n)
                                  + 2 * math.log(1 / rho) / (3 * n), rel=1e-12)
    assert certified_accuracy_lower_bound(0.0, n, alpha, rho) == 0.0


@pytest.mark.parametrize("call, exc, message", [
    (lambda: clopper_pearson_lower(11, 10, 0.05), ValueError, "successes must be in"),
    (lambda: clopper_pearson_lower(5, 10, 0.0), ValueError, "alpha must be in"),
    (lambda: clopper_pearson_lower(5.5, 10, 0.05), TypeError, "successes must be an integer"),
    (lambda: clopper_pearson_lower(5, 0, 0.05), ValueError, "n must be an integer >= 1"),
    (lambda: hoeffding_lower(1.2, 10, 0.05), ValueError, "mean must be in"),
    (lambda: bernstein_lower(0.5, -0.1, 10, 0.05), ValueError, "variance must be in"),
    (lambda: bernstein_lower(0.5, 0.1, 1, 0.05), ValueError, "n must be an integer >= 2"),
    (lambda: bonferroni(0.05, 0), ValueError, "tests must be an integer >= 1"),
    (lambda: max_certifiable_radius(1.0, 100, 1.0), ValueError, "alpha must be in"),
    (lambda: min_samples_for_radius(0.0, 1.0, 0.001), ValueError, "radius must be > 0"),
    (lambda: min_samples_for_radius(10.0, 1.0, 0.001), ValueError, "needs more than"),  # ~1e23 draws
    (lambda: min_samples_to_pass(0.001, "estimate"), ValueError, "test must be one of"),
    (lambda: predict([3], 0.05), ValueError, "counts must be"),
    (lambda: predict([3.5, 1.0], 0.05), ValueError, "counts must be"),
    (lambda: certified_accuracy_lower_bound(0.9, 100, 0.001, 0.0), ValueError, "rho must be in"),
])
def test_bad_input(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
