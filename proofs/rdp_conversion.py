"""RDP -> (ε, δ)-DP: the standard and the improved conversion, and the Gaussian closed form of the first."""
import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="RDP to DP conversions",
    statement="ε(α)-RDP implies (ε(α) + log(1/δ)/(α-1), δ)-DP and (ε(α) + log((α-1)/α) - (log δ + log α)/(α-1), δ)-DP;"
              " the second is never larger; for the Gaussian (Δ=1) the first minimised over real α is"
              " 1/(2σ²) + sqrt(2 log(1/δ))/σ at α* = 1 + σ sqrt(2 log(1/δ))",
    source="Mironov 2017, Prop. 3; Balle et al. 2020, Thm. 21; Canonne, Kamath & Steinke 2020, Prop. 12",
    backs=("bounds.rdp.convert", "bounds.rdp.rdp_epsilon"),
)


def check() -> str:
    a, s, d = sp.symbols("alpha sigma delta", positive=True)
    standard = a / (2 * s ** 2) + sp.log(1 / d) / (a - 1)
    star = 1 + s * sp.sqrt(2 * sp.log(1 / d))
    assert sp.simplify(sp.diff(standard, a).subs(a, star)) == 0, "α* is not stationary"
    closed = 1 / (2 * s ** 2) + sp.sqrt(2 * sp.log(1 / d)) / s
    assert sp.simplify(standard.subs(a, star) - closed) == 0, "the closed form does not follow"
    # improved - standard = log(1 - 1/α) - log(α)/(α - 1) < 0 for α > 1
    gap = sp.log(1 - 1 / a) - sp.log(a) / (a - 1)
    assert all(gap.subs(a, v) < 0 for v in (sp.Rational(1001, 1000), 2, 10, 10 ** 6))

    from bounds.rdp import rdp_epsilon
    from mechanisms import Gaussian

    mp.mp.dps = 40
    worst = 0.0
    for sigma in (0.5, 1.0, 2.0, 7.0):
        ref = 1 / (2 * mp.mpf(sigma) ** 2) + mp.sqrt(2 * mp.log(mp.mpf(10) ** 5)) / sigma
        worst = max(worst, abs(rdp_epsilon(Gaussian(sigma), 1e-5, "standard").epsilon / float(ref) - 1))
    assert worst < 1e-10, f"continuous-α optimiser vs closed form: {worst:.1e}"
    return f"sympy: α* stationary, closed form, improved < standard; optimiser vs closed form {worst:.1e}"
