"""Cumulants of the privacy loss and the saddle point that tells the accountant where to look.

For L ~ P one step of a pair, K(λ) = log E_P[e^{λL}] = λ D_{λ+1}(P || Q) (the Rényi divergence); the composed
loss S of n_i steps of each pair has K_S = sum n_i K_i. Tilting by e^{λ s} centres S at K_S'(λ), and the
saddle-point approximation of δ(ε) = E_P[(1 - e^{ε - S})_+] at ε = K_S'(λ) is
    δ ≈ exp(K_S(λ) - λ K_S'(λ)) / (λ (λ + 1) sqrt(2π K_S''(λ)))
(Alghamdi, Asoodeh, Calmon et al. 2022). It is used only to choose the tilt and the grid: the bounds
themselves come from bounds/lattice.py and bounds/pld_discretize.py, whatever tilt is chosen.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

from bounds.lattice import EXP_FLOOR


class StepCumulants:
    """K(λ), K'(λ), K''(λ) of one step's loss under P, from the pair's quadrature nodes."""

    def __init__(self, pair, max_tilt: float):
        self.pair = pair
        self.max_tilt = max_tilt
        self.loss, self.log_w = pair.loss_nodes(max_tilt)
        finite = np.isfinite(self.loss) & np.isfinite(self.log_w)
        self.loss, self.log_w = self.loss[finite], self.log_w[finite]

    def __call__(self, lam):
        """(K, K', K'') at each tilt in ``lam`` (array)."""
        lam = np.atleast_1d(np.asarray(lam, dtype=float))
        x = self.log_w[None, :] + lam[:, None] * self.loss[None, :]
        top = x.max(axis=1)
        w = np.exp(np.maximum(x - top[:, None], -EXP_FLOOR))   # no subnormal results (slow), no change in the sums
        total = w.sum(axis=1)
        k = top + np.log(total)
        w /= total[:, None]
        mean = (w * self.loss).sum(axis=1)
        var = np.maximum((w * self.loss ** 2).sum(axis=1) - mean ** 2, 0.0)
        return k, mean, var

    def tail_range(self, lam: float, nats: float = 60.0) -> tuple[float, float]:
        """Losses beyond which the tilted one-step law has mass below e^{-nats} on each side (approximate)."""
        x = self.log_w + lam * self.loss
        order = np.argsort(self.loss)
        w = np.exp(np.maximum(x[order] - x.max(), -EXP_FLOOR))
        cum, rev = np.cumsum(w), np.cumsum(w[::-1])[::-1]     # partial sums of positive terms: relatively exact
        sorted_loss = self.loss[order]
        lo_ok = np.nonzero(cum > math.exp(-nats) * cum[-1])[0]
        hi_ok = np.nonzero(rev > math.exp(-nats) * cum[-1])[0]
        return float(sorted_loss[lo_ok[0]]), float(sorted_loss[hi_ok[-1]])


def saddle_tilt(components, delta: float, lam_max: float = 2048.0) -> float:
    """The tilt λ > 0 at which the saddle-point approximation of δ(ε = K_S'(λ)) equals ``delta``.

    ``components`` is a list of (StepCumulants, count). Located on a log grid of λ, interpolated.
    """
    def log_delta(lam):
        k, k1, k2 = 0.0, 0.0, 0.0
        for cum, n in components:
            a, b, c = cum(lam)
            k, k1, k2 = k + n * a, k1 + n * b, k2 + n * c
        return k - lam * k1 - np.log(lam * (lam + 1.0)) - 0.5 * np.log(2 * math.pi * np.maximum(k2, 1e-300))

    target = math.log(delta)
    grid = np.geomspace(1e-4, lam_max, 80)
    j = _first(grid, lambda lam: log_delta(lam) <= target)
    if j == grid.size:
        return float(grid[-1])
    if j == 0:
        return float(grid[0])
    # interpolate log δ linearly in log λ between the bracketing grid points
    vals = log_delta(grid[j - 1:j + 1])
    frac = (vals[0] - target) / (vals[0] - vals[1])
    return float(math.exp(math.log(grid[j - 1]) + frac * (math.log(grid[j]) - math.log(grid[j - 1]))))


def minimal_tilt(components, eps_guess: float, lam_max: float, lift: float = 1e-2) -> float:
    """The smallest λ in [0, lam_max] whose tilted law puts (Gaussian-approximately) at least ``lift`` of
    its mass beyond ``eps_guess``.

    A measure tilted just enough keeps the region that decides δ(ε) far above the rounding noise of the
    FFT (about 1e-13 of the total mass) without magnifying far-away rare events, which a full saddle-point
    tilt of a subsampled mechanism does (it would need much wider transforms).
    """
    def lifted(lam):
        mean, var = 0.0, 0.0
        for cum, n in components:
            _, m1, m2 = cum(lam)
            mean, var = mean + n * m1, var + n * m2
        return special.log_ndtr(-(eps_guess - mean) / np.sqrt(np.maximum(var, 1e-300))) >= math.log(lift)

    grid = np.linspace(0.0, lam_max, 65)
    j = _first(grid, lifted)
    return float(grid[j]) if j < grid.size else float(lam_max)


def _first(grid: np.ndarray, test, stride: int = 8) -> int:
    """Index of the first grid point where the vectorised ``test`` holds (grid.size if none), assuming it
    holds from some point on: tested on every stride-th point, then inside the one stride that changes."""
    coarse = np.append(test(grid[::stride]), True)
    c = int(np.argmax(coarse))
    if c == 0:
        return 0
    lo = (c - 1) * stride + 1
    fine = np.append(test(grid[lo:min(c * stride, grid.size)]), True)
    return lo + int(np.argmax(fine))
