"""Certified upper bounds on the loss a poisoning attacker causes a linear model behind a fixed defense
(Steinhardt, Koh & Liang 2017, "Certified Defenses for Data Poisoning Attacks", §3, Eq. (3)–(5), Alg. 1).

With n clean points D_c, εn poison points D_p chosen from the feasible set F and Θ = {‖w‖² + b² <= ρ²}:
M = max_{D_p ⊆ F} min_{θ∈Θ} (1/n) L(θ; D_c ∪ D_p) <= U(θ) = (1/n) L(θ; D_c) + ε max_{(x,y)∈F} ℓ(θ; x, y)
for every θ ∈ Θ, and U* = min over the online-learning iterates θ_t. The iterates follow dual averaging
with lazy projection (θ_{t+1} = the projection onto Θ of −η Σ_{s<=t} g_s, η shrinking so that the
unprojected point stays in Θ), g_s a subgradient of U at θ_s whose poison part comes from the closed-form
worst point of bounds/sphere_slab.py. The worst points of the later iterates form the candidate attack
(k = ⌊εn⌋ of them); retraining on D_c ∪ D_p (bounds/ball_fit.py) measures it, with a certified lower bound.
Proof: proofs/poisoning_upper_bound.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bounds.ball_fit import fit_in_ball
from bounds.margin_loss import LOSSES, loss_slope, loss_value
from bounds.sphere_slab import SphereSlab, features, fit_sphere_slab
from mechanisms.validate import choice, integer, positive, real


@dataclass(frozen=True)
class UpperBound:
    """U* at one ε, the θ = (w, b) attaining it, its two terms, and the candidate attack (k points)."""

    epsilon: float
    upper_bound: float
    clean_loss: float
    poison_loss: float
    weights: np.ndarray
    bias: float
    attack_x: np.ndarray
    attack_y: np.ndarray
    loss: str
    rho_sq: float
    iterations: int

    @property
    def k(self) -> int:
        return len(self.attack_y)


@dataclass(frozen=True)
class AttackResult:
    """The candidate attack retrained: its objective (1/n) Σ_{D_c ∪ D_p} ℓ on U*'s scale, a certified lower
    bound on the attacked optimum, and the poisoned model's test error."""

    epsilon: float
    k: int
    upper_bound: float
    attack_loss: float
    attack_lower_bound: float
    test_error: float


def _epsilon(epsilon) -> float:
    epsilon = real("epsilon", epsilon)
    if not epsilon >= 0 or math.isinf(epsilon):
        raise ValueError(f"epsilon must be >= 0 and finite, got {epsilon!r}")
    return epsilon


def poison_count(epsilon, n) -> int:
    """k = ⌊εn⌋ poison points (rounding up could let an attack exceed U*); exact for decimal ε such as 0.3.
    Proof: proofs/poisoning_upper_bound.py."""
    epsilon, n = _epsilon(epsilon), integer("n", n, minimum=1)
    k = math.floor(epsilon * n)
    k -= k / n > epsilon
    return k + 1 if (k + 1) / n <= epsilon else k


def upper_bound_at(x, y, defense: SphereSlab, epsilon, weights, bias, loss: str = "hinge"):
    """U(θ) = (1/n) Σ ℓ(θ; D_c) + ε max_F ℓ(θ), for one θ = (w, b): returns (U, clean term, max_F ℓ, worst
    point, its label). A valid upper bound on M for every θ in Θ. Proof: proofs/poisoning_upper_bound.py."""
    choice("loss", loss, LOSSES)
    x, y = features(x, y)
    epsilon = _epsilon(epsilon)
    weights = np.asarray(weights, dtype=float)
    clean = float(loss_value(loss, y * (x @ weights + bias)).mean())
    margin, point, label = defense.worst_margin(weights, float(bias))
    poison = float(loss_value(loss, margin))
    return clean + epsilon * poison, clean, poison, point, label


