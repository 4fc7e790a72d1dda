"""Noise calibration: the classical, extended and analytic Gaussian mechanisms, and the Laplace scale."""
import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Noise calibration",
    statement="N(0, s^2) against N(D, s^2) has the exact profile d(e) = Phi(D/2s - e s/D) - e^e Phi(-D/2s - e s/D), "
              "decreasing in s (d'(s) = -D phi(D/2s - e s/D)/s^2): the analytic s is its root; the classical "
              "s = D sqrt(2 ln(1.25/d))/e meets it for e < 1 (and fails at e = 8, d = 0.05); the extended "
              "c = s/D = (sqrt2/2e)(sqrt(L) + sqrt(L + e)), L = ln(sqrt(2/pi)/d), solves e c^2 - sqrt(2L) c - 1/2 = 0, "
              "so the privacy loss exceeds e only when Z > sqrt(2L), of probability <= e^(-L)/2 < d; Laplace "
              "noise of scale b has d(e) = max(0, 1 - e^((e - D/b)/2)), with root b = D/(e - 2 ln(1 - d))",
    source="Balle & Wang 2018, Thm. 8 and Alg. 1; Dwork & Roth 2014, Thm. A.1 and Thm. 3.6; "
           "Phan, Vu, Liu, Jin, Dou, Wu, Hansen & Thai 2019 (IJCAI), Thm. 2",
    backs=("bounds.noise_calibration.analytic_mu", "bounds.noise_calibration.analytic_sigma",
           "bounds.noise_calibration.classical_sigma", "bounds.noise_calibration.extended_sigma",
           "bounds.noise_calibration.laplace_scale", "bounds.noise_calibration.calibrate_sigma",
           "bounds.radius.calibrated_noise", "bounds.tradeoff_tables.calibration_applies"),
)

# REFERENCES.md §1 (mpmath): (σ, ε) → δ of the Gaussian, and (ε, δ) → analytic σ, at Δ = 1
PROFILE = {(1, 0.5): "0.23842170813487662", (1, 1): "0.12693673750664394", (1, 2): "0.020923635821113732",
           (2, 1): "0.0068295949831145755", (5, 0.1): "0.04148168846071832"}
ANALYTIC = {(1.0, 1e-5): "3.730631634815942", (1.0, 1e-6): "4.224678889326835", (0.5, 1e-5): "7.031826675582491",
            (8.0, 1e-5): "0.6002290721989516"}


def _gaussian_profile(sigma, eps):
    """The closed form δ(ε) of N(0, σ²) vs N(1, σ²) at 40 digits."""
    sigma, eps = mp.mpf(sigma), mp.mpf(eps)
    return mp.ncdf(1 / (2 * sigma) - eps * sigma) - mp.exp(eps) * mp.ncdf(-1 / (2 * sigma) - eps * sigma)


def _hockey_stick(p, q, eps, crossing):
    """∫ (p - e^ε q)_+ for densities whose ratio p/q >= e^ε exactly left of ``crossing`` (by quadrature)."""
    return mp.quad(lambda v: p(v) - mp.exp(eps) * q(v), [-mp.inf, crossing - 1, crossing])


