"""Connect-the-dots discretisation dominates the privacy curve, and domination survives composition."""
import mpmath as mp
import numpy as np
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="connect the dots",
    statement="moving a loss l in [a, b] to a with weight (e^{b-l}-1)/(e^{b-a}-1) and to b with the rest keeps the"
              " mass and E[e^{-L}] and is a mean-preserving spread of e^{-L}; δ(ε) = E[(1 - e^ε e^{-L})_+] is convex"
              " in e^{-L}, so the discrete curve dominates (Jensen); δ of a composition is E_ν[δ_ω(ε - L)], so"
              " domination composes",
    source="Doroshenko, Ghazi, Kamath, Kumar & Manurangsi 2022, 'Connect the dots', Thm. 3.2 and Lemma 3.4",
    backs=("bounds.pld_discretize.upper_step", "bounds.lattice.coarsen_up"),
)


def check() -> str:
    a, b, l = sp.symbols("a b l", real=True)
    w_a = (sp.exp(b - l) - 1) / (sp.exp(b - a) - 1)
    w_b = 1 - w_a
    assert sp.simplify(w_a * sp.exp(-a) + w_b * sp.exp(-b) - sp.exp(-l)) == 0, "E[e^{-L}] is not preserved"
    assert sp.simplify(w_a.subs(l, a) - 1) == 0 and sp.simplify(w_a.subs(l, b)) == 0

    # the code: coarsen_up of a random lattice measure never lowers δ(ε), computed here in 40-digit mpmath
    from bounds.lattice import LatticeMeasure, coarsen_up

    mp.mp.dps = 40
    rng = np.random.default_rng(1)
    worst = mp.mpf(1)
    for lam in (0.0, 1.5):
        arr = rng.random(64)
        m = LatticeMeasure(arr / arr.sum(), -20, 0.05, lam, 0.0)
        c = coarsen_up(m, 4)

        def delta(measure, eps):
            return mp.fsum(mp.mpf(x) * mp.exp(measure.log_z - measure.lam * mp.mpf(li))
                           * max(0, 1 - mp.exp(eps - mp.mpf(li))) for x, li in zip(measure.arr, measure.loss))
        for eps in (-0.5, 0.0, 0.3, 0.9):
            fine, coarse = delta(m, eps), delta(c, eps)
            if fine > 0:
                worst = min(worst, coarse / fine)
    assert worst >= 1 - 1e-13, f"coarsened δ fell below the fine one: ratio {worst}"
    return f"sympy: mass and E[e^-L] preserved; code's coarsening vs 40-digit δ: min ratio {float(worst):.6f} >= 1"
