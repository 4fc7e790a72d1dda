"""One-sided confidence bounds on a probability: Clopper–Pearson, Hoeffding, empirical Bernstein, Bonferroni."""
import itertools

import numpy as np
import sympy as sp
from scipy import stats

from proofs import Theorem

THEOREM = Theorem(
    name="Confidence bounds",
    statement="For k ~ Binomial(n, p): P(k >= j) = I_p(j, n - j + 1), so the Clopper-Pearson bound L(k) = "
              "Beta.ppf(a, k, n - k + 1) has P(L(k) > p) <= a; Hoeffding's P(p_hat - p >= t) <= exp(-2 n t^2) = a at "
              "t = sqrt(ln(1/a)/(2n)); the empirical Bernstein bound p_hat - sqrt(2 V ln(2/a)/n) - 7 ln(2/a)/(3(n-1)) "
              "with V = k(n-k)/(n(n-1)) fails with probability <= a; m one-sided tests at a/m fail together with "
              "probability <= a (union bound)",
    source="Clopper & Pearson 1934; Hoeffding 1963, Thm. 1; Maurer & Pontil 2009, Thm. 4; Bonferroni "
           "(union bound); Lecuyer et al. 2019 §III-D (PixelDP's use over K classes)",
    backs=("bounds.confidence.clopper_pearson_lower", "bounds.confidence.clopper_pearson_upper",
           "bounds.confidence.hoeffding_lower", "bounds.confidence.hoeffding_upper",
           "bounds.confidence.bernstein_lower", "bounds.confidence.bernstein_upper",
           "bounds.confidence.bernoulli_variance", "bounds.confidence.bonferroni"),
)

GRID_P = (0.02, 0.3, 0.5, 0.77, 0.95, 0.999)
GRID_N = (2, 5, 31, 200, 1000)
GRID_ALPHA = (0.2, 0.05, 0.001)


def _failure(bound_fails, p, n) -> float:
    """Exact P(bound_fails(k)) for k ~ Binomial(n, p)."""
    ks = [k for k in range(n + 1) if bound_fails(k)]
    return float(stats.binom.pmf(ks, n, p).sum()) if ks else 0.0


def check() -> str:
    p, t, x = sp.symbols("p t x", positive=True)
    n_sym, alpha_sym = sp.symbols("n alpha", positive=True)
    # 1. sympy: the binomial upper tail is the regularized incomplete beta, for every j <= n <= 6
    for n in range(1, 7):
        for j in range(1, n + 1):
            tail = sum(sp.binomial(n, i) * p ** i * (1 - p) ** (n - i) for i in range(j, n + 1))
            beta_cdf = sp.integrate(x ** (j - 1) * (1 - x) ** (n - j), (x, 0, p)) / sp.beta(j, n - j + 1)
            assert sp.simplify(sp.expand(tail - sp.expand_func(beta_cdf))) == 0, f"tail identity at {(n, j)}"
    # 2. sympy: Hoeffding's tail at its half-width is α; the unbiased variance of k ones in n draws
    width = sp.sqrt(sp.log(1 / alpha_sym) / (2 * n_sym))
    assert sp.simplify(sp.exp(-2 * n_sym * width ** 2) - alpha_sym) == 0
    k_sym = sp.symbols("k", positive=True)
    assert sp.simplify((k_sym - n_sym * (k_sym / n_sym) ** 2) / (n_sym - 1)
                       - k_sym * (n_sym - k_sym) / (n_sym * (n_sym - 1))) == 0
    # 3. the code: exact coverage (binomial pmf summed over the counts where each bound fails) on a grid
    from bounds.confidence import (bernoulli_variance, bernstein_lower, bernstein_upper, bonferroni,
                                   clopper_pearson_lower, clopper_pearson_upper, hoeffding_lower, hoeffding_upper)

    worst = {}
    for prob, n, alpha in itertools.product(GRID_P, GRID_N, GRID_ALPHA):
        failures = {
            "clopper-pearson": _failure(lambda k: clopper_pearson_lower(k, n, alpha) > prob, prob, n),
            "clopper-pearson upper": _failure(lambda k: clopper_pearson_upper(k, n, alpha) < prob, prob, n),
            "hoeffding": _failure(lambda k: hoeffding_lower(k / n, n, alpha) > prob, prob, n),
            "hoeffding upper": _failure(lambda k: hoeffding_upper(k / n, n, alpha) < prob, prob, n),
            "bernstein": _failure(lambda k: bernstein_lower(k / n, bernoulli_variance(k, n), n, alpha) > prob,
                                  prob, n),
            "bernstein upper": _failure(lambda k: bernstein_upper(k / n, bernoulli_variance(k, n), n, alpha) < prob,
                                        prob, n),
        }
        for name, fail in failures.items():
            assert fail <= alpha, f"{name} fails with probability {fail:.3g} > {alpha} at p={prob}, n={n}"
            worst[name] = max(worst.get(name, 0.0), fail / alpha)
    # Clopper-Pearson is exact: the bound at k is the p where P(Binomial(n, p) >= k) = α
    for k, n, alpha in [(990, 1000, 0.001), (3, 10, 0.05), (1, 7, 0.2)]:
        lower = clopper_pearson_lower(k, n, alpha)
        assert abs(stats.binom.sf(k - 1, n, lower) / alpha - 1) < 1e-9
    # 4. Bonferroni: three independent one-sided CP bounds at α/3 all hold with probability >= 1 - α
    level, n = 0.05, 50
    per_test = bonferroni(level, 3)
    joint_failure = 1 - np.prod([1 - _failure(lambda k: clopper_pearson_lower(k, n, per_test) > q, q, n)
                                 for q in (0.2, 0.5, 0.9)])
    assert joint_failure <= level
    return ("sympy: binomial tail = incomplete beta (n <= 6), Hoeffding width, Bernoulli variance; exact coverage "
            f"on {len(GRID_P) * len(GRID_N) * len(GRID_ALPHA)} (p, n, alpha): worst failure/alpha "
            + ", ".join(f"{name} {ratio:.2f}" for name, ratio in worst.items()))
