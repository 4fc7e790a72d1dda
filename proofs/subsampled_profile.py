"""Exact one-step privacy profile of the Poisson-subsampled Gaussian in both directions."""
import mpmath as mp

from proofs import Theorem

THEOREM = Theorem(
    name="one-step subsampled Gaussian δ(ε)",
    statement="remove: δ = P(L > ε) - e^ε Q(L > ε) with P = (1-q)N(0,σ²)+qN(1,σ²), Q = N(0,σ²), L = log dP/dQ monotone,"
              " so {L > ε} = {x > x₁}, x₁ = σ² log((e^ε-(1-q))/q) + 1/2; add: the swapped pair, {x < x₂}",
    source="Zhu, Dong & Wang 2022, Thm. 10 (dominating pairs); Balle, Barthe & Gaboardi 2018 (subsampling)",
    backs=("mechanisms.pair.PrivacyLossPair.delta", "mechanisms.pair.PrivacyLossPair.epsilon"),
)


def check() -> str:
    from mechanisms import Gaussian, PoissonSampled

    mp.mp.dps = 40
    worst = 0.0
    for sigma, q, eps in [(1.0, 0.01, 0.05), (0.5, 0.2, 1.0), (2.0, 0.1, 0.02), (0.8, 0.001, 0.001)]:
        p = lambda x: (1 - q) * mp.npdf(x, 0, sigma) + q * mp.npdf(x, 1, sigma)
        qd = lambda x: mp.npdf(x, 0, sigma)
        # definition: sup over sets = integral of the positive part; the likelihood ratio p/q is increasing,
        # so the positive part of p - e^ε q lives above x1 and that of q - e^ε p below x2
        e = mp.exp(eps)
        x1 = sigma ** 2 * mp.log((e - (1 - q)) / q) + mp.mpf(1) / 2
        remove = mp.quad(lambda x: p(x) - e * qd(x), [x1, x1 + 10 * sigma, mp.inf])
        add = mp.mpf(0)
        if 1 / e > 1 - q:
            x2 = sigma ** 2 * mp.log((1 / e - (1 - q)) / q) + mp.mpf(1) / 2
            add = mp.quad(lambda x: qd(x) - e * p(x), [-mp.inf, x2 - 10 * sigma, x2])
        mech = PoissonSampled(Gaussian(sigma), q)
        rev = mech.directions()["reverse"][0][0]
        # float64 differences of O(1) tail masses: relative 1e-9, or absolute 1e-21 for a tiny δ
        for code, ref in ((mech.delta(eps), max(remove, add)), (rev.delta(eps), add)):
            worst = max(worst, abs(code - float(ref)) / (1e-9 * float(ref) + 1e-21))
    assert worst <= 1, f"code vs mpmath hockey-stick integrals: {worst:.1e} of the tolerance"
    return f"mpmath hockey-stick integrals of both directions vs code: worst {worst:.2f} of the tolerance"
