"""Steinhardt, Koh & Liang's upper bound: for every theta in Theta, the attacker's best loss M <= U(theta)."""
import itertools
from fractions import Fraction

import mpmath as mp
import numpy as np
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Poisoning upper bound U(theta) (Steinhardt et al.)",
    statement="for D_p in F with |D_p| = k <= eps n and any theta in Theta: min_theta' (1/n) L(theta'; D_c u D_p) <= "
              "(1/n) L(theta; D_c) + eps max_F l(theta) = U(theta); k = floor(eps n); "
              "U(theta) is non-decreasing in eps",
    source="Steinhardt, Koh & Liang 2017, Certified Defenses for Data Poisoning Attacks, Sec. 3, Eq. (4)-(5), Prop. 1",
    backs=("bounds.poisoning_steinhardt.upper_bound_at", "bounds.poisoning_steinhardt.steinhardt_upper_bounds",
           "bounds.poisoning_steinhardt.poison_count", "bounds.poisoning_steinhardt.steinhardt_report"),
)


def check() -> str:
    # 1. the chain, as an identity of non-negative terms:
    #    eps m - (1/n) sum_j l_j = (eps - k/n) m + (1/n) sum_j (m - l_j)
    eps, m, n = sp.symbols("epsilon m n", positive=True)
    losses = sp.symbols("l1:4", nonnegative=True)
    k = len(losses)
    lhs = eps * m - sum(losses) / n
    rhs = (eps - sp.Integer(k) / n) * m + sum(m - li for li in losses) / n
    assert sp.simplify(lhs - rhs) == 0  # each term >= 0 when k <= eps n and l_j <= m = max_F l
    # 2. k = floor(eps n) exactly (rational arithmetic), so k/n <= eps < (k+1)/n
    from bounds.poisoning_steinhardt import poison_count, steinhardt_upper_bounds, upper_bound_at

    for eps_text, count in itertools.product(("0.01", "0.03", "0.05", "0.1", "0.29", "0.3", "0.7"), (7, 100, 289, 800)):
        exact = Fraction(eps_text) * count
        assert poison_count(float(eps_text), count) == exact.numerator // exact.denominator, (eps_text, count)
    # 3. brute force on a toy: every multiset of k points from a finite subset of F, min over a fine grid of theta
    #    (an upper bound on the min), against U* (30-digit recomputation of U at the code's theta)
    from bounds.sphere_slab import fit_sphere_slab

    rng = np.random.default_rng(11)
    x = np.concatenate([rng.normal(-1, 0.4, 8), rng.normal(1, 0.4, 8)])[:, None]
    y = np.repeat([-1, 1], 8)
    defense = fit_sphere_slab(x, y, 70)
    rho_sq = 4.0
    ws, bs = np.meshgrid(np.linspace(-2, 2, 61), np.linspace(-2, 2, 61))
    inside = ws ** 2 + bs ** 2 <= rho_sq
    ws, bs = ws[inside][:, None], bs[inside][:, None]
    feasible = [(float(c + s), lab) for lab, c, r in zip((-1, 1), defense.centroids[:, 0], defense.sphere_radii)
                for s in np.linspace(-r, r, 5)]
    mp.mp.dps = 30
    for result in steinhardt_upper_bounds(x, y, defense, [0.1, 0.2], rho_sq, iterations=400):
        value = upper_bound_at(x, y, defense, result.epsilon, result.weights, result.bias)[0]
        w, b = mp.mpf(float(result.weights[0])), mp.mpf(result.bias)
        clean = mp.fsum(max(0, 1 - int(yi) * (w * mp.mpf(float(xi)) + b)) for xi, yi in zip(x[:, 0], y)) / len(y)
        worst = max(max(0, 1 - lab * (w * mp.mpf(c) + b)) for lab, c, r in zip(
            (-1, 1), defense.centroids[:, 0], defense.sphere_radii) for c in (c - r, c + r))
        assert abs(clean + mp.mpf(result.epsilon) * worst - value) < 1e-12 and abs(value - result.upper_bound) < 1e-12
        k = poison_count(result.epsilon, len(y))
        attacked = 0.0
        for chosen in itertools.combinations_with_replacement(feasible, k):
            px = np.concatenate([x[:, 0], [c[0] for c in chosen]])
            py = np.concatenate([y, [c[1] for c in chosen]])
            attacked = max(attacked, float(np.maximum(0, 1 - py * (ws * px + bs)).sum(axis=1).min()) / len(y))
        assert attacked <= result.upper_bound + 1e-12, f"eps {result.epsilon}: {attacked} > U* {result.upper_bound}"
    return "sympy: the U(theta) chain as non-negative terms; k = floor(eps n) exactly; brute-force attacks <= U*"
