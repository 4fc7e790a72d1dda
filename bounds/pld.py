"""Privacy-loss-distribution accountant with a certified bracket: lower <= ε(δ) <= upper.

For each direction of the neighbouring relation (mechanisms/core.py), the composed privacy loss is carried
as three exponentially tilted lattice measures (bounds/lattice.py, bounds/pld_discretize.py):
- ``upper``: connect-the-dots discretisation of each step, a measure whose hockey-stick curve dominates the
  true one; composed by FFT and coarsened pessimistically between stages, so
  δ(ε) <= sum_J m_J (1 - e^{ε - l_J})_+ + inf mass + err correction;
- ``p``, ``q``: the laws under P and Q of the rounded, clamped loss statistic S, composed and coarsened
  alike; each threshold t is a real test, so δ(ε) >= P(S >= t) - e^ε Q(S >= t) (minus err corrections),
  i.e. ε(δ) >= log(P(S >= t) - δ) - log Q(S >= t).
Many steps are composed in stages of at most ``steps_per_fft`` steps, each result coarsened to a grid
matched to its own spread, so the work grows like log T. The worse direction gives the bracket.
Sources: Koskela, Jälkö & Honkela 2020 (FFT accountant); Gopi, Lee & Wutschitz 2021 (bracketing ε);
Doroshenko et al. 2022 (connect the dots); Alghamdi et al. 2022 (tilting). Proofs: proofs/connect_the_dots.py,
proofs/rounded_test.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from scipy import fft as sfft

from bounds.lattice import EXP_FLOOR, UNIT_ROUNDOFF, LatticeMeasure, Spectrum, coarsen_round, coarsen_up, window
from bounds.pld_discretize import dots, lower_step, upper_step
from bounds.saddle import StepCumulants, minimal_tilt, saddle_tilt

#: window tails: tilted, normalised mass allowed outside a composition window on each side (charged to the
#: error, so any value is sound; 1e-12 gave the same or tighter brackets than 1e-14 and up to 12 % less time)
TAIL_TOLERANCE = 1e-12
#: per-step losses whose total untilted probability over all steps is below this fraction of δ are
#: sent to +inf (upper) or clamped (lower): they cannot move ε but would widen every transform
CUTOFF_FRACTION = 1e-5
#: largest term (relative to the largest) that the suffix sums of ``_log_suffix`` may drop
DROPPED = math.exp(-EXP_FLOOR)
#: a bracket wider than WIDE max(1, upper) is recomputed with a tilt chosen from it (``direction_bracket``)
WIDE = 1e-2
TILT_PASSES = 3


@dataclass(frozen=True)
class Resolution:
    """Accuracy knobs: grid spacing in standard deviations of the unit being composed, and the largest
    transform. The bracket's width scales like ``grid`` squared."""

    grid: float = 0.02
    max_fft: int = 1 << 16

    @property
    def steps_per_fft(self) -> int:
        return max(2, int((self.max_fft * self.grid / 24.0) ** 2))


@dataclass(frozen=True)
class Laws:
    """The three measures carried through a composition (see module doc); ``p`` and ``q`` are None when
    only the upper bound is wanted."""

    upper: LatticeMeasure
    p: LatticeMeasure | None = None
    q: LatticeMeasure | None = None

    @property
    def h(self) -> float:
        return self.upper.h

    def coarsened(self, factor: int) -> "Laws":
        if self.p is None:
            return Laws(coarsen_up(self.upper, factor))
        return Laws(coarsen_up(self.upper, factor), coarsen_round(self.p, factor), coarsen_round(self.q, factor))


@dataclass(frozen=True)
class DirectionBracket:
    """ε bracket of one direction, with the tilt and final grid spacing used."""

    lower: float
    upper: float
    lam: float
    h: float

    @property
    def narrow(self) -> bool:
        """Finite and at most WIDE max(1, upper) wide."""
        width = self.upper - self.lower
        return math.isfinite(width) and width <= WIDE * max(1.0, self.upper)

    def intersected(self, other: "DirectionBracket") -> "DirectionBracket":
        """This bracket narrowed by another certified one of the same direction (tilt and grid kept)."""
        return replace(self, lower=max(self.lower, other.lower), upper=min(self.upper, other.upper))


