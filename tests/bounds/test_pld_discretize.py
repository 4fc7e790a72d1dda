"""One-step discretisation (bounds/pld_discretize.py): cell masses against the per-cell tail choice computed
on every edge, and the sparse dots against their definition."""
import numpy as np
import pytest

from bounds.pld_discretize import _cell_log_masses, _log_diff, dots
from mechanisms import Gaussian, Laplace


def pairs():
    gaussian = Gaussian(1.0).components()[0][0]
    return [gaussian, gaussian.subsample(1e-3), gaussian.subsample(0.1), Laplace(1.0).components()[0][0]]


@pytest.mark.parametrize("pair", pairs())
@pytest.mark.parametrize("side", "PQ")
@pytest.mark.parametrize("h, n", [(1e-5, 20000), (1e-3, 5000), (0.05, 300)])
def test_cell_masses_take_the_smaller_tail_at_every_left_edge(pair, side, h, n):
    edges = (np.arange(-n // 2, n // 2) + 0.5) * h
    ls, lc = pair.log_sf(edges, side), pair.log_cdf(edges, side)
    middle = np.where(ls[:-1] < lc[:-1], _log_diff(ls[:-1], ls[1:]), _log_diff(lc[1:], lc[:-1]))
    expected = np.concatenate([[lc[0]], middle, [ls[-1]]])
    np.testing.assert_array_equal(_cell_log_masses(pair, edges, side), expected)


@pytest.mark.parametrize("pair", pairs())
def test_dots_are_increasing_keep_both_ends_and_are_dense_where_the_mass_is(pair):
    h, i_lo, i_hi = 1e-3, -3000, 40000
    grid = dots(pair, h, i_lo, i_hi, 0.5)
    assert grid[0] == i_lo and grid[-1] == i_hi and np.all(np.diff(grid) > 0)
    # the lattice point nearest P's median loss lies in a fully kept block
    median = i_lo + int(np.argmin(np.abs(pair.log_cdf(np.arange(i_lo, i_hi) * h, "P") - np.log(0.5))))
    block = 64 * (median // 64)
    assert set(range(max(block, i_lo + 1), block + 64)) <= set(grid.tolist())


@pytest.mark.parametrize("pair", pairs())
@pytest.mark.parametrize("budget", [1e-15, 1e-10, 1e-4])
def test_untilted_cutoff_is_valid_and_nearly_the_smallest(pair, budget):
    from bounds.pld import _untilted_cutoff

    x = _untilted_cutoff(pair, budget, 1e-3)
    assert pair.log_sf(x, "P") <= np.log(budget)
    if x > 1e-3 and x < pair.loss_range[1]:
        assert pair.log_sf(x / 1.01, "P") > np.log(budget)  # bisected to 1 %, not doubled past the point
