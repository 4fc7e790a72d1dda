"""What n Monte-Carlo draws can certify at level α: the Clopper–Pearson ceiling α^{1/n} and its radius."""
import math
import warnings

import mpmath as mp
import sympy as sp
from scipy import stats

from proofs import Theorem

THEOREM = Theorem(
    name="Sample-size ceiling",
    statement="With all n draws for the top class the one-sided Clopper-Pearson lower bound at level a is the "
              "Beta(n, 1) quantile a^(1/n), so CERTIFY certifies at most s Phi^-1(a^(1/n)) and abstains when "
              "n <= log2(1/a); PREDICT's two-sided binomial p-value is then 2^(1-n), so it abstains when "
              "n < log2(2/a)",
    source="Clopper & Pearson 1934; Cohen, Rosenfeld & Kolter 2019, Alg. 1 (CERTIFY, PREDICT)",
    backs=("bounds.confidence.clopper_pearson_lower", "bounds.montecarlo.max_certifiable_radius",
           "bounds.montecarlo.min_samples_for_radius", "bounds.montecarlo.min_samples_to_pass",
           "bounds.montecarlo.predict", "bounds.montecarlo.predict_pvalue", "bounds.montecarlo.check_sample_size",
           "bounds.montecarlo.monte_carlo_radius"),
)

CEILINGS = {100: 1.5005, 1000: 2.4633, 10 ** 4: 3.1986, 10 ** 5: 3.8115}  # σ = 1, α = 0.001 (REFERENCES §2)


def _passes_quietly(n, level) -> bool:
    """check_sample_size without its warning."""
    from bounds.montecarlo import SampleSizeWarning, check_sample_size

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SampleSizeWarning)
        return check_sample_size(n, level)


def _clopper_pearson_exact(k, n, level):
    """The q with I_q(k, n - k + 1) = level, by bisection at 30 digits (I_q increases in q)."""
    lo, hi = mp.mpf(0), mp.mpf(k) / n
    for _ in range(110):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mp.betainc(k, n - k + 1, 0, mid, regularized=True) < level else (lo, mid)
    return lo


def check() -> str:
    # 1. sympy: Beta(n, 1) has density n x^{n-1}, CDF x^n, so its α-quantile is α^{1/n}
    x, t = sp.symbols("x t", positive=True)
    n, alpha = sp.symbols("n alpha", positive=True)
    cdf = sp.integrate(n * t ** (n - 1), (t, 0, x))
    assert sp.simplify(cdf - x ** n) == 0
    assert sp.simplify(cdf.subs(x, alpha ** (1 / n)) - alpha) == 0
    # CERTIFY passes iff α^{1/n} > 1/2 iff n > log2(1/α); PREDICT's p-value 2 · 2^{-n} <= α iff n >= log2(2/α)
    from bounds.confidence import clopper_pearson_lower
    from bounds.montecarlo import (check_sample_size, max_certifiable_radius, min_samples_for_radius,
                                   min_samples_to_pass, monte_carlo_radius, predict_pvalue)

    mp.mp.dps = 30
    worst = 0.0
    for draws in (1, 7, 100, 12345):
        exact = mp.mpf("0.001") ** (mp.mpf(1) / draws)
        code = clopper_pearson_lower(draws, draws, 0.001)
        assert code <= exact
        worst = max(worst, float(abs(code / exact - 1)))
        assert abs(stats.binomtest(draws, draws, 0.5).pvalue - min(1.0, 2.0 ** (1 - draws))) < 1e-15
    # 2. the radius ceiling σΦ⁻¹(α^{1/n}) at 30 digits and REFERENCES' values
    for draws, ref in CEILINGS.items():
        exact = mp.sqrt(2) * mp.erfinv(2 * mp.mpf("0.001") ** (mp.mpf(1) / draws) - 1)
        code = max_certifiable_radius(1.0, draws, 0.001)
        worst = max(worst, float(abs(code / exact - 1)))
        assert abs(code - ref) < 5e-5, f"ceiling at n = {draws}: {code} vs REFERENCES {ref}"
        assert min_samples_for_radius(code, 1.0, 0.001) <= draws
    assert worst < 1e-12, f"code vs mpmath {worst:.1e}"
    # CERTIFY's radius for k of n draws: σΦ⁻¹ of the exact Clopper-Pearson bound (never above); abstains below 1/2
    for k, draws, sigma in [(990, 1000, 0.5), (70, 100, 1.0), (99_990, 100_000, 0.25)]:
        exact = sigma * mp.sqrt(2) * mp.erfinv(2 * _clopper_pearson_exact(k, draws, mp.mpf("0.001")) - 1)
        code = monte_carlo_radius(k, draws, sigma, 0.001)
        assert code <= exact and abs(code / exact - 1) < 1e-9, f"CERTIFY radius at {(k, draws)}"
    assert _clopper_pearson_exact(60, 100, mp.mpf("0.001")) < 0.5 and monte_carlo_radius(60, 100, 1.0, 0.001) == 0
    # PREDICT's p-value: twice the binomial tail at p = 1/2, summed exactly
    for top, second in [(10, 0), (30, 12), (7, 7)]:
        total = top + second
        exact_p = 2 * sum(mp.binomial(total, j) for j in range(max(top, second), total + 1)) / mp.mpf(2) ** total
        assert abs(predict_pvalue(top, second) - min(1, exact_p)) < 1e-12
    # 3. the fewest draws that can pass, by brute force
    for level in (0.1, 0.05, 0.001, 1e-6):
        certify = next(m for m in range(1, 100) if level ** (1 / m) > 0.5)
        predict = next(m for m in range(1, 100) if 2.0 ** (1 - m) <= level)
        assert min_samples_to_pass(level, "certify") == certify == math.floor(math.log2(1 / level)) + 1
        assert min_samples_to_pass(level, "predict") == predict == math.ceil(math.log2(2 / level))
        assert check_sample_size(certify, level) and (certify == 1 or not _passes_quietly(certify - 1, level))
    return f"sympy: Beta(n,1) quantile a^(1/n); code vs mpmath {worst:.1e}; REFERENCES ceilings; pass thresholds"
