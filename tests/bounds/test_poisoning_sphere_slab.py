"""The closed-form worst point of the sphere + slab defense against scipy's SLSQP on random instances, and the
defense fitted from percentiles (numpy's percentile computed independently here)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from bounds.sphere_slab import SphereSlab, centroid_shift_outer, fit_sphere_slab


def slsqp_min_margin(w, b, y, mu, v, r, s):
    """min y(w.x + b) over the sphere and slab, by a numerical optimiser started at several points."""
    cons = [{"type": "ineq", "fun": lambda x: r * r - (x - mu) @ (x - mu)},
            {"type": "ineq", "fun": lambda x: s - (x - mu) @ v}, {"type": "ineq", "fun": lambda x: s + (x - mu) @ v}]
    best = np.inf
    rng = np.random.default_rng(0)
    for _ in range(4):
        start = mu + 0.1 * r * rng.normal(size=len(mu))
        res = minimize(lambda x: y * (w @ x + b), start, jac=lambda x: y * w, constraints=cons, method="SLSQP",
                       options={"ftol": 1e-13, "maxiter": 500})
        if all(c["fun"](res.x) >= -1e-7 for c in cons):
            best = min(best, res.fun)
    return best


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10 ** 6), d=st.integers(2, 6), label=st.sampled_from([-1, 1]),
       r=st.floats(0.2, 3.0), s_frac=st.floats(0.02, 1.5))
def test_closed_form_equals_numerical_optimiser(seed, d, label, r, s_frac):
    rng = np.random.default_rng(seed)
    v = rng.normal(size=d)
    v /= np.linalg.norm(v)
    mu = rng.normal(size=(2, d))
    w, b = rng.normal(size=d), float(rng.normal())
    defense = SphereSlab(mu, v, (r, r), (s_frac * r, s_frac * r))
    x = defense.worst_point(w, b, label)
    i = (label + 1) // 2
    assert defense.contains(x[None], np.array([label])).all()
    got = label * (w @ x + b)
    numerical = slsqp_min_margin(w, b, label, mu[i], v, r, s_frac * r)
    assert got <= numerical + 1e-7  # the closed form is at least as good as any local optimum ...
    assert got >= numerical - 1e-5  # ... and SLSQP reaches it (convex problem)


def test_degenerate_weights():
    v = np.array([1.0, 0.0])
    defense = SphereSlab(np.zeros((2, 2)), v, (1.0, 1.0), (0.5, 0.5))
    np.testing.assert_allclose(defense.worst_point(np.zeros(2), 0.3, 1), np.zeros(2))  # w = 0: any point
    x = defense.worst_point(np.array([2.0, 0.0]), 0.0, 1)  # w along v: the slab clips t to -0.5
    np.testing.assert_allclose(x, [-0.5, 0.0], atol=1e-12)


def test_fit_uses_percentiles_of_clean_distances():
    rng = np.random.default_rng(1)
    x = np.vstack([rng.normal(0, 1, (50, 3)), rng.normal(3, 1, (40, 3))])
    y = np.repeat([-1, 1], [50, 40])
    defense = fit_sphere_slab(x, y, 70)
    mu_neg, mu_pos = x[:50].mean(0), x[50:].mean(0)
    v = (mu_neg - mu_pos) / np.linalg.norm(mu_neg - mu_pos)
    assert defense.sphere_radii[0] == pytest.approx(np.percentile(np.linalg.norm(x[:50] - mu_neg, axis=1), 70))
    assert defense.slab_radii[1] == pytest.approx(np.percentile(np.abs((x[50:] - mu_pos) @ v), 70))
    sphere_only = SphereSlab(defense.centroids, defense.direction, defense.sphere_radii, (np.inf, np.inf))
    assert sphere_only.contains(x, y).mean() == pytest.approx(0.7, abs=0.02)  # 70% of each class, ± interpolation


def test_centroid_shift_enlarges_radii_by_k_over_n():
    defense = SphereSlab(np.zeros((2, 1)), np.ones(1), (1.0, 2.0), (0.3, 0.3))
    outer = centroid_shift_outer(defense, (10, 40), 5)
    assert outer.sphere_radii == pytest.approx((1.5, 2.25))


@pytest.mark.parametrize("call, exc, message", [
    (lambda: fit_sphere_slab(np.zeros((4, 2)), np.array([1, 1, 2, -1])), ValueError, "y must hold labels"),
    (lambda: fit_sphere_slab(np.ones((4, 2)), np.array([1, 1, -1, -1])), ValueError, "centroids coincide"),
    (lambda: fit_sphere_slab(np.eye(4), np.array([1, 1, -1, -1]), 120), ValueError, "percentile must be in"),
    (lambda: fit_sphere_slab(np.eye(4), np.array([1, 1, 1])), ValueError, "y must have shape"),
    (lambda: fit_sphere_slab(np.eye(4), np.array([1, 1, 1, 1])), ValueError, "label -1"),
    (lambda: SphereSlab(np.zeros((2, 1)), np.ones(1), (1, 1), (1, 1)).worst_point([1.0], 0, 0), ValueError, "y must"),
])
def test_bad_input(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
