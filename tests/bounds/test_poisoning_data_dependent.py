"""The refitted (data-dependent) sphere + slab defense: the certified relaxation against attacks optimised by
scipy's SLSQP on the exact defense with every poison point a variable, the candidate attack checked against a
defense refitted here with numpy, soundness (no attack beats U*) and errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from bounds.poisoning_data_dependent import (data_dependent_upper_bounds, margin_lower_bound,
                                             poison_loss_bound)
from bounds.poisoning_steinhardt import evaluate_attack, poison_count
from bounds.sphere_slab import fit_sphere_slab


def blobs(seed, n=40, d=3, gap=2.0):
    rng = np.random.default_rng(seed)
    x = np.vstack([rng.normal(0, 1, (n // 2, d)), rng.normal(gap / np.sqrt(d), 1, (n - n // 2, d))])
    return x, np.repeat([-1, 1], [n // 2, n - n // 2])


def exact_slack(flat, x, y, defense, split, d):
    """Every constraint of the refitted defense, one per poison point (>= 0 when it passes)."""
    poison = flat.reshape(-1, d)
    labels = np.repeat([-1, 1], split)
    centres = [np.vstack([x[y == lab], poison[labels == lab]]).mean(axis=0) for lab in (-1, 1)]
    direction = centres[0] - centres[1]
    out = []
    for q, lab in zip(poison, labels):
        i = (lab + 1) // 2
        u = q - centres[i]
        out += [defense.sphere_radii[i] ** 2 - u @ u,
                defense.slab_radii[i] * np.linalg.norm(direction) - direction @ u,
                defense.slab_radii[i] * np.linalg.norm(direction) + direction @ u]
    return np.array(out)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10 ** 5), split=st.sampled_from([(1, 0), (0, 2), (2, 1), (3, 3)]))
def test_no_optimised_attack_beats_the_margin_bound(seed, split):
    """Theorem: every poison point of class c that passes the refitted defense has margin >= the bound."""
    x, y = blobs(seed % 7, n=24)
    defense = fit_sphere_slab(x, y, 70)
    rng = np.random.default_rng(seed)
    w, b, d = rng.normal(size=3), float(rng.normal()), x.shape[1]
    counts = (12, 12)
    labels = np.repeat([-1, 1], split)
    for label in (-1, 1):
        if not split[(label + 1) // 2]:
            continue
        bound, _ = margin_lower_bound(defense, counts, split, w, b, label)
        target = int(np.flatnonzero(labels == label)[0])
        start = np.repeat(defense.centroids, split, axis=0)
        best = np.inf
        for trial in range(6):
            z0 = (start + rng.normal(0, 0.3 * trial, start.shape)).ravel()
            res = minimize(lambda z: label * (z.reshape(-1, d)[target] @ w + b), z0, method="SLSQP",
                           constraints=[{"type": "ineq", "fun": lambda z: exact_slack(z, x, y, defense, split, d) - 1e-6}])
            if exact_slack(res.x, x, y, defense, split, d).min() >= 0:  # strictly passes
                best = min(best, res.fun)
        assert np.isfinite(best)
        assert bound <= best + 1e-6
        assert best - bound <= 0.5  # and not vacuous: the relaxation is near the optimised attacks here


def test_relaxation_is_tight_against_a_single_location_attack():
    """On digits 1-vs-7 the certified margin is within 0.01 of an attack with all poison at one point."""
    from training.data import load_dataset

    data = load_dataset("digits").binary(1, 7)
    x, y = data.x_train.reshape(len(data.x_train), -1), data.y_train
    defense = fit_sphere_slab(x, y, 70)
    w = np.random.default_rng(0).normal(size=64) * 0.05
    for split in [(14, 0), (0, 28)]:
        label = -1 if split[0] else 1
        bound, _ = margin_lower_bound(defense, (146, 143), split, w, 0.1, label)
        k = max(split)
        res = minimize(lambda q: label * (q @ w + 0.1), defense.centroids[(label + 1) // 2], method="SLSQP",
                       constraints=[{"type": "ineq",
                                     "fun": lambda q: exact_slack(np.tile(q, k), x, y, defense, split, 64) - 1e-6}])
        assert exact_slack(np.tile(res.x, k), x, y, defense, split, 64).min() >= 0
        assert bound <= res.fun + 1e-6 and res.fun - bound <= 0.01


def test_digits_bound_holds_against_its_attack_and_is_monotone():
    """U* (relaxation and outer set) is never beaten by the retrained candidate attack, whose points pass the
    defense refitted on the poisoned data; U* is non-decreasing in ε and near the attack at small ε."""
    from training.data import load_dataset

    data = load_dataset("digits").binary(1, 7)
    x, y = data.x_train.reshape(len(data.x_train), -1), data.y_train
    defense = fit_sphere_slab(x, y, 70)
    eps = [0.01, 0.05, 0.1]
    bounds = data_dependent_upper_bounds(x, y, defense, eps, 0.8, iterations=500, refine=0)
    assert [b.upper_bound for b in bounds] == sorted(b.upper_bound for b in bounds)
    for bound in bounds:
        assert bound.k == poison_count(bound.epsilon, len(x)) == len(bound.attack_y)
        assert bound.upper_bound <= min(bound.outer_bound, bound.relaxation_bound)
        assert (bound.attack_y == -1).sum() == bound.split[0]
        assert exact_slack(bound.attack_x.ravel(), x, y, defense, bound.split, 64).min() >= 0
        result = evaluate_attack(x, y, bound, data.x_test, data.y_test)
        assert result.attack_lower_bound <= result.attack_loss <= bound.upper_bound
    assert bounds[0].upper_bound - evaluate_attack(x, y, bounds[0], data.x_test, data.y_test).attack_loss <= 0.005


def test_poison_loss_bound_takes_the_worst_split():
    x, y = blobs(1)
    defense = fit_sphere_slab(x, y, 70)
    w, b = np.array([0.3, -0.2, 0.4]), 0.1
    total, split, gradient = poison_loss_bound(defense, (20, 20), 3, w, b)
    each = []
    for negative in range(4):
        value = 0.0
        for label, count in zip((-1, 1), (negative, 3 - negative)):
            if count:
                margin, _ = margin_lower_bound(defense, (20, 20), (negative, 3 - negative), w, b, label)
                value += count * max(0.0, 1 - margin)
        each.append(value)
    assert total == pytest.approx(max(each)) and split[0] == int(np.argmax(each)) and gradient.shape == (4,)


@pytest.mark.parametrize("call, exc, message", [
    (lambda d: margin_lower_bound(d, (20, 20), (-1, 2), np.ones(3), 0.0, 1), ValueError, "split must be"),
    (lambda d: margin_lower_bound(d, (0, 20), (1, 2), np.ones(3), 0.0, 1), ValueError, "class_counts must be"),
    (lambda d: margin_lower_bound(d, (20, 20), (1, 2), np.ones(3), 0.0, 0), ValueError, "y must be -1 or"),
    (lambda d: margin_lower_bound(d, (20, 20), (1, 2), np.ones(4), 0.0, 1), ValueError, "weights must have shape"),
    (lambda d: poison_loss_bound(d, (20, 20), 2, np.ones(3), 0.0, "square"), ValueError, "loss must be one of"),
    (lambda d: data_dependent_upper_bounds(*blobs(0), d, [0.1], 1.0, refine=-1), ValueError, "refine must be"),
    (lambda d: data_dependent_upper_bounds(*blobs(0), d, [0.1], 0.0), ValueError, "rho_sq must be > 0"),
])
def test_bad_input(call, exc, message):
    defense = fit_sphere_slab(*blobs(0), 70)
    with pytest.raises(exc, match=message):
        call(defense)
