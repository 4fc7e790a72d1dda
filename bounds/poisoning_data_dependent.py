"""Certified upper bound on the poisoning loss when the sphere + slab defense is refitted on the poisoned data
(Steinhardt, Koh & Liang 2017, §5, "data-dependent defenses"), made rigorous.

The defense keeps its radii r_y, s_y but takes its centroids and slab direction from D_c ∪ D_p, and every
poison point must pass it. With k_y poison points of class y (λ_y = k_y/(n_y + k_y)) and m_y the mean offset of
that poison from the clean centroid μ_y, the poisoned centroid is μ_y + λ_y m_y and the slab direction is
d = Δ + λ₋m₋ − λ₊m₊ (Δ = μ₋ − μ₊). A point x of class y passes when u = x − μ_y − λ_y m_y has ‖u‖ <= r_y and
|dᵀu| <= s_y‖d‖. For fixed centroids that set is convex, so the poison mean passes too, and the smallest margin
of a poison point of class c is at least the minimum of c(wᵀ(μ_c + a) + b) over offsets p = (a, m₋, m₊) with
  ‖a − λ_c m_c‖² <= r_c²,  (1 − λ_y)²‖m_y‖² <= r_y²,  ‖a‖² <= (r_c/(1 − λ_c))²,
  ±dᵀu − s_y‖d‖²/(2t) <= s_y t/2 for each u and each t > 0  (AM–GM: s‖d‖ <= s(‖d‖²/t + t)/2),
a nonconvex QCQP. Only inner products with Δ and w enter, so it lives in five coordinates per vector. Its Shor
semidefinite relaxation (cvxpy, Clarabel) is solved and its value made rigorous from the solver's dual: for
multipliers y >= 0, z and S = Σ yᵢAᵢ + zE − C, every feasible p has ⟨C, p̂p̂ᵀ⟩ <= Σ yᵢbᵢ + z − min(0, λ_min(S))
(1 + ‖p‖²), p̂ = (p, 1), with ‖p‖ bounded by the radii above. A point added at a poisoned centroid moves nothing
and costs the attacker nothing, so the loss of k points bounds every attack with fewer, and
U(θ) = (1/n)L(θ; D_c) + (1/n) max over k₋ + k₊ = k of Σ_c k_c ℓ(margin bound of class c) bounds the attacked
objective for every θ ∈ Θ. Proof: proofs/poisoning_data_dependent.py.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from bounds.margin_loss import LOSSES, loss_slope, loss_value
from bounds.poisoning_steinhardt import poison_count, steinhardt_upper_bounds
from bounds.sphere_slab import LABELS, SphereSlab, centroid_shift_outer, features, label_index, refit_centroids
from mechanisms.validate import choice, integer, positive

COORDS = 5  # Δ/‖Δ‖, the part of w orthogonal to Δ, three directions for the vectors' remaining parts
SIZE = 3 * COORDS + 1  # p̂ = (a, m₋, m₊, 1)
TANGENTS = 5  # values of t in the AM–GM form of each slab constraint
CONSTRAINTS = 4 + 3 * 2 * TANGENTS
SWEEP_EVERY = 20  # refinement steps between full sweeps over the class split


@dataclass(frozen=True)
class DataDependentBound:
    """U* at one ε against the refitted defense: the better of the fixed outer set (``outer_bound``,
    bounds/sphere_slab.centroid_shift_outer) and the relaxation (``relaxation_bound``), the θ = (w, b) and
    class split (k₋, k₊) of the relaxation's bound, and a candidate attack (k points that pass the refitted
    defense, two locations) for ``evaluate_attack``."""

    epsilon: float
    k: int
    upper_bound: float
    outer_bound: float
    relaxation_bound: float
    weights: np.ndarray
    bias: float
    split: tuple[int, int]
    attack_x: np.ndarray
    attack_y: np.ndarray
    loss: str
    rho_sq: float


def _block(index: int, scale: float = 1.0) -> np.ndarray:
    """p̂ ↦ scale × (a, m₋ or m₊ for index 0, 1, 2) as a [COORDS, SIZE] matrix."""
    out = np.zeros((COORDS, SIZE))
    out[:, index * COORDS:(index + 1) * COORDS] = scale * np.eye(COORDS)
    return out


def _inner(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The symmetric matrix M with p̂ᵀMp̂ = (left p̂)ᵀ(right p̂)."""
    product = left.T @ right
    return (product + product.T) / 2


