"""Data-dependent sphere defense: poison that survives moves the centroid by at most k r / n."""
import mpmath as mp
import numpy as np
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Centroid shift of the data-dependent sphere (poisoning)",
    statement="n clean points with centroid mu, k poison points within r of the poisoned centroid "
              "mu' = (n mu + sum x_j)"
              "/(n + k): then |mu' - mu| <= k r / n and every |x_j - mu| <= r (1 + k/n)",
    source="Steinhardt, Koh & Liang 2017, Sec. 5 (data-dependent defenses); a fixed outer set beside the relaxation",
    backs=("bounds.sphere_slab.centroid_shift_outer", "bounds.poisoning_data_dependent.data_dependent_upper_bounds"),
)


def check() -> str:
    # 1. mu' - mu = sum_j (x_j - mu') / n (sympy, one coordinate, k = 3)
    n, mu = sp.symbols("n mu", positive=True)
    xs = sp.symbols("x1:4", real=True)
    k = len(xs)
    mu_p = (n * mu + sum(xs)) / (n + k)
    assert sp.simplify((mu_p - mu) - sum(x - mu_p for x in xs) / n) == 0
    # 2. 30 digits: random mu', poison within r of mu', mu solved from the centroid equation; the bound holds
    from bounds.sphere_slab import SphereSlab, centroid_shift_outer

    mp.mp.dps = 30
    rng = np.random.default_rng(9)
    for _ in range(200):
        d, count, k = int(rng.integers(1, 5)), int(rng.integers(5, 50)), int(rng.integers(1, 20))
        r = rng.uniform(0.1, 3)
        centre = mp.matrix(rng.normal(size=d).tolist())
        poison = []
        for _ in range(k):
            u = rng.normal(size=d)
            poison.append(centre + mp.matrix((u / np.linalg.norm(u) * r * rng.uniform(0, 1) ** 0.1).tolist()))
        clean_mean = ((count + k) * centre - sum(poison, mp.matrix(d, 1))) / count
        assert all(mp.norm(p - clean_mean) <= mp.mpf(r) * (1 + mp.mpf(k) / count) + mp.mpf(10) ** -25 for p in poison)
    outer = centroid_shift_outer(SphereSlab(np.zeros((2, 1)), np.ones(1), (1.0, 2.0), (0.5, 0.5)), (10, 20), 5)
    assert outer.sphere_radii[0] >= 1.5 and outer.sphere_radii[1] >= 2.5 and outer.slab_radii == outer.sphere_radii
    return "sympy: the centroid-shift identity; 30-digit check of the enlarged radius on 200 configurations"
