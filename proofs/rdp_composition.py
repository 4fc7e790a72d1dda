"""RDP of an adaptive composition is the sum of the RDP curves (Mironov 2017, Prop. 1)."""
import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="RDP composition",
    statement="D_α(P1×P2 || Q1×Q2) = D_α(P1||Q1) + D_α(P2||Q2); adaptively, ε(α) adds over steps",
    source="Mironov 2017, 'Rényi differential privacy', Prop. 1",
    backs=("mechanisms.Mechanism.rdp",),
)


def check() -> str:
    # symbolic: for product measures the α-moment factorises, so the log over (α - 1) adds
    a, m1, m2 = sp.symbols("alpha M1 M2", positive=True)
    total = sp.log(m1 * m2) / (a - 1)
    assert sp.simplify(sp.expand_log(total, force=True) - (sp.log(m1) / (a - 1) + sp.log(m2) / (a - 1))) == 0

    # numeric: a Gaussian and a Laplace step; the product's α-moment is the product of the 1-D moments
    # (Fubini, as above), each by mpmath quadrature, against the code's sum of curves
    from mechanisms import Composition, Gaussian, Laplace

    mp.mp.dps = 30
    alpha, sigma, b = 3.0, 1.3, 0.9
    gauss = lambda x: mp.npdf(x, 1, sigma) ** alpha * mp.npdf(x, 0, sigma) ** (1 - alpha)
    lap = lambda y: (mp.exp(-abs(y - 1) / b) / (2 * b)) ** alpha * (mp.exp(-abs(y) / b) / (2 * b)) ** (1 - alpha)
    joint = mp.quad(gauss, [-mp.inf, 0, 1, mp.inf]) * mp.quad(lap, [-mp.inf, 0, 1, mp.inf])
    ref = mp.log(joint) / (alpha - 1)
    code = Composition(((Gaussian(sigma), 1), (Laplace(b), 1))).rdp(alpha)
    err = abs(code / float(ref) - 1)
    assert err < 1e-9, f"composition RDP vs quadrature: relative error {err:.1e}"
    return f"sympy: moments factorise so log/(α-1) adds; Gaussian+Laplace vs mpmath: rel. error {err:.1e}"
