"""Dominating pairs (P, Q) built from a base loss law, and their exact privacy curves.

A pair is P = (1 - p) G0 + p G1 and Q = (1 - r) G0 + r G1 for a base mechanism (mechanisms/loss.py):
- the mechanism itself: p = 1, r = 0; its swap (Q, P): p = 0, r = 1;
- Poisson subsampling at rate q of a pair (remove direction): ((1 - q) Q + q P, Q), i.e.
  p' = (1 - q) r + q p, r' = r (Zhu, Dong & Wang 2022, Thm. 11; Mironov, Talwar & Zhang 2019 §3.3);
- the add direction is the swap of the remove direction.
The privacy loss L = ln dP/dQ = ln((1-p) + p e^T) - ln((1-r) + r e^T) is monotone in the base loss T,
so every curve below is a one-dimensional computation:
- privacy profile (hockey-stick divergence) δ(ε) = P(L > ε) - e^ε Q(L > ε)  (Balle et al. 2018, Thm. 5);
- Rényi divergence ε(α) = log E_Q[(dP/dQ)^α] / (α - 1) (Mironov 2017), α → 1 the KL divergence,
  α = ∞ the largest loss.
Proofs: proofs/profile.py (δ formula), proofs/subsampled_rdp.py (integer-α binomial formula).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import optimize, special

from mechanisms.loss import NEG_INF, BaseLoss
from mechanisms.validate import orders, probability

_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)


def _log_mix(log_a, log_b, p: float):
    """log((1 - p) e^{log_a} + p e^{log_b}) with the p = 0 and p = 1 cases exact."""
    if p == 0.0:
        return np.asarray(log_a, dtype=float)
    if p == 1.0:
        return np.asarray(log_b, dtype=float)
    return np.logaddexp(math.log1p(-p) + log_a, math.log(p) + log_b)


def _log_linear(t, p: float):
    """log((1 - p) + p e^t), accurate near t = 0."""
    t = np.asarray(t, dtype=float)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        small = np.log1p(p * np.expm1(np.clip(t, -1.0, 1.0)))
        large = _log_mix(np.zeros_like(t), t, p)
    return np.where(np.abs(t) < 1.0, small, large)


def log_rdp_integrand(loss, alpha: float):
    """log g_α(d) for d = e^loss - 1, where g_α(d) = ((1 + d)^α - 1 - α d) / (α - 1) >= 0.

    E_Q[(dP/dQ)^α] = 1 + (α - 1) E_Q[g_α(dP/dQ - 1)] (the mean-zero part α E_Q[dP/dQ - 1] is removed, so
    the integrand is nonnegative and nothing cancels); at α = 1, g_1(d) = (1 + d) log(1 + d) - d (KL).
    Taking the loss log(1 + d) as input keeps large losses finite. Three regimes hold the relative
    error near machine precision: a series for small d and (α-1)d, an exp/log form for large (α-1)|d|,
    and a form that isolates (α - 1) in between.
    """
    loss = np.asarray(loss, dtype=float)
    with np.errstate(over="ignore"):
        d = np.expm1(loss)
    a1 = alpha - 1.0
    out = np.full(d.shape, NEG_INF)
    ad = np.abs(d)
    with np.errstate(over="ignore", invalid="ignore"):
        series = (ad < 1e-2) & (a1 * ad < 1e-2)
        big = ~series & (a1 * ad >= 1e-2)
    mid = ~series & ~big
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if series.any():
            x = d[series]
            # sum_{k>=2} [alpha (alpha-2)(alpha-3)...(alpha-k+1) / k!] x^k
            coef, total, power = alpha / 2.0, np.zeros_like(x), x * x
            for k in range(2, 12):
                total += coef * power
                coef *= (alpha - k) / (k + 1)
                power = power * x
            out[series] = np.log(total)
        if mid.any():
            x, lg = d[mid], loss[mid]
            e = np.expm1(a1 * lg) / a1 if a1 > 0 else lg  # ((1+d)^{α-1} - 1)/(α-1)
            # (1 + d) e - d, written as e^L (e - 1 + e^{-L}) for large L
            out[mid] = np.where(lg > 30, lg + np.log(e - 1.0 + np.exp(-lg)), np.log((1.0 + x) * e - x))
        if big.any():
            x, lg = d[big], loss[big]
            la = alpha * lg  # log (1 + d)^alpha
            # d >= 0: (1+d)^α - (1 + α d) = e^{la} (1 - (1 + α d) e^{-la}), 1 + α d = e^L (α - (α-1) e^{-L})
            log_1pad = np.where(lg > 1, lg + np.log(alpha - a1 * np.exp(-lg)), np.log1p(alpha * x))
            pos = la + np.log(-np.expm1(log_1pad - la))
            # d < 0: no overflow possible; (α-1)|d| >= 1e-2 bounds the cancellation
            neg = np.log(np.expm1(la) - alpha * x)
            out[big] = np.where(x >= 0, pos, neg) - math.log(a1)
    return out


@dataclass(frozen=True)
class PrivacyLossPair:
    """The dominating pair P = (1-p) G0 + p G1, Q = (1-r) G0 + r G1 of a base loss law (see module doc)."""

    base: BaseLoss
    p: float = 1.0
    r: float = 0.0

    def __post_init__(self):
        probability("p", self.p)
        probability("r", self.r)
        if self.p == self.r:
            raise ValueError("p and r must differ (equal mixtures have no privacy loss)")

    # --- structure ---------------------------------------------------------------------------------
    @property
    def increasing(self) -> bool:
        """L is increasing in the base loss T when p > r, decreasing otherwise."""
        return self.p > self.r

    def swap(self) -> "PrivacyLossPair":
        """The pair (Q, P): the other direction of the neighbouring relation."""
        return PrivacyLossPair(self.base, self.r, self.p)

    def subsample(self, rate: float) -> "PrivacyLossPair":
        """((1 - rate) Q + rate P, Q): Poisson subsampling (remove direction) or sampling w/o replacement."""
        rate = probability("rate", rate, zero=False)
        return PrivacyLossPair(self.base, (1.0 - rate) * self.r + rate * self.p, self.r)

    @property
    def symmetric(self) -> bool:
        """True when the swapped pair has the same privacy-loss distribution."""
        return self.base.symmetric and self.p + self.r == 1.0

    # --- the loss as a function of the base loss -------------------------------------------------------
    def loss(self, t):
        """L(t) = ln((1-p) + p e^t) - ln((1-r) + r e^t)."""
        return _log_linear(t, self.p) - _log_linear(t, self.r)

    @cached_property
    def loss_range(self) -> tuple[float, float]:
        """Smallest and largest privacy loss (possibly infinite)."""
        ends = self.loss(np.array(self.base.t_range))
        return float(ends.min()), float(ends.max())

    def t_of_loss(self, loss):
        """The base loss t with L(t) = loss; -inf/+inf beyond the range of L."""
        loss = np.asarray(loss, dtype=float)
        p, r = self.p, self.r
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            em = np.expm1(loss)
            num = (1.0 - r) * em + (p - r)          # (1-r) e^L - (1-p)
            den = (p - r) - r * em                  # p - r e^L
            t = np.log(np.abs(num)) - np.log(np.abs(den))
            t = np.where(np.isinf(loss) & (loss > 0) & (r == 0), loss, t)
        lo, hi = self.loss_range
        # beyond the range: the end of the t axis where L attains that extreme
        t_at_min, t_at_max = (-np.inf, np.inf) if self.increasing else (np.inf, -np.inf)
        t = np.where(loss <= lo, t_at_min, t)
        return np.where(loss >= hi, t_at_max, t)

    # --- laws of L under P and Q -----------------------------------------------------------------------
    def _mix(self, side: str) -> float:
        return self.p if side == "P" else self.r

    def log_sf(self, loss, side: str):
        """log P(L > loss) (side "P") or log Q(L > loss) (side "Q"), vectorised."""
        t = self.t_of_loss(loss)
        if self.increasing:
            g0, g1 = self.base.log_sf(t, 0), self.base.log_sf(t, 1)
        else:
            g0, g1 = self.base.log_cdf(t, 0, strict=True), self.base.log_cdf(t, 1, strict=True)
        return _log_mix(g0, g1, self._mix(side))

    def log_cdf(self, loss, side: str):
        """log P(L <= loss) or log Q(L <= loss)."""
        t = self.t_of_loss(loss)
        if self.increasing:
            g0, g1 = self.base.log_cdf(t, 0), self.base.log_cdf(t, 1)
        else:
            g0, g1 = self.base.log_sf(t, 0, strict=False), self.base.log_sf(t, 1, strict=False)
        return _log_mix(g0, g1, self._mix(side))

    def atoms(self):
        """Atoms of the loss law: (loss values, log P masses, log Q masses)."""
        t = self.base.atoms_t
        m0, m1 = self.base.atoms_log_mass(0), self.base.atoms_log_mass(1)
        return self.loss(t), _log_mix(m0, m1, self.p), _log_mix(m0, m1, self.r)

    def loss_nodes(self, max_tilt: float):
        """The law of L under P as weighted points: (losses, log weights), a quadrature rule for the
        continuous part (exact for the atoms) accurate for integrands growing up to e^{max_tilt L}."""
        t, log_w = self.base.quadrature(max(max_tilt, 1.0))
        a_loss, a_logp, _ = self.atoms()
        return (np.concatenate([self.loss(t), a_loss]),
                np.concatenate([log_w + _log_linear(t, self.p), a_logp]))

    def log_density_t(self, t, side: str):
        """log density in t of the continuous part of P (or Q): ((1-m) + m e^t) g0(t)."""
        return _log_linear(t, self._mix(side)) + self.base.cont_log_pdf(t)

    # --- privacy profile ----------------------------------------------------------------------------
    def delta(self, eps):
        """Exact hockey-stick divergence δ(ε) = P(L > ε) - e^ε Q(L > ε), vectorised in ε."""
        eps = np.asarray(eps, dtype=float)
        lp, lq = self.log_sf(eps, "P"), self.log_sf(eps, "Q")
        with np.errstate(invalid="ignore", over="ignore"):
            ratio = np.minimum(eps + lq - lp, 0.0)
            out = np.exp(lp) * -np.expm1(ratio)
        return np.where(np.isneginf(lp), 0.0, out)

    def epsilon(self, delta: float) -> float:
        """The smallest ε (possibly negative) with δ(ε) <= delta: the exact inverse of the profile."""
        delta = probability("delta", delta, zero=False, one=False)
        hi = self.loss_range[1]
        upper = hi if np.isfinite(hi) else 1.0  # δ(ε) = 0 for ε >= the largest loss
        while self.delta(upper) > delta:
            upper *= 2.0
        lower = min(upper, 0.0) - 1.0  # δ(ε) -> 1 as ε -> -inf
        while self.delta(lower) <= delta:
            lower *= 2.0
        return float(optimize.brentq(lambda e: float(self.delta(e)) - delta, lower, upper,
                                     xtol=1e-14, rtol=4 * np.finfo(float).eps))

    # --- Rényi divergence ---------------------------------------------------------------------------
    def rdp(self, alpha):
        """D_α(P || Q) for each α >= 1 (α = 1: KL divergence; α = inf: largest loss), vectorised."""
        alpha = orders("alpha", alpha)
        flat = np.array([self._rdp_one(float(a)) for a in alpha.ravel()])
        return flat.reshape(alpha.shape) if alpha.ndim else float(flat[0])

    def _rdp_one(self, alpha: float) -> float:
        if math.isinf(alpha):
            return self._max_loss_under_p()
        if self.r == 0.0 and self.p == 1.0:  # the base mechanism itself: E_{G0}[e^{αT}]
            return float(self.base.log_mgf0(alpha)) / (alpha - 1.0) if alpha > 1 else self._rdp_by_quadrature(1.0)
        if self.r == 1.0 and self.p == 0.0 and alpha > 1:  # swapped: E_{G1}[e^{-αT}] = E_{G0}[e^{(1-α)T}]
            return float(self.base.log_mgf0(1.0 - alpha)) / (alpha - 1.0)
        if self.r == 0.0 and alpha > 1 and float(alpha).is_integer():
            return self._rdp_binomial(int(alpha))
        return self._rdp_by_quadrature(alpha)

    def _max_loss_under_p(self) -> float:
        lo, hi = self.base.t_range
        return float(np.max(self.loss(np.array([lo, hi]))))

    def _rdp_binomial(self, alpha: int) -> float:
        """Integer α, r = 0: E_Q[(dP/dQ)^α] - 1 = Σ_{k=2}^{α} C(α,k) (1-p)^{α-k} p^k (E_{G0}[e^{kT}] - 1).

        Mironov, Talwar & Zhang 2019, §3.3 (with the k = 0, 1 terms cancelled exactly); all terms >= 0,
        summed in log space.
        """
        k = np.arange(2, alpha + 1, dtype=float)
        log_binom = special.gammaln(alpha + 1) - special.gammaln(k + 1) - special.gammaln(alpha - k + 1)
        with np.errstate(divide="ignore"):
            log_mgf = self.base.log_mgf0(k)
            log_excess = log_mgf + np.log(-np.expm1(-log_mgf))   # log(e^x - 1) without overflow
        log_am1 = special.logsumexp(log_binom + (alpha - k) * math.log1p(-self.p) + k * math.log(self.p)
                                    + log_excess)
        return float(np.logaddexp(0.0, log_am1)) / (alpha - 1)

    def _rdp_by_quadrature(self, alpha: float) -> float:
        """Any real α >= 1: E_Q[g_α(dP/dQ - 1)] by Gauss-Legendre panels over the continuous part plus atoms."""
        t, log_w = self.base.quadrature(alpha)
        terms = [log_w + self._log_rdp_integrand(t, alpha) + _log_linear(t, self.r)]
        at, am0, am1 = self.base.atoms_t, self.base.atoms_log_mass(0), self.base.atoms_log_mass(1)
        if at.size:
            terms.append(self._log_rdp_integrand(at, alpha) + _log_mix(am0, am1, self.r))
        log_g = float(special.logsumexp(np.concatenate(terms)))
        if alpha == 1.0:
            return float(np.exp(log_g))
        return float(np.log1p((alpha - 1.0) * np.exp(log_g)) / (alpha - 1.0)) if log_g < 0 else \
            float(np.logaddexp(0.0, math.log(alpha - 1.0) + log_g)) / (alpha - 1.0)

    def _log_rdp_integrand(self, t, alpha):
        """log g_α(dP/dQ - 1) at base loss t (dP/dQ = e^{L(t)})."""
        return log_rdp_integrand(self.loss(t), alpha)
