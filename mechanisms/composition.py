"""Composition: several mechanisms run on the same dataset, each seeing the outputs of the previous ones.

Adaptive composition of mechanisms with dominating pairs (P_i, Q_i) is dominated by the product pair
(Zhu, Dong & Wang 2022, Thm. 10): Rényi DP adds (Mironov 2017, Prop. 1), privacy-loss distributions
convolve, and μ-GDP composes as sqrt(Σ μ_i²) (Dong, Roth & Su 2022, Cor. 3.3).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from mechanisms.core import Mechanism
from mechanisms.validate import integer


@dataclass(frozen=True)
class Composition(Mechanism):
    """Heterogeneous composition: ``parts`` is a tuple of (mechanism, count) pairs, all of one relation."""

    parts: tuple

    def __post_init__(self):
        parts = tuple(self.parts)
        if not parts:
            raise ValueError("parts must contain at least one (mechanism, count) pair")
        for item in parts:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Mechanism)):
                raise TypeError("parts must be (Mechanism, count) pairs")
            integer("count", item[1], minimum=1)
        relations = {m.relation for m, _ in parts}
        if len(relations) > 1:
            raise ValueError(f"all parts must share one neighbouring relation, got {sorted(relations)}")
        object.__setattr__(self, "parts", parts)

    @property
    def relation(self) -> str:
        return self.parts[0][0].relation

    def components(self):
        return tuple((pair, n * int(k)) for m, k in self.parts for pair, n in m.components())

    @property
    def gdp_mu(self) -> float | None:
        mus = [(m.gdp_mu, k) for m, k in self.parts]
        if any(mu is None for mu, _ in mus):
            return None
        return math.sqrt(sum(k * mu * mu for mu, k in mus))


def self_compose(mechanism: Mechanism, count: int) -> Composition:
    """``mechanism`` run ``count`` times."""
    return Composition(((mechanism, integer("count", count, minimum=1)),))
