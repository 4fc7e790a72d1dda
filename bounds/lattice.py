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
#: Chernoff exponents θ (index units) are tried on the grid 2^{j/2}, j integer, from a heavy tail's scale
#: (2^-16 / sd) up to a light one's (2^3 / sd); any θ > 0 gives a valid bound. Each measure caches its
#: log-mgf per grid point, so the many windows and tail bounds of one composition share the work.
THETA_SPAN = (-32, 7)


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
        idx = np.arange(self.n, dtype=float)
        mean = float(np.dot(self.arr, idx))
        var = float(np.dot(self.arr, (idx - mean) ** 2))
        return self.start + mean, max(var, 1e-12)

    def log_mgf(self, sign: float, js: range) -> np.ndarray:
        """log sum_i arr_i e^{sign θ_j (I_i - mean)} for θ_j = 2^{j/2}, j in ``js`` (the stored measure, not
        its ideal: see ``Spectrum.compose`` for why the wrap-around charge needs only the stored one)."""
        cache = self.__dict__.setdefault("_log_mgf_cache", {})
        missing = [j for j in js if (sign, j) not in cache]
        if missing:
            theta = sign * 2.0 ** (np.array(missing, dtype=float) / 2)
            # Only the span between the first and last non-empty cells: there the largest exponent sits at
            # an end, which carries mass, so the shifted sum is >= that mass and cannot underflow to zero
            # (log M = -inf would be an unsound tail bound); empty cells outside could overflow 0 * inf.
            nonzero = np.flatnonzero(self.arr)
            span = slice(nonzero[0], nonzero[-1] + 1)
            x = np.multiply.outer(theta, self.index[span] - self.moments[0])
            top = x.max(axis=1)
            values = top + np.log(np.exp(x - top[:, None]) @ self.arr[span])
            cache.update({(sign, j): v for j, v in zip(missing, values)})
        return np.array([cache[(sign, j)] for j in js])

    def normalised(self) -> "LatticeMeasure":
        """Rescale arr to total mass one (log_z and err follow)."""
        total = float(self.arr.sum())
        if not total > 0:
            raise FloatingPointError("the lattice measure lost all its mass")
        return replace(self, arr=self.arr / total, log_z=self.log_z + math.log(total), err=self.err / total)


# ------------------------------------------------------------------------------------------- tails
def _centre_var(parts) -> tuple[float, float]:
    return (sum(k * m.moments[0] for m, k in parts), sum(k * m.moments[1] for m, k in parts))


def _log_mgf_grid(parts, sign: float) -> tuple[np.ndarray, np.ndarray]:
    """θ > 0 on the grid and sum_k n_k log M_k(sign θ) of the centred composition."""
    _, var = _centre_var(parts)
    j0 = -round(math.log2(var))      # 2^{j0/2} ~ 1/sd
    js = range(j0 + THETA_SPAN[0], j0 + THETA_SPAN[1] + 1)
    return 2.0 ** (np.array(js, dtype=float) / 2), sum(k * m.log_mgf(sign, js) for m, k in parts)


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
        thetas, log_m = _log_mgf_grid(parts, sign)
        out.append(math.exp(min(0.0, float(np.min(log_m - thetas * reach)))))
    return out[0], out[1]


def window(parts, tol: float) -> tuple[int, int]:
    """The narrowest index window [lo, hi) whose Chernoff tail bounds (grid θ) are at most ``tol`` per side:
    reach a = min_θ (sum n_k log M_k(θ) - log tol) / θ on each side of the centre."""
    centre, _ = _centre_var(parts)
    reach = []
    for sign in (-1.0, 1.0):
        thetas, log_m = _log_mgf_grid(parts, sign)
        reach.append(float(np.min((log_m - math.log(tol)) / thetas)))
    return math.floor(centre - reach[0]), math.ceil(centre + reach[1]) + 1


# ------------------------------------------------------------------------------------------- transforms
def rounding_error(norms, powers, nfft: int) -> float:
    """l1 bound on fl(irfft(prod rfft(a_k)^{n_k})) minus the exact circular convolution of the a_k.

    The inputs are nonnegative with ||a_k||_1 = 1, so |F a_k| <= 1. Forward transforms err by
    ||E_k||_2 <= rho sqrt(N) ||a_k||_2; raising to powers multiplies that by at most n_k G with
    G = exp(sum n_k rho sqrt(N) ||a_k||_2), and the powers themselves add a relative error of at most
    2u(pi + 2) s (s = sum n_k). The exact result has ||y||_2 <= nu = min_k ||a_k||_2 (Young), so
        ||y~ - y||_2 <= (1 + rho) (G s rho max_k ||a_k||_2 + 2u(pi + 2) s nu) / (1 - 2u(pi + 2) s) + rho nu,
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
    return root * (spectral + rho * min(norms))


class Spectrum:
    """The transforms of a few measures on one FFT length, reused for several powers and windows."""

    def __init__(self, measures, nfft: int):
        self.measures, self.nfft = measures, nfft
        self.spectra = []
        for m in measures:
            folded = np.zeros(nfft)
            np.add.at(folded, np.mod(m.index, nfft), m.arr)
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
        spectrum = 1.0
        for s, k in zip(self.spectra, powers):
            if k:
                spectrum = spectrum * s ** k
        out = np.roll(sfft.irfft(spectrum, self.nfft, workers=-1), -(lo % self.nfft))[:width]
        below, above = tail_mass(parts, lo, hi)
        log_z = sum(k * m.log_z for m, k in parts)
        inf_mass = 1.0 - math.prod((1.0 - m.inf_mass) ** k for m, k in parts)
        if pessimistic and above > 0:
            log_top = math.log(above) + log_z - m0.lam * hi * m0.h
            inf_mass = 1.0 if log_top >= 0 else min(1.0, inf_mass + math.exp(log_top))
        err = (math.prod((1.0 + m.err) ** k for m, k in parts) - 1.0 + below + above
               + rounding_error([float(np.linalg.norm(m.arr)) for m, _ in parts], [k for _, k in parts],
                                self.nfft))
        return LatticeMeasure(np.clip(out, 0.0, None), lo, m0.h, m0.lam, log_z, err, inf_mass).normalised()


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
    out[:-1] += a @ w_lo
    out[1:] += a @ w_hi
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
    return replace(m, arr=a @ w, start=lo, h=factor * m.h, err=m.err * float(w.max())).normalised()
