"""Converting a certified radius between ℓp norms (Hölder)."""
import itertools
import math

import numpy as np
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="lq to lp radius conversion",
    statement="For p > q, max |d|_q / |d|_p = dim^(1/q - 1/p), attained at d = (1, ..., 1); for p <= q, "
              "|d|_q <= |d|_p, "
              "attained at a basis vector; so an lq radius R certifies the lp ball of radius R min(1, dim^(1/p - 1/q))",
    source="Hölder's inequality; e.g. Yang et al. 2020 §2 (comparing radii across norms)",
    backs=("bounds.l1_radius.convert_radius", "bounds.radius.radius_from_noise"),
)


def check() -> str:
    n, p, q = sp.symbols("n p q", positive=True)
    # 1. the all-ones vector: |1|_q / |1|_p = n^{1/q} / n^{1/p}
    assert sp.simplify(n ** (1 / q) / n ** (1 / p) - n ** (1 / q - 1 / p)) == 0
    # 2. no vector does better (random search, with the attaining vectors included)
    rng = np.random.default_rng(0)
    norms = (1, 2, math.inf)
    from bounds.l1_radius import convert_radius

    worst = 0.0
    for dim in (1, 3, 50):
        vectors = np.vstack([rng.standard_normal((2000, dim)), rng.standard_cauchy((2000, dim)),
                             np.ones((1, dim)), np.eye(dim)[:1]])
        for q_, p_ in itertools.product(norms, repeat=2):
            ratio = np.linalg.norm(vectors, q_, axis=1) / np.linalg.norm(vectors, p_, axis=1)
            bound = dim ** (1 / q_ - 1 / p_) if p_ > q_ else 1.0
            assert ratio.max() <= bound * (1 + 1e-12)
            assert abs(ratio.max() / bound - 1) < 1e-12  # attained
            code = convert_radius(1.0, q_, p_, dim)
            assert code <= 1 / bound
            worst = max(worst, abs(code * bound - 1))
    assert worst < 1e-13
    return f"sympy: the all-ones ratio; random search never beats it and attains it; code {worst:.1e}"