def _optimise(x, y, defense, epsilon, rho, loss, iterations, learning_rate):
    """Dual averaging with lazy projection; returns the best (U, θ) and the worst point of every iterate."""
    signed = y[:, None] * np.hstack([x, np.ones((len(x), 1))])
    n, dim = signed.shape
    theta, total = np.zeros(dim), np.zeros(dim)
    scale = 1.0 / learning_rate
    best_value, best_theta = math.inf, theta
    points, labels = np.empty((iterations, dim - 1)), np.empty(iterations, dtype=int)
    for t in range(iterations):
        slopes = loss_slope(loss, signed @ theta)
        margin, point, label = defense.worst_margin(theta[:-1], theta[-1])
        value = float(loss_value(loss, signed @ theta).mean() + epsilon * loss_value(loss, margin))
        if value < best_value:
            best_value, best_theta = value, theta.copy()
        points[t], labels[t] = point, label
        grad = signed.T @ slopes / n + epsilon * float(loss_slope(loss, margin)) * label * np.append(point, 1.0)
        total -= grad
        scale = max(scale, float(np.linalg.norm(total)) / rho)
        theta = total / scale
    return best_theta, points, labels


def steinhardt_upper_bounds(x, y, defense: SphereSlab, epsilons, rho_sq, loss: str = "hinge", *,
                            iterations: int = 3000, learning_rate: float = 0.1) -> list[UpperBound]:
    """U* for each ε (Steinhardt et al. 2017, Alg. 1). Every θ found at any ε is also evaluated at every
    other ε, so each U* is a valid bound and U* is non-decreasing in ε (U(θ) grows with ε for each θ).
    Proof: proofs/poisoning_upper_bound.py."""
    choice("loss", loss, LOSSES)
    x, y = features(x, y)
    epsilons = [_epsilon(e) for e in epsilons]
    if not epsilons:
        raise ValueError("epsilons must contain at least one value")
    rho = math.sqrt(positive("rho_sq", rho_sq))
    iterations = integer("iterations", iterations, minimum=2)
    learning_rate = positive("learning_rate", learning_rate)
    runs = [_optimise(x, y, defense, e, rho, loss, iterations, learning_rate) for e in epsilons]
    results = []
    for epsilon in epsilons:
        candidates = [(upper_bound_at(x, y, defense, epsilon, th[:-1], th[-1], loss), th) for th, _, _ in runs]
        (value, clean, poison, _, _), theta = min(candidates, key=lambda c: c[0][0])
        _, points, labels = runs[epsilons.index(epsilon)]
        k = poison_count(epsilon, len(x))
        later = np.linspace(iterations // 2, iterations - 1, k).round().astype(int) if k else np.zeros(0, int)
        results.append(UpperBound(epsilon, value, clean, poison, theta[:-1].copy(), float(theta[-1]),
                                  points[later].copy(), labels[later].copy(), loss, rho * rho, iterations))
    return results


def evaluate_attack(x, y, bound: UpperBound, x_test, y_test) -> AttackResult:
    """Retrain on D_c ∪ D_p over Θ (D_p: the attack of ``bound``, an UpperBound or a DataDependentBound) and
    report (1/n) Σ ℓ, its certified lower bound (the dual of bounds/ball_fit.py) and the test error.
    Proof: proofs/poisoning_svm_dual.py."""
    x, y = features(x, y)
    x_test, y_test = features(x_test, y_test)
    poisoned_x = np.vstack([x, bound.attack_x]) if bound.k else x
    poisoned_y = np.concatenate([y, bound.attack_y]) if bound.k else y
    fit = fit_in_ball(poisoned_x, poisoned_y, bound.rho_sq, bound.loss, normalizer=len(x))
    return AttackResult(bound.epsilon, bound.k, bound.upper_bound, fit.objective, fit.lower_bound,
                        fit.error(x_test, y_test))


def steinhardt_report(x, y, x_test, y_test, epsilons, rho_sq, *, percentile: float = 70.0, loss: str = "hinge",
                      iterations: int = 3000, learning_rate: float = 0.1) -> list[AttackResult]:
    """Fit the sphere + slab defense on (x, y) at ``percentile``, compute U* for every ε and retrain on each
    candidate attack. Proofs: proofs/poisoning_upper_bound.py, proofs/poisoning_svm_dual.py."""
    defense = fit_sphere_slab(x, y, percentile)
    bounds = steinhardt_upper_bounds(x, y, defense, epsilons, rho_sq, loss, iterations=iterations,
                                     learning_rate=learning_rate)
    return [evaluate_attack(x, y, bound, x_test, y_test) for bound in bounds]
