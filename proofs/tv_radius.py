"""The total-variation route: TV of two shifted Gaussians and the margin condition."""
import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="TV radius",
    statement="TV(N(0, s^2 I), N(d, s^2 I)) = 2 Phi(|d|/2s) - 1; every event moves by at most TV, so the top class "
              "survives when TV < (p_A - p_B)/2, i.e. |d| < 2 s Phi^-1(1/2 + (p_A - p_B)/4) <= 2 s Phi^-1(3/4); "
              "the TV is the Gaussian's exact profile at e = 0 (so PixelDP's condition at e' = 0 is this one)",
    source="e.g. Devroye, Mehrabian & Reddad 2018 (TV of Gaussians); Lecuyer et al. 2019, Prop. 1 with e = 0",
    backs=("bounds.gaussian_radius.tv_radius", "bounds.pixeldp_radius.pixeldp_radius"),
)


def check() -> str:
    # 1. In the direction of d the densities cross at |d|/2: TV = P_0(X < r/2) - P_r(X < r/2) = 2Φ(r/2σ) - 1
    mp.mp.dps = 40
    worst_tv = mp.mpf(0)
    for r, sigma in [(0.3, 1.0), (2.0, 0.7), (5.0, 2.0)]:
        tv = mp.quad(lambda v: abs(mp.npdf(v, 0, sigma) - mp.npdf(v, r, sigma)), [-mp.inf, mp.mpf(r) / 2, mp.inf]) / 2
        worst_tv = max(worst_tv, abs(tv - (2 * mp.ncdf(mp.mpf(r) / (2 * sigma)) - 1)))
    assert worst_tv < mp.mpf(10) ** -30
    # 2. sympy: P'(A) >= p_A - T and P'(B) <= p_B + T, so A stays on top iff T < (p_A - p_B)/2; solving
    #    2Φ(r/2σ) - 1 = (p_A - p_B)/2 with Φ(z) = (1 + erf(z/√2))/2 gives r = 2σΦ⁻¹(1/2 + (p_A - p_B)/4)
    r, s, gap = sp.symbols("r sigma g", positive=True)
    tv_expr = sp.erf(r / (2 * s) / sp.sqrt(2))  # 2Φ(r/2σ) - 1
    solution = sp.solve(sp.Eq(tv_expr, gap / 2), r)
    assert len(solution) == 1 and sp.simplify(solution[0] - 2 * s * sp.sqrt(2) * sp.erfinv(gap / 2)) == 0
    # and 2σ√2 erfinv(g/2) = 2σΦ⁻¹(1/2 + g/4) since Φ⁻¹(p) = √2 erfinv(2p - 1)
    # 3. The code against mpmath, and the exact profile at ε = 0 equals the TV
    from bounds.gaussian_radius import tv_radius
    from mechanisms import Gaussian

    worst = 0.0
    for sigma, pa, pb in [(1.0, 0.9, None), (1.0, 0.999, None), (0.5, 0.7, 0.2), (3.0, 1.0, None)]:
        pb_exact = 1 - mp.mpf(pa) if pb is None else mp.mpf(pb)
        exact = 2 * sigma * mp.sqrt(2) * mp.erfinv((mp.mpf(pa) - pb_exact) / 2)
        code = tv_radius(sigma, pa, pb)
        assert code <= exact, f"tv_radius over-reports at {(sigma, pa, pb)}"
        worst = max(worst, float(abs(code / exact - 1)))
    assert worst < 1e-13, f"code vs mpmath {worst:.1e}"
    assert abs(tv_radius(1.0, 0.999) - 1.3458) < 5e-5  # REFERENCES.md §2
    profile_gap = max(abs(Gaussian(1.3, r).delta(0.0) - float(2 * mp.ncdf(r / 2.6) - 1)) for r in (0.1, 1.0, 3.0))
    assert profile_gap < 1e-15
    return f"TV by quadrature to 1e-30; sympy solves the margin; code vs mpmath {worst:.1e}; delta(0) = TV"
