"""The ordering of the routes: the GDP (Cohen) radius is tight, so every sound route is at most it."""
import itertools

import mpmath as mp

from proofs import Theorem

THEOREM = Theorem(
    name="Route ordering",
    statement="For 1/2 < p_A < 1 and p_B <= 1 - p_A a classifier with exactly (p_A, p_B) changes its prediction "
              "beyond s/2 (Phi^-1(p_A) - Phi^-1(p_B)), so every sound route (renyi, tv, pixeldp) is <= gdp; "
              "PixelDP on the exact curve is >= TV (e' = 0 is the TV margin); with the classical calibration "
              "PixelDP <= TV (checked on a grid, not proved in closed form)",
    source="Cohen, Rosenfeld & Kolter 2019, Thm. 2 (tightness); REFERENCES.md §2 (ordering to test)",
    backs=("bounds.radius.certified_radius", "bounds.radius.radii_from_noise"),
)

P_A_GRID = (0.51, 0.6, 0.75, 0.9, 0.99, 0.9999)
P_B_FRACTIONS = (1.0, 0.5, 0.01)  # p_B as a fraction of 1 - p_A


def check() -> str:
    mp.mp.dps = 30
    # 1. Tightness (Cohen Thm. 2): A = {x₁ <= σΦ⁻¹(p_A)}, B = {x₁ >= σΦ⁻¹(1 - p_B)}, the rest between them.
    #    Shifted by r along x₁, Q(A) = Φ(Φ⁻¹(p_A) - r/σ) and Q(B) = Φ(Φ⁻¹(p_B) + r/σ): just beyond R_gdp B wins.
    phi_inv = lambda p: mp.sqrt(2) * mp.erfinv(2 * p - 1)  # noqa: E731
    for p_a, frac in itertools.product(P_A_GRID, P_B_FRACTIONS):
        pa = mp.mpf(p_a)
        pb = (1 - pa) * frac
        radius = (phi_inv(pa) - phi_inv(pb)) / 2  # σ = 1
        for r, a_wins in ((radius * (1 - mp.mpf(10) ** -9), True), (radius * (1 + mp.mpf(10) ** -9), False)):
            assert (mp.ncdf(phi_inv(pa) - r) > mp.ncdf(phi_inv(pb) + r)) == a_wins
    # 2. The code's routes on the grid: all <= gdp; pixeldp (exact curve) >= tv; pixeldp (classic) <= tv
    from bounds.radius import radii_from_noise

    largest_ratio, classic_vs_tv = 0.0, 0.0
    for p_a, frac in itertools.product(P_A_GRID, P_B_FRACTIONS):
        p_b = (1 - p_a) * frac
        radii = {c: radii_from_noise(1.0, p_a, p_b, calibration=c) for c in ("analytic", "classic", "extended")}
        exact_gdp = (phi_inv(mp.mpf(p_a)) - phi_inv(mp.mpf(p_b))) / 2
        assert radii["analytic"]["gdp"] <= exact_gdp
        others = [r[route] for r in radii.values() for route in ("renyi", "tv", "pixeldp")]
        largest_ratio = max(largest_ratio, max(others) / radii["analytic"]["gdp"])
        assert radii["analytic"]["pixeldp"] >= radii["analytic"]["tv"] * (1 - 1e-12)
        classic_vs_tv = max(classic_vs_tv, radii["classic"]["pixeldp"] / radii["classic"]["tv"])
    assert largest_ratio < 1, f"a route exceeds gdp: ratio {largest_ratio}"
    assert classic_vs_tv <= 1, f"classic pixeldp exceeds tv: ratio {classic_vs_tv}"
    return (f"tightness at R_gdp(1 ± 1e-9) on {len(P_A_GRID) * len(P_B_FRACTIONS)} (p_A, p_B); "
            f"max route/gdp {largest_ratio:.4f}; max classic pixeldp/tv {classic_vs_tv:.4f}")
