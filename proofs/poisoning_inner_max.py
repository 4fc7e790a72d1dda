"""The closed-form worst point of the sphere + slab defense for a linear model (KKT of a 1-d convex problem)."""
import mpmath as mp
import numpy as np
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Sphere + slab worst point (poisoning)",
    statement="min of y(w.x + b) over |x - mu| <= r, |v.(x - mu)| <= s (v unit) is attained at x* = mu + t v - "
              "y sqrt(r^2 - t^2) w_perp/|w_perp|, t = clip(-y alpha r/|w|, -min(s, r), min(s, r)), "
              "w = alpha v + w_perp",
    source="Steinhardt, Koh & Liang 2017, Sec. 3 (sphere and slab defenses); REFERENCES.md Sec. 3",
    backs=("bounds.sphere_slab.SphereSlab.worst_point", "bounds.sphere_slab.SphereSlab.worst_margin"),
)


def check() -> str:
    # 1. x = mu + t v + u, u ⊥ v, |u|^2 <= r^2 - t^2: by Cauchy–Schwarz the best u is -y sqrt(r^2-t^2) w_perp/|w_perp|,
    #    leaving f(t) = y alpha t - p sqrt(r^2 - t^2) (p = |w_perp|) on |t| <= min(s, r)
    t, r, p, a = sp.symbols("t r p alpha", real=True)
    y = sp.Symbol("y")
    f = y * a * t - p * sp.sqrt(r ** 2 - t ** 2)
    # 2. f is convex (f'' = p r^2 (r^2 - t^2)^(-3/2) >= 0), so the clipped stationary point is the minimiser
    assert sp.simplify(sp.diff(f, t, 2) - p * r ** 2 / (r ** 2 - t ** 2) ** sp.Rational(3, 2)) == 0
    # 3. KKT: f'(t*) = 0 at t* = -y alpha r / sqrt(alpha^2 + p^2) for y = ±1 (checked for both signs)
    for sign in (1, -1):
        rp, pp, ap = sp.symbols("r p alpha", positive=True)
        fs = f.subs({y: sign, r: rp, p: pp, a: ap})
        star = -sign * ap * rp / sp.sqrt(ap ** 2 + pp ** 2)
        assert sp.simplify(sp.diff(fs, t).subs(t, star)) == 0
    # 4. The code against a 30-digit minimisation of f over the interval, on random instances
    from bounds.sphere_slab import SphereSlab

    mp.mp.dps = 30
    rng = np.random.default_rng(7)
    for trial in range(24):
        d = int(rng.integers(2, 6))
        v = rng.normal(size=d)
        v /= np.linalg.norm(v)
        mu = rng.normal(size=(2, d))
        radii, slabs = tuple(rng.uniform(0.5, 2, 2)), tuple(rng.uniform(0.05, 2.5, 2))
        w, b = rng.normal(size=d) * (1 if trial % 5 else 0.0), float(rng.normal())
        if trial % 7 == 0:
            w = 1.3 * v  # w_perp = 0
        defense = SphereSlab(mu, v, radii, slabs)
        for label, i in ((-1, 0), (1, 1)):
            x = defense.worst_point(w, b, label)
            wm, vm = mp.matrix(w.tolist()), mp.matrix(v.tolist())
            alpha = sum(wm[q] * vm[q] for q in range(d))
            perp = mp.norm(wm - alpha * vm)
            rr, half = mp.mpf(radii[i]), min(mp.mpf(slabs[i]), mp.mpf(radii[i]))
            g = lambda tt: label * alpha * tt - perp * mp.sqrt(rr ** 2 - tt ** 2)  # noqa: E731
            grid = [-half + 2 * half * j / 400 for j in range(401)]
            j = min(range(401), key=lambda m: g(grid[m]))
            lo, hi = grid[max(j - 1, 0)], grid[min(j + 1, 400)]
            for _ in range(120):  # golden-section on the bracket around the grid minimum (f is convex)
                m1, m2 = lo + (hi - lo) * 0.382, lo + (hi - lo) * 0.618
                lo, hi = (lo, m2) if g(m1) < g(m2) else (m1, hi)
            offset = mp.fsum(mp.mpf(float(wq)) * mp.mpf(float(mq)) for wq, mq in zip(w, mu[i])) + b
            best = g((lo + hi) / 2) + label * offset
            got = label * (float(w @ x) + b)
            assert abs(got - best) < 1e-9, f"trial {trial}: closed form {got} vs 30-digit minimum {best}"
            assert defense.contains(x[None], np.array([label])).all(), f"trial {trial}: x* is not feasible"
    return "sympy: convexity and KKT of the 1-d reduction; closed form = 30-digit minimum on 48 instances"