def _constraints(gap: float, lam, radii, slabs, label: int):
    """(A, b) with p̂ᵀAᵢp̂ <= bᵢ the QCQP of the module docstring for the worst point of class ``label``."""
    c = label_index(label)
    direction = _block(1, lam[0]) - _block(2, lam[1])
    direction[0, -1] = gap
    offsets = [_block(0) - _block(1 + c, lam[c])] + [_block(1 + i, 1 - lam[i]) for i in range(2)]
    classes = [c, 0, 1]
    reach = radii[c] / (1 - lam[c])
    shift = sum(lam[i] * radii[i] / (1 - lam[i]) for i in range(2))  # | ‖d‖ − ‖Δ‖ | <= shift
    tangents = np.geomspace(max(gap - shift, gap / 20), gap + shift, TANGENTS)
    matrices, limits = [_inner(_block(0), _block(0))], [reach * reach]
    for u, i in zip(offsets, classes):
        matrices.append(_inner(u, u))
        limits.append(radii[i] ** 2)
        for t in tangents:
            for sign in (1.0, -1.0):
                matrices.append(sign * _inner(direction, u) - slabs[i] / (2 * t) * _inner(direction, direction))
                limits.append(slabs[i] * t / 2)
    bound = 1 + reach ** 2 + sum((radii[i] / (1 - lam[i])) ** 2 for i in range(2))  # >= 1 + ‖p‖² when feasible
    return np.array(matrices), np.array(limits), bound


@lru_cache(maxsize=1)
def _relaxation():
    """The Shor relaxation max ⟨C, Y⟩ s.t. ⟨Aᵢ, Y⟩ <= bᵢ, Y_{-1,-1} = 1, Y ⪰ 0, with A, b, C as parameters."""
    import cvxpy as cp

    y = cp.Variable((SIZE, SIZE), symmetric=True)
    matrices = [cp.Parameter((SIZE, SIZE), symmetric=True) for _ in range(CONSTRAINTS)]
    limits = cp.Parameter(CONSTRAINTS)
    objective = cp.Parameter((SIZE, SIZE), symmetric=True)
    inequalities = [cp.trace(m @ y) <= limits[i] for i, m in enumerate(matrices)]
    unit = y[SIZE - 1, SIZE - 1] == 1
    problem = cp.Problem(cp.Maximize(cp.trace(objective @ y)), [y >> 0, unit, *inequalities])
    return problem, y, matrices, limits, objective, inequalities, unit


def _certified_maximum(matrices, limits, objective, trace_bound) -> tuple[float, np.ndarray | None]:
    """A rigorous upper bound on p̂ᵀCp̂ over the QCQP's feasible p (weak duality with the eigenvalue repair of
    the module docstring), and the relaxation's p (None when the solver returned no multipliers)."""
    import cvxpy as cp

    problem, y, a_params, b_param, c_param, inequalities, unit = _relaxation()
    for param, value in zip(a_params, matrices):
        param.value = value
    b_param.value = limits
    c_param.value = objective
    try:
        with warnings.catch_warnings():  # an inaccurate solve still certifies (the repair pays for it), only looser
            warnings.simplefilter("ignore", UserWarning)
            problem.solve(solver=cp.CLARABEL)
    except cp.error.SolverError:
        return math.inf, None
    duals = [con.dual_value for con in inequalities]
    if unit.dual_value is None or any(d is None for d in duals):
        return math.inf, None
    multipliers = np.maximum(np.asarray(duals, dtype=float).ravel(), 0.0)
    z = float(unit.dual_value)
    corner = np.zeros((SIZE, SIZE))
    corner[-1, -1] = 1.0
    slack = np.tensordot(multipliers, matrices, axes=1) + z * corner - objective
    lowest = float(np.linalg.eigvalsh(slack)[0]) - 1e-12 * float(np.abs(slack).sum())  # eigvalsh's rounding
    value = float(multipliers @ limits) + z - min(0.0, lowest) * trace_bound
    return value, y.value[:-1, -1].copy()


