"""PixelDP's robustness condition and the supremum of its radius (classical and exact Gaussian curves)."""
import mpmath as mp
import sympy as sp

from proofs import Theorem
from proofs._search import golden_max

THEOREM = Theorem(
    name="PixelDP condition",
    statement="If the noise is (e, d)-DP for perturbations of size L, scores in [0, 1] obey E'[y] <= e^e E[y] + d "
              "both ways, so the top class survives every such perturbation when p_A > e^(2e) p_B + (1 + e^e) d; "
              "the radius is the sup over (e', d') of the distance at which the noise is (e', d')-DP; with the "
              "classical calibration its supremum over p_A -> 1 is s / sqrt(2 ln(1.25 (1 + e))) = 0.5704690830 s",
    source="Lecuyer et al. 2019, Lemma 1 and Prop. 1; Cohen et al. 2019, App. I (continuous form)",
    backs=("bounds.pixeldp_radius.pixeldp_condition", "bounds.pixeldp_radius.pixeldp_radius",
           "bounds.group_privacy.certified_poisoning_size"),
)


def _classic_distance(beta, p_a, p_b):
    """β / sqrt(2 ln(1.25/δ')) at δ' = (p_A - e^{2β} p_B)/(1 + e^β): the classical L/σ at (β, δ')."""
    slack = (p_a - mp.exp(2 * beta) * p_b) / (1 + mp.exp(beta))
    return beta / mp.sqrt(2 * mp.log(mp.mpf("1.25") / slack)) if slack > 0 else mp.mpf(0)


def _analytic_distance(beta, p_a, p_b):
    """The μ at which μ-GDP has δ_μ(β) = δ'(β) (the exact Gaussian curve), by mpmath findroot."""
    slack = (p_a - mp.exp(2 * beta) * p_b) / (1 + mp.exp(beta))
    if slack <= 0:
        return mp.mpf(0)
    profile = lambda m: mp.ncdf(m / 2 - beta / m) - mp.exp(beta) * mp.ncdf(-m / 2 - beta / m) - slack  # noqa
    return mp.findroot(profile, (mp.mpf("1e-6"), mp.mpf(40)), solver="anderson")


def check() -> str:
    # 1. sympy: e^{-ε}(p_A - δ) > e^ε p_B + δ  ⇔  p_A > e^{2ε} p_B + (1 + e^ε) δ  (multiply by e^ε > 0)
    e, d, pa, pb = sp.symbols("epsilon delta p_A p_B", positive=True)
    lower_a, upper_b = sp.exp(-e) * (pa - d), sp.exp(e) * pb + d
    assert sp.simplify(sp.exp(e) * (lower_a - upper_b) - (pa - sp.exp(2 * e) * pb - (1 + sp.exp(e)) * d)) == 0
    # 2. The classical supremum: at p_A = 1, p_B = 0 the distance β/sqrt(2 ln(1.25(1+e^β))) increases on (0, 1]
    #    (its derivative is positive on a fine grid), so the supremum is at β = 1.
    mp.mp.dps = 30
    distance = lambda beta: _classic_distance(beta, mp.mpf(1), mp.mpf(0))  # noqa: E731
    assert all(mp.diff(distance, mp.mpf(k) / 200) > 0 for k in range(1, 201))
    sup = 1 / mp.sqrt(2 * mp.log(mp.mpf("1.25") * (1 + mp.e)))
    assert abs(sup - mp.mpf("0.5704690830")) < 5e-11
    from bounds.pixeldp_radius import pixeldp_radius

    code_sup = pixeldp_radius(1.0, 1.0, calibration="classic")
    assert code_sup <= sup and abs(code_sup / sup - 1) < 1e-12, f"code {code_sup} vs {sup}"
    # 3. The code's continuous supremum against an independent mpmath golden-section search
    worst = 0.0
    for p_a, p_b in [(0.6, 0.4), (0.9, 0.1), (0.99, 0.01), (0.8, 0.1), (0.999, 0.001)]:
        hi = min(1, mp.log(mp.mpf(p_a) / p_b) / 2)
        exact = golden_max(lambda beta: _classic_distance(beta, mp.mpf(p_a), mp.mpf(p_b)), mp.mpf(10) ** -12, hi)
        code = pixeldp_radius(1.0, p_a, p_b, calibration="classic")
        assert code <= exact, f"classic pixeldp over-reports at {(p_a, p_b)}"
        worst = max(worst, float(1 - code / exact))
    for p_a, p_b in [(0.9, 0.1), (0.999, 0.001)]:
        hi = mp.log(mp.mpf(p_a) / p_b) / 2
        exact = golden_max(lambda beta: _analytic_distance(beta, mp.mpf(p_a), mp.mpf(p_b)), 0, hi, steps=60)
        code = pixeldp_radius(1.0, p_a, p_b)
        assert code <= exact * (1 + 1e-12), f"analytic pixeldp over-reports at {(p_a, p_b)}"
        worst = max(worst, float(abs(1 - code / exact)))
    assert worst < 1e-8, f"code's supremum is {worst:.1e} below mpmath's"
    return (f"sympy: the two forms of the condition agree; classical sup 0.5704690830 (code {code_sup:.10f}); "
            f"code's supremum within {worst:.1e} of mpmath golden search")
