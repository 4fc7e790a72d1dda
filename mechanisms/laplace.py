"""The Laplace mechanism M(D) = f(D) + Lap(0, b) for f of ℓ1 sensitivity Δ: pure ε0-DP with ε0 = Δ/b.

RDP (Mironov 2017, Prop. 6): ε(α) = log[α/(2α-1) e^{(α-1)ε0} + (α-1)/(2α-1) e^{-α ε0}]/(α - 1).
Privacy profile: δ(ε) = 1 - e^{(ε - ε0)/2} for 0 <= ε < ε0, 0 beyond (the exact hockey-stick divergence).
Proof: proofs/laplace.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from mechanisms.core import Mechanism, check_relation
from mechanisms.loss import LaplaceLoss
from mechanisms.pair import PrivacyLossPair
from mechanisms.validate import positive


@dataclass(frozen=True)
class Laplace(Mechanism):
    """Laplace noise of scale ``scale`` on a query of ℓ1 sensitivity ``sensitivity``."""

    scale: float
    sensitivity: float = 1.0
    relation: str = "add_remove"

    def __post_init__(self):
        positive("scale", self.scale)
        positive("sensitivity", self.sensitivity)
        check_relation(self.relation)

    @property
    def pure_epsilon(self) -> float:
        return self.sensitivity / self.scale

    def components(self):
        return ((PrivacyLossPair(LaplaceLoss(self.pure_epsilon)), 1),)
