"""Calibration: the DP-SGD parameter that meets a target (ε, δ), with the certified upper bound ε <= target.

The noise multiplier σ is the smallest, the sample rate q and the number of steps T the largest, whose
certified upper bound (bounds/accountant.py) is at most the target; ε is monotone in each (decreasing in σ,
increasing in q and T), so a bracket [unsafe, safe] is shrunk by the Illinois variant of regula falsi
(Dowell & Jarratt 1971) and the *safe* end returned. A first pass at coarse resolution finds the
neighbourhood cheaply; the second, at full resolution, certifies the answer: one full-resolution value at
the coarse answer and the coarse slope predict where the full-resolution bound crosses the target, and the
bracket is sought from there in steps of the final tolerance, so that it usually takes three evaluations.
No value is computed twice. The start comes from the CLT μ-GDP approximation (bounds/gdp.py); it and the
prediction only steer the search: whatever they are, the answer is the safe end of a bracket whose ends
were both evaluated at full resolution.
"""
from __future__ import annotations

import math
from typing import Callable

from bounds.accountant import dpsgd_epsilon
from bounds.pld import Resolution
from mechanisms import gdp_epsilon
from mechanisms.validate import integer, positive, probability

#: relative precision of the returned noise multiplier or sample rate
RTOL = 1e-5
COARSE = Resolution(grid=0.08)


def _shrink(excess: Callable[[float], float], safe: float, unsafe: float, rtol: float,
            whole: bool) -> tuple[float, float]:
    """(safe, unsafe) after shrinking [unsafe, safe] to relative width rtol (or to neighbours if whole)."""
    f_safe, f_unsafe = excess(safe), excess(unsafe)
    side = 0
    while abs(safe - unsafe) > (1.0 if whole else rtol * abs(safe)):
        x = safe - f_safe * (safe - unsafe) / (f_safe - f_unsafe)   # regula falsi
        width = abs(safe - unsafe)
        # stay strictly inside, at least a small step away from either end
        x = min(max(x, min(safe, unsafe) + 0.01 * width), max(safe, unsafe) - 0.01 * width)
        if whole:
            x = round(x)
            if x in (safe, unsafe):
                x = (safe + unsafe) // 2 if abs(safe - unsafe) > 1 else safe
        fx = excess(x)
        if fx <= 0:
            safe, f_safe = x, fx
            f_unsafe = f_unsafe / 2 if side == -1 else f_unsafe   # Illinois: halve the stale end
            side = -1
        else:
            unsafe, f_unsafe = x, fx
            f_safe = f_safe / 2 if side == 1 else f_safe
            side = 1
    return safe, unsafe


def _bracket(excess: Callable[[float], float], start: float, step: float, safer: float,
             limit: tuple[float, float], whole: bool) -> tuple[float, float]:
    """Walk from ``start`` by factors step, 2 step, ... (towards safety when excess > 0) until the sign
    changes; returns (safe, unsafe). ``safer`` is +1 when larger values are safer, -1 otherwise."""
    x, fx = start, excess(start)
    direction = safer if fx > 0 else -safer
    factor = 1.0 + step
    while True:
        y = x * factor ** direction
        y = min(max(y, limit[0]), limit[1])
        if whole:
            y = round(y) if round(y) != x else x + direction
        fy = excess(y)
        if (fy > 0) != (fx > 0):
            return (y, x) if fy <= 0 else (x, y)
        if y in limit:
            raise ValueError("no value in the allowed range meets the target: "
                             f"the bound at the end of the range is {fy:+.3g} from it")
        x, fx, factor = y, fy, factor ** 2


def _memo(f: Callable[[float], float]) -> Callable[[float], float]:
    values: dict[float, float] = {}
    return lambda x: values[x] if x in values else values.setdefault(x, f(x))


def _calibrate(excess_at: Callable[[float, Resolution], float], start: float, safer: float,
               limit: tuple[float, float], whole: bool) -> float:
    coarse_rtol = 1e-3
    coarse, fine = _memo(lambda x: excess_at(x, COARSE)), _memo(lambda x: excess_at(x, Resolution()))
    safe, unsafe = _bracket(coarse, start, 0.05, safer, limit, whole)
    safe, unsafe = _shrink(coarse, safe, unsafe, coarse_rtol, whole)
    slope = (coarse(safe) - coarse(unsafe)) / (safe - unsafe)
    guess = safe - fine(safe) / slope if slope * safer < 0 else safe   # the excess falls towards safety
    guess = min(max(round(guess) if whole else guess, limit[0]), limit[1])
    safe, unsafe = _bracket(fine, guess, 0.9 * RTOL, safer, limit, whole)
    return _shrink(fine, safe, unsafe, RTOL, whole)[0]


def _clt_sigma(epsilon: float, delta: float, q: float, steps: int) -> float:
    """σ whose CLT μ = q sqrt(T (e^{1/σ²} - 1)) has ε(δ) = epsilon under μ-GDP (a starting point only)."""
    lo, hi = 1e-3, 1e3
    for _ in range(100):
        mu = math.sqrt(lo * hi)
        lo, hi = (mu, hi) if gdp_epsilon(mu, delta) < epsilon else (lo, mu)
    mu = math.sqrt(lo * hi)
    return 1.0 / math.sqrt(math.log1p((mu / q) ** 2 / steps))


def calibrate_noise(epsilon: float, delta: float, sample_rate: float, steps: int) -> float:
    """Smallest noise multiplier (to relative 1e-5) whose certified ε upper bound is <= epsilon."""
    epsilon = positive("epsilon", epsilon)
    delta = probability("delta", delta, zero=False, one=False)
    q = probability("sample_rate", sample_rate, zero=False)
    steps = integer("steps", steps, minimum=1)
    start = min(max(_clt_sigma(epsilon, delta, q, steps), 0.05), 500.0)
    return _calibrate(lambda s, res: dpsgd_epsilon(s, q, steps, delta, res).upper - epsilon,
                      start, +1.0, (1e-3, 1e4), False)


def calibrate_sample_rate(epsilon: float, delta: float, noise_multiplier: float, steps: int) -> float:
    """Largest sample rate (to relative 1e-5) whose certified ε upper bound is <= epsilon."""
    epsilon = positive("epsilon", epsilon)
    delta = probability("delta", delta, zero=False, one=False)
    sigma = positive("noise_multiplier", noise_multiplier)
    steps = integer("steps", steps, minimum=1)
    if dpsgd_epsilon(sigma, 1.0, steps, delta).upper <= epsilon:
        return 1.0
    return _calibrate(lambda q, res: dpsgd_epsilon(sigma, q, steps, delta, res).upper - epsilon,
                      0.01, -1.0, (1e-9, 1.0), False)


def calibrate_steps(epsilon: float, delta: float, noise_multiplier: float, sample_rate: float) -> int:
    """Largest number of steps whose certified ε upper bound is <= epsilon (0 if even one step exceeds it)."""
    epsilon = positive("epsilon", epsilon)
    delta = probability("delta", delta, zero=False, one=False)
    sigma = positive("noise_multiplier", noise_multiplier)
    q = probability("sample_rate", sample_rate, zero=False)
    if dpsgd_epsilon(sigma, q, 1, delta).upper > epsilon:
        return 0
    return int(_calibrate(lambda t, res: dpsgd_epsilon(sigma, q, int(t), delta, res).upper - epsilon,
                          1000, -1.0, (1, 10 ** 8), True))
