"""Measures on a lattice of losses, stored exponentially tilted, and their certified composition.

A ``LatticeMeasure`` holds masses m_I at the losses l_I = I h, I = start, ..., start + n - 1, as
    m_I = arr[I - start] * exp(log_z - lam * l_I),
so ``arr`` is the measure tilted by e^{lam * loss} and normalised to total mass one. Tilting keeps full
relative precision where the tilt puts the mass, however small the untilted masses are (exponential
tilting, as in the saddle-point accountant of Alghamdi et al. 2022): this is what lets float64 reach δ = 1e-18.

Every measure stands for an *ideal* measure that the algorithm defines in exact arithmetic (losses clamped
into the window at each composition; with ``pessimistic``, the mass above the window sent to +inf instead).
``err`` bounds the l1 distance between ``arr`` and the ideal's tilted masses, so anything computed from
``arr`` can be corrected by it; clipping ``arr`` at zero never increases that distance. ``inf_mass`` is
untilted mass at loss +inf.

Composition multiplies discrete Fourier transforms on a window of N points; three errors are charged:
- inputs: ||x^{*n} - y^{*n}||_1 <= (1 + ||x - y||_1)^n - 1 when ||y||_1 = 1 (Young's inequality);
- wrap-around: the output's ideal is the composition of the *stored* inputs, clamped into the window, so the
  charge is the stored composition's mass outside the window, bounded by Chernoff (``tail_mass``); the gap
  between stored and ideal inputs is the Young term above, and l1 distances add along the chain;
- rounding: each transform has relative l2 error at most rho = 10 u log2 N (Higham 2002, Thm. 24.2, with a
  factor-2 margin), propagated through the elementwise powers (``rounding_error``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy import fft as sfft

UNIT_ROUNDOFF = np.finfo(float).eps / 2
#: log2 of the smallest product the spectral powers may reach (see ``rounding_error``)
LOG2_FLOOR = -960.0
#: Chernoff exponents θ (index units) lie on the grid 2^{j/THETA_STEPS}, j integer, within THETA_OCTAVES
#: octaves of 1 / sd (sd of the composition; the Gaussian optimum at tail 1e-12 is near 7 / sd, heavier tails
#: want a smaller θ, and a heavy tail's optimum is sharp: a step of 2^{1/2} cost 20 % of a window's width).
#: Any θ > 0 gives a valid bound, so the grid only trades width for work. Each measure caches its log-mgf per
#: grid point, so the many windows and tail bounds of one composition share the work.
THETA_STEPS = 8
THETA_OCTAVES = (-8, 6)
#: largest block, in standard deviations of the measure, that ``log_mgf`` sums before exponentiating
MGF_BLOCK_SDS = 1 / 64
#: exponents relative to a sum's largest term are raised to at least -EXP_FLOOR before exp (in ``log_mgf`` an
#: upper bound stays one; bounds/saddle.py and bounds/pld.py use it too): e^-700 cannot change a sum whose
#: largest term is 1, and numpy's exp is many times slower on subnormal results
EXP_FLOOR = 700.0


@dataclass(frozen=True)
class LatticeMeasure:
    """Masses arr[i] exp(log_z - lam l) at losses l = (start + i) h (see the module doc)."""

    arr: np.ndarray
    start: int
    h: float
    lam: float
    log_z: float
    err: float = 0.0
    inf_mass: float = 0.0

    @property
    def n(self) -> int:
        return int(self.arr.size)

    @property
    def index(self) -> np.ndarray:
        return self.start + np.arange(self.n)

    @property
    def loss(self) -> np.ndarray:
        return self.index * self.h

    def log_weight(self, loss):
        """log of the factor turning tilted into untilted mass at the given losses."""
        return self.log_z - self.lam * np.asarray(loss, dtype=float)

    @cached_property
    def moments(self) -> tuple[float, float]:
        """Mean (absolute index) and variance (index units) of the tilted measure."""
        idx = np.arange(self.n, dtype=float)      # elementwise sums, not BLAS: no thread wake-ups
        mean = float((self.arr * idx).sum())
        var = float((self.arr * (idx - mean) ** 2).sum())
        return self.start + mean, max(var, 1e-12)

    def log_mgf(self, sign: float, js) -> np.ndarray:
        """An upper bound on log sum_i arr_i e^{sign θ_j (I_i - mean)} for θ_j = 2^{j/THETA_STEPS}, j in ``js``
        (the stored measure, not its ideal: see ``Spectrum.compose`` for why the wrap-around charge needs only
        the stored one). Cells are summed in blocks of MGF_BLOCK_SDS sd or less, each block's mass placed at
        its end in the direction of sign: this raises log M(θ) by at most θ (block - 1), so a Chernoff window
        grows by at most block - 1 points per side, and the work drops by the block size."""
        cache = self.__dict__.setdefault("_log_mgf_cache", {})
        missing = [j for j in js if (sign, j) not in cache]
        if missing:
            theta = sign * 2.0 ** (np.array(missing, dtype=float) / THETA_STEPS)
            offset, mass = self._mgf_blocks(sign)
            # Only blocks with mass: the largest exponent sits at the first or last of them, so the shifted sum
            # is >= that mass and cannot underflow to zero (log M = -inf would be an unsound tail bound).
            top = np.maximum(theta * offset[0], theta * offset[-1])   # the exponent is monotone in the index
            x = np.multiply.outer(theta, offset)
            x -= top[:, None]
            np.maximum(x, -EXP_FLOOR, out=x)      # raising terms keeps the bound valid; exp is slow on subnormals
            np.exp(x, out=x)
            x *= mass
            values = top + np.log(x.sum(axis=1))
            cache.update({(sign, j): v for j, v in zip(missing, values)})
        return np.array([cache[(sign, j)] for j in js])

    @cached_property
    def mgf_block(self) -> int:
        """Block size of ``log_mgf``: the largest power of two within MGF_BLOCK_SDS standard deviations."""
        return 1 << max(0, int(math.log2(MGF_BLOCK_SDS * math.sqrt(self.moments[1]))))

    @cached_property
    def _mgf_block_starts(self) -> tuple[np.ndarray, np.ndarray]:
        """Offsets from the mean of the first index, and masses, of the non-empty blocks of ``log_mgf``."""
        block = self.mgf_block
        mass = np.concatenate([self.arr, np.zeros(-self.n % block)]).reshape(-1, block).sum(axis=1)
        nonzero = np.flatnonzero(mass)
        return self.start + nonzero * block - self.moments[0], mass[nonzero]

    def _mgf_blocks(self, sign: float) -> tuple[np.ndarray, np.ndarray]:
        """Offsets (the block's last index for sign > 0, its first otherwise) and masses of the blocks."""
        first, mass = self._mgf_block_starts
        return (first + (self.mgf_block - 1) if sign > 0 else first), mass

    def normalised(self) -> "LatticeMeasure":
        """Rescale arr to total mass one (log_z and err follow)."""
        total = float(self.arr.sum())
        if not total > 0:
            raise FloatingPointError("the lattice measure lost all its mass")
        return replace(self, arr=self.arr / total, log_z=self.log_z + math.log(total), err=self.err / total)


# ------------------------------------------------------------------------------------------- tails
def _centre_var(parts) -> tuple[float, float]:
    return (sum(k * m.moments[0] for m, k in parts), sum(k * m.moments[1] for m, k in parts))


def _chernoff_min(parts, sign: float, objective) -> float:
    """min over grid θ > 0 of objective(θ, sum_k n_k log M_k(sign θ)) (log-mgfs of the centred composition).

    Both objectives used here are quasiconvex in θ (a convex function of θ, or one divided by θ with a
    positive value at 0, whose sublevel sets are intervals), so a pattern search finds the grid minimum:
    steps of an octave, then halved, moving while a neighbour is lower, about ten evaluations in all."""
    _, var = _centre_var(parts)
    j_sd = -round(THETA_STEPS * 0.5 * math.log2(var))     # θ ~ 1/sd
    lo, hi = j_sd + THETA_STEPS * THETA_OCTAVES[0], j_sd + THETA_STEPS * THETA_OCTAVES[1]

    def value(js):
        thetas = 2.0 ** (np.array(js, dtype=float) / THETA_STEPS)
        return objective(thetas, sum(k * m.log_mgf(sign, js) for m, k in parts))

    best = min(j_sd + 3 * THETA_STEPS, hi)
    low = float(value([best])[0])
    step = THETA_STEPS
    while step:
        nearby = [j for j in (best - step, best + step) if lo <= j <= hi]
        values = value(nearby)
        i = int(np.argmin(values))
        if values[i] < low:
            best, low = nearby[i], float(values[i])
        else:
            step //= 2
    return low


def tail_mass(parts, lo: int, hi: int) -> tuple[float, float]:
    """Chernoff bounds on the stored measures' composition's tilted mass below index ``lo`` and at or above ``hi``.

    For S the sum of n_k copies of each part and c the sum of their means,
    P(S >= c + a) <= exp(sum n_k log M_k(θ) - θ a) for θ > 0, and likewise below with θ < 0 (Chernoff 1952).
    """
    centre, _ = _centre_var(parts)
    out = []
    for reach, sign in ((centre - (lo - 1), -1.0), (hi - centre, 1.0)):
        if reach <= 0:
            out.append(1.0)
            continue
        log_bound = _chernoff_min(parts, sign, lambda theta, log_m: log_m - theta * reach)
        out.append(math.exp(min(0.0, log_bound)))
    return out[0], out[1]


def window(parts, tol: float) -> tuple[int, int]:
    """The narrowest index window [lo, hi) whose Chernoff tail bounds (grid θ) are at most ``tol`` per side:
    reach a = min_θ (sum n_k log M_k(θ) - log tol) / θ on each side of the centre."""
    centre, _ = _centre_var(parts)
    reach = [_chernoff_min(parts, sign, lambda theta, log_m: (log_m - math.log(tol)) / theta)
             for sign in (-1.0, 1.0)]
    return math.floor(centre - reach[0]), math.ceil(centre + reach[1]) + 1


# ------------------------------------------------------------------------------------------- transforms
def rounding_error(norms, powers, nfft: int) -> float:
    """l1 bound on fl(irfft(prod rfft(a_k)^{n_k})) minus the exact circular convolution of the a_k.

    The inputs are nonnegative with ||a_k||_1 = 1, so |F a_k| <= 1. Forward transforms err by
    ||E_k||_2 <= rho sqrt(N) ||a_k||_2; raising to powers multiplies that by at most n_k G with
    G = exp(sum n_k rho sqrt(N) ||a_k||_2). The powers and their product are taken by binary powering
    (``_spectral_product``): s - 1 complex products counted with multiplicity (s = sum n_k), each with
    relative error at most sqrt(2) gamma_2 < 3u (Higham 2002, Lemma 3.5; |xy| = |x| |y|), so a relative
    error at most (1 + 3u)^{s-1} - 1 <= 2u(pi + 2) s / (1 - 2u(pi + 2) s). That lemma needs products in the
    normal range: entries whose power would fall below the floor F = 2^{-960/P} (P factors) are zeroed
    first, an absolute error at most 2F per factor and entry, and every product of the others is >= 2^-960.
    The exact result has ||y||_2 <= nu = min_k ||a_k||_2 (Young), so
        ||y~ - y||_2 <= (1 + rho) (G s rho max_k ||a_k||_2 + 2u(pi + 2) s nu) / (1 - 2u(pi + 2) s)
                        + rho nu + sqrt(N) 2 P F,
    and the l1 error is at most sqrt(N) times that.
    """
    rho = 10.0 * UNIT_ROUNDOFF * max(1.0, math.log2(nfft))
    root = math.sqrt(nfft)
    s = sum(powers)
    grow = math.exp(sum(k * rho * root * a2 for a2, k in zip(norms, powers)))
    power = 2.0 * UNIT_ROUNDOFF * (math.pi + 2.0) * s
    if power >= 0.5:
        raise FloatingPointError("too many compositions in one transform for a rounding bound")
    spectral = (1.0 + rho) * (grow * s * rho * max(norms) + power * min(norms)) / (1.0 - power)
    factors = len(powers)
    return root * (spectral + rho * min(norms) + root * 2.0 * factors * 2.0 ** (LOG2_FLOOR / factors))


def _spectral_product(spectra, powers) -> np.ndarray:
    """prod_k spectra_k ** powers_k by binary powering (square and multiply), one complex product at a time,
    after zeroing the entries whose power would fall below the floor (no product is then subnormal, which
    would also be slow); the error analysis is in ``rounding_error``. ``spectra`` are left untouched."""
    factors = [(z, k) for z, k in zip(spectra, powers) if k]
    out = None
    for z, k in factors:
        floor_sq = 2.0 ** (2.0 * LOG2_FLOOR / (len(factors) * k))     # |z|^k < F  <=>  |z|^2 < F^{2/k}
        z = np.where(z.real ** 2 + z.imag ** 2 < floor_sq, 0.0, z)    # a fresh array: squared in place
        while k:
            if k & 1:
                out = z.copy() if out is None else np.multiply(out, z, out=out)
            k >>= 1
            if k:
                np.multiply(z, z, out=z)
    return out


class Spectrum:
    """The transforms of a few measures on one FFT length, reused for several powers and windows."""

    def __init__(self, measures, nfft: int):
        self.measures, self.nfft = measures, nfft
        self.spectra = []
        for m in measures:
            folded = np.zeros(nfft)                # arr placed at its indices mod N, wrapped parts summed
            done, pos = 0, m.start % nfft
            while done < m.n:
                take = min(m.n - done, nfft - pos)
                folded[pos:pos + take] += m.arr[done:done + take]
                done, pos = done + take, 0
            self.spectra.append(sfft.rfft(folded, workers=-1))

    def compose(self, powers, lo: int, hi: int, *, pessimistic: bool) -> LatticeMeasure:
        """prod_k measure_k^{*powers_k} on the window [lo, hi) (hi - lo <= N), normalised.

        The ideal result clamps the composed loss into the window; with ``pessimistic`` the mass above the
        window goes to +inf instead (an upper-bounding measure), and its untilted size, bounded by the
        Chernoff tail times the largest tilt weight above the window (lam >= 0), is added to ``inf_mass``.
        """
        parts = [(m, k) for m, k in zip(self.measures, powers) if k]
        m0 = parts[0][0]
        if any(m.h != m0.h or m.lam != m0.lam for m, _ in parts):
            raise ValueError("composed measures must share grid spacing and tilt")
        if pessimistic and m0.lam < 0:
            raise ValueError("pessimistic composition needs a nonnegative tilt")
        width = hi - lo
        if width > self.nfft:
            raise ValueError("window wider than the transform")
        spectrum = _spectral_product(self.spectra, powers)
        full = sfft.irfft(spectrum, self.nfft, workers=-1)
        first = lo % self.nfft                     # the window [lo, hi) read circularly
        out = (full[first:first + width] if first + width <= self.nfft
               else np.concatenate([full[first:], full[:first + width - self.nfft]]))
        below, above = tail_mass(parts, lo, hi)
        log_z = sum(k * m.log_z for m, k in parts)
        inf_mass = 1.0 - math.prod((1.0 - m.inf_mass) ** k for m, k in parts)
        if pessimistic and above > 0:
            log_top = math.log(above) + log_z - m0.lam * hi * m0.h
            inf_mass = 1.0 if log_top >= 0 else min(1.0, inf_mass + math.exp(log_top))
        err = (math.prod((1.0 + m.err) ** k for m, k in parts) - 1.0 + below + above
               + rounding_error([math.sqrt(float((m.arr * m.arr).sum())) for m, _ in parts], [k for _, k in parts],
                                self.nfft))
        return LatticeMeasure(np.maximum(out, 0.0, out=out), lo, m0.h, m0.lam, log_z, err, inf_mass).normalised()


# ------------------------------------------------------------------------------------------- coarsening
def _blocks(m: LatticeMeasure, factor: int):
    """arr reshaped into rows of ``factor`` fine points, one row per coarse cell [J f, (J + 1) f)."""
    lo = math.floor(m.start / factor)
    pad = m.start - lo * factor
    cells = -(-(pad + m.n) // factor)
    a = np.zeros(cells * factor)
    a[pad:pad + m.n] = m.arr
    return lo, a.reshape(cells, factor)


def coarsen_up(m: LatticeMeasure, factor: int) -> LatticeMeasure:
    """Connect the dots onto spacing factor * h (Doroshenko et al. 2022): a mass at loss l with coarse
    neighbours a <= l < b goes to a with weight (e^{b-l} - 1)/(e^{b-a} - 1) and to b with the rest, a
    mean-preserving spread of e^{-L}, so the hockey-stick curve can only grow (proofs/connect_the_dots.py)."""
    if factor == 1:
        return m
    lo, a = _blocks(m, factor)
    r = np.arange(factor, dtype=float) * m.h   # position of each fine point above its coarse cell start
    big = factor * m.h
    # tilted weights: the split weight times e^{lam (coarse loss - fine loss)}
    w_lo = np.expm1(big - r) / math.expm1(big) * np.exp(-m.lam * r)
    w_hi = -np.expm1(-r) * math.exp(big) / math.expm1(big) * np.exp(m.lam * (big - r))
    out = np.zeros(a.shape[0] + 1)
    out[:-1] += (a * w_lo).sum(axis=1)
    out[1:] += (a * w_hi).sum(axis=1)
    gain = float(np.max(w_lo + w_hi))
    return replace(m, arr=out, start=lo, h=big, err=m.err * gain).normalised()


def coarsen_round(m: LatticeMeasure, factor: int) -> LatticeMeasure:
    """Round each loss to the nearest point of the lattice of spacing factor * h (ties up).

    Applied to the laws under P and under Q of a statistic, this is the law of a deterministic function of
    it, so every test built on the new statistic is still a test between the composed P and Q."""
    if factor == 1:
        return m
    half = factor // 2
    lo, a = _blocks(replace(m, start=m.start + half), factor)   # row J: fine losses (J f - half + r) h
    r = (np.arange(factor, dtype=float) - half) * m.h            # fine loss minus the nearest coarse point
    w = np.exp(-m.lam * r)                                       # tilt moves from the fine to the coarse loss
    return replace(m, arr=(a * w).sum(axis=1), start=lo, h=factor * m.h, err=m.err * float(w.max())).normalised()
