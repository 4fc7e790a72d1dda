"""Steinhardt, Koh & Liang's poisoning upper bound U*, its candidate attack and the retraining certificate.

References: REFERENCES.md §3 (digits 1-vs-7, hinge, ρ² = 0.8, 70th percentile: U* = 0.1925 / 0.2177 / 0.2429 /
0.3326, attack within 0.0023), scipy's SLSQP on the epigraph form of min_θ U(θ) and of the retraining problem,
exact rational arithmetic for k = ⌊εn⌋.
"""
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from bounds.ball_fit import fit_in_ball
from bounds.poisoning_steinhardt import (evaluate_attack, poison_count, steinhardt_report, steinhardt_upper_bounds,
                                         upper_bound_at)
from bounds.sphere_slab import fit_sphere_slab

REFERENCE = {0.01: 0.1925, 0.05: 0.2177, 0.1: 0.2429, 0.3: 0.3326}


def blobs(seed, n=40, d=3, gap=2.0):
    rng = np.random.default_rng(seed)
    x = np.vstack([rng.normal(0, 1, (n // 2, d)), rng.normal(gap / np.sqrt(d), 1, (n - n // 2, d))])
    return x, np.repeat([-1, 1], [n // 2, n - n // 2])


def slsqp_min_u(x, y, defense, eps, rho_sq):
    """min over the ball of U(θ), written with epigraph variables so that SLSQP sees smooth constraints."""
    n, d = x.shape
    signed = y[:, None] * np.hstack([x, np.ones((n, 1))])

    def worst(z, label):  # 1 - min margin over F_label, from the code's closed form (checked separately)
        return 1 - label * (z[:d] @ defense.worst_point(z[:d], z[d], label) + z[d])

    def worst_jac(z, label):  # of z[-1] - worst(z, label); Danskin: differentiate at the minimising point
        jac = np.zeros_like(z)
        jac[:d], jac[d], jac[-1] = label * defense.worst_point(z[:d], z[d], label), label, 1.0
        return jac

    cons = [{"type": "ineq", "fun": lambda z: z[d + 1:d + 1 + n] - (1 - signed @ z[:d + 1]),
             "jac": lambda z: np.hstack([signed, np.eye(n), np.zeros((n, 1))])},
            {"type": "ineq", "fun": lambda z: rho_sq - z[:d + 1] @ z[:d + 1],
             "jac": lambda z: np.concatenate([-2 * z[:d + 1], np.zeros(n + 1)])}]
    cons += [{"type": "ineq", "fun": lambda z, lab=lab: z[-1] - worst(z, lab),
              "jac": lambda z, lab=lab: worst_jac(z, lab)} for lab in (-1, 1)]
    z0 = np.concatenate([np.full(d + 1, 0.01), np.ones(n + 1)])
    grad = np.concatenate([np.zeros(d + 1), np.full(n, 1 / n), [eps]])
    res = minimize(lambda z: grad @ z, z0, jac=lambda z: grad, constraints=cons, method="SLSQP",
                   bounds=[(None, None)] * (d + 1) + [(0, None)] * (n + 1), options={"ftol": 1e-12, "maxiter": 1000})
    return upper_bound_at(x, y, defense, eps, res.x[:d], res.x[d])[0]


@pytest.fixture(scope="module")
def digits17():
    from training.data import load_dataset
    return load_dataset("digits").binary(1, 7)


def test_digits17_reproduces_the_published_bound(digits17):
    d = digits17
    report = steinhardt_report(d.x_train, d.y_train, d.x_test, d.y_test, list(REFERENCE), 0.8)
    for row in report:
        # the reference split (288 points) is not recoverable; our fixed 289-point split lands within 0.012,
        # inside the ±0.02 spread of U* over random 288/73 splits (benchmarks/poisoning.py measures it)
        assert row.upper_bound == pytest.approx(REFERENCE[row.epsilon], abs=0.012)
        assert row.attack_lower_bound <= row.attack_loss <= row.upper_bound
        assert row.upper_bound - row.attack_loss <= 0.003  # REFERENCES: candidate attack within 0.0023 of U*
    bounds = [row.upper_bound for row in report]
    assert bounds == sorted(bounds)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 10 ** 5), eps=st.sampled_from([0.05, 0.1, 0.3]))
@example(seed=173, eps=0.3)
def test_online_learning_reaches_the_minimum_of_u(seed, eps):
    x, y = blobs(seed)
    defense = fit_sphere_slab(x, y, 70)
    got = steinhardt_upper_bounds(x, y, defense, [eps], 1.0, iterations=2000)[0].upper_bound
    reference = slsqp_min_u(x, y, defense, eps, 1.0)
    assert got >= reference - 1e-6  # nothing in the ball is below the minimum ...
    # ... and the iterates get close to it (worst gap seen: 4.0e-3 at seed 173, eps 0.3, 2000 iterations)
    assert got <= reference + 1e-2


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10 ** 5), loss=st.sampled_from(["hinge", "logistic"]),
       eps=st.lists(st.sampled_from([0.02, 0.05, 0.1, 0.2, 0.4]), min_size=2, max_size=4, unique=True))
def test_attack_never_exceeds_the_bound_and_bound_grows_with_eps(seed, loss, eps):
    x, y = blobs(seed, n=30)
    x_test, y_test = blobs(seed + 1, n=20)
    defense = fit_sphere_slab(x, y, 70)
    bounds = steinhardt_upper_bounds(x, y, defense, sorted(eps), 1.5, loss, iterations=400)
    values = [b.upper_bound for b in bounds]
    assert values == sorted(values)
    for bound in bounds:
        assert bound.k == poison_count(bound.epsilon, len(x))
        assert defense.contains(bound.attack_x, bound.attack_y).all() if bound.k else True
        result = evaluate_attack(x, y, bound, x_test, y_test)
        assert result.attack_lower_bound <= bound.upper_bound + 1e-12  # certified: M <= U*
        assert result.attack_lower_bound <= result.attack_loss <= bound.upper_bound + 1e-9


def test_ball_fit_matches_slsqp():
    x, y = blobs(3, n=30)
    y[:4] *= -1  # not separable
    for rho_sq in (0.3, 50.0):  # the ball binds / does not bind
        fit = fit_in_ball(x, y, rho_sq)
        n, d = x.shape
        signed = y[:, None] * np.hstack([x, np.ones((n, 1))])
        cons = [{"type": "ineq", "fun": lambda z: z[d + 1:] - (1 - signed @ z[:d + 1])},
                {"type": "ineq", "fun": lambda z, r=rho_sq: r - z[:d + 1] @ z[:d + 1]}]
        res = minimize(lambda z: z[d + 1:].mean(), np.concatenate([np.zeros(d + 1), np.ones(n)]), constraints=cons,
                       bounds=[(None, None)] * (d + 1) + [(0, None)] * n, method="SLSQP",
                       options={"ftol": 1e-13, "maxiter": 1000})
        assert fit.lower_bound <= res.fun + 1e-9 and fit.objective == pytest.approx(res.fun, abs=1e-6)
        assert fit.weights @ fit.weights + fit.bias ** 2 <= rho_sq * (1 + 1e-12)


@pytest.mark.parametrize("eps_text", ["0.01", "0.03", "0.05", "0.1", "0.29", "0.3", "0.57"])
@pytest.mark.parametrize("n", [7, 100, 289, 800, 1000])
def test_poison_count_is_the_exact_floor(eps_text, n):
    exact = Fraction(eps_text) * n
    assert poison_count(float(eps_text), n) == exact.numerator // exact.denominator


@pytest.mark.parametrize("call, exc, message", [
    (lambda d: steinhardt_upper_bounds(*blobs(0), d, [-0.1], 1.0), ValueError, "epsilon must be >= 0"),
    (lambda d: steinhardt_upper_bounds(*blobs(0), d, [0.1], 0.0), ValueError, "rho_sq must be > 0"),
    (lambda d: steinhardt_upper_bounds(*blobs(0), d, [0.1], 1.0, "square"), ValueError, "loss must be one of"),
    (lambda d: steinhardt_upper_bounds(*blobs(0), d, [], 1.0), ValueError, "epsilons must contain"),
    (lambda d: steinhardt_upper_bounds(*blobs(0), d, [0.1], 1.0, iterations=1.5), TypeError, "iterations must be"),
    (lambda d: poison_count(0.1, 0), ValueError, "n must be an integer >= 1"),
    (lambda d: fit_in_ball(*blobs(0), -1.0), ValueError, "rho_sq must be > 0"),
])
def test_bad_input(call, exc, message):
    defense = fit_sphere_slab(*blobs(0), 70)
    with pytest.raises(exc, match=message):
        call(defense)
