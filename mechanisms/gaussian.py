"""The Gaussian mechanism M(D) = f(D) + N(0, σ² I) for f of ℓ2 sensitivity Δ.

Exactly μ-GDP with μ = Δ/σ (Dong, Roth & Su 2022, Thm. 2.7); RDP ε(α) = α Δ²/(2σ²) (Mironov 2017, Prop. 7);
privacy profile δ(ε) = Φ(μ/2 - ε/μ) - e^ε Φ(-μ/2 - ε/μ) (Balle & Wang 2018, Thm. 8).
Proofs: proofs/gaussian_rdp.py, proofs/analytic_gaussian.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from mechanisms.core import Mechanism, check_relation
from mechanisms.loss import GaussianLoss
from mechanisms.pair import PrivacyLossPair
from mechanisms.validate import positive


@dataclass(frozen=True)
class Gaussian(Mechanism):
    """Gaussian noise of standard deviation ``sigma`` on a query of ℓ2 sensitivity ``sensitivity``.

    ``relation`` names the neighbouring relation under which ``sensitivity`` holds ("add_remove" or
    "replace_one"; a sum of vectors clipped to norm C has sensitivity C and 2C respectively).
    """

    sigma: float
    sensitivity: float = 1.0
    relation: str = "add_remove"

    def __post_init__(self):
        positive("sigma", self.sigma)
        positive("sensitivity", self.sensitivity)
        check_relation(self.relation)

    @property
    def mu(self) -> float:
        return self.sensitivity / self.sigma

    @property
    def gdp_mu(self) -> float:
        return self.mu

    def components(self):
        return ((PrivacyLossPair(GaussianLoss(self.mu)), 1),)
