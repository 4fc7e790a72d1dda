"""Chernoff windows of a lattice composition: the tail bound, the block-raised mgf, and the grid search."""
import math

import mpmath as mp
import numpy as np

from proofs import Theorem

THEOREM = Theorem(
    name="Chernoff window and block mgf",
    statement="for S a sum of n_k iid copies of X_k with centre c, P(S >= c + a) <= exp(sum n_k log M_k(θ) - θ a) "
              "for every θ > 0; moving each cell's mass to its block's end in the direction of θ only raises "
              "M_k(θ); and a -> (sum n_k log M_k(θ) - log tol) / θ and θ -> sum n_k log M_k(θ) - θ a are "
              "quasiconvex on θ > 0 (the second is convex; the first has the convex sublevel sets "
              "{θ : g(θ) - r θ <= 0} because g = sum n_k log M_k - log tol is convex), so a pattern search on "
              "a grid returns the grid minimum",
    source="Chernoff 1952 (exponential tail bound); Boyd & Vandenberghe 2004, §3.4 (quasiconvexity of g(θ)/θ)",
    backs=("bounds.lattice.tail_mass", "bounds.lattice.window", "bounds.lattice.LatticeMeasure.log_mgf",
           "bounds.lattice._chernoff_min"),
)


def _exact_convolution(masses, k):
    out = [mp.mpf(1)]
    for _ in range(k):
        new = [mp.mpf(0)] * (len(out) + len(masses) - 1)
        for i, a in enumerate(out):
            for j, b in enumerate(masses):
                new[i + j] += a * b
        out = new
    return out


def check() -> str:
    from bounds.lattice import THETA_OCTAVES, THETA_STEPS, LatticeMeasure, _centre_var, _chernoff_min, tail_mass, window

    mp.mp.dps = 40
    # a heavy-tailed step on every 4th of 600 cells (a spike at 0, a geometric tail): wide enough for mgf
    # blocks of 2, and exactly composable in mpmath on the compressed index (all sums stay on multiples of 4)
    n, k, gap = 150, 4, 4
    raw = [mp.mpf(1)] + [mp.mpf("0.02") * mp.mpf("0.985") ** i for i in range(1, n)]
    total = mp.fsum(raw)
    masses = [x / total for x in raw]
    arr = np.zeros(gap * (n - 1) + 2)
    arr[1::gap] = [float(x) for x in masses]       # mass i at index -2 + 4 i: the end of a block of 2
    m = LatticeMeasure(arr, -3, 0.1, 0.0, 0.0)
    assert m.mgf_block > 1, "the check needs a measure whose mgf is summed in blocks"
    compressed = _exact_convolution(masses, k)
    parts = [(m, k)]
    first = -2 * k

    def exact_mass(lo_index, hi_index):          # exact mass of the composition on [lo_index, hi_index)
        return mp.fsum(x for i, x in enumerate(compressed) if lo_index <= first + gap * i < hi_index)

    worst = mp.mpf(0)
    lo, hi = window(parts, 1e-12)
    end = first + gap * len(compressed)
    for cut in (lo, hi, first + 41, first + 201, first + 701):
        below, above = tail_mass(parts, cut, cut)
        true_above, true_below = exact_mass(cut, end), exact_mass(first, cut)
        assert true_above <= mp.mpf(above) * (1 + mp.mpf(10) ** -12), (cut, true_above, above)
        assert true_below <= mp.mpf(below) * (1 + mp.mpf(10) ** -12), (cut, true_below, below)
        if above > 0 and true_above > 0:
            worst = max(worst, mp.mpf(above) / true_above)
    assert exact_mass(hi, end) <= mp.mpf("1e-12") and exact_mass(first, lo) <= mp.mpf("1e-12")

    # the block-raised log-mgf is an upper bound within θ (block - 1) of the exact one, with the masses at
    # the blocks' first cells (phase 0) or last cells (phase 1), on both sides
    for phase in (0, 1):
        shifted = np.zeros_like(arr)
        shifted[phase::gap] = arr[1::gap]
        at_phase = LatticeMeasure(shifted, -3, 0.1, 0.0, 0.0)
        centre = mp.fsum(gap * i * x for i, x in enumerate(masses)) - 3 + phase
        for sign in (-1, 1):
            for j in (-60, -40, -20, 0):
                theta = mp.mpf(2) ** (mp.mpf(j) / THETA_STEPS)
                exact_log = mp.log(mp.fsum(x * mp.exp(sign * theta * (gap * i - 3 + phase - centre))
                                           for i, x in enumerate(masses)))
                got = mp.mpf(at_phase.log_mgf(float(sign), [j])[0])
                slack = mp.mpf(10) ** -12 * max(1, abs(exact_log))
                raised = theta * (at_phase.mgf_block - 1)
                assert exact_log - slack <= got <= exact_log + raised + slack, (phase, sign, j)

    # the pattern search returns the minimum over the whole grid, for both objectives, on both sides
    j_sd = -round(THETA_STEPS * 0.5 * math.log2(_centre_var(parts)[1]))
    js = list(range(j_sd + THETA_STEPS * THETA_OCTAVES[0], j_sd + THETA_STEPS * THETA_OCTAVES[1] + 1))
    thetas = 2.0 ** (np.array(js, dtype=float) / THETA_STEPS)
    for sign in (-1.0, 1.0):
        log_m = k * m.log_mgf(sign, js)
        for objective in (lambda t, lm: (lm - math.log(1e-12)) / t, lambda t, lm: lm - t * 600.0):
            every = float(np.min(objective(thetas, log_m)))
            assert _chernoff_min(parts, sign, objective) <= every + 1e-12 * max(1.0, abs(every))
    return (f"mpmath: {k}-fold heavy-tailed step, Chernoff bounds hold at 5 cuts (loosest {float(worst):.1f}x), "
            f"window [{lo}, {hi}) keeps 1 - 1e-12; block-{m.mgf_block} mgf within θ(block - 1); "
            f"search = grid minimum over {len(js)} points")
