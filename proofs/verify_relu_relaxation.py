"""The three facts bound propagation and the MIP in verify/ rest on: ReLU linear relaxation, big-M encoding,
Hoelder's dual-norm minimum over an lp ball. (proofs may not import verify; tests/verify checks the code.)"""
import itertools

import mpmath as mp
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="ReLU relaxation, big-M, dual norm",
    statement="for l < 0 < u, a in [0, 1] and x in [l, u]: a x <= max(x, 0) <= u (x - l) / (u - l), the chord "
              "touching at l and u; for a in {0, 1} the rows h >= z, h >= 0, h <= z - l (1 - a), h <= u a allow "
              "exactly h = max(z, 0) on [l, u], and a fixed a = 1 (a = 0) allows exactly {h = z, z >= 0} ({h = 0, z <= 0}): the "
              "rows of a ReLU stable on that side, so fixing a binary stabilises a neuron or pins an activation "
              "region; min over ||d||_p <= eps of a.d = -eps ||a||_q with 1/p + 1/q = 1, "
              "attained",
    source="Zhang et al. 2018 (CROWN), Thm 3.2 and Sec. 3.2 (linear bounds of ReLU); Tjeng, Xiao & Tedrake "
           "2019, eq. (6) (big-M); Hoelder's inequality (e.g. Wong & Kolter 2018, dual norm of the first layer)",
    backs=("verify.bounds.relu_relaxation", "verify.bounds.backward_lower", "verify.perturbation.InputSet.min_linear",
           "verify.mip_encoding.encode", "verify.obbt.ViolationLP", "verify.mip._nearest_in_region"),
)


def _relaxation() -> None:
    x, a = sp.symbols("x a", real=True)
    l, u = sp.symbols("l u", real=True)
    chord = u * (x - l) / (u - l)
    # On [l, 0] relu = 0: a x <= 0 because a >= 0 >= x; chord >= 0 because x >= l and u - l > 0.
    # On [0, u] relu = x: x - a x = (1 - a) x >= 0; chord - x = -l (u - x) / (u - l) >= 0.
    assert sp.simplify((x - a * x) - (1 - a) * x) == 0
    assert sp.simplify((chord - x) - (-l) * (u - x) / (u - l)) == 0
    assert sp.simplify(chord.subs(x, l)) == 0 and sp.simplify(chord.subs(x, u) - u) == 0
    # exact rational spot checks of the inequalities on a grid (no rounding anywhere)
    for lv, uv in [(-3, 1), (-1, 2), (sp.Rational(-1, 7), sp.Rational(5, 3))]:
        for k in range(11):
            xv = lv + (uv - lv) * sp.Rational(k, 10)
            relu = max(xv, 0)
            assert chord.subs({x: xv, l: lv, u: uv}) >= relu
            for av in (0, sp.Rational(1, 3), 1):
                assert av * xv <= relu


def _big_m() -> None:
    for lv, uv in [(-2, 3), (sp.Rational(-1, 3), sp.Rational(1, 5))]:
        for k in range(21):
            z = lv + (uv - lv) * sp.Rational(k, 20)
            feasible = []
            for a in (0, 1):
                low, high = max(z, 0), min(z - lv * (1 - a), uv * a)
                if low <= high:
                    feasible.append((low, high))
            # the union over a of the feasible h is the single point relu(z)
            assert feasible and all(lo == hi == max(z, 0) for lo, hi in feasible)
            # a fixed binary: a = 1 admits z exactly when z >= 0 (then h = z), a = 0 exactly when z <= 0 (h = 0)
            for a, side, value in ((1, z >= 0, z), (0, z <= 0, 0)):
                low, high = max(z, 0), min(z - lv * (1 - a), uv * a)
                assert (low <= high) == side and (not side or low == high == value)


def _dual_norm() -> str:
    mp.mp.dps = 40
    worst = mp.mpf(0)
    vectors = [[mp.mpf(3), mp.mpf(-1), mp.mpf("0.5")], [mp.mpf(-2), mp.mpf("0.25"), mp.mpf(0), mp.mpf(7)]]
    eps = mp.mpf("0.3")
    for a in vectors:
        n = len(a)
        dual = {"inf": sum(abs(v) for v in a), "2": mp.sqrt(sum(v * v for v in a)), "1": max(abs(v) for v in a)}
        # minimisers: -eps sign(a); -eps a / ||a||_2; -eps sign(a_i) e_i at the largest |a_i|
        i = max(range(n), key=lambda j: abs(a[j]))
        minimisers = {"inf": [-eps * mp.sign(v) for v in a], "2": [-eps * v / dual["2"] for v in a],
                      "1": [-eps * mp.sign(a[i]) if j == i else mp.mpf(0) for j in range(n)]}
        for p in ("inf", "2", "1"):
            d = minimisers[p]
            value = sum(x * y for x, y in zip(a, d))
            assert abs(value + eps * dual[p]) < mp.mpf(10) ** -35
            # no point of the ball does better: vertices (inf, 1) and a fine sample of directions (2)
            if p == "inf":
                points = [[eps * s for s in signs] for signs in itertools.product((-1, 1), repeat=n)]
            elif p == "1":
                points = [[eps * s if j == k else 0 for j in range(n)] for k in range(n) for s in (-1, 1)]
            else:
                points = []
                for k in range(200):
                    g = [mp.sin(k * (j + 1) + j) for j in range(n)]
                    norm = mp.sqrt(sum(v * v for v in g))
                    points.append([eps * v / norm for v in g])
            best = min(sum(x * y for x, y in zip(a, pt)) for pt in points)
            assert best >= -eps * dual[p] - mp.mpf(10) ** -35
            worst = max(worst, abs(value + eps * dual[p]))
    return mp.nstr(worst, 3)


def check() -> str:
    _relaxation()
    _big_m()
    worst = _dual_norm()
    return (f"sympy: relaxation identities; exact rationals: relaxation and big-M on grids; mpmath: dual-norm "
            f"minimum attained to {worst}")