# ------------------------------------------------------------------------------------------ composition
def _compose_many(units: list[Laws], powers_list: list[list[int]]) -> list[Laws]:
    """For each powers vector, the composition prod_i units_i^{*powers_i}; one forward transform per unit
    and chain serves all of them. The P and Q statistic laws share each window (it defines the statistic)."""
    names = ("upper",) if units[0].p is None else ("upper", "p", "q")
    windows = []
    for powers in powers_list:
        ends = [window([(getattr(law, name), k) for law, k in zip(units, powers) if k], TAIL_TOLERANCE)
                for name in names[:2]]
        windows.append((min(lo for lo, _ in ends), max(hi for _, hi in ends)))
    nfft = sfft.next_fast_len(max(hi - lo for lo, hi in windows), real=True)
    chains = [Spectrum([getattr(law, name) for law in units], nfft) for name in names]
    return [Laws(*(chain.compose(powers, lo, hi, pessimistic=not i) for i, chain in enumerate(chains)))
            for powers, (lo, hi) in zip(powers_list, windows)]


def _coarsening_factor(h: float, spread: float, res: Resolution) -> int:
    """The power of two f with f h closest below res.grid * spread (at least 1)."""
    factor = 1
    while 2 * factor * h <= res.grid * spread:
        factor *= 2
    return factor