def margin_lower_bound(defense: SphereSlab, class_counts, split, weights, bias, label: int):
    """A certified lower bound on the margin label·(wᵀx + b) of every poison point of class ``label`` that passes
    the defense refitted on the poisoned data, when (k₋, k₊) = ``split`` poison points go to the two classes;
    also the point where the relaxation puts it (for subgradients). Proof: proofs/poisoning_data_dependent.py."""
    counts = [integer("class_counts", c, minimum=1) for c in class_counts]
    split = [integer("split", k, minimum=0) for k in split]
    c = label_index(label)
    weights = np.asarray(weights, dtype=float)
    if weights.shape != defense.direction.shape:
        raise ValueError(f"weights must have shape {defense.direction.shape} (the defense's), got {weights.shape}")
    lam = [k / (n + k) for k, n in zip(split, counts)]
    centre = defense.centroids[c]
    margin = label * (float(weights @ centre) + float(bias))
    closed = float(np.linalg.norm(weights)) * defense.sphere_radii[c] / (1 - lam[c])  # sphere alone
    gap_vector = defense.centroids[0] - defense.centroids[1]
    gap = float(np.linalg.norm(gap_vector))
    if not gap > 0:
        raise ValueError("defense.centroids coincide: the slab direction is undefined")
    e1 = gap_vector / gap
    along = float(weights @ e1)
    across = weights - along * e1
    norm_across = float(np.linalg.norm(across))
    e2 = across / norm_across if norm_across > 0 else np.zeros_like(weights)
    objective = np.zeros((SIZE, SIZE))
    objective[0, -1] = objective[-1, 0] = -label * along / 2
    objective[1, -1] = objective[-1, 1] = -label * norm_across / 2
    matrices, limits, trace_bound = _constraints(gap, lam, defense.sphere_radii, defense.slab_radii, label)
    relaxed, p = _certified_maximum(matrices, limits, objective, trace_bound)
    if relaxed >= closed or p is None:
        return margin - closed, centre - label * defense.sphere_radii[c] / (1 - lam[c]) * weights / max(
            float(np.linalg.norm(weights)), 1e-300)
    return margin - relaxed, centre + p[0] * e1 + p[1] * e2


def poison_loss_bound(defense: SphereSlab, class_counts, k, weights, bias, loss: str = "hinge",
                      splits=None) -> tuple[float, tuple[int, int], np.ndarray]:
    """max over class splits k₋ + k₊ = k (or over ``splits``) of Σ_c k_c ℓ(certified margin bound of class c):
    a bound on the total loss of k poison points that pass the refitted defense; returns it, the worst split
    and a subgradient in θ = (w, b) there. Proof: proofs/poisoning_data_dependent.py."""
    choice("loss", loss, LOSSES)
    k = integer("k", k, minimum=0)
    weights = np.asarray(weights, dtype=float)
    best = (0.0, (k, 0), np.zeros(len(weights) + 1))
    for negative in (range(k + 1) if splits is None else splits):
        split = (negative, k - negative)
        total, gradient = 0.0, np.zeros(len(weights) + 1)
        for label, count in zip(LABELS, split):
            if count:
                margin, point = margin_lower_bound(defense, class_counts, split, weights, bias, label)
                total += count * float(loss_value(loss, margin))
                gradient += count * float(loss_slope(loss, margin)) * label * np.append(point, 1.0)
        if total > best[0]:
            best = (total, split, gradient)
    return best


def _relaxation_bound(x, y, defense, counts, k, rho, loss, starts, steps, learning_rate):
    """(U, θ, split) for the smallest U(θ) over the starting points and ``steps`` projected-subgradient steps
    (size learning_rate/√t) from the best of them. U is evaluated with a full sweep over splits (rigorous) at the
    starts, every SWEEP_EVERY steps and at the last; between sweeps the gradient follows the last worst split."""
    signed = y[:, None] * np.hstack([x, np.ones((len(x), 1))])
    n = len(x)

    def bound(theta, splits=None):
        total, split, gradient = poison_loss_bound(defense, counts, k, theta[:-1], theta[-1], loss, splits)
        margins = signed @ theta
        clean_gradient = signed.T @ loss_slope(loss, margins) / n
        return float(loss_value(loss, margins).mean()) + total / n, split, clean_gradient + gradient / n

    best_value, best_split, best_theta = min(((*bound(t)[:2], t) for t in starts), key=lambda c: c[0])
    current, split = best_theta.copy(), best_split
    for step in range(1, steps + 1):
        full = step % SWEEP_EVERY == 0 or step == steps
        value, split, gradient = bound(current, None if full else [split[0]])
        if full and value < best_value:
            best_value, best_split, best_theta = value, split, current.copy()
        current = current - learning_rate / math.sqrt(step) * gradient
        current *= min(1.0, rho / max(float(np.linalg.norm(current)), 1e-300))
    return best_value, best_theta, best_split


