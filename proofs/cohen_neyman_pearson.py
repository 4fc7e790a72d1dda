"""Cohen et al.'s certified radius by the Neyman–Pearson lemma, and its exactness for linear classifiers."""
import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Cohen radius (Neyman-Pearson)",
    statement="If P(f(x+e) = A) >= p_A and P(f(x+e) = B) <= p_B for e ~ N(0, s^2 I), the smoothed prediction is "
              "A at every x + d with |d| < s/2 (Phi^-1(p_A) - Phi^-1(p_B)); for f = sign(w.x + b) the radius "
              "is exactly |w.x + b| / |w|",
    source="Cohen, Rosenfeld & Kolter 2019, Thm. 1 (via the Neyman-Pearson lemma, Lemma 3) and Thm. 2",
    backs=("bounds.gaussian_radius.gdp_radius", "bounds.radius.certified_radius"),
)

# Φ⁻¹ at 30 digits (REFERENCES.md §2)
PHI_INV = {"0.6": "0.253347103135799798798196181424", "0.9": "1.28155156554460046696510332945",
           "0.99": "2.32634787404084110088560616335", "0.999": "3.09023230616781354154039983011"}


def _phi_inv(p):
    return mp.sqrt(2) * mp.erfinv(2 * mp.mpf(p) - 1)


def check() -> str:
    # 1. The log-likelihood ratio of N(r, s²) against N(0, s²) along d/|d| is (r u - r²/2)/s²: increasing in
    #    u, so the Neyman-Pearson sets are half-spaces {u <= t} (worst case for A) and {u >= t} (for B).
    u, r, s = sp.symbols("u r sigma", real=True)
    llr = sp.expand(sp.log(sp.exp(-(u - r) ** 2 / (2 * s ** 2)) / sp.exp(-u ** 2 / (2 * s ** 2))), force=True)
    assert sp.simplify(llr - (r * u - r ** 2 / 2) / s ** 2) == 0 and sp.diff(llr, u) == r / s ** 2
    # 2. Shifting by r moves the half-space masses to Φ(Φ⁻¹(p_A) - r/σ) and Φ(Φ⁻¹(p_B) + r/σ); they meet at
    #    r = σ/2 (Φ⁻¹(p_A) - Φ⁻¹(p_B)) (sympy solves the boundary equation).
    a, b = sp.symbols("a b", real=True)
    root = sp.solve(sp.Eq(a - r / s, b + r / s), r)
    assert len(root) == 1 and sp.simplify(root[0] - s / 2 * (a - b)) == 0
    mp.mp.dps = 40
    for p, ref in PHI_INV.items():
        assert abs(_phi_inv(p) - mp.mpf(ref)) < mp.mpf(10) ** -28, f"mpmath Φ⁻¹({p}) vs REFERENCES"
    # masses by quadrature of the shifted density (independent of the closed form) at p_A = 0.9, σ = 1.3
    sigma, p_a = mp.mpf("1.3"), mp.mpf("0.9")
    t, shift = sigma * _phi_inv(p_a), mp.mpf("0.7")
    shifted = mp.quad(lambda v: mp.npdf(v, shift, sigma), [-mp.inf, t])
    assert abs(shifted - mp.ncdf(_phi_inv(p_a) - shift / sigma)) < mp.mpf(10) ** -30
    # 3. The code against the closed form at 40 digits (and never above it)
    from bounds.gaussian_radius import gdp_radius

    worst = 0.0
    for sig, pa, pb in [(1.0, 0.6, None), (1.0, 0.9, None), (0.25, 0.99, None), (2.0, 0.999, None),
                        (1.0, 0.8, 0.1), (0.5, 0.45, 0.3), (3.0, 0.51, 0.49)]:
        pb_exact = 1 - mp.mpf(pa) if pb is None else mp.mpf(pb)
        exact = mp.mpf(sig) / 2 * (_phi_inv(pa) - _phi_inv(pb_exact))
        code = gdp_radius(sig, pa, pb)
        assert code <= exact, f"gdp_radius over-reports at {(sig, pa, pb)}"
        worst = max(worst, float(abs(code / exact - 1)))
    assert worst < 1e-13, f"code vs mpmath relative error {worst:.1e}"
    # 4. Linear classifier sign(w.x + b): g = f, p_A = Φ(|w.x + b|/(σ|w|)), and the radius equals the distance
    #    |w.x + b|/|w| to the decision boundary (Cohen et al. Thm. 2's tight case)
    worst_linear = 0.0
    for margin, norm_w, sig in [(0.3, 1.0, 0.5), (2.0, 3.0, 1.0), (-1.1, 0.7, 0.9)]:
        distance = abs(margin) / norm_w
        p_top = float(mp.ncdf(mp.mpf(abs(margin)) / (sig * norm_w)))
        worst_linear = max(worst_linear, abs(gdp_radius(sig, p_top) / distance - 1))
    assert worst_linear < 1e-12, f"linear classifier radius error {worst_linear:.1e}"
    return (f"sympy: half-space NP sets and the boundary root; code vs mpmath rel. error {worst:.1e} (never above); "
            f"linear classifier exact to {worst_linear:.1e}")
