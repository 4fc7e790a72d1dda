"""Rényi divergence of two Gaussians with equal variance (Mironov 2017, Prop. 7)."""
import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Gaussian RDP",
    statement="D_α(N(Δ, σ²) || N(0, σ²)) = α Δ² / (2σ²) for every α > 1",
    source="Mironov 2017, 'Rényi differential privacy', Prop. 7",
    backs=("mechanisms.loss.GaussianLoss.log_mgf0", "mechanisms.Gaussian.rdp"),
)


def check() -> str:
    x = sp.symbols("x", real=True)
    a, s, d = sp.symbols("alpha sigma Delta", positive=True)
    p = sp.exp(-(x - d) ** 2 / (2 * s ** 2)) / sp.sqrt(2 * sp.pi * s ** 2)
    q = sp.exp(-x ** 2 / (2 * s ** 2)) / sp.sqrt(2 * sp.pi * s ** 2)
    # p^α q^(1-α) is a Gaussian kernel: integrate symbolically and simplify the log over α - 1
    integral = sp.integrate(sp.simplify(sp.powsimp(p ** a * q ** (1 - a), force=True)), (x, -sp.oo, sp.oo))
    rdp = sp.simplify(sp.expand_log(sp.log(integral), force=True) / (a - 1))
    assert sp.simplify(rdp - a * d ** 2 / (2 * s ** 2)) == 0, f"sympy gives {rdp}"

    from mechanisms import Gaussian

    mp.mp.dps = 40
    worst = 0.0
    for sigma, alpha in [(1.0, 2.0), (0.7, 3.5), (3.0, 40.0)]:
        f = lambda t: mp.npdf(t, 1, sigma) ** alpha * mp.npdf(t, 0, sigma) ** (1 - alpha)
        ref = mp.log(mp.quad(f, [-mp.inf, 0, 1, mp.inf])) / (alpha - 1)
        worst = max(worst, abs(Gaussian(sigma).rdp(alpha) / float(ref) - 1))
    assert worst < 1e-12, f"code vs mpmath relative error {worst:.2e}"
    return f"sympy: integral identity holds symbolically; code vs mpmath quad: max rel. error {worst:.1e}"
