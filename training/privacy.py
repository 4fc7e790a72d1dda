"""The privacy side of a DP-SGD run: σ from a target ε (or ε from a fixed σ), and ε as training goes.

DP-SGD with Poisson rate q, noise multiplier σ and T steps is the T-fold composition of the
Poisson-subsampled Gaussian mechanism (Abadi et al. 2016); bounds/ certifies its ε(δ) bracket
(bounds/accountant.py), calibrates σ for a target ε so that the certified *upper* bound is <= the target
(bounds/calibrate.py), and brackets ε after every step in one pass for the training log
(bounds/trajectory.py).
"""
from __future__ import annotations

from dataclasses import dataclass

from bounds.accountant import EpsilonBracket, dpsgd_epsilon
from bounds.calibrate import calibrate_noise
from bounds.trajectory import epsilon_trajectory
from mechanisms.validate import integer, positive, probability


@dataclass(frozen=True)
class PrivacyPlan:
    """The accountant's view of a run: σ, q, T, δ and, in target mode, the ε that σ was calibrated for."""

    noise_multiplier: float
    sample_rate: float
    steps: int
    delta: float
    target_epsilon: float | None = None

    def epsilon(self, steps: int | None = None) -> EpsilonBracket:
        """Certified ε(δ) bracket after ``steps`` steps (all of them by default)."""
        return dpsgd_epsilon(self.noise_multiplier, self.sample_rate, self.steps if steps is None else steps,
                             self.delta)

    def log_brackets(self, checkpoints) -> dict[int, tuple[float, float]]:
        """step -> (lower, upper) certified ε after that step, for the given steps (one trajectory pass)."""
        points = sorted({integer("checkpoints", c, minimum=1) for c in checkpoints} | {self.steps})
        traj = epsilon_trajectory(self.noise_multiplier, self.sample_rate, self.steps, self.delta, points)
        return {t: (float(traj.lower[t - 1]), float(traj.upper[t - 1])) for t in points}


def plan_privacy(*, sample_rate: float, steps: int, delta: float, epsilon: float | None = None,
                 noise_multiplier: float | None = None) -> PrivacyPlan:
    """Target-ε mode (``epsilon``: calibrate σ) or fixed-σ mode (``noise_multiplier``); exactly one."""
    q = probability("sample_rate", sample_rate, zero=False)
    steps = integer("steps", steps, minimum=1)
    delta = probability("delta", delta, zero=False, one=False)
    if (epsilon is None) == (noise_multiplier is None):
        raise ValueError("give exactly one of epsilon (target mode: σ is calibrated) and noise_multiplier "
                         "(fixed-σ mode: ε is reported)")
    if epsilon is not None:
        epsilon = positive("epsilon", epsilon)
        return PrivacyPlan(calibrate_noise(epsilon, delta, q, steps), q, steps, delta, epsilon)
    return PrivacyPlan(positive("noise_multiplier", noise_multiplier), q, steps, delta)
