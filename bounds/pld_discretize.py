"""One step of a dominating pair put on the lattice {i h}: an upper and a lower discretisation.

Upper ("connect the dots", Doroshenko, Ghazi, Kamath, Kumar & Manurangsi 2022): the loss L ~ P is split
between the neighbouring grid points a < L <= b, with weight (e^{b-L} - 1)/(e^{b-a} - 1) on a and the
rest on b. Conditionally on L this is a mean-preserving spread of e^{-L}, and δ(ε) = E_P[(1 - e^ε e^{-L})_+]
is convex in e^{-L}, so the discrete measure's hockey-stick curve dominates the true one at every ε; since
δ_{ω*ν}(ε) = E_{L~ν}[δ_ω(ε - L)], domination survives composition (proofs/connect_the_dots.py). Losses below
the grid are moved up to its first point and losses above it to +inf, both pessimistic.
The split weights are integrated against P's density in the base loss t by Gauss-Legendre quadrature on
panels much narrower than the density's scale; nothing cancels, so the masses keep full relative precision.

Lower (a statistic): rounding L to the nearest grid point, clamped into the grid, is a deterministic function
of the outcome, so the test {sum of rounded losses >= threshold} is a real test between the composed P and Q:
P^T(A) - e^ε Q^T(A) <= δ(ε) for every threshold (proofs/rounded_test.py). It needs the cell masses of both
P and Q, computed from the exact survival functions of mechanisms/pair.py.

Both arguments hold for any increasing sequence of "dots" a_0 < a_1 < ... (neighbours a < b of any width),
not only for consecutive lattice points. ``dots`` therefore keeps every lattice point where the tilted law
has mass and only every 2^k-th one in blocks whose tilted mass is small: a spread over a cell of width w
adds at most w²/4 to the variance of L, so a block of tilted mass m with spacing 2^k h costs m 4^k h²/4
where the fine grid costs m h²/4, and the choice keeps the total within SPREAD_BUDGET of the fine grid's
(the accuracy, never the validity, depends on it). Far tails of a subsampled mechanism's loss are then
discretised with a few hundred dots instead of ~10^5 grid points.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from bounds.lattice import LatticeMeasure
from mechanisms.pair import PrivacyLossPair

#: relative error charged for the quadrature and for differences of survival functions (both are orders
#: of magnitude more accurate; tests check the quadrature against mpmath and mass conservation). It is
#: charged multiplicatively: a measure that must stay above (below) the exact one is scaled up (down)
#: by (1 + MASS_RTOL)/(1 - MASS_RTOL), so over T steps it costs a factor (1 +- 2 MASS_RTOL)^T on δ.
MASS_RTOL = 1e-10
_UP = math.log1p(MASS_RTOL) - math.log1p(-MASS_RTOL)

_GL = {n: np.polynomial.legendre.leggauss(n) for n in (3, 8)}
#: dots: blocks of 2^BLOCK_LOG2 grid points, spacing 2^k (k <= BLOCK_LOG2) within each block, chosen so that
#: sum over blocks of (tilted mass) (4^k - 1) <= SPREAD_BUDGET (see the module doc)
BLOCK_LOG2 = 6
SPREAD_BUDGET = 0.02


def _tilted(log_mass: np.ndarray, dots: np.ndarray, h: float, lam: float, log_scale: float) -> LatticeMeasure:
    """LatticeMeasure on grid indices dots[0]..dots[-1] from untilted log masses at ``dots`` (zero between
    them), all scaled by e^{log_scale}."""
    log_t = log_mass + lam * h * dots
    top = float(np.max(log_t))
    arr = np.zeros(int(dots[-1] - dots[0]) + 1)
    arr[dots - dots[0]] = np.exp(log_t - top)
    return LatticeMeasure(arr, int(dots[0]), h, lam, top + log_scale).normalised()


def _cell_log_masses(pair: PrivacyLossPair, edges: np.ndarray, side: str) -> np.ndarray:
    """log masses under P or Q of L <= e_0, e_{j-1} < L <= e_j (j = 1..E-1) and L > e_{E-1}.

    Each cell's mass is a difference of whichever tail is smaller at its left edge: of the CDF below the first
    edge s where the survival function is below the CDF, of the survival function from s on (the comparison
    changes once, so s is found on a sparse probe, then inside the one stride that contains it).
    """
    def sf_smaller(e):
        return pair.log_sf(e, side) < pair.log_cdf(e, side)

    stride = max(1, edges.size // 64)
    c = int(np.argmax(np.append(sf_smaller(edges[::stride]), True)))   # probe c: the first where it holds
    lo = max(0, (c - 1) * stride + 1)
    within = edges[lo:min(c * stride, edges.size)]
    s = lo + int(np.argmax(np.append(sf_smaller(within), True))) if c else 0
    s = min(s, edges.size - 1)
    lc, ls = pair.log_cdf(edges[:s + 1], side), pair.log_sf(edges[s:], side)
    return np.concatenate([[lc[0]], _log_diff(lc[1:], lc[:-1]), _log_diff(ls[:-1], ls[1:]), [ls[-1]]])


def dots(pair: PrivacyLossPair, h: float, i_lo: int, i_hi: int, lam: float) -> np.ndarray:
    """Increasing grid indices from i_lo to i_hi (both kept) to discretise one step on (see the module doc).

    The tilted mass of each block [J B, (J + 1) B) of B = 2^BLOCK_LOG2 grid points is estimated from P's exact
    cell masses with the tilt at the block's top; a block of share m gets spacing 2^k with
    4^k <= 1 + SPREAD_BUDGET / (blocks * m). Any choice is valid; this one only keeps the bracket narrow.
    """
    block = 1 << BLOCK_LOG2
    first, last = i_lo // block, i_hi // block
    starts = np.arange(first, last + 1) * block
    log_mass = _cell_log_masses(pair, (starts[1:] - 0.5) * h, "P") + lam * h * (starts + block)
    share = np.exp(log_mass - np.max(log_mass))
    share /= share.sum()
    with np.errstate(divide="ignore", over="ignore"):        # an empty block: spacing 2^BLOCK_LOG2
        k = np.floor(np.log1p(SPREAD_BUDGET / (share.size * share)) / math.log(4.0))
    k = np.clip(k, 0, BLOCK_LOG2).astype(int)
    counts = block >> k
    offsets = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    idx = np.repeat(starts, counts) + offsets * np.repeat(1 << k, counts)
    return np.concatenate([[i_lo], idx[(idx > i_lo) & (idx < i_hi)], [i_hi]])


def _log_diff(log_a, log_b):
    """log(e^a - e^b) for a >= b (elementwise), -inf where equal."""
    with np.errstate(divide="ignore", invalid="ignore"):
        out = log_a + np.log(-np.expm1(np.minimum(log_b - log_a, 0.0)))
    return np.where(np.isneginf(log_a), -np.inf, out)


def _panels(t_lo: np.ndarray, t_hi: np.ndarray, bins: np.ndarray, max_width: float, nodes: int):
    """Gauss-Legendre nodes on panels no wider than max_width covering each [t_lo, t_hi]."""
    count = np.maximum(1, np.ceil((t_hi - t_lo) / max_width).astype(int))
    owner = np.repeat(np.arange(t_lo.size), count)
    k = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    width = ((t_hi - t_lo) / count)[owner]
    left = t_lo[owner] + k * width
    x, w = _GL[nodes]
    t = (left + 0.5 * width)[:, None] + (0.5 * width)[:, None] * x
    log_w = np.log(0.5 * width)[:, None] + np.log(w)
    return t.ravel(), log_w.ravel(), np.repeat(bins[owner], nodes)


def upper_step(pair: PrivacyLossPair, h: float, grid: np.ndarray, lam: float) -> LatticeMeasure:
    """The connect-the-dots measure of one step on the increasing grid indices ``grid`` (the dots), tilted
    by lam, on the lattice from grid[0] to grid[-1] (zero between the dots)."""
    g = grid * h
    n = grid.size
    contrib_log, contrib_pos = [], []
    base = pair.base
    inf_log = [float(pair.log_sf(g[-1], "P"))]                 # L > top: to +inf
    contrib_log.append(np.atleast_1d(pair.log_cdf(g[0], "P")))   # L <= bottom: up to the first point
    contrib_pos.append(np.array([0]))
    # atoms strictly inside (g[0], g[-1]]: split exactly
    a_loss, a_logp, _ = pair.atoms()
    inside = (a_loss > g[0]) & (a_loss <= g[-1])
    if inside.any():
        pos = np.clip(np.searchsorted(g, a_loss[inside]), 1, n - 1)      # g[pos - 1] < loss <= g[pos]
        lo_w, hi_w = _split_log_weights(a_loss[inside], g[pos - 1], g[pos] - g[pos - 1])
        contrib_log += [a_logp[inside] + lo_w, a_logp[inside] + hi_w]
        contrib_pos += [pos - 1, pos]
    if base.cont_log_mass(0) > -np.inf:
        t_a, t_b = base.effective_support
        # continuous mass outside the effective support goes to +inf (it is below e^{-700})
        out0 = np.logaddexp(base.cont_log_cdf(t_a, 0), base.cont_log_sf(t_b, 0))
        out1 = np.logaddexp(base.cont_log_cdf(t_a, 1), base.cont_log_sf(t_b, 1))
        inf_log.append(float(np.logaddexp(math.log1p(-pair.p) + out0 if pair.p < 1 else -np.inf,
                                          math.log(pair.p) + out1 if pair.p > 0 else -np.inf)))
        # bins (g[j], g[j+1]] as intervals of t, clipped to the effective support
        t_edges = pair.t_of_loss(g)
        lo_t = np.clip(np.minimum(t_edges[:-1], t_edges[1:]), t_a, t_b)
        hi_t = np.clip(np.maximum(t_edges[:-1], t_edges[1:]), t_a, t_b)
        keep = hi_t > lo_t
        bins = np.nonzero(keep)[0]
        width = hi_t[keep] - lo_t[keep]
        fine = width <= 0.02 * base.scale
        for mask, nodes in ((fine, 3), (~fine, 8)):
            if not mask.any():
                continue
            t, log_w, owner = _panels(lo_t[keep][mask], hi_t[keep][mask], bins[mask], 0.25 * base.scale, nodes)
            loss = np.clip(pair.loss(t), g[owner], g[owner + 1])
            log_f = log_w + pair.log_density_t(t, "P")
            lo_w, hi_w = _split_log_weights(loss, g[owner], g[owner + 1] - g[owner])
            contrib_log += [log_f + lo_w, log_f + hi_w]
            contrib_pos += [owner, owner + 1]
    log_all = np.concatenate(contrib_log)
    pos_all = np.concatenate(contrib_pos)
    # tilt, then sum per dot in linear scale relative to the largest tilted term
    log_t = log_all + lam * g[pos_all]
    top = float(np.max(log_t))
    arr = np.zeros(int(grid[-1] - grid[0]) + 1)
    arr[grid - grid[0]] = np.bincount(pos_all, weights=np.exp(log_t - top), minlength=n)
    inf_mass = min(1.0, float(np.exp(special.logsumexp(inf_log) + _UP)))
    return LatticeMeasure(arr, int(grid[0]), h, lam, top + _UP, inf_mass=inf_mass).normalised()


def _split_log_weights(loss, a, w):
    """log of the connect-the-dots weights of a loss in (a, a + w] on a and on a + w."""
    d = loss - a  # in [0, w]
    denom = np.log(np.expm1(w))
    with np.errstate(divide="ignore"):
        w_lo = np.log(np.expm1(w - d)) - denom
        w_hi = np.log(-np.expm1(-d)) + w - denom
    return w_lo, w_hi


def lower_step(pair: PrivacyLossPair, h: float, grid: np.ndarray, lam: float):
    """Laws under P and Q of the loss rounded to the nearest dot of ``grid`` (increasing grid indices) and
    clamped to grid[0]..grid[-1].

    Returns (P measure tilted by lam, scaled down; Q measure tilted by lam + 1, scaled up): elementwise
    below and above the exact laws, which is all the test bound needs.
    """
    edges = 0.5 * (grid[:-1] + grid[1:]) * h   # cell j is (edges[j-1], edges[j]]; the end cells are unbounded
    return tuple(_tilted(_cell_log_masses(pair, edges, side), grid, h, tilt, scale)
                 for side, tilt, scale in (("P", lam, -_UP), ("Q", lam + 1.0, _UP)))
