"""A rounded loss statistic gives a valid lower bound on ε: every threshold test is a real test."""
import mpmath as mp

from proofs import Theorem

THEOREM = Theorem(
    name="rounded-statistic lower bound",
    statement="for any measurable S of the output and threshold t, P(S >= t) - e^ε Q(S >= t) <= δ(ε) (the hockey-stick"
              " divergence is a sup over events), so ε(δ) >= log(P(S >= t) - δ) - log Q(S >= t)",
    source="Neyman & Pearson 1933; Gopi, Lee & Wutschitz 2021, §5 (lower bounds from a discretised statistic)",
    backs=("bounds.pld.epsilon_lower", "bounds.pld_discretize.lower_step", "bounds.lattice.coarsen_round"),
)


def check() -> str:
    # Gaussian pair N(μ,1) vs N(0,1): L = μx - μ²/2; S = h * round(L / h). Every event {S >= t} is {x >= c}.
    from mechanisms import Gaussian

    mp.mp.dps = 40
    mu, h, eps = mp.mpf("1.3"), mp.mpf("0.37"), mp.mpf("0.8")
    exact = mp.ncdf(mu / 2 - eps / mu) - mp.exp(eps) * mp.ncdf(-mu / 2 - eps / mu)
    best = mp.mpf(-1)
    for k in range(-20, 21):
        t = (k - mp.mpf(1) / 2) * h                    # S >= k h  <=>  L >= (k - 1/2) h
        c = (t + mu ** 2 / 2) / mu
        value = mp.ncdf(-(c - mu)) - mp.exp(eps) * mp.ncdf(-c)
        assert value <= exact + mp.mpf(10) ** -35, f"threshold {k}: {value} > δ = {exact}"
        best = max(best, value)
    assert exact - best < 0.05 * exact, "the best rounded test is far from tight"

    # the code's lower end on one Gaussian step (PLD path) stays below the exact ε
    from bounds.pld import direction_bracket

    comps = Gaussian(1 / 1.3).directions()["forward"]
    b = direction_bracket(comps, 1e-5)
    true_eps = Gaussian(1 / 1.3).epsilon(1e-5)
    assert b.lower <= true_eps <= b.upper, (b, true_eps)
    return (f"mpmath: 41 rounded tests all <= δ (best {float(best):.5f} vs {float(exact):.5f}); code bracket "
            f"[{b.lower:.6f}, {b.upper:.6f}] holds ε = {true_eps:.6f}")
