"""Group privacy, and the number of changed training points a DP learner's prediction survives."""
import math

import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Group privacy (poisoning)",
    statement="(e, d)-DP implies (k e, d (e^(k e) - 1)/(e^e - 1))-DP for datasets k points apart; mu-GDP implies "
              "k mu-GDP (exact for Gaussian learners); a prediction with top-class probability >= p_A and runner-up "
              "<= p_B survives k changed points when PixelDP's condition holds at the group parameters, or "
              "(mu-GDP) iff k mu < (Phi^-1(p_A) - Phi^-1(p_B))/2",
    source="Dwork & Roth 2014, Thm. 2.2; Vadhan 2017, Lemma 2.2; Dong, Roth & Su 2022, Thm. 2.14; "
           "Ma, Zhu & Hsu 2019 (DP implies poisoning robustness); Lecuyer et al. 2019, Prop. 1",
    backs=("bounds.group_privacy.group_privacy", "bounds.group_privacy.certified_poisoning_size",
           "bounds.group_privacy.certified_poisoning_size_gdp"),
)


def check() -> str:
    e, d = sp.symbols("epsilon delta", positive=True)
    k = sp.symbols("k", integer=True, positive=True)
    # 1. chaining D_0 ~ D_1 ~ ... ~ D_k: P(D_0) <= e^ε P(D_1) + δ <= e^ε (e^{(k-1)ε} P(D_k) + δ_{k-1}) + δ, so
    #    δ_k = e^ε δ_{k-1} + δ with δ_1 = δ; the closed form satisfies the recursion and the start
    closed = lambda j: d * (sp.exp(j * e) - 1) / (sp.exp(e) - 1)  # noqa: E731
    assert sp.simplify(closed(k + 1) - (sp.exp(e) * closed(k) + d)) == 0 and sp.simplify(closed(1) - d) == 0
    # 2. μ-GDP groups (Dong et al. Thm. 2.14): the group trade-off is 1 - (1 - G_μ)^{∘k}; with
    #    Φ(z) = (1 + erf(z/√2))/2, 1 - G_μ(α) = Φ(Φ⁻¹(α) + μ) and Φ⁻¹∘Φ = id, so composing k = 3 times gives
    #    Φ(Φ⁻¹(α) + 3μ) = 1 - G_{3μ}(α)
    y, z, mu = sp.symbols("y z mu", real=True)
    phi = lambda w: (1 + sp.erf(w / sp.sqrt(2))) / 2  # noqa: E731
    phi_inv = lambda q: sp.sqrt(2) * sp.erfinv(sp.expand(2 * q - 1))  # noqa: E731
    odd = {sp.erfinv(-y): -sp.erfinv(y)}  # erfinv is odd: erf(-erfinv(y)) = -y
    assert sp.simplify(sp.erf(-sp.erfinv(y)) + y) == 0
    alpha = (1 + y) / 2
    one_minus_g = 1 - phi(phi_inv(1 - alpha) - mu)
    assert sp.simplify((one_minus_g - phi(phi_inv(alpha) + mu)).subs(odd)) == 0
    assert sp.simplify(phi_inv(phi(z)) - z) == 0
    shift = lambda w: w + mu  # noqa: E731  (1 - G_μ in Φ⁻¹ coordinates)
    assert sp.expand(shift(shift(shift(z))) - (z + 3 * mu)) == 0
    # 3. The code against brute force over k at 30 digits
    from bounds.group_privacy import certified_poisoning_size, certified_poisoning_size_gdp, group_privacy

    mp.mp.dps = 30
    for eps, delta, p_a, p_b in [(0.1, 1e-5, 0.9, 0.1), (0.01, 0.0, 0.9, 0.1), (0.05, 1e-3, 0.99, 0.005),
                                 (1.0, 0.1, 0.6, 0.4)]:
        def survives(j):
            ek, dk = j * mp.mpf(eps), mp.mpf(delta) * mp.expm1(j * mp.mpf(eps)) / mp.expm1(mp.mpf(eps))
            return mp.mpf(p_a) > mp.exp(2 * ek) * mp.mpf(p_b) + (1 + mp.exp(ek)) * dk
        brute = next(j for j in range(1, 10 ** 4) if not survives(j)) - 1
        assert certified_poisoning_size(eps, delta, p_a, p_b) == brute, f"(eps, delta) size at {(eps, delta, p_a)}"
        eps_k, delta_k = group_privacy(eps, delta, 3)
        assert math.isclose(eps_k, 3 * eps) and math.isclose(delta_k, delta * sum(math.exp(i * eps) for i in range(3)))
    for mu_, p_a, p_b in [(0.1, 0.9, 0.1), (0.05, 0.99, 0.01), (0.5, 0.6, 0.4), (0.3, 0.8, 0.1)]:
        gap = (mp.sqrt(2) * (mp.erfinv(2 * mp.mpf(p_a) - 1) - mp.erfinv(2 * mp.mpf(p_b) - 1))) / 2
        brute = next(j for j in range(10 ** 4) if j * mp.mpf(mu_) >= gap) - 1
        assert certified_poisoning_size_gdp(mu_, p_a, p_b) == brute, f"GDP size at {(mu_, p_a, p_b)}"
    return "sympy: the group delta recursion and GDP shifts add; poisoning sizes equal brute force over k"
