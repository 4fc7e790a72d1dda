"""The Mechanism interface: what is exactly known of a randomized mechanism's privacy.

A mechanism is described by its one-step dominating pairs (mechanisms/pair.py) with multiplicities: a
simple mechanism has one pair used once, a composition many. For the neighbouring relation (add/remove
or replace-one) both orders of a neighbouring pair matter: the "forward" direction (remove, for
add/remove) uses each pair, the "reverse" direction (add) its swap; the privacy of the mechanism is the
worse of the two (Zhu, Dong & Wang 2022, Def. 7 and Thm. 10).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from mechanisms.pair import PrivacyLossPair
from mechanisms.validate import choice, probability

RELATIONS = ("add_remove", "replace_one")


class ProfileNotExact(NotImplementedError):
    """Raised when no exact privacy profile is known; use bounds' accountants instead."""


@dataclass(frozen=True)
class Mechanism:
    """Base class: subclasses provide ``components()`` and ``relation``; curves follow from them."""

    def components(self) -> tuple[tuple[PrivacyLossPair, int], ...]:
        """The one-step dominating pairs (forward direction) with how often each is applied."""
        raise NotImplementedError

    @property
    def relation(self) -> str:
        raise NotImplementedError

    # --- directions ----------------------------------------------------------------------------------
    @property
    def symmetric(self) -> bool:
        """True when the reverse direction has the same privacy-loss distribution as the forward one."""
        return all(pair.symmetric for pair, _ in self.components())

    def directions(self) -> dict[str, tuple[tuple[PrivacyLossPair, int], ...]]:
        """Components per direction; the reverse direction is left out when it equals the forward one."""
        forward = self.components()
        if self.symmetric:
            return {"forward": forward}
        return {"forward": forward, "reverse": tuple((pair.swap(), n) for pair, n in forward)}

    # --- Rényi DP --------------------------------------------------------------------------------------
    def rdp(self, alpha):
        """Rényi DP ε(α) = max over directions of Σ_i n_i D_α(P_i || Q_i) (composition adds; Mironov 2017,
        Prop. 1). α = 1 gives the KL divergence, α = inf the pure-DP ε when finite."""
        per_dir = [sum(n * np.asarray(pair.rdp(alpha)) for pair, n in comps)
                   for comps in self.directions().values()]
        out = np.max(per_dir, axis=0)
        return float(out) if np.ndim(out) == 0 else out

    # --- exact privacy profile -------------------------------------------------------------------------
    @property
    def gdp_mu(self) -> float | None:
        """μ when the mechanism is exactly μ-GDP (Dong, Roth & Su 2022), else None."""
        return None

    @property
    def has_exact_profile(self) -> bool:
        comps = self.components()
        return self.gdp_mu is not None or (len(comps) == 1 and comps[0][1] == 1)

    def delta(self, eps):
        """Exact privacy profile δ(ε) = max over directions of the hockey-stick divergence, vectorised.

        Known exactly for one step of any pair (mechanisms/pair.py) and for μ-GDP mechanisms (compositions
        of Gaussians): δ(ε) = Φ(μ/2 - ε/μ) - e^ε Φ(-μ/2 - ε/μ) (Balle & Wang 2018, Thm. 8; Dong et al. Cor. 2.13).
        """
        eps = np.asarray(eps, dtype=float)
        if np.isnan(eps).any():
            raise ValueError("eps must not be NaN")
        if self.gdp_mu is not None:
            out = gdp_delta(self.gdp_mu, eps)
        else:
            if not self.has_exact_profile:
                raise ProfileNotExact(f"no exact privacy profile is known for {self!r}; "
                                      "use bounds.pld (certified bracket) or bounds.rdp")
            out = np.max([pair.delta(eps) for pair in self._pairs()], axis=0)
        return float(out) if out.ndim == 0 else out

    def epsilon(self, delta: float) -> float:
        """Exact ε(δ) = inf{ε >= 0 : δ(ε) <= delta} from the exact profile (see ``delta``)."""
        delta = probability("delta", delta, zero=False, one=False)
        if self.gdp_mu is not None:
            return max(0.0, gdp_epsilon(self.gdp_mu, delta))
        if not self.has_exact_profile:
            self.delta(0.0)  # raises ProfileNotExact with the explanation
        return max(0.0, max(pair.epsilon(delta) for pair in self._pairs()))

    def _pairs(self) -> list[PrivacyLossPair]:
        return [pair for comps in self.directions().values() for pair, _ in comps]


def gdp_delta(mu: float, eps):
    """δ(ε) of μ-GDP: Φ(μ/2 - ε/μ) - e^ε Φ(-μ/2 - ε/μ), in log space so that it stays accurate at tiny δ."""
    eps = np.asarray(eps, dtype=float)
    a, b = special.log_ndtr(mu / 2 - eps / mu), special.log_ndtr(-mu / 2 - eps / mu)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.exp(a) * -np.expm1(np.minimum(eps + b - a, 0.0))
    return np.where(np.isneginf(a), 0.0, out)


def gdp_epsilon(mu: float, delta: float) -> float:
    """The ε (possibly negative) at which μ-GDP has δ(ε) = delta (bisection on the exact profile)."""
    upper = 1.0
    while gdp_delta(mu, upper) > delta:
        upper *= 2.0
    lower = -1.0
    while gdp_delta(mu, lower) <= delta:
        lower *= 2.0
    return float(optimize.brentq(lambda e: float(gdp_delta(mu, e)) - delta, lower, upper,
                                 xtol=1e-14, rtol=4 * np.finfo(float).eps))


def check_relation(relation: str) -> str:
    return choice("relation", relation, RELATIONS)
