"""Weak duality for margin losses over a ball: the certified lower bound on the retrained (attacked) objective."""
import mpmath as mp
import numpy as np
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Ball-constrained margin-loss dual (poisoning)",
    statement="for a in [0,1]^N and |theta| <= rho: sum_i l(y_i theta.z_i) >= sum_i -l*(-a_i) "
              "- rho |sum_i a_i y_i z_i|, "
              "with -l*(-a) = a (hinge) and the binary entropy of a (logistic)",
    source="Fenchel-Young inequality and Cauchy-Schwarz (Boyd & Vandenberghe 2004, Sec. 3.3, 5.1); the SVM dual "
           "used by Steinhardt, Koh & Liang 2017, Sec. 4 to certify the candidate attack",
    backs=("bounds.ball_fit.dual_bound", "bounds.ball_fit.fit_in_ball", "bounds.poisoning_steinhardt.evaluate_attack"),
)


def check() -> str:
    m = sp.Symbol("m", real=True)
    a = sp.Symbol("a", positive=True)
    # 1. logistic: g(a) = ln(1+e^-m) + a m + a ln a + (1-a) ln(1-a) >= 0, convex in a (g'' = 1/a + 1/(1-a)),
    #    stationary at a = 1/(1+e^m) where it is 0: Fenchel-Young with equality at the derivative
    g = sp.log(1 + sp.exp(-m)) + a * m + a * sp.log(a) + (1 - a) * sp.log(1 - a)
    star = 1 / (1 + sp.exp(m))
    assert sp.simplify(sp.diff(g, a, 2) - (1 / a + 1 / (1 - a))) == 0
    assert sp.simplify(sp.diff(g, a).subs(a, star)) == 0
    assert sp.simplify(sp.expand_log(g.subs(a, star), force=True)) == 0
    # 2. hinge: max(0, 1-m) - a(1-m) = (1-a)(1-m) for m <= 1 and -a(1-m) = a(m-1) for m >= 1: both >= 0 on [0,1]
    low, high = sp.Symbol("u", nonnegative=True), sp.Symbol("u2", nonnegative=True)  # m = 1 - low, m = 1 + high
    assert sp.expand((1 - (1 - low)) - a * (1 - (1 - low)) - (1 - a) * low) == 0  # m <= 1: (1 - a)(1 - m)
    assert sp.expand(0 - a * (1 - (1 + high)) - a * high) == 0  # m >= 1: a (m - 1)
    # 3. -theta.g >= -rho |g| (Cauchy-Schwarz) closes the chain; the code against 30-digit recomputation
    from bounds.ball_fit import dual_bound, fit_in_ball
    from bounds.margin_loss import dual_value, loss_value

    mp.mp.dps = 30
    rng = np.random.default_rng(3)
    for trial in range(6):
        n, d = int(rng.integers(5, 25)), int(rng.integers(1, 5))
        x, y = rng.normal(size=(n, d)), rng.choice([-1, 1], size=n)
        loss = ("hinge", "logistic")[trial % 2]
        rho_sq = float(rng.uniform(0.1, 3))
        fit = fit_in_ball(x, y, rho_sq, loss)
        z = [[mp.mpf(float(v)) for v in row] + [mp.mpf(1)] for row in x]
        theta = [mp.mpf(float(v)) for v in fit.weights] + [mp.mpf(fit.bias)]
        assert mp.fsum(t * t for t in theta) <= mp.mpf(rho_sq) * (1 + mp.mpf(10) ** -12), "theta leaves the ball"
        margins = [int(y[i]) * mp.fsum(zi * t for zi, t in zip(z[i], theta)) for i in range(n)]
        primal = mp.fsum(mp.log(1 + mp.exp(-q)) if loss == "logistic" else max(0, 1 - q) for q in margins) / n
        assert abs(primal - fit.objective) < 1e-12, f"objective {fit.objective} vs 30 digits {primal}"
        assert fit.lower_bound <= primal, f"lower bound {fit.lower_bound} above the primal {primal}"
        assert primal - fit.lower_bound < 2e-6, f"duality gap {primal - fit.lower_bound} (trial {trial})"
        # any a is a lower bound: random a against a brute-force grid minimum over a 1-d ball (d = 0 columns)
        a = rng.uniform(0, 1, n)
        signed = y[:, None] * np.hstack([x, np.ones((n, 1))])
        assert dual_bound(loss, signed, a, np.sqrt(rho_sq)) <= float(loss_value(loss, signed @ np.append(
            fit.weights, fit.bias)).sum()) + 1e-12
        assert np.all(np.isfinite(dual_value(loss, a)))
    return "sympy: Fenchel-Young for logistic (equality at the slope) and hinge; 30-digit primal >= dual, gap < 2e-6"
