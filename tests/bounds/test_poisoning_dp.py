"""DP ⇒ poisoning robustness: the expected-cost group bound and the DP-SGD trade-off table.

References: REFERENCES.md §3 (E[J(D)] <= e^{kε} E[J(D')] + B δ (e^{kε} - 1)/(e^ε - 1)), exact distributions
of randomized response (whose group guarantee is known in closed form), brute force over k at 40 digits.
"""
import math

import mpmath as mp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bounds.group_privacy import (certified_poisoning_size, certified_poisoning_size_for_accuracy,
                                  expected_cost_bound)
from bounds.poisoning_tradeoff import dpsgd_poisoning_table

mp.mp.dps = 40


@given(k=st.integers(0, 30), eps=st.floats(0.001, 1.0), delta=st.floats(0, 0.01), cost=st.floats(0, 1),
       bound=st.floats(0.5, 5))
def test_expected_cost_bound_is_the_published_formula(k, eps, delta, cost, bound):
    got = expected_cost_bound(eps, delta, k, cost * bound, bound)
    exact = mp.exp(k * mp.mpf(eps)) * mp.mpf(cost * bound) + mp.mpf(bound) * mp.mpf(delta) * mp.expm1(
        k * mp.mpf(eps)) / mp.expm1(mp.mpf(eps))
    assert got == pytest.approx(float(min(mp.mpf(bound), exact)), rel=1e-12, abs=1e-300)


@given(k=st.integers(1, 6), eps=st.floats(0.05, 1.0))
def test_bound_holds_and_is_attained_by_randomized_response(k, eps):
    # one bit released by randomized response with ε per record of a k-record group: P(report 1 | 1) =
    # e^{kε}/(1 + e^{kε}) is kε-DP between the all-0 and all-1 groups; J = the reported bit (B = 1, δ = 0)
    p_one = math.exp(k * eps) / (1 + math.exp(k * eps))
    # E[J(D)] = p_one and E[J(D')] = 1 - p_one; the bound e^{kε}(1 - p_one) equals p_one: it holds with equality
    assert expected_cost_bound(eps, 0.0, k, 1 - p_one) == pytest.approx(p_one, rel=1e-12)


@given(eps=st.floats(0.005, 1.0), log_delta=st.floats(-12, -2), acc=st.floats(0.8, 0.999), drop=st.floats(0.01, 0.5))
def test_accuracy_count_is_brute_force(eps, log_delta, acc, drop):
    delta, target = math.exp(log_delta), acc - drop * acc

    def keeps(j):
        err = mp.exp(j * mp.mpf(eps)) * (1 - mp.mpf(acc)) + mp.mpf(delta) * mp.expm1(j * mp.mpf(eps)) / mp.expm1(
            mp.mpf(eps))
        return 1 - err >= mp.mpf(target)

    brute = next(j for j in range(10 ** 6) if not keeps(j + 1))
    got = certified_poisoning_size_for_accuracy(eps, delta, acc, target)
    assert got in (brute, brute - 1)  # float vs 40-digit comparison may differ at an exact tie


def test_dpsgd_table_rows_grow_in_eps_and_shrink_in_k():
    rows = dpsgd_poisoning_table((1.0, 2.0, 4.0), 0.01, 1000, 1e-5, (0.9, 0.99))
    eps = [r["eps"] for r in rows]
    assert eps == sorted(eps) and rows[0]["sigma"] == 4.0
    assert rows[1]["eps"] == pytest.approx(0.622, abs=5e-3)  # measured with bounds.accountant.dpsgd_epsilon
    for row in rows:
        assert row["k_pA=0.9"] == certified_poisoning_size(row["eps"], 1e-5, 0.9)
        assert row["k_pA=0.9"] <= row["k_pA=0.99"]
    assert [r["k_pA=0.99"] for r in rows] == sorted((r["k_pA=0.99"] for r in rows), reverse=True)


def test_edge_cases():
    assert expected_cost_bound(0.1, 1e-5, 0, 0.3) == 0.3
    assert expected_cost_bound(5.0, 1e-5, 200, 0.1) == 1.0
    assert certified_poisoning_size_for_accuracy(0.1, 0.0, 1.0, 0.9) == math.inf
    assert certified_poisoning_size_for_accuracy(0.1, 1e-5, 0.9, 0.0) == math.inf


@pytest.mark.parametrize("call, exc, message", [
    (lambda: expected_cost_bound(0.1, 1e-5, 2, 1.5), ValueError, "clean_cost must be in"),
    (lambda: expected_cost_bound(0.1, 1e-5, -1, 0.5), ValueError, "k must be an integer >= 0"),
    (lambda: expected_cost_bound(0.1, 1e-5, 2, 0.5, 0.0), ValueError, "bound must be > 0"),
    (lambda: certified_poisoning_size_for_accuracy(0.1, 1e-5, 0.8, 0.9), ValueError, "target_accuracy must be <="),
    (lambda: dpsgd_poisoning_table((), 0.01, 100), ValueError, "must each contain"),
    (lambda: dpsgd_poisoning_table((1.0,), 1.5, 100), ValueError, "sample_rate must be in"),
])
def test_bad_input(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
