"""Li et al.'s Rényi-divergence lemma and the Gaussian radius it gives."""
import mpmath as mp
import sympy as sp

from proofs import Theorem
from proofs._search import golden_max

THEOREM = Theorem(
    name="Renyi radius (Li et al.)",
    statement="For P = (p_A, p_B, rest) with p_A > p_B and a > 1, min{D_a(Q||P) : Q(A) <= Q(B)} = "
              "-ln(1 - p_A - p_B + 2 M), M = ((p_A^(1-a) + p_B^(1-a))/2)^(1/(1-a)); with "
              "D_a(N(x+d, s^2 I) || N(x, s^2 I)) = a|d|^2/(2 s^2) and data processing, the top class survives for "
              "|d| < sup_a s sqrt(-(2/a) ln(1 - p_A - p_B + 2 M))",
    source="Li, Chen, Wang & Carin 2019, Lemma 1 and Thm. 1; Mironov 2017, Prop. 7; "
           "van Erven & Harremoës 2014, Thm. 9 (data processing)",
    backs=("bounds.renyi_radius.renyi_radius",),
)


def _divergence(q_a, q_b, q_c, p_a, p_b, alpha):
    """D_α(Q || P) on the three cells {A, B, rest}."""
    p_c = 1 - p_a - p_b
    total = q_a ** alpha * p_a ** (1 - alpha) + q_b ** alpha * p_b ** (1 - alpha) + q_c ** alpha * p_c ** (1 - alpha)
    return mp.log(total) / (alpha - 1)


def _closed_form(p_a, p_b, alpha):
    mean = ((p_a ** (1 - alpha) + p_b ** (1 - alpha)) / 2) ** (1 / (1 - alpha))
    return -mp.log(1 - p_a - p_b + 2 * mean)


def check() -> str:
    # 1. sympy: at q_A = q_B = tM, q_C = t p_C, t = 1/(2M + p_C), the objective sum equals t^{α-1}
    #    (so D_α = ln t), using M^{1-α} = (p_A^{1-α} + p_B^{1-α})/2.
    a = sp.symbols("alpha", positive=True)
    m, pc, s = sp.symbols("M p_C S", positive=True)  # S = p_A^{1-α} + p_B^{1-α} = 2 M^{1-α}
    t = 1 / (2 * m + pc)
    total = (t * m) ** a * s + (t * pc) ** a * pc ** (1 - a)
    assert sp.simplify(sp.powsimp(total.subs(s, 2 * m ** (1 - a)), force=True) - t ** (a - 1)) == 0
    # 2. mpmath: the constrained minimum by direct minimisation equals the closed form. On the boundary
    #    q_A = q_B = q the minimum over q is a root of dD/dq; off the boundary (q_A < q_B) D is larger.
    mp.mp.dps = 30
    worst = mp.mpf(0)
    for p_a, p_b, alpha in [(0.9, 0.05, 2), (0.6, 0.3, 1.5), (0.8, 0.05, 7), (0.5, 0.2, 1.1)]:
        p_a, p_b, alpha = mp.mpf(p_a), mp.mpf(p_b), mp.mpf(alpha)
        on_boundary = lambda q: _divergence(q, q, 1 - 2 * q, p_a, p_b, alpha)  # noqa: E731
        q_star = mp.findroot(lambda q: mp.diff(on_boundary, q), (mp.mpf("0.01"), mp.mpf("0.49")),
                             solver="illinois")
        minimum = on_boundary(q_star)
        worst = max(worst, abs(minimum - _closed_form(p_a, p_b, alpha)))
        for shift in (mp.mpf("0.01"), mp.mpf("0.05")):  # move mass from A to B: Q(A) < Q(B), D grows
            assert _divergence(q_star - shift, q_star + shift, 1 - 2 * q_star, p_a, p_b, alpha) > minimum
    # with no third cell (p_B = 1 - p_A) the only Q with Q(A) = Q(B) is (1/2, 1/2)
    two_cells = mp.log((mp.mpf("0.9") ** -1 + mp.mpf("0.1") ** -1) / 4)  # α = 2
    worst = max(worst, abs(two_cells - _closed_form(mp.mpf("0.9"), mp.mpf("0.1"), 2)))
    assert worst < mp.mpf(10) ** -25, f"lemma: minimum vs closed form {worst}"
    # 3. The code's supremum over α against an mpmath search on ln(α - 1)
    from bounds.renyi_radius import renyi_radius

    worst_code = 0.0
    for p_a, p_b, ref in [(0.9, None, 1.0319), (0.6, None, 0.2022), (0.8, 0.1, 0.9125), (0.99, None, 1.9080)]:
        pa, pb = mp.mpf(p_a), 1 - mp.mpf(p_a) if p_b is None else mp.mpf(p_b)
        squared = lambda x: -2 / (1 + mp.exp(x)) * mp.log(1 - pa - pb + 2 * (  # noqa: E731
            (pa ** (-mp.exp(x)) + pb ** (-mp.exp(x))) / 2) ** (-1 / mp.exp(x)))
        exact = mp.sqrt(golden_max(squared, -20, 20))
        code = renyi_radius(1.0, p_a, p_b)
        assert code <= exact * (1 + 1e-14) and abs(code - ref) < 5e-5, f"renyi {code} vs {exact} (REFERENCES {ref})"
        worst_code = max(worst_code, float(abs(1 - code / exact)))
    assert worst_code < 1e-9, f"code's optimum over alpha is {worst_code:.1e} below mpmath's"
    return (f"sympy: stationary point value; lemma minimum = closed form to {float(worst):.0e}; "
            f"code within {worst_code:.1e} of the mpmath optimum")