def check() -> str:
    mp.mp.dps = 40
    # 1. sympy: the Gaussian profile decreases in σ. With a = Δ/2σ - εσ/Δ and b = -Δ/2σ - εσ/Δ, φ(a) = e^ε φ(b)
    #    (a² - b² = -2ε), so d δ/dσ = φ(a)(a' - b') = -Δ φ(a)/σ²: the least σ with δ(σ) <= target is the root.
    s, d, e = sp.symbols("sigma Delta epsilon", positive=True)
    cdf = lambda z: (1 + sp.erf(z / sp.sqrt(2))) / 2  # noqa: E731
    pdf = lambda z: sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)  # noqa: E731
    a, b = d / (2 * s) - e * s / d, -d / (2 * s) - e * s / d
    profile = cdf(a) - sp.exp(e) * cdf(b)
    assert sp.simplify(sp.expand(sp.diff(profile, s) + d * pdf(a) / s ** 2, power_exp=True)) == 0
    # 2. the closed form is the hockey-stick divergence (quadrature; the ratio p/q = exp((1 - 2v)/2σ²) is >= e^ε
    #    exactly for v <= 1/2 - εσ²) and REFERENCES' values
    worst_profile = mp.mpf(0)
    for (sigma, eps), ref in PROFILE.items():
        sig = mp.mpf(sigma)
        exact = _hockey_stick(lambda v: mp.npdf(v, 0, sig), lambda v: mp.npdf(v, 1, sig), eps,
                              mp.mpf(1) / 2 - eps * sig ** 2)
        worst_profile = max(worst_profile, abs(exact - _gaussian_profile(sigma, eps)))
        assert abs(_gaussian_profile(sigma, eps) / mp.mpf(ref) - 1) < 1e-15, f"profile at {(sigma, eps)} vs REFERENCES"
    assert worst_profile < mp.mpf(10) ** -30, f"quadrature vs closed form {worst_profile}"
    from bounds.noise_calibration import (analytic_mu, analytic_sigma, classical_sigma, extended_sigma,
                                          laplace_scale)

    # 3. analytic σ: the root of the closed form (mpmath findroot), never below it; REFERENCES §1 values
    worst_analytic = 0.0
    for (eps, delta), ref in ANALYTIC.items():
        root = mp.findroot(lambda x: _gaussian_profile(x, eps) - mp.mpf(delta), mp.mpf(ref))
        code = analytic_sigma(eps, delta)
        assert code >= root and _gaussian_profile(code, eps) <= delta, f"analytic sigma below the root at {eps}"
        assert abs(root / mp.mpf(ref) - 1) < 1e-15
        worst_analytic = max(worst_analytic, float(code / root - 1))
    tv_mu = 2 * mp.sqrt(2) * mp.erfinv(mp.mpf("0.2"))  # ε = 0: δ_μ(0) = 2Φ(μ/2) - 1 = 0.2
    assert analytic_mu(0.0, 0.2) <= tv_mu and abs(analytic_mu(0.0, 0.2) / tv_mu - 1) < 1e-12
    assert worst_analytic < 1e-12, f"analytic sigma {worst_analytic:.1e} above the root"
    # 4. classical: sound on a grid of ε < 1 (the largest δ(ε)/δ it reaches is reported), unsound at ε = 8
    worst_classic = mp.mpf(0)
    for eps in (0.01, 0.1, 0.5, 0.9, 0.999):
        for delta in (0.5, 0.1, 1e-3, 1e-6, 1e-12, 1e-50):
            ratio = _gaussian_profile(classical_sigma(eps, delta), eps) / delta
            assert ratio <= 1, f"classical calibration unsound at {(eps, delta)}"
            worst_classic = max(worst_classic, ratio)
    formula = mp.sqrt(2 * mp.log(mp.mpf("1.25") / mp.mpf("0.05"))) / 8
    assert _gaussian_profile(formula, 8) > mp.mpf("0.05")  # why ε >= 1 is refused
    # 5. extended: sympy solves the quadratic, so the loss 1/(2c²) - Z/c exceeds ε iff -Z > εc - 1/(2c) = √(2L);
    #    the one-sided tail Φ̄(t) <= e^{-t²/2}/2 (t >= 0, checked on a grid) gives δ(ε) <= e^{-L}/2 = δ √(π/8)
    big_l, c = sp.symbols("L c", positive=True)
    c_star = sp.sqrt(2) / (2 * e) * (sp.sqrt(big_l) + sp.sqrt(big_l + e))
    assert sp.simplify(sp.expand(e * c_star ** 2 - sp.sqrt(2 * big_l) * c_star - sp.Rational(1, 2))) == 0
    assert sp.simplify((e * c_star - 1 / (2 * c_star)) - sp.sqrt(2 * big_l)) == 0
    assert all(mp.ncdf(-t) <= mp.exp(-t ** 2 / 2) / 2 for t in mp.linspace(0, 40, 801))
    worst_extended = mp.mpf(0)
    for eps in (0.01, 0.5, 1.0, 4.0, 50.0):
        for delta in (0.79, 0.3, 1e-5, 1e-30):
            code = extended_sigma(eps, delta)
            length = mp.log(mp.sqrt(2 / mp.pi) / delta)
            exact = mp.sqrt(2) / (2 * eps) * (mp.sqrt(length) + mp.sqrt(length + eps))
            assert code >= exact and _gaussian_profile(code, eps) <= delta * mp.sqrt(mp.pi / 8) * (1 + 1e-12)
            worst_extended = max(worst_extended, code / exact - 1)
    assert worst_extended < 1e-14
    # 6. Laplace: the exact profile by quadrature (ratio >= e^ε exactly for v <= (Δ - εb)/2), sympy solves it
    eps_, delta_, scale = sp.symbols("epsilon delta b", positive=True)
    root = 1 / (eps_ - 2 * sp.log(1 - delta_))  # the profile is increasing in 1/b, so this root is the least b
    assert sp.simplify((1 - sp.exp((eps_ - 1 / scale) / 2)).subs(scale, root) - delta_) == 0
    assert sp.simplify(sp.diff(1 - sp.exp((eps_ - 1 / scale) / 2), scale) + sp.exp((eps_ - 1 / scale) / 2)
                       / (2 * scale ** 2)) == 0
    laplace = lambda v, loc, b_: mp.exp(-abs(v - loc) / b_) / (2 * b_)  # noqa: E731
    worst_laplace = mp.mpf(0)
    for eps, delta in [(1.0, 0.0), (0.5, 1e-5), (2.0, 0.1), (0.1, 0.5)]:
        code = laplace_scale(eps, delta)
        exact = 1 / (mp.mpf(eps) - 2 * mp.log(1 - mp.mpf(delta)))
        b_ = mp.mpf(code)
        integral = mp.quad(lambda v: laplace(v, 0, b_) - mp.exp(eps) * laplace(v, 1, b_),
                           [-mp.inf, 0, max((1 - eps * b_) / 2, 0)])
        assert max(integral, 0) <= delta + mp.mpf(10) ** -30 and code >= exact, f"Laplace scale at {(eps, delta)}"
        worst_laplace = max(worst_laplace, code / exact - 1)
    assert worst_laplace < 1e-14
    return (f"sympy: d delta/d sigma < 0, Phan's quadratic, Laplace root; profile by quadrature to 1e-30; analytic "
            f"sigma {worst_analytic:.1e} above root; classical max delta(eps)/delta {float(worst_classic):.3f} "
            f"(eps < 1); extended and Laplace within {float(max(worst_extended, worst_laplace)):.0e}")
