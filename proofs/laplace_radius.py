"""The ℓ1 routes of Laplace noise: PixelDP's pure-DP radius and Teng et al.'s Neyman–Pearson radius."""
import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Laplace radii",
    statement="Laplace noise of scale b is (|d|_1/b)-DP between x and x + d, so PixelDP's condition with delta = 0 "
              "certifies |d|_1 < (b/2) ln(p_A/p_B); the likelihood ratio of a 1-d shift is monotone, so the worst "
              "set of mass p_A is a half-line, which keeps probability > 1/2 iff |d| < -b ln(2(1 - p_A))",
    source="Lecuyer et al. 2019, Prop. 1 (Laplace); Teng, Lee & Mellor 2020, Thm. 1",
    backs=("bounds.l1_radius.laplace_pixeldp_radius", "bounds.l1_radius.teng_radius"),
)


def check() -> str:
    y, r, b, pa, pb = sp.symbols("y r b p_A p_B", positive=True)
    # 1. privacy loss (|x - r| - |x|)/b of Lap(0, b) against Lap(r, b): r/b for x = -y <= 0, -r/b for x = r + y,
    #    and (r - 2x)/b in between (linear from r/b to -r/b): pure (r/b)-DP per coordinate, ‖d‖₁/b in all
    loss = lambda x: (sp.Abs(x - r) - sp.Abs(x)) / b  # noqa: E731
    assert sp.simplify(loss(-y) - r / b) == 0 and sp.simplify(loss(r + y) + r / b) == 0
    # PixelDP with δ = 0: p_A > e^{2r/b} p_B  ⇔  r < (b/2) ln(p_A/p_B)
    (root,) = sp.solve(sp.Eq(pa, sp.exp(2 * r / b) * pb), r)
    assert sp.simplify(sp.expand_log(root - b * sp.log(pa / pb) / 2, force=True)) == 0
    # 2. Teng: the NP worst set is (-inf, t] with 1 - e^{-t/b}/2 = p_A, i.e. t = -b ln(2(1 - p_A)); after a
    #    shift by r its mass is P(X <= t - r) = 1/2 exactly at r = t
    t = sp.symbols("t", positive=True)
    (edge_t,) = sp.solve(sp.Eq(1 - sp.exp(-t / b) / 2, pa), t)
    assert sp.simplify(sp.exp(edge_t / b) - sp.exp(-sp.log(2 * (1 - pa)))) == 0  # equal exponentials
    mp.mp.dps = 40
    density = lambda v, loc, scale: mp.exp(-abs(v - loc) / scale) / (2 * scale)  # noqa: E731
    scale, p_top = mp.mpf("0.8"), mp.mpf("0.9")
    edge = -scale * mp.log(2 * (1 - p_top))
    assert abs(mp.quad(lambda v: density(v, 0, scale), [-mp.inf, 0, edge]) - p_top) < mp.mpf(10) ** -30
    assert abs(mp.quad(lambda v: density(v, edge, scale), [-mp.inf, edge]) - mp.mpf(1) / 2) < mp.mpf(10) ** -30
    # 3. The code against mpmath
    from bounds.l1_radius import laplace_pixeldp_radius, teng_radius

    worst = 0.0
    for scale_, p_a, p_b in [(1.0, 0.9, 0.1), (0.3, 0.6, 0.2), (2.0, 0.99, 0.005)]:
        exact_pixel = mp.mpf(scale_) / 2 * mp.log(mp.mpf(p_a) / mp.mpf(p_b))
        exact_teng = -mp.mpf(scale_) * mp.log(2 * (1 - mp.mpf(p_a)))
        for code, exact in [(laplace_pixeldp_radius(scale_, p_a, p_b), exact_pixel),
                            (teng_radius(scale_, p_a), exact_teng)]:
            assert code <= exact, f"over-reported at {(scale_, p_a, p_b)}"
            worst = max(worst, float(abs(code / exact - 1)))
    assert worst < 1e-13, f"code vs mpmath {worst:.1e}"
    return (f"sympy: the loss is within ±r/b and both radii solve their conditions; NP masses by quadrature; "
            f"code {worst:.1e}")
