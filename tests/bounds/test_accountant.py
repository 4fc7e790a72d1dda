"""The certified accountant against exact values (closed forms, brute-force enumeration) and REFERENCES §1."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import privrobust
from bounds.accountant import dpsgd_epsilon, epsilon_bracket
from bounds import pld
from bounds.pld import Resolution, direction_bracket
from mechanisms import Gaussian, PoissonSampled, RandomizedResponse, dpsgd, self_compose

# REFERENCES §1: (σ, q, T) -> (best known lower, best known upper) at δ = 1e-5
DPSGD_GRID = [((1.1, 256 / 60000, 14062), (2.3715, 2.3815978093522916)),
              ((1.0, 0.01, 10000), (6.1774, 6.187712729101813)),
              ((0.8, 0.001, 100000), (2.5648, 2.5749652294084395)),
              ((2.0, 0.1, 1000), (8.2743, 8.27929121228081)),
              ((0.5, 0.01, 1000), (13.3558, 13.360824005399717))]


@pytest.mark.parametrize("params,known", DPSGD_GRID)
def test_dpsgd_grid_bracket(params, known):
    r = privrobust.epsilon(*params, delta=1e-5)
    assert r.method == "pld"
    assert r.lower <= known[1]                    # a true lower bound cannot exceed a true upper bound
    assert r.upper >= known[0]
    assert r.upper <= known[1] + 1e-3             # the tightness target
    assert r.upper - r.lower <= 2e-3
    assert r.lower <= r.estimate <= r.upper


@pytest.mark.parametrize("steps,expected", [(100, 0.0552), (1000, 0.1490), (10000, 0.4760)])
def test_small_epsilon_series(steps, expected):
    """REFERENCES §1 small-ε regime (σ = 1, q = 1e-3): dp-accounting's pessimistic PLD, an upper bound given
    to 4 digits, so our lower bound stays below it and our upper bound is at least as tight."""
    r = privrobust.epsilon(1.0, 1e-3, steps, 1e-5)
    assert r.lower <= expected + 5e-5
    assert r.upper <= expected + 5e-5 + 1e-3


def _rr_composition_delta(eps0: float, k: int, eps: float) -> float:
    """Brute force: the privacy loss of k randomized responses is eps0 (2B - k), B ~ Bin(k, e^eps0/(1+e^eps0))."""
    b = np.arange(k + 1)
    p = stats.binom.pmf(b, k, math.exp(eps0) / (1 + math.exp(eps0)))
    loss = eps0 * (2 * b - k)
    return float(np.sum(p * np.clip(1 - np.exp(eps - loss), 0, None)))


@pytest.mark.parametrize("eps0,k,delta", [(0.5, 40, 1e-5), (0.1, 300, 1e-3), (1.0, 10, 1e-2),
                                           (0.02, 6000, 1e-5), (0.02, 6007, 1e-5)])
def test_bracket_contains_randomized_response_composition(eps0, k, delta):
    """k = 6000 is composed in stages of 2000 steps (a divisor, no remainder), 6007 (prime) in stages of
    2982 with a remainder (pld._stage_size)."""
    from scipy import optimize
    exact = optimize.brentq(lambda e: _rr_composition_delta(eps0, k, e) - delta, 0, eps0 * k, xtol=1e-13)
    r = epsilon_bracket(self_compose(RandomizedResponse(eps0), k), delta)
    assert r.lower - 1e-12 <= exact <= r.upper + 1e-12
    assert r.upper - r.lower <= 2e-3


@pytest.mark.parametrize("sigma,count,delta", [(3.0, 200, 1e-5), (1.5, 7, 1e-8), (10.0, 2000, 1e-5)])
def test_pld_path_contains_composed_gaussian(sigma, count, delta):
    """Forced through the PLD path (the facade would answer exactly): T Gaussians = one of σ/√T."""
    exact = Gaussian(sigma / math.sqrt(count)).epsilon(delta)
    comps = self_compose(Gaussian(sigma), count).directions()["forward"]
    b = direction_bracket(comps, delta)
    assert b.lower <= exact <= b.upper
    assert b.upper - b.lower <= 2e-3


@pytest.mark.parametrize("sigma,count,delta", [(1.0, 2000, 1e-5), (0.5, 300, 1e-10)])
def test_pld_path_brackets_a_composed_gaussian_beyond_exp_range(sigma, count, delta):
    """ε of 1190 and 819: Q(S >= t) ~ e^{-ε} is below float64's range, yet the lower end must stay finite
    (it was -inf while Q was summed in linear space) and the bracket within 1e-4 relative."""
    exact = Gaussian(sigma / math.sqrt(count)).epsilon(delta)
    b = direction_bracket(self_compose(Gaussian(sigma), count).directions()["forward"], delta)
    assert exact > 745 and b.lower <= exact <= b.upper
    assert b.upper - b.lower <= 1e-4 * exact


@pytest.mark.parametrize("sigma,q,steps,delta", [(1.0, 1e-3, 1000, 1e-12), (0.8, 1e-3, 1000, 1e-18),
                                                  (2.0, 0.01, 100, 1e-12)])
def test_rare_hit_regime_is_narrowed_by_retilting(sigma, q, steps, delta):
    """Where a few sampled steps decide δ the saddle-point tilt is far off (these forward brackets were
    [0.40, 1.45], [1.25, inf] and [0.37, 0.55]); the re-tilted bracket must be within WIDE and overlap
    brackets computed at nearby tilts on a finer grid (all are certified)."""
    comps = dpsgd(sigma, q, steps).directions()["forward"]
    b = direction_bracket(comps, delta)
    assert b.upper - b.lower <= pld.WIDE * max(1.0, b.upper)
    for factor in (0.9, 1.0, 1.1):
        other = direction_bracket(comps, delta, Resolution(grid=0.01), lam=b.lam * factor)
        assert max(b.lower, other.lower) <= min(b.upper, other.upper)


@pytest.mark.parametrize("sigma,q,delta", [(1.0, 0.01, 1e-5), (0.6, 0.2, 1e-3), (2.0, 0.5, 1e-6)])
def test_pld_path_contains_one_step_subsampled(sigma, q, delta):
    mech = PoissonSampled(Gaussian(sigma), q)
    exact = mech.epsilon(delta)
    lowers, uppers = [], []
    for comps in mech.directions().values():
        b = direction_bracket(comps, delta)
        lowers.append(b.lower)
        uppers.append(b.upper)
    assert max(lowers) <= exact <= max(uppers)


def test_rate_one_equals_gaussian():
    exact = Gaussian(1.3 / math.sqrt(50)).epsilon(1e-5)
    r = dpsgd_epsilon(1.3, 1.0, 50, 1e-5)
    assert r.lower - 1e-12 <= exact <= r.upper + 1e-12


def test_one_step_is_exact():
    r = privrobust.epsilon(1.0, 0.01, 1, 1e-5)
    assert r.method == "exact"
    assert r.upper == pytest.approx(PoissonSampled(Gaussian(1.0), 0.01).epsilon(1e-5), rel=1e-11)


def test_tiny_delta_and_large_epsilon_stay_finite():
    for args in [(1.0, 0.01, 1000, 1e-18), (0.3, 0.5, 500, 1e-5)]:
        r = privrobust.epsilon(*args)
        assert all(math.isfinite(v) and v >= 0 for v in (r.lower, r.estimate, r.upper))
        assert r.lower <= r.upper


@settings(max_examples=8, deadline=None)
@given(st.floats(0.6, 2.0), st.floats(1.05, 1.5), st.floats(0.005, 0.05), st.integers(10, 300))
def test_epsilon_decreases_in_sigma_increases_in_q_and_steps(sigma, factor, q, steps):
    """A true ε(σ') <= ε(σ) for σ' > σ forces lower(σ') <= upper(σ); likewise for q and T."""
    base = dpsgd_epsilon(sigma, q, steps, 1e-5)
    assert dpsgd_epsilon(sigma * factor, q, steps, 1e-5).lower <= base.upper
    assert dpsgd_epsilon(sigma, min(1.0, q * factor), steps, 1e-5).upper >= base.lower
    assert dpsgd_epsilon(sigma, q, int(steps * factor) + 1, 1e-5).upper >= base.lower


def test_finer_grid_narrows_the_bracket_and_brackets_overlap():
    comps = dpsgd(1.0, 0.01, 2000).directions()["forward"]
    coarse, fine = (direction_bracket(comps, 1e-5, Resolution(grid=g)) for g in (0.08, 0.02))
    assert fine.upper - fine.lower < coarse.upper - coarse.lower
    assert max(coarse.lower, fine.lower) <= min(coarse.upper, fine.upper)


@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_upper_alone_is_the_same_upper_bound(direction):
    """Skipping the P and Q statistic chains leaves the pessimistic chain, its windows and so its upper
    bound unchanged (the windows are the union over the chains' needs, so equality is not automatic)."""
    comps = dpsgd(1.0, 0.01, 3000).directions()[direction]
    both, alone = (direction_bracket(comps, 1e-5, lower=flag) for flag in (True, False))
    assert alone.lower == -math.inf
    assert alone.upper == pytest.approx(both.upper, rel=0, abs=1e-8)
    assert both.lower <= alone.upper


@pytest.mark.parametrize("kwargs,match", [
    (dict(noise_multiplier=0.0), "noise_multiplier"), (dict(noise_multiplier=float("nan")), "noise_multiplier"),
    (dict(sample_rate=0.0), "sample_rate"), (dict(sample_rate=1.2), "sample_rate"),
    (dict(steps=2.5), "steps"), (dict(steps=-3), "steps"), (dict(steps=0), "steps"),
    (dict(delta=0.0), "delta"), (dict(delta=1.0), "delta"), (dict(delta=float("nan")), "delta"),
    (dict(noise_multiplier="1"), "noise_multiplier")])
def test_bad_input_names_the_parameter(kwargs, match):
    args = dict(noise_multiplier=1.0, sample_rate=0.01, steps=100, delta=1e-5) | kwargs
    with pytest.raises((ValueError, TypeError), match=match):
        privrobust.epsilon(**args)
