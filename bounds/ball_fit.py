"""Training a linear classifier over the ball ‖w‖² + b² <= ρ², with a certified lower bound on its optimum.

The optimum min_{‖θ‖<=ρ} Σ_i ℓ(y_i θᵀz_i), z_i = (x_i, 1), has the Fenchel dual
max_{a ∈ [0,1]^N} Σ_i −ℓ*(−a_i) − ρ ‖Σ_i a_i y_i z_i‖ (for the hinge loss, the SVM dual in its ball form).
Every dual-feasible a gives a lower bound (weak duality) and every θ in the ball an upper bound, so the
returned pair brackets the attacked objective of Steinhardt et al.'s candidate attack. The ball problem is
solved through the penalised problem Σℓ + (λ/2)‖θ‖² (a smooth box-constrained dual, L-BFGS-B) and a bisection
on λ.
Proof: proofs/poisoning_svm_dual.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np
from scipy.optimize import linprog, minimize

from bounds.margin_loss import LOSSES, dual_slope, dual_value, loss_slope, loss_value
from bounds.safe_rounding import round_down
from bounds.sphere_slab import features
from mechanisms.validate import choice, integer, positive

_A_MIN = 1e-12  # keeps the logistic dual's entropy differentiable


@dataclass(frozen=True)
class BallFit:
    """θ = (w, b) with ‖θ‖² <= ρ², its objective Σℓ/normalizer and a certified lower bound on the optimum."""

    weights: np.ndarray
    bias: float
    objective: float
    lower_bound: float
    loss: str
    rho_sq: float
    normalizer: float

    def margins(self, x, y) -> np.ndarray:
        x, y = features(x, y)
        return y * (x @ self.weights + self.bias)

    def error(self, x, y) -> float:
        """Fraction of points with margin <= 0."""
        return float(np.mean(self.margins(x, y) <= 0.0))


def _objective(loss, signed, theta):
    return float(loss_value(loss, signed @ theta).sum())


def dual_bound(loss: str, signed: np.ndarray, a: np.ndarray, rho: float) -> float:
    """Σ −ℓ*(−a_i) − ρ‖Σ a_i y_i z_i‖: a lower bound on min_{‖θ‖<=ρ} Σℓ for any a in [0, 1]^N.
    Proof: proofs/poisoning_svm_dual.py."""
    return float(dual_value(loss, a).sum() - rho * np.linalg.norm(signed.T @ a))


def _penalised_dual(loss, signed, lam, low, start):
    """argmax over [low, 1 - low]^N of Σ −ℓ*(−a_i) − ‖Σ a_i y_i z_i‖²/(2λ): the dual of Σℓ + (λ/2)‖θ‖², a smooth
    box-constrained problem (θ = Σ a_i y_i z_i / λ at the optimum)."""
    def negative(a):
        g = signed.T @ a
        return -float(dual_value(loss, a).sum()) + float(g @ g) / (2 * lam), -dual_slope(loss, a) + signed @ g / lam

    solution = minimize(negative, start, jac=True, method="L-BFGS-B", bounds=[(low, 1.0 - low)] * len(start),
                        options={"maxiter": 20000, "ftol": 1e-16, "gtol": 1e-12})
    return np.clip(solution.x, low, 1.0 - low)


def _ball_dual(loss, signed, rho, low):
    """argmax over [low, 1 - low]^N of Σ −ℓ*(−a_i) − ρ‖Σ a_i y_i z_i‖ (smooth away from g = 0), by L-BFGS-B."""
    def negative(a):
        g = signed.T @ a
        norm = float(np.linalg.norm(g))
        grad = -dual_slope(loss, a) + (rho * (signed @ g) / norm if norm > 0 else 0.0)
        return -float(dual_value(loss, a).sum()) + rho * norm, grad

    solution = minimize(negative, np.full(len(signed), 0.5), jac=True, method="L-BFGS-B",
                        bounds=[(low, 1.0 - low)] * len(signed), options={"maxiter": 3000, "ftol": 1e-16})
    return np.clip(solution.x, low, 1.0 - low)


def _unconstrained(loss, signed):
    """min_θ Σℓ without the ball (where the ball does not bind): an LP for the hinge loss (HiGHS), L-BFGS for
    the logistic loss; returns θ and dual weights a (the LP's multipliers, or −ℓ'(margin))."""
    n, dim = signed.shape
    if loss == "hinge":
        lp = linprog(np.concatenate([np.zeros(dim), np.ones(n)]), A_ub=np.hstack([-signed, -np.eye(n)]),
                     b_ub=-np.ones(n), bounds=[(None, None)] * dim + [(0, None)] * n, method="highs")
        if lp.status != 0:
            return None
        return lp.x[:dim], np.clip(-lp.ineqlin.marginals, 0.0, 1.0)
    solution = minimize(lambda th: (_objective(loss, signed, th), signed.T @ loss_slope(loss, signed @ th)),
                        np.zeros(dim), jac=True, method="L-BFGS-B", options={"maxiter": 20000, "gtol": 1e-12})
    return solution.x, -loss_slope(loss, signed @ solution.x)


def fit_in_ball(x, y, rho_sq, loss: str = "hinge", *, normalizer=None, searches: int = 40,
                tolerance: float = 1e-6) -> BallFit:
    """Minimise Σ_i ℓ(y_i(wᵀx_i + b)) / normalizer over ‖w‖² + b² <= ρ² (normalizer defaults to N) and
    certify it: ``lower_bound`` <= the true optimum <= ``objective``. The ball dual is solved first
    (θ = ρ g/‖g‖); while the gap of the normalised objective exceeds ``tolerance``, the penalised problem
    Σℓ + (λ/2)‖θ‖² is
    solved at λ found by bisection in log λ (‖θ_λ‖ = ρ at the right λ); where the ball does not bind,
    the unconstrained optimum (an LP for the hinge loss) closes the gap. Every θ tried, shrunk into the ball,
    is feasible and every a a dual bound; the best of each is kept. Proof: proofs/poisoning_svm_dual.py."""
    choice("loss", loss, LOSSES)
    x, y = features(x, y)
    rho = float(np.sqrt(positive("rho_sq", rho_sq)))
    normalizer = positive("normalizer", len(x) if normalizer is None else normalizer)
    searches = integer("searches", searches)
    tolerance = positive("tolerance", tolerance)
    signed = y[:, None] * np.hstack([x, np.ones((len(x), 1))])
    low = 0.0 if loss == "hinge" else _A_MIN
    best_theta, best_value, best_lower, scale = np.zeros(signed.shape[1]), math.inf, -math.inf, 0.0

    def consider(a, theta):
        nonlocal best_theta, best_value, best_lower, scale
        norm = float(np.linalg.norm(theta))
        feasible = theta * min(1.0, rho / norm) if norm > 0 else theta
        value = _objective(loss, signed, feasible)
        if value < best_value:
            best_theta, best_value = feasible, value
        lower = dual_bound(loss, signed, a, rho)
        if lower > best_lower:
            best_lower = lower
            scale = rho * float(np.linalg.norm(signed.T @ a)) + float(np.abs(dual_value(loss, a)).sum())
        return norm

    a = _ball_dual(loss, signed, rho, low)
    g = signed.T @ a
    consider(a, rho * g / max(float(np.linalg.norm(g)), 1e-300))
    if best_value - best_lower > tolerance * normalizer:  # the ball may not bind
        free = _unconstrained(loss, signed)
        if free is not None and np.linalg.norm(free[0]) <= rho:
            consider(np.clip(free[1], low, 1.0 - low), free[0])
    log_lam = math.log(max(float(np.linalg.norm(g)), 1e-12) / rho)  # the λ at which θ_λ = g/λ has norm ρ
    log_lo = log_hi = None  # ‖θ_λ‖ > ρ at log_lo, <= ρ at log_hi
    for _ in range(searches):
        if best_value - best_lower <= tolerance * normalizer:
            break
        a = _penalised_dual(loss, signed, math.exp(log_lam), low, a)
        if consider(a, signed.T @ a / math.exp(log_lam)) > rho:
            log_lo = log_lam
        else:
            log_hi = log_lam
        log_lam = ((log_lo + log_hi) / 2 if log_lo is not None and log_hi is not None
                   else log_lam + (0.5 if log_hi is None else -0.5))
    lower = round_down(best_lower, scale=scale, margin=1e-12)
    return BallFit(best_theta[:-1].copy(), float(best_theta[-1]), best_value / normalizer, lower / normalizer, loss,
                   rho * rho, normalizer)
