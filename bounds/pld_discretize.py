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


def _tilted(log_mass: np.ndarray, start: int, h: float, lam: float, log_scale: float) -> LatticeMeasure:
    """LatticeMeasure from untilted log masses at grid indices start + i, all scaled by e^{log_scale}."""
    log_t = log_mass + lam * h * (start + np.arange(log_mass.size))
    top = float(np.max(log_t))
    return LatticeMeasure(np.exp(log_t - top), start, h, lam, top + log_scale).normalised()


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


def upper_step(pair: PrivacyLossPair, h: float, i_lo: int, i_hi: int, lam: float) -> LatticeMeasure:
    """The connect-the-dots measure of one step on grid indices i_lo..i_hi, tilted by lam."""
    grid = np.arange(i_lo, i_hi + 1)
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
        pos = np.clip(np.ceil(a_loss[inside] / h).astype(int) - i_lo, 1, n - 1)
        lo_w, hi_w = _split_log_weights(a_loss[inside], g[pos - 1], h)
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
            lo_w, hi_w = _split_log_weights(loss, g[owner], h)
            contrib_log += [log_f + lo_w, log_f + hi_w]
            contrib_pos += [owner, owner + 1]
    log_all = np.concatenate(contrib_log)
    pos_all = np.concatenate(contrib_pos)
    # tilt, then sum per grid point in linear scale relative to the largest tilted term
    log_t = log_all + lam * h * (i_lo + pos_all)
    top = float(np.max(log_t))
    arr = np.bincount(pos_all, weights=np.exp(log_t - top), minlength=n)
    inf_mass = min(1.0, float(np.exp(special.logsumexp(inf_log) + _UP)))
    return LatticeMeasure(arr, i_lo, h, lam, top + _UP, inf_mass=inf_mass).normalised()


def _split_log_weights(loss, a, h):
    """log of the connect-the-dots weights of a loss in (a, a + h] on a and on a + h."""
    d = loss - a  # in [0, h]
    denom = math.log(math.expm1(h))
    with np.errstate(divide="ignore"):
        w_lo = np.log(np.expm1(h - d)) - denom
        w_hi = np.log(-np.expm1(-d)) + h - denom
    return w_lo, w_hi


def lower_step(pair: PrivacyLossPair, h: float, i_lo: int, i_hi: int, lam: float):
    """Laws under P and Q of the loss rounded to the nearest grid point and clamped to i_lo..i_hi.

    Returns (P measure tilted by lam, scaled down; Q measure tilted by lam + 1, scaled up): elementwise
    below and above the exact laws, which is all the test bound needs.
    """
    edges = (np.arange(i_lo, i_hi) + 0.5) * h  # cell j is (edges[j-1], edges[j]]; the end cells are unbounded
    out = []
    for side, tilt, scale in (("P", lam, -_UP), ("Q", lam + 1.0, _UP)):
        ls, lc = pair.log_sf(edges, side), pair.log_cdf(edges, side)
        # mass of (e_{j-1}, e_j] from whichever tail is smaller at e_{j-1}
        from_sf = _log_diff(ls[:-1], ls[1:])
        from_cdf = _log_diff(lc[1:], lc[:-1])
        middle = np.where(ls[:-1] < lc[:-1], from_sf, from_cdf)
        log_mass = np.concatenate([[lc[0]], middle, [ls[-1]]])
        out.append(_tilted(log_mass, i_lo, h, tilt, scale))
    return out[0], out[1]
