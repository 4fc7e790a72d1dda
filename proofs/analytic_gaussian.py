"""The analytic Gaussian mechanism's exact privacy profile equals μ-GDP's, μ = Δ/σ."""
import mpmath as mp

from proofs import Theorem

THEOREM = Theorem(
    name="analytic Gaussian ≡ μ-GDP",
    statement="δ(ε) = Φ(Δ/(2σ) - εσ/Δ) - e^ε Φ(-Δ/(2σ) - εσ/Δ) = sup_S P(S) - e^ε Q(S) for N(Δ,σ²) vs N(0,σ²),"
              " the profile of μ-GDP with μ = Δ/σ",
    source="Balle & Wang 2018, Thm. 8; Dong, Roth & Su 2022, Cor. 2.13",
    backs=("mechanisms.gdp_delta", "mechanisms.gdp_epsilon", "mechanisms.Gaussian.delta"),
)


def check() -> str:
    from mechanisms import Gaussian, gdp_delta

    mp.mp.dps = 40
    worst_def = worst_code = 0.0
    for sigma, delta_s, eps in [(1.0, 1.0, 0.5), (2.0, 1.0, 1.0), (0.5, 1.0, 3.0), (1.0, 2.5, 2.0)]:
        # definition: integrate (p - e^ε q)_+ over the line, p = N(Δ, σ²), q = N(0, σ²)
        sigma, delta_s, eps = mp.mpf(sigma), mp.mpf(delta_s), mp.mpf(eps)
        f = lambda x: mp.npdf(x, delta_s, sigma) - mp.exp(eps) * mp.npdf(x, 0, sigma)
        cut = sigma ** 2 * eps / delta_s + delta_s / 2          # p >= e^ε q exactly above this point
        direct = mp.quad(f, [cut, cut + 10 * sigma, mp.inf])
        mu = delta_s / sigma
        closed = mp.ncdf(mu / 2 - eps / mu) - mp.exp(eps) * mp.ncdf(-mu / 2 - eps / mu)
        worst_def = max(worst_def, float(abs(direct / closed - 1)))
        worst_code = max(worst_code, abs(Gaussian(float(sigma), float(delta_s)).delta(float(eps)) / float(closed) - 1),
                         abs(float(gdp_delta(float(mu), float(eps))) / float(closed) - 1))
    assert worst_def < 1e-25, f"hockey-stick integral vs closed form {worst_def:.1e}"
    assert worst_code < 1e-12, f"code vs mpmath {worst_code:.1e}"
    return f"mpmath: hockey-stick integral = closed form ({worst_def:.0e}); code rel. error {worst_code:.1e}"