def candidate_attack(x, y, defense: SphereSlab, split, weights, bias) -> tuple[np.ndarray, np.ndarray]:
    """k₋ + k₊ poison points at one location per class that pass the defense refitted on the poisoned data,
    placed to lower Σ_c k_c·margin at θ = (w, b): SLSQP on the exact constraints (radii shrunk by 1e-6) in the
    span of Δ, w and two more directions; a location that does not pass falls back to its clean centroid."""
    from scipy.optimize import minimize

    x, y = features(x, y)
    counts = np.array([int((y == label).sum()) for label in LABELS])
    split = np.array([integer("split", k, minimum=0) for k in split])
    weights = np.asarray(weights, dtype=float)
    lam = split / (counts + split)
    basis = np.linalg.qr(np.column_stack([defense.centroids[0] - defense.centroids[1], weights,
                                          np.random.default_rng(0).normal(size=(len(weights), 2))]))[0]
    active = [i for i in range(2) if split[i]]
    radii, slabs = np.array(defense.sphere_radii) * (1 - 1e-6), np.array(defense.slab_radii) * (1 - 1e-6)

    def locations(z):
        return defense.centroids + z.reshape(2, -1) @ basis.T

    def slack(z):
        points = locations(z)
        centres = defense.centroids + lam[:, None] * (points - defense.centroids)
        direction = centres[0] - centres[1]
        out = []
        for i in active:
            u = points[i] - centres[i]
            reach = slabs[i] * np.linalg.norm(direction)
            out += [radii[i] ** 2 - u @ u, reach - direction @ u, reach + direction @ u]
        return np.array(out)

    def objective(z):
        points = locations(z)
        return sum(split[i] * LABELS[i] * (points[i] @ weights + bias) for i in active)

    z = minimize(objective, np.zeros(2 * basis.shape[1]), method="SLSQP",
                 constraints=[{"type": "ineq", "fun": slack}]).x
    points = locations(z)
    attack_y = np.repeat(np.array(LABELS), split)
    attack_x = np.repeat(points, split, axis=0)
    if len(attack_y):
        passing = refit_centroids(defense, np.vstack([x, attack_x]), np.concatenate([y, attack_y])).contains(
            attack_x, attack_y, tol=0.0)
        if not passing.all():
            attack_x = np.repeat(defense.centroids, split, axis=0)
    return attack_x, attack_y


def data_dependent_upper_bounds(x, y, defense: SphereSlab, epsilons, rho_sq, loss: str = "hinge", *,
                                iterations: int = 3000, learning_rate: float = 0.1,
                                refine: int = 60) -> list[DataDependentBound]:
    """U* for each ε when the defense's centroids are computed on the poisoned data (radii fixed, poison must
    pass): the smaller of the bound over the fixed outer set of ``centroid_shift_outer`` and the relaxation bound
    of this module, evaluated at the θ of the fixed-defense and outer-set runs and refined for ``refine``
    projected-subgradient steps. Both grow with the number of poison points, so the running minimum from the
    largest ε down stays valid and makes U* non-decreasing.
    Proofs: proofs/poisoning_data_dependent.py, proofs/poisoning_centroid_shift.py, proofs/poisoning_upper_bound.py."""
    x, y = features(x, y)
    counts = [int((y == label).sum()) for label in LABELS]
    rho = math.sqrt(positive("rho_sq", rho_sq))
    refine = integer("refine", refine, minimum=0)
    learning_rate = positive("learning_rate", learning_rate)
    options = {"iterations": iterations, "learning_rate": learning_rate}
    results = []
    for epsilon in epsilons:
        k = poison_count(epsilon, len(x))
        fixed = steinhardt_upper_bounds(x, y, defense, [epsilon], rho_sq, loss, **options)[0]
        outer = steinhardt_upper_bounds(x, y, centroid_shift_outer(defense, counts, k), [epsilon], rho_sq, loss,
                                        **options)[0]
        starts = [np.append(b.weights, b.bias) for b in (fixed, outer)]
        value, theta, split = _relaxation_bound(x, y, defense, counts, k, rho, loss, starts, refine,
                                                learning_rate / 2)  # half the online-learning rate: measured best
        attack_x, attack_y = candidate_attack(x, y, defense, split, theta[:-1], theta[-1])
        results.append(DataDependentBound(float(epsilon), k, min(value, outer.upper_bound), outer.upper_bound,
                                          value, theta[:-1], float(theta[-1]), split, attack_x, attack_y, loss,
                                          rho * rho))
    order = sorted(range(len(results)), key=lambda i: -results[i].epsilon)
    running = math.inf
    for i in order:
        running = min(results[i].upper_bound, running)
        results[i] = replace(results[i], upper_bound=running)
    return results
