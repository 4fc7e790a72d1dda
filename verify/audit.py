"""Empirical lower bounds on ε: auditing a claimed differential-privacy guarantee.

- Distinguishing test over repeated runs (Jagielski, Ullman & Oprea 2020, Sec. 3 and Alg. 2): run the
  mechanism T times with a canary and T times without, guess "canary" when a score passes a threshold, and
  bound the true- and false-positive rates by Clopper–Pearson at level α/2 each. An (ε, δ)-DP mechanism has
  TPR <= e^ε FPR + δ and TNR <= e^ε FNR + δ, so with probability >= 1 - α
  ε >= ε_LB = max(ln((TPR_lb - δ)/FPR_ub), ln((1 - FPR_ub - δ)/(1 - TPR_lb))).
  With every guess right the bound is capped by the audit size (500 trials per world, α = 0.05: 4.91,
  REFERENCES §4): no larger violation can be shown (``max_certifiable_epsilon``).
- One training run (Steinke, Nasr & Jagielski 2023, Thm. 3.1 and its δ > 0 extension, Sec. 5): m canaries,
  each included independently with probability 1/2; the auditor guesses r of the inclusion bits and gets v
  right. An (ε, δ)-DP mechanism gives P[V >= v] <= P[Bin(r, q) >= v] + 2mδ max_{1<=i<=v} P[v - i <= Bin(r, q) < v]/i
  with q = e^ε/(1 + e^ε); ε is rejected when that is <= β, and ε_LB is the smallest ε not rejected (exact
  binomial tails from scipy.stats).

The experiments take the mechanism as a callable (``run_trial(include_canary, seed) -> score`` and
``run_once(include_mask, seed) -> scores``), so any trainer (DP-SGD in training/) plugs in unchanged.
``gaussian_mean`` is a small reference mechanism -- correct, or broken the two classic ways (no clipping;
noise divided by √n) -- on which the audit's verdicts are known.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats

from bounds.confidence import clopper_pearson_lower, clopper_pearson_upper
from bounds.noise_calibration import calibrate_sigma
from mechanisms.validate import choice, in_interval, integer, positive, probability

VARIANTS = ("correct", "no-clipping", "noise-over-sqrt-n")
SCAN_POINTS = 4001  # ε grid of the one-run audit's scan for the first non-rejected ε


def _delta(delta) -> float:
    return in_interval("delta", delta, 0.0, 1.0, low_open=False)


@dataclass(frozen=True)
class AuditBound:
    """ε_LB from a distinguishing test's counts, with the Clopper–Pearson bounds behind it; holds with
    probability >= 1 - α over the trials."""
    epsilon: float
    tpr_lower: float
    fpr_upper: float
    true_positives: int
    positives: int
    false_positives: int
    negatives: int
    delta: float
    alpha: float


def epsilon_lower_bound(true_positives, positives, false_positives, negatives, *, delta=0.0,
                        alpha=0.05) -> AuditBound:
    """Jagielski et al. 2020's ε_LB from the counts of "canary" guesses in the worlds with (``positives``
    trials) and without (``negatives`` trials) the canary; see the module doc. 0.0 when nothing is shown."""
    positives, negatives = integer("positives", positives, minimum=1), integer("negatives", negatives, minimum=1)
    delta = _delta(delta)
    alpha = probability("alpha", alpha, zero=False, one=False)
    tpr_lb = clopper_pearson_lower(true_positives, positives, alpha / 2)
    fpr_ub = clopper_pearson_upper(false_positives, negatives, alpha / 2)
    candidates = [0.0]
    if tpr_lb - delta > 0:
        candidates.append(math.log((tpr_lb - delta) / fpr_ub))
    if 1 - fpr_ub - delta > 0 and tpr_lb < 1:
        candidates.append(math.log((1 - fpr_ub - delta) / (1 - tpr_lb)))
    return AuditBound(max(candidates), tpr_lb, fpr_ub, int(true_positives), positives, int(false_positives),
                      negatives, delta, alpha)


def max_certifiable_epsilon(positives, negatives=None, *, delta=0.0, alpha=0.05) -> float:
    """The largest ε_LB an audit of this size can report (every guess right): 4.91 for 500 trials per world
    at α = 0.05, δ = 0 (REFERENCES §4)."""
    negatives = positives if negatives is None else negatives
    return epsilon_lower_bound(positives, positives, 0, negatives, delta=delta, alpha=alpha).epsilon


@dataclass(frozen=True)
class AuditResult:
    """A distinguishing audit's outcome: the bound, the threshold used (chosen on ``selection`` trials per
    world, disjoint from those counted, or given), and the audit's ceiling for its size."""
    bound: AuditBound
    threshold: float
    selection_trials: int
    max_certifiable: float

    @property
    def epsilon(self) -> float:
        return self.bound.epsilon

    def violates(self, claimed_epsilon) -> bool:
        """True when the audit shows, at confidence 1 - α, that the mechanism is not claimed_epsilon-DP."""
        return self.bound.epsilon > in_interval("claimed_epsilon", claimed_epsilon, 0.0, math.inf, low_open=False)