def _stage_size(count: int, largest: int) -> int:
    """The largest divisor of count in [largest / 2, largest], else ``largest``: a stage without remainder
    saves the remainder's inverse transforms at the finest grid."""
    sizes = np.arange(largest, largest // 2 - 1, -1)
    divisors = sizes[int(count) % sizes == 0]
    return int(divisors[0]) if divisors.size else largest


def _power(unit: Laws, count: int, spread: float, res: Resolution) -> Laws:
    """The count-fold composition of ``unit``, whose loss has standard deviation ``spread`` (tilted)."""
    leftovers: list[Laws] = []
    while count > res.steps_per_fft:
        k = _stage_size(count, res.steps_per_fft)
        block, rest = divmod(count, k)
        results = _compose_many([unit], [[k]] + ([[rest]] if rest else []))
        unit, spread, count = results[0], spread * math.sqrt(k), block
        factor = _coarsening_factor(unit.h, spread, res)
        unit = unit.coarsened(factor)
        leftovers = [law.coarsened(round(unit.h / law.h)) for law in leftovers + results[1:]]
    return _compose_many([unit] + leftovers, [[count] + [1] * len(leftovers)])[0]


# ------------------------------------------------------------------------------------------------ queries
def _log_suffix(arr: np.ndarray, log_w: np.ndarray, upward: bool) -> np.ndarray:
    """log of a bound on sum_{J >= j} arr_J e^{log_w_J} for every j (0 <= arr <= 1), from above if ``upward``,
    else from below, followed by -inf.

    The terms are scaled by the largest, e^{-top}, and summed from the top in linear space. A recursive sum of
    n nonnegative terms errs by at most γ_n = n u / (1 - n u) of itself (Higham 2002, eq. (4.3)); each term's
    exponent log arr + log_w - top is rounded by at most 4 u b, b = max |log arr| + max |log_w| + |top| + 1,
    and exp and log err by a few ulps, so rel = 16 u (n + b) bounds the relative error. Terms below e^-700
    after scaling are dropped (exp would be slow there), at most n e^-700 in all: the upward bound adds that
    before widening by rel.
    """
    with np.errstate(divide="ignore"):
        log_arr = np.log(arr)
    scaled = log_arr + log_w
    top = float(np.max(scaled))
    if top == -np.inf:
        return np.full(arr.size + 1, -np.inf)
    scaled -= top
    scaled[scaled < -EXP_FLOOR] = -np.inf
    smallest = float(np.min(arr, where=arr > 0, initial=1.0))
    b = -math.log(smallest) + float(np.max(np.abs(log_w))) + abs(top) + 1.0
    rel = 16.0 * UNIT_ROUNDOFF * (arr.size + b)
    sums = np.cumsum(np.exp(scaled)[::-1])[::-1]
    sums = (sums + arr.size * DROPPED) * (1.0 + rel) if upward else sums * (1.0 - rel)
    with np.errstate(divide="ignore"):
        return np.append(np.log(sums) + top, -np.inf)


def epsilon_upper(m: LatticeMeasure, delta: float) -> float:
    """Smallest ε with δ_upper(ε) <= delta for the pessimistic measure m (+inf above the window; the window's
    first loss when the bound already holds there, a valid but loose answer: a tilt that misses ε).

    Between grid points l_{j-1} <= ε < l_j the bound is S1(j) - e^ε S2(j) + err e^{w_j} + inf mass, with
    S1, S2 the suffix sums of m_J and m_J e^{-l_J} from j and w_j the largest tilt weight from j on.
    """
    loss = m.loss
    log_w = m.log_weight(loss)
    s1, s2 = _log_suffix(m.arr, log_w, upward=True), _log_suffix(m.arr, log_w - loss, upward=False)
    log_err = (math.log(m.err) if m.err > 0 else -np.inf) + np.append(log_w, -np.inf)
    with np.errstate(over="ignore", invalid="ignore"):
        meas = np.exp(s1[1:]) * -np.expm1(np.minimum(loss + s2[1:] - s1[1:], 0.0))
        at_grid = np.where(np.isneginf(s1[1:]), 0.0, meas) + np.exp(log_err[1:]) + m.inf_mass
    ok = np.nonzero(at_grid <= delta)[0]
    if ok.size == 0:
        return math.inf
    j = int(ok[0])
    if j == 0:      # the bound holds at the window's first point; below it the err weight grows, so stop there
        eps = float(loss[0])
    else:
        a = math.exp(s1[j]) + math.exp(log_err[j]) + m.inf_mass - delta
        eps = min(max(math.log(a) - s2[j] if a > 0 else loss[j - 1], loss[j - 1]), loss[j])
    return eps + 8 * np.finfo(float).eps * max(1.0, abs(eps))


def epsilon_lower(p: LatticeMeasure, q: LatticeMeasure, delta: float) -> float:
    """max over thresholds t of log(P(S >= t) - δ) - log Q(S >= t), with P lowered and Q raised by their
    err corrections (err times the largest tilt weight at or above t). Q(S >= t) stays in log space: near
    e^{-ε} it is below float64's range once ε exceeds about 745."""
    if p.start != q.start or p.n != q.n or p.h != q.h:
        raise ValueError("P and Q statistic laws must share their window")
    wp, wq = p.log_weight(p.loss), q.log_weight(q.loss)
    sp, sq = _log_suffix(p.arr, wp, upward=False)[:-1], _log_suffix(q.arr, wq, upward=True)[:-1]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        p_low = np.exp(sp) - p.err * np.exp(wp)
        log_q_up = np.logaddexp(sq, math.log(q.err) + wq) if q.err > 0 else sq
        eps = np.log(p_low - delta) - log_q_up
    eps = eps[np.isfinite(eps)]
    if eps.size == 0:
        return -math.inf
    best = float(eps.max())
    return best - 8 * np.finfo(float).eps * max(1.0, abs(best))


# ------------------------------------------------------------------------------------------------ driver
def _untilted_cutoff(pair, budget: float, start: float, rtol: float = 0.01) -> float:
    """A loss x >= start with P(L > x) <= budget, within a factor 1 + rtol of the smallest such x above
    start (+inf when not reached by 1e5). Any such x is valid; a smaller one narrows every transform of a
    heavy-tailed (subsampled) step. P(L > x) decreases in x, so its first value <= budget on the doublings
    x0 2^j, then on a geometric grid of ratio <= 1 + rtol between the last two, is the answer (two
    vectorised evaluations instead of a bisection)."""
    hi_loss = pair.loss_range[1]
    log_budget = math.log(budget)
    if hi_loss < math.inf and pair.log_sf(hi_loss, "P") <= log_budget:
        return hi_loss
    doublings = max(start, 1e-3) * 2.0 ** np.arange(math.ceil(math.log2(2e5 / max(start, 1e-3))) + 1)
    j = _first_within(pair, doublings, log_budget)
    if j is None or doublings[max(j - 1, 0)] > 1e5:
        return math.inf
    if j == 0:
        return float(doublings[0])
    steps = math.ceil(math.log(2.0) / math.log1p(rtol))
    grid = doublings[j - 1] * 2.0 ** (np.arange(1, steps + 1) / steps)
    return float(grid[_first_within(pair, grid, log_budget)])


def _first_within(pair, losses: np.ndarray, log_budget: float) -> int | None:
    """Index of the first loss with log P(L > loss) <= log_budget (None if none); a NaN (the loss overflows
    far beyond any realistic cutoff) counts as not reached, which can only give a larger, still valid x."""
    with np.errstate(invalid="ignore", over="ignore"):
        ok = np.flatnonzero(pair.log_sf(losses, "P") <= log_budget)
    return int(ok[0]) if ok.size else None


def direction_bracket(components, delta: float, res: Resolution = Resolution(),
                      lam: float | None = None, lower: bool = True) -> DirectionBracket:
    """Certified ε bracket for one direction; ``components`` is a tuple of (PrivacyLossPair, count).
    Without ``lower`` only the upper bound is computed (a third of the transforms) and ``lower`` is -inf.

    Without ``lam`` the tilt is chosen from the saddle-point guess of ε. That guess fails where a few rare
    steps decide δ (small q and δ: the forward bracket at σ = 1, q = 1e-3, T = 1e3, δ = 1e-12 was
    [0.40, 1.45]), so a bracket wider than WIDE is recomputed with the tilt chosen from the bracket itself,
    up to TILT_PASSES passes; every pass is a valid bracket, so their intersection is kept."""
    cums = [(StepCumulants(pair, 64.0), n) for pair, n in components]
    if lam is not None:
        return _bracket_at_tilt(components, cums, delta, res, lam, lower)
    lam_s = saddle_tilt(cums, delta, lam_max=60.0)
    if lam_s > 50:
        cums = [(StepCumulants(pair, 4 * lam_s), n) for pair, n in components]
        lam_s = saddle_tilt(cums, delta, lam_max=8 * lam_s)
    guess = sum(n * float(cum(lam_s)[1][0]) for cum, n in cums)
    found = _bracket_at_tilt(components, cums, delta, res, minimal_tilt(cums, guess, lam_s), lower)
    for _ in range(TILT_PASSES - 1):
        if not lower or found.narrow:
            break
        guess = _next_guess(found, guess)
        again = _bracket_at_tilt(components, cums, delta, res, minimal_tilt(cums, guess, cums[0][0].max_tilt), True)
        found = again.intersected(found)
    return found


def _next_guess(found: DirectionBracket, guess: float) -> float:
    """Where to tilt next: the bracket's midpoint, else its lower end (ε is at least that), else further up."""
    if math.isfinite(found.lower) and math.isfinite(found.upper):
        return 0.5 * (found.lower + found.upper)
    if math.isfinite(found.lower) and found.lower > guess:
        return found.lower
    return 2.0 * max(guess, 1e-3)


def _bracket_at_tilt(components, cums, delta: float, res: Resolution, lam: float, lower: bool) -> DirectionBracket:
    """The bracket of one direction with every step tilted by ``lam``."""
    total_steps = sum(n for _, n in components)
    laws = []
    for (cum, n), (pair, _) in zip(cums, components):
        _, mean, var = cum(lam)
        sd = math.sqrt(float(var[0]))
        h = 2.0 ** math.floor(math.log2(res.grid * sd))
        lo_loss, hi_loss = cum.tail_range(lam, nats=40.0)
        hi_loss = min(hi_loss, _untilted_cutoff(pair, CUTOFF_FRACTION * delta / total_steps, 1e-3))
        lo_loss = max(lo_loss, pair.loss_range[0])
        i_lo, i_hi = math.floor(lo_loss / h) - 1, math.ceil(hi_loss / h) + 1
        grid = dots(pair, h, i_lo, i_hi, lam)
        unit = Laws(upper_step(pair, h, grid, lam), *(lower_step(pair, h, grid, lam) if lower else ()))
        laws.append(_power(unit, n, sd, res))
    if len(laws) > 1:
        h = max(law.h for law in laws)
        total = _compose_many([law.coarsened(round(h / law.h)) for law in laws], [[1] * len(laws)])[0]
    else:
        total = laws[0]
    return DirectionBracket(epsilon_lower(total.p, total.q, delta) if lower else -math.inf,
                            epsilon_upper(total.upper, delta), lam, total.h)
