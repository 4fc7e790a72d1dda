"""Integer-α RDP of the Poisson-subsampled Gaussian by the binomial expansion."""
import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="subsampled Gaussian RDP (integer α)",
    statement="A_α = E_Q[(dP/dQ)^α] = Σ_k C(α,k)(1-q)^{α-k} q^k exp((k²-k)/(2σ²)) for P = (1-q)N(0,σ²) + qN(1,σ²),"
              " Q = N(0,σ²); ε(α) = log(A_α)/(α-1)",
    source="Mironov, Talwar & Zhang 2019, §3.3",
    backs=("mechanisms.pair.PrivacyLossPair.rdp",),
)


def check() -> str:
    # symbolic: E_Q[(dN(1)/dN(0))^k] = exp((k²-k)/(2σ²)), the moment each binomial term needs
    x = sp.symbols("x", real=True)
    s = sp.symbols("sigma", positive=True)
    k = sp.symbols("k", positive=True, integer=True)
    ratio = sp.exp((2 * x - 1) / (2 * s ** 2))
    q_density = sp.exp(-x ** 2 / (2 * s ** 2)) / sp.sqrt(2 * sp.pi * s ** 2)
    moment = sp.simplify(sp.integrate(sp.powsimp(ratio ** k * q_density, force=True), (x, -sp.oo, sp.oo)))
    assert sp.simplify(moment - sp.exp((k ** 2 - k) / (2 * s ** 2))) == 0, f"sympy gives {moment}"

    from mechanisms import Gaussian, PoissonSampled

    mp.mp.dps = 50
    worst = 0.0
    for q, sigma, alpha in [(0.01, 1.0, 2), (0.004, 1.1, 32), (0.2, 0.7, 7), (0.001, 0.8, 40)]:
        a = mp.fsum(mp.binomial(alpha, j) * (1 - mp.mpf(q)) ** (alpha - j) * mp.mpf(q) ** j
                    * mp.exp(mp.mpf(j * j - j) / (2 * mp.mpf(sigma) ** 2)) for j in range(alpha + 1))
        ref = mp.log(a) / (alpha - 1)
        worst = max(worst, abs(PoissonSampled(Gaussian(sigma), q).rdp(float(alpha)) / float(ref) - 1))
    assert worst < 1e-11, f"code vs 50-digit binomial sum: {worst:.1e}"
    return f"sympy: Gaussian likelihood-ratio moments; code vs 50-digit binomial sum {worst:.1e}"
