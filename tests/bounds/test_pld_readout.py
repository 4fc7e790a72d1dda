"""The ε read-out: its suffix sums are rigorous bounds on the exact sums (mpmath), on either side, and its
root is a valid bound where a closed form is known."""
import math

import mpmath as mp
import numpy as np
from hypothesis import given, settings, strategies as st

from bounds.lattice import LatticeMeasure
from bounds.pld import _log_suffix, epsilon_upper


def exact_log_suffix(arr, log_w):
    out, total = [], mp.mpf(0)
    for a, w in zip(arr[::-1], log_w[::-1]):
        total += mp.mpf(float(a)) * mp.exp(mp.mpf(float(w)))
        out.append(mp.log(total) if total > 0 else -mp.inf)
    return out[::-1]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), n=st.integers(1, 300), slope=st.floats(-5.0, 0.0), span=st.floats(0.0, 900.0),
       offset=st.floats(-50.0, 50.0), zeros=st.floats(0.0, 0.9))
def test_suffix_bounds_hold_the_exact_sums(seed, n, slope, span, offset, zeros):
    """Tilted masses spanning up to e^-900 (so some terms fall below the dropping threshold), zeros among them,
    affine log weights as in the read-out: the upward bound is >= and the downward bound <= the exact sum, both
    within 1e-9 relative wherever the sum is within e^-600 of the largest term."""
    rng = np.random.default_rng(seed)
    arr = rng.random(n) * np.exp(-span * rng.random(n))
    arr[rng.random(n) < zeros] = 0.0
    arr /= max(arr.sum(), 1e-300)
    log_w = offset + slope * np.arange(n) * 0.37
    up, down = _log_suffix(arr, log_w, upward=True), _log_suffix(arr, log_w, upward=False)
    assert up[-1] == down[-1] == -np.inf
    with mp.workdps(40):
        exact = exact_log_suffix(arr, log_w)
        for j, e in enumerate(exact):
            if e == -mp.inf:
                assert down[j] == -np.inf
                continue
            assert down[j] <= e <= up[j]
            if e > max(exact) - 600:
                assert float(up[j] - e) < 1e-9 and float(e - down[j]) < 1e-9


def test_all_zero_measure_has_empty_suffixes():
    out = _log_suffix(np.zeros(5), np.zeros(5), upward=True)
    assert out.shape == (6,) and np.all(out == -np.inf)


@given(loss=st.floats(0.5, 20.0), delta=st.floats(1e-12, 0.5), lam=st.floats(0.0, 3.0))
def test_upper_root_below_the_window_stays_a_valid_bound(loss, delta, lam):
    """All mass at one loss l, the window starting there: δ(ε) = 1 - e^{ε - l} for ε < l, so ε(δ) = l + log(1 - δ),
    below the window's first point; the read-out returned -inf there (an unsound upper bound), it now returns
    the first point, which the bound certifies."""
    h = loss / 64
    m = LatticeMeasure(np.array([1.0, 0.0, 0.0]), 64, h, lam, lam * loss)   # untilted mass 1 at 64 h = loss
    got = epsilon_upper(m, delta)
    assert loss + math.log1p(-delta) <= got <= loss * (1 + 1e-12)
