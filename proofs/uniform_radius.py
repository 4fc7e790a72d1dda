"""Yang et al.'s ℓ1 and ℓ∞ radii of uniform noise, from the total variation of a shifted cube."""
import itertools
import math

import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Uniform-noise radii",
    statement="TV(U[-l, l]^d, U[-l, l]^d + d) = 1 - prod_i (1 - |d_i|/2l) <= min(|d|_1/2l, 1 - (1 - |d|_inf/2l)^d); "
              "with the margin TV < (p_A - p_B)/2 the l1 radius is l (p_A - p_B) and the l_inf radius "
              "2l (1 - (1 - (p_A - p_B)/2)^(1/d)) (Yang et al.'s 2l(p_A - 1/2) and 2l(1 - (3/2 - p_A)^(1/d)))",
    source="Yang, Duan, Hu, Salman, Razenshteyn & Li 2020, Thm. 1 and App. (uniform noise)",
    backs=("bounds.l1_radius.uniform_radius",),
)


def check() -> str:
    lam, g, d = sp.symbols("lambda g d", positive=True)
    x = sp.symbols("x", nonnegative=True)
    # 1. the overlap of two cubes of side 2λ shifted by δ has volume Π(2λ - |δ_i|), so TV = 1 - Π(1 - x_i) with
    #    x_i = |δ_i|/2λ; 1 - Π(1 - x_i) <= Σ x_i for x_i in [0, 1] (union bound), checked here for d = 3 on a grid
    for xs in itertools.product([0, 0.1, 0.37, 0.8, 1.0], repeat=3):
        assert 1 - math.prod(1 - v for v in xs) <= sum(xs) + 1e-15
    # and 1 - Π(1 - x_i) is increasing in every x_i, so over ‖δ‖∞ <= r it is largest at x_i = r/2λ for all i
    # 2. sympy: the radii solve their margin equations
    (l1,) = sp.solve(sp.Eq(x / (2 * lam), g / 2), x)
    assert sp.simplify(l1 - lam * g) == 0
    h = sp.symbols("h", positive=True)  # h = 2 - g > 0
    linf = 2 * lam * (1 - (h / 2) ** (1 / d))
    assert sp.simplify((1 - (1 - linf / (2 * lam)) ** d) - (2 - h) / 2) == 0
    # with p_B = 1 - p_A, g = 2p_A - 1: λg = 2λ(p_A - 1/2) and 1 - g/2 = 3/2 - p_A (Yang et al.'s forms)
    # 3. the code against the closed forms at 30 digits
    from bounds.l1_radius import uniform_radius

    mp.mp.dps = 30

    worst = 0.0
    for lam_, p_a, dim in [(1.0, 0.9, 10), (0.5, 0.75, 784), (2.0, 0.99, 1)]:
        pa = mp.mpf(p_a)
        for code, exact in [(uniform_radius(lam_, p_a), 2 * lam_ * (pa - mp.mpf(1) / 2)),
                            (uniform_radius(lam_, p_a, norm=math.inf, dim=dim),
                             2 * lam_ * (1 - (mp.mpf(3) / 2 - pa) ** (mp.mpf(1) / dim)))]:
            assert code <= exact, f"uniform radius over-reported at {(lam_, p_a, dim)}"
            worst = max(worst, float(abs(code / exact - 1)))
    assert worst < 1e-12, f"code vs Yang et al.'s closed forms {worst:.1e}"
    return f"union bound on a grid; sympy solves both margins; code vs Yang et al.'s forms {worst:.1e}"
