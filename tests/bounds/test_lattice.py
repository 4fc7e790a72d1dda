"""Chernoff log-mgfs of lattice measures against closed forms, including cells that carry no mass."""
import math

import numpy as np
import pytest
from hypothesis import given, strategies as st

from bounds.lattice import LatticeMeasure


def measure(arr, start=0):
    return LatticeMeasure(np.asarray(arr, dtype=float), start, 0.1, 0.0, 0.0)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_point_mass_beside_empty_cells_has_log_mgf_zero(sign):
    """A point mass has Λ(θ) = 0 at every θ; empty cells 3000 steps away must not make the sum underflow."""
    arr = np.zeros(3001)
    arr[0 if sign > 0 else -1] = 1.0
    js = range(10, 16)                       # θ up to 2^7.5: θ * 3000 far beyond exp's range
    np.testing.assert_array_equal(measure(arr).log_mgf(sign, js), np.zeros(len(js)))


@given(p=st.floats(0.01, 0.99), gap=st.integers(1, 400), j=st.integers(-6, 4), sign=st.sampled_from([1.0, -1.0]))
def test_two_atoms_match_the_closed_form(p, gap, j, sign):
    """Atoms p at 0 and 1 - p at gap, centred at the mean m = (1 - p) gap: Λ = log(p e^{-sθm} + (1-p) e^{sθ(gap-m)})."""
    arr = np.zeros(gap + 1)
    arr[0], arr[-1] = p, 1 - p
    theta, mean = 2.0 ** (j / 2), (1 - p) * gap
    a, b = math.log(p) - sign * theta * mean, math.log1p(-p) + sign * theta * (gap - mean)
    expected = max(a, b) + math.log1p(math.exp(min(a, b) - max(a, b)))
    got = measure(arr, start=-7).log_mgf(sign, range(j, j + 1))[0]
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-12)
