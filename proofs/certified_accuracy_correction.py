"""Cohen et al.'s App. D: from an observed certified accuracy to a high-probability bound on the true one."""
import math

import sympy as sp
from scipy import stats

from proofs import Theorem

THEOREM = Theorem(
    name="Certified-accuracy correction",
    statement="If each of N certificates is wrong with probability <= a independently, then with probability "
              ">= 1 - r the wrong ones are at most N a + sqrt(2 N a (1 - a) ln(1/r)) + (2/3) ln(1/r), so the true "
              "certified accuracy is >= acc - a - sqrt(2 a (1 - a) ln(1/r)/N) - 2 ln(1/r)/(3N)",
    source="Cohen, Rosenfeld & Kolter 2019, App. D; Bernstein's inequality (Boucheron, Lugosi & Massart 2013, "
           "Thm. 2.10)",
    backs=("bounds.montecarlo.certified_accuracy_lower_bound",),
)


def check() -> str:
    # 1. Bernstein: P(S - Na >= t) <= exp(-t² / (2(v + t/3))), v = Na(1 - a). Setting the bound to ρ (L = ln 1/ρ)
    #    gives t = L/3 + sqrt(L²/9 + 2vL) <= sqrt(2vL) + 2L/3 (sympy solves and checks the inequality's square)
    v, big_l = sp.symbols("v L", positive=True)
    root = big_l / 3 + sp.sqrt(big_l ** 2 / 9 + 2 * v * big_l)  # the positive root of t² = 2L(v + t/3)
    assert sp.simplify(root ** 2 - 2 * big_l * (v + root / 3)) == 0
    assert sp.simplify(root ** 2 / (2 * (v + root / 3)) - big_l) == 0  # the tail bound at t = root is ρ
    # sqrt(L²/9 + 2vL) <= sqrt(2vL) + L/3 because the square of the right side exceeds L²/9 + 2vL by 2L sqrt(2vL)/3
    assert sp.simplify((sp.sqrt(2 * v * big_l) + big_l / 3) ** 2 - (big_l ** 2 / 9 + 2 * v * big_l)
                       - 2 * big_l * sp.sqrt(2 * v * big_l) / 3) == 0
    # 2. The code's slack against the exact binomial (1 - ρ)-quantile of the number of wrong certificates
    from bounds.montecarlo import certified_accuracy_lower_bound

    tightest = math.inf
    for n, alpha, rho in [(500, 0.001, 0.001), (10 ** 4, 0.001, 0.05), (10 ** 6, 0.001, 0.001), (1000, 0.1, 0.01)]:
        slack = 1.0 - certified_accuracy_lower_bound(1.0, n, alpha, rho)
        quantile = stats.binom.ppf(1 - rho, n, alpha)  # wrong certificates exceed this with prob. <= ρ
        assert slack * n >= quantile, f"slack {slack * n} below the binomial quantile {quantile} at {(n, alpha, rho)}"
        tightest = min(tightest, slack * n / quantile)
    # without the factors 2 (sqrt(a(1-a)L/N) + L/(3N)) the bound would fail: at N = 1e6, a = ρ = 1e-3
    n, alpha, big = 10 ** 6, 1e-3, math.log(1e3)
    loose = n * alpha + math.sqrt(n * alpha * (1 - alpha) * big) + big / 3
    assert loose < stats.binom.ppf(1 - 1e-3, n, alpha)
    return f"sympy: Bernstein solved for t; code's slack >= exact binomial quantile (closest ratio {tightest:.3f})"
