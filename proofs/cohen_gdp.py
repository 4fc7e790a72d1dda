"""Cohen et al.'s radius from Gaussian differential privacy (f-DP): the same σ/2 (Φ⁻¹(p_A) - Φ⁻¹(p_B))."""
import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Cohen radius (mu-GDP)",
    statement="N(x, s^2 I) and N(x + d, s^2 I) are mu-GDP with mu = |d|/s (trade-off G_mu(a) = Phi(Phi^-1(1-a) - mu)); "
              "under mu-GDP an event of probability p keeps probability in [Phi(Phi^-1(p) - mu), "
              "Phi(Phi^-1(p) + mu)], so the top class survives iff mu < (Phi^-1(p_A) - Phi^-1(p_B))/2",
    source="Dong, Roth & Su 2022, Def. 2.1, Thm. 2.7 and Prop. 2.4 (post-processing); Cohen et al. 2019, Thm. 1",
    backs=("bounds.gaussian_radius.gdp_radius", "bounds.group_privacy.certified_poisoning_size_gdp"),
)


def check() -> str:
    # 1. sympy with Φ(z) = (1 + erf(z/√2))/2 and Φ⁻¹(p) = √2 erfinv(2p - 1):
    #    Q(A) >= G_μ(1 - p_A) = Φ(Φ⁻¹(p_A) - μ) and Q(B) <= 1 - G_μ(p_B) = Φ(Φ⁻¹(p_B) + μ).
    y, mu, a, b = sp.symbols("y mu a b", real=True)
    p = (1 + y) / 2  # a probability written so that 2p - 1 = y and 1 - 2p = -y (erfinv is odd)
    phi = lambda z: (1 + sp.erf(z / sp.sqrt(2))) / 2  # noqa: E731
    phi_inv = lambda q: sp.sqrt(2) * sp.erfinv(sp.expand(2 * q - 1))  # noqa: E731
    tradeoff = lambda alpha: phi(phi_inv(1 - alpha) - mu)  # noqa: E731
    # erfinv is odd: -erfinv(y) is the (unique, erf being increasing) preimage of -y under erf
    assert sp.simplify(sp.erf(-sp.erfinv(y)) + y) == 0
    odd = {sp.erfinv(-y): -sp.erfinv(y)}
    assert sp.simplify((tradeoff(1 - p) - phi(phi_inv(p) - mu)).subs(odd)) == 0
    assert sp.simplify((1 - tradeoff(p) - phi(phi_inv(p) + mu)).subs(odd)) == 0
    # Φ is increasing: Φ(a - μ) > Φ(b + μ) iff a - μ > b + μ iff μ < (a - b)/2
    assert sp.solve(sp.Eq(a - mu, b + mu), mu) == [(a - b) / 2]
    # 2. The trade-off curve of N(0,1) vs N(μ,1) from the most powerful (threshold) test, by quadrature at
    #    40 digits, is G_μ (so the Gaussian shift is exactly μ-GDP with μ = |d|/σ)
    mp.mp.dps = 40
    worst_curve = mp.mpf(0)
    for m, alpha in [(0.5, 0.1), (1.3, 0.01), (2.0, 0.4)]:
        threshold = mp.sqrt(2) * mp.erfinv(1 - 2 * mp.mpf(alpha))  # P_{N(0,1)}(X > t) = α
        type_two = mp.quad(lambda v: mp.npdf(v, m, 1), [-mp.inf, threshold])
        worst_curve = max(worst_curve, abs(type_two - mp.ncdf(threshold - m)))
    assert worst_curve < mp.mpf(10) ** -30
    # 3. The code: gdp_radius/σ is the root μ* of Φ(Φ⁻¹(p_A) - μ) = Φ(Φ⁻¹(p_B) + μ) (found by mpmath findroot)
    from bounds.gaussian_radius import gdp_radius
    from mechanisms import Gaussian

    worst = 0.0
    for sigma, pa, pb in [(1.0, 0.9, 0.1), (0.5, 0.7, 0.05), (2.0, 0.99, 0.0001), (1.0, 0.55, 0.45)]:
        ia, ib = mp.sqrt(2) * mp.erfinv(2 * mp.mpf(pa) - 1), mp.sqrt(2) * mp.erfinv(2 * mp.mpf(pb) - 1)
        mu_star = mp.findroot(lambda x: mp.ncdf(ia - x) - mp.ncdf(ib + x), (0, 20), solver="illinois")
        code = gdp_radius(sigma, pa, pb)
        assert code <= sigma * mu_star, f"over-reported at {(sigma, pa, pb)}"
        worst = max(worst, float(abs(code / (sigma * mu_star) - 1)))
        assert Gaussian(sigma, code).mu <= float(mu_star) * (1 + 1e-15)  # the radius is a μ within μ*
    assert worst < 1e-12, f"code vs findroot relative error {worst:.1e}"
    return (f"sympy: G_mu bounds and the threshold mu < (a-b)/2; NP trade-off = G_mu to 1e-30; "
            f"code vs findroot {worst:.1e}")