def _best_threshold(with_scores, without_scores, delta, alpha) -> float:
    """The threshold (a midpoint between sorted scores) maximising ε_LB on the given trials."""
    values = np.unique(np.concatenate([with_scores, without_scores]))
    cuts = np.r_[values[0] - 1.0, (values[1:] + values[:-1]) / 2, values[-1] + 1.0]
    best, best_eps = cuts[0], -1.0
    for cut in cuts:
        eps = epsilon_lower_bound(int((with_scores > cut).sum()), len(with_scores), int((without_scores > cut).sum()),
                                  len(without_scores), delta=delta, alpha=alpha).epsilon
        if eps > best_eps:
            best, best_eps = cut, eps
    return float(best)


def distinguishing_audit(run_trial, trials: int, *, delta=0.0, alpha=0.05, threshold=None,
                         selection_fraction=0.5, seed: int = 0) -> AuditResult:
    """Jagielski et al. 2020's audit of a mechanism given as ``run_trial(include_canary: bool, seed: int) ->
    float`` (a larger score means "the canary was there"), run ``trials`` times in each world with distinct
    seeds. Without a ``threshold``, the one maximising ε_LB is chosen on the first ``selection_fraction`` of
    each world's trials and the bound computed on the rest (a threshold chosen on the counted trials would
    void the Clopper–Pearson guarantee)."""
    trials = integer("trials", trials, minimum=2)
    delta = _delta(delta)
    alpha = probability("alpha", alpha, zero=False, one=False)
    seed = integer("seed", seed)
    scores = {world: np.array([float(run_trial(world, seed + 2 * t + int(world))) for t in range(trials)])
              for world in (True, False)}
    selection = 0
    if threshold is None:
        fraction = probability("selection_fraction", selection_fraction, zero=False, one=False)
        selection = min(trials - 1, max(1, int(round(fraction * trials))))
        threshold = _best_threshold(scores[True][:selection], scores[False][:selection], delta, alpha)
    threshold = float(threshold)
    counted_with, counted_without = scores[True][selection:], scores[False][selection:]
    bound = epsilon_lower_bound(int((counted_with > threshold).sum()), len(counted_with),
                                int((counted_without > threshold).sum()), len(counted_without),
                                delta=delta, alpha=alpha)
    return AuditResult(bound, threshold, selection,
                       max_certifiable_epsilon(len(counted_with), len(counted_without), delta=delta, alpha=alpha))


def _pvalues(eps: np.ndarray, m: int, r: int, v: int, delta: float) -> np.ndarray:
    """one_run_pvalue at each ε of an array (vectorised over ε)."""
    q = 1.0 / (1.0 + np.exp(-eps))
    value = stats.binom.sf(v - 1, r, q)
    if delta > 0 and v > 0:
        cdf = stats.binom.cdf(np.arange(-1, v)[None, :], r, q[:, None])  # cdf[:, k + 1] = P[Bin <= k]
        i = np.arange(1, v + 1)
        value = value + 2 * m * delta * np.max((cdf[:, [v]] - cdf[:, v - i]) / i, axis=1)
    return np.minimum(1.0, value)


def one_run_pvalue(epsilon, canaries, guesses, correct, *, delta=0.0) -> float:
    """P[Bin(r, q) >= v] + 2mδ max_{1<=i<=v} P[v - i <= Bin(r, q) < v]/i, q = e^ε/(1 + e^ε): the probability
    bound of Steinke et al. 2023 (Thm. 3.1; Sec. 5 for δ > 0) on v or more correct guesses out of r for an
    (ε, δ)-DP mechanism with m canaries (capped at 1)."""
    epsilon = in_interval("epsilon", epsilon, 0.0, math.inf, low_open=False)
    m, r, v = _one_run_counts(canaries, guesses, correct)
    return float(_pvalues(np.array([epsilon]), m, r, v, _delta(delta))[0])


def _one_run_counts(canaries, guesses, correct):
    m = integer("canaries", canaries, minimum=1)
    r = integer("guesses", guesses, minimum=1)
    v = integer("correct", correct)
    if r > m:
        raise ValueError(f"guesses must be in [1, canaries] = [1, {m}], got {r}")
    if v > r:
        raise ValueError(f"correct must be in [0, guesses] = [0, {r}], got {v}")
    return m, r, v


