"""Group privacy and certified poisoning sizes (issue 7 reuses these).

References: brute force over k with the closed-form condition at 40 digits (mpmath), the GDP closed form,
and REFERENCES.md §3's group bound E[J(D)] <= e^{kε} E[J(D')] + B δ (e^{kε} - 1)/(e^ε - 1).
"""
import math

import mpmath as mp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounds.group_privacy import certified_poisoning_size, certified_poisoning_size_gdp, group_privacy

mp.mp.dps = 40


def brute_force_size(eps, delta, p_a, p_b):
    eps, delta, p_a, p_b = map(mp.mpf, (eps, delta, p_a, p_b))
    k = 0
    while True:
        ek = (k + 1) * eps
        dk = delta * mp.expm1(ek) / mp.expm1(eps)
        if not p_a > mp.exp(2 * ek) * p_b + (1 + mp.exp(ek)) * dk:
            return k
        k += 1


@given(k=st.integers(1, 50), eps=st.floats(0.001, 2), delta=st.floats(0, 0.1))
def test_group_privacy_is_the_chained_delta(k, eps, delta):
    # REFERENCES.md §3: δ_k = δ (e^{kε} - 1)/(e^ε - 1) = δ Σ_{i<k} e^{iε}
    eps_k, delta_k = group_privacy(eps, delta, k)
    assert eps_k == pytest.approx(k * eps, rel=1e-15)
    assert delta_k == pytest.approx(delta * sum(math.exp(i * eps) for i in range(k)), rel=1e-12)


@given(eps=st.floats(0.001, 1.0), log_delta=st.floats(-12, -1), p_a=st.floats(0.55, 0.999), frac=st.floats(0.01, 1))
def test_poisoning_size_is_the_brute_force_k(eps, log_delta, p_a, frac):
    delta, p_b = math.exp(log_delta), (1 - p_a) * frac
    expected = brute_force_size(eps, delta, p_a, p_b)
    got = certified_poisoning_size(eps, delta, p_a, p_b)
    # the code keeps a 16-ulp safety margin: it may be one below the exact brute force at an exact tie, never above
    assert got in (expected, expected - 1) and got <= expected


@given(mu=st.floats(0.001, 2.0), p_a=st.floats(0.51, 0.9999), frac=st.floats(0.001, 1))
def test_gdp_poisoning_size_is_largest_k_with_k_mu_below_half_gap(mu, p_a, frac):
    p_b = (1 - p_a) * frac
    half_gap = (mp.sqrt(2) * (mp.erfinv(2 * mp.mpf(p_a) - 1) - mp.erfinv(2 * mp.mpf(p_b) - 1))) / 2
    k = certified_poisoning_size_gdp(mu, p_a, p_b)
    assert k * mp.mpf(mu) < half_gap
    assert (k + 1) * mp.mpf(mu) >= half_gap * (1 - mp.mpf(10) ** -12)


def test_gdp_is_at_least_the_eps_delta_route_for_a_gaussian_learner():
    # a Gaussian learner with μ = 0.05 is (ε, δ(ε))-DP on its exact curve; the tight μ-GDP count is larger
    from mechanisms import Gaussian

    learner = Gaussian(20.0)  # μ = 1/20
    eps = 0.2
    delta = learner.delta(eps)
    assert certified_poisoning_size_gdp(learner.mu, 0.9) >= certified_poisoning_size(eps, delta, 0.9)
    assert certified_poisoning_size_gdp(0.05, 0.9) == 25  # Φ⁻¹(0.9)/0.05 = 25.63


def test_edge_cases():
    assert certified_poisoning_size(0.1, 1e-5, 0.5) == 0  # p_A = p_B: nothing
    assert certified_poisoning_size(0.01, 0.0, 0.9, 0.1) == 109  # k < ln 9 / 0.02 = 109.86 (δ = 0)
    assert certified_poisoning_size(0.1, 0.0, 0.9, 0.0) == math.inf
    assert certified_poisoning_size_gdp(0.1, 1.0) == math.inf
    assert certified_poisoning_size_gdp(1.0, 0.6) == 0  # Φ⁻¹(0.6) = 0.25 < μ
    assert certified_poisoning_size(5.0, 0.3, 0.99) == 0


@pytest.mark.parametrize("call, exc, message", [
    (lambda: group_privacy(0.1, 1e-5, 0), ValueError, "k must be an integer >= 1"),
    (lambda: group_privacy(0.1, 1e-5, 2.5), TypeError, "k must be an integer"),
    (lambda: certified_poisoning_size(0.0, 1e-5, 0.9), ValueError, "eps must be"),
    (lambda: certified_poisoning_size(0.1, 1.0, 0.9), ValueError, "delta must be in"),
    (lambda: certified_poisoning_size(0.1, 1e-5, 0.9, 0.5), ValueError, "p_b must be in"),
    (lambda: certified_poisoning_size_gdp(-1.0, 0.9), ValueError, "mu must be"),
])
def test_bad_input(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
