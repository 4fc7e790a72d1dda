"""ε after every step of a DP-SGD run, for training logs: a certified bracket per step in one pass.

ε(δ) is non-decreasing in the number of steps (the first t steps are a post-processing of the first t + 1),
so PLD brackets at a few checkpoints c_1 < ... < c_m = T bound every step between them:
    lower(t) = lower(c_i) for the last c_i <= t,   upper(t) = min(RDP(t), upper(c_j)) for the first c_j >= t.
The RDP bound at every t comes from one pass over a grid of orders: t ε_1(α) converted (bounds/rdp.py).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bounds.accountant import EpsilonBracket, dpsgd_arguments, dpsgd_epsilon
from bounds.rdp import ALPHA_MINUS_ONE, convert
from mechanisms import Gaussian, PoissonSampled
from mechanisms.validate import integer, probability

#: RDP is evaluated for this many steps at a time (memory: chunk x orders floats)
CHUNK = 1 << 16


@dataclass(frozen=True)
class Trajectory:
    """Per-step bracket: ``lower[t-1] <= ε after t steps <= upper[t-1]``; the PLD brackets at ``checkpoints``."""

    lower: np.ndarray
    upper: np.ndarray
    checkpoints: tuple[int, ...]
    brackets: tuple[EpsilonBracket, ...]


def default_checkpoints(steps: int, count: int = 8) -> tuple[int, ...]:
    """About ``count`` geometrically spaced steps ending at ``steps``."""
    return tuple(sorted(set(np.unique(np.geomspace(1, steps, count).round().astype(int)).tolist())))


def rdp_per_step(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> np.ndarray:
    """The RDP (improved conversion) bound after each step 1..steps, minimised over a grid of orders."""
    alphas = 1.0 + ALPHA_MINUS_ONE
    one = PoissonSampled(Gaussian(noise_multiplier), sample_rate).rdp(alphas)
    out = np.empty(steps)
    for start in range(0, steps, CHUNK):
        t = np.arange(start + 1, min(start + CHUNK, steps) + 1, dtype=float)
        out[start:start + t.size] = convert(np.outer(t, one), alphas, delta).min(axis=1)
    return np.maximum(out, 0.0)


def epsilon_trajectory(noise_multiplier: float, sample_rate: float, steps: int, delta: float,
                       checkpoints=None) -> Trajectory:
    """Certified ε bracket after every step t = 1..steps of DP-SGD (see the module doc)."""
    sigma, q, steps = dpsgd_arguments(noise_multiplier, sample_rate, steps)
    delta = probability("delta", delta, zero=False, one=False)
    points = default_checkpoints(steps) if checkpoints is None else tuple(
        sorted({integer("checkpoints", c, minimum=1) for c in checkpoints} | {steps}))
    if points[-1] > steps:
        raise ValueError(f"checkpoints must be <= steps = {steps}, got {points[-1]}")
    brackets = tuple(dpsgd_epsilon(sigma, q, c, delta) for c in points)
    t = np.arange(1, steps + 1)
    where = np.searchsorted(points, t)                     # first checkpoint >= t
    upper = np.minimum(rdp_per_step(sigma, q, steps, delta), np.array([b.upper for b in brackets])[where])
    last = np.searchsorted(points, t, side="right") - 1    # last checkpoint <= t (-1: none)
    lows = np.array([0.0] + [b.lower for b in brackets])
    return Trajectory(lows[last + 1], upper, points, brackets)