def one_run_epsilon_lower_bound(canaries, guesses, correct, *, delta=0.0, beta=0.05) -> float:
    """Steinke et al. 2023's ε_LB: the smallest ε the test does not reject at level β. For δ = 0 the p-value
    P[Bin(r, q) >= v] increases with ε and ε_LB is its root at β (Brent, then lowered by 1e-9); for δ > 0
    the p-value need not be monotone, so [0, ε_tail] (ε_tail: where the δ-free tail alone exceeds β; beyond
    it nothing is rejected) is scanned on SCAN_POINTS points and the answer is the last grid point before
    the first non-rejected one (rounded down to the grid; sound without monotonicity)."""
    m, r, v = _one_run_counts(canaries, guesses, correct)
    delta = _delta(delta)
    beta = probability("beta", beta, zero=False, one=False)
    if _pvalues(np.zeros(1), m, r, v, delta)[0] > beta:
        return 0.0
    if v == r:  # the tail q^r reaches β at q = β^{1/r}
        q = beta ** (1 / r)
        eps_tail = math.log(q / (1 - q)) if q < 1 else 50.0
    else:
        eps_tail = optimize.brentq(lambda e: _pvalues(np.array([e]), m, r, v, 0.0)[0] - beta, 0.0, 50.0,
                                   xtol=1e-12)
    if delta == 0:
        return max(0.0, eps_tail - 1e-9)
    grid = np.linspace(0.0, eps_tail, SCAN_POINTS)
    rejected = _pvalues(grid, m, r, v, delta) <= beta
    first_kept = int(np.argmin(rejected)) if not rejected.all() else len(grid)
    return float(grid[first_kept - 1])


@dataclass(frozen=True)
class OneRunResult:
    """A one-run audit's outcome: ε_LB at confidence 1 - β from v correct out of r guesses on m canaries."""
    epsilon: float
    canaries: int
    guesses: int
    correct: int
    delta: float
    beta: float


def one_run_audit(run_once, canaries: int, guesses: int, *, delta=0.0, beta=0.05, seed: int = 0) -> OneRunResult:
    """Steinke et al. 2023, Alg. 1: include each of m canaries with probability 1/2 (seeded), run the
    mechanism once as ``run_once(include_mask [m] bool, seed) -> scores [m]`` (larger = "included"), guess
    "in" for the r/2 highest scores and "out" for the r/2 lowest, abstain on the rest, and bound ε."""
    m = integer("canaries", canaries, minimum=2)
    r = integer("guesses", guesses, minimum=2)
    if r > m or r % 2:
        raise ValueError(f"guesses must be an even number in [2, canaries] = [2, {m}], got {r}")
    rng = np.random.default_rng(integer("seed", seed))
    include = rng.random(m) < 0.5
    scores = np.asarray(run_once(include, seed), dtype=float)
    if scores.shape != (m,):
        raise ValueError(f"run_once must return {m} scores, got shape {scores.shape}")
    order = np.argsort(scores, kind="stable")
    v = int(include[order[m - r // 2:]].sum() + (~include[order[:r // 2]]).sum())
    return OneRunResult(one_run_epsilon_lower_bound(m, r, v, delta=delta, beta=beta), m, r, v, delta, beta)


def gaussian_mean(epsilon, delta, *, n: int = 100, variant: str = "correct", canary=100.0, clip=1.0):
    """A reference mechanism for audits: the noisy sum of n - 1 zeros and, in the canary world, one record
    ``canary``, each clipped to [-clip, clip], plus N(0, σ²) with σ calibrated (analytic Gaussian, Balle &
    Wang 2018) for (ε, δ)-DP at sensitivity ``clip``. Broken variants: "no-clipping" (the canary enters
    unclipped) and "noise-over-sqrt-n" (σ/√n). Returns ``run_trial(include_canary, seed) -> score``."""
    variant = choice("variant", variant, VARIANTS)
    n = integer("n", n, minimum=1)
    clip, canary = positive("clip", clip), positive("canary", canary)
    sigma = calibrate_sigma(epsilon, delta, clip)
    if variant == "noise-over-sqrt-n":
        sigma /= math.sqrt(n)
    contribution = canary if variant == "no-clipping" else min(canary, clip)

    def run_trial(include_canary: bool, seed: int) -> float:
        noise = np.random.default_rng(seed).normal(0.0, sigma)
        return (contribution if include_canary else 0.0) + noise

    return run_trial
