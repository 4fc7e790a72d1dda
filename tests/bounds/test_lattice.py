"""Chernoff log-mgfs, windows and tail bounds of lattice measures against closed forms and brute-force
convolution, including cells that carry no mass."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from bounds.lattice import THETA_OCTAVES, THETA_STEPS, LatticeMeasure, _centre_var, _chernoff_min, tail_mass, window


def measure(arr, start=0):
    return LatticeMeasure(np.asarray(arr, dtype=float), start, 0.1, 0.0, 0.0)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_point_mass_beside_empty_cells_has_log_mgf_zero(sign):
    """A point mass has Λ(θ) = 0 at every θ; empty cells 3000 steps away must not make the sum underflow."""
    arr = np.zeros(3001)
    arr[0 if sign > 0 else -1] = 1.0
    js = range(5 * THETA_STEPS, 8 * THETA_STEPS)     # θ up to 2^8: θ * 3000 far beyond exp's range
    np.testing.assert_array_equal(measure(arr).log_mgf(sign, js), np.zeros(len(js)))


@given(p=st.floats(0.01, 0.99), gap=st.integers(1, 400), j=st.integers(-3 * THETA_STEPS, 2 * THETA_STEPS),
       sign=st.sampled_from([1.0, -1.0]))
def test_two_atoms_match_the_closed_form(p, gap, j, sign):
    """Atoms p at 0 and 1 - p at gap, centred at the mean m = (1 - p) gap: Λ = log(p e^{-sθm} + (1-p) e^{sθ(gap-m)}),
    raised by at most θ (block - 1) where the cells are summed in blocks."""
    arr = np.zeros(gap + 1)
    arr[0], arr[-1] = p, 1 - p
    theta, mean = 2.0 ** (j / THETA_STEPS), (1 - p) * gap
    a, b = math.log(p) - sign * theta * mean, math.log1p(-p) + sign * theta * (gap - mean)
    expected = max(a, b) + math.log1p(math.exp(min(a, b) - max(a, b)))
    m = measure(arr, start=-7)
    got = m.log_mgf(sign, range(j, j + 1))[0]
    slack = 1e-12 * max(1.0, abs(expected))
    assert expected - slack <= got <= expected + theta * (m.mgf_block - 1) + slack


def random_measure(draw_masses, start):
    arr = np.asarray(draw_masses, dtype=float)
    return LatticeMeasure(arr / arr.sum(), start, 0.1, 0.0, 0.0)


masses = st.lists(st.one_of(st.just(0.0), st.floats(1e-9, 1.0)), min_size=2, max_size=60).filter(lambda a: sum(a) > 0)


@given(a=masses, b=masses, ka=st.integers(1, 6), kb=st.integers(0, 3), start=st.integers(-50, 50),
       tol=st.sampled_from([1e-3, 1e-8, 1e-12]))
def test_window_and_tail_mass_bound_the_exact_composition(a, b, ka, kb, start, tol):
    """Composing a^{*ka} * b^{*kb} by direct convolution: the mass outside ``window`` is at most tol per side,
    and ``tail_mass`` bounds the exact mass below lo and at or above hi for windows cut inside the support."""
    ma, mb = random_measure(a, start), random_measure(b, -start // 2)
    parts = [(ma, ka)] + ([(mb, kb)] if kb else [])
    exact, first = np.array([1.0]), 0
    for m, k in parts:
        for _ in range(k):
            exact, first = np.convolve(exact, m.arr), first + m.start
    index = first + np.arange(exact.size)
    lo, hi = window(parts, tol)
    rel = 1e-9
    assert exact[index < lo].sum() <= tol * (1 + rel) and exact[index >= hi].sum() <= tol * (1 + rel)
    for cut_lo, cut_hi in ((lo, hi), (index[exact.size // 3], index[2 * exact.size // 3])):
        below, above = tail_mass(parts, cut_lo, cut_hi)
        assert exact[index < cut_lo].sum() <= below * (1 + rel) + 1e-300
        assert exact[index >= cut_hi].sum() <= above * (1 + rel) + 1e-300


@given(a=masses, k=st.integers(1, 200), sign=st.sampled_from([1.0, -1.0]), log_tol=st.floats(-30, -3))
def test_chernoff_search_finds_the_grid_minimum(a, k, sign, log_tol):
    """The pattern search returns the minimum over every grid point of the span (both objectives are
    quasiconvex in θ), checked by evaluating them all."""
    m = random_measure(a, 0)
    parts = [(m, k)]
    j_sd = -round(THETA_STEPS * 0.5 * math.log2(_centre_var(parts)[1]))
    js = range(j_sd + THETA_STEPS * THETA_OCTAVES[0], j_sd + THETA_STEPS * THETA_OCTAVES[1] + 1)
    thetas, log_m = 2.0 ** (np.array(js, dtype=float) / THETA_STEPS), k * m.log_mgf(sign, js)
    reach = float(np.ptp(np.flatnonzero(m.arr))) * k / 3 + 1
    for objective in (lambda t, lm: (lm - log_tol) / t, lambda t, lm: lm - t * reach):
        every = float(np.min(objective(thetas, log_m)))
        assert _chernoff_min(parts, sign, objective) <= every + 1e-9 * max(1.0, abs(every))
