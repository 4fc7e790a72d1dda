"""Subsampled mechanisms: privacy amplification by Poisson sampling and by sampling without replacement.

If (P, Q) dominates a mechanism M, then ((1 - q) Q + q P, Q) and its swap dominate
- M on a Poisson sample (each record kept independently with probability q) under add/remove, and
- M on a uniformly random subset of fixed size m = q n (without replacement) under replace-one
(Zhu, Dong & Wang 2022, Thm. 11; Balle, Barthe & Gaboardi 2018). The RDP of these pairs is the sampled
Gaussian formula of Mironov, Talwar & Zhang 2019 for Gaussian M. Proof: proofs/subsampled_profile.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from mechanisms.core import Mechanism
from mechanisms.validate import probability


def _one_step_pair(mechanism: Mechanism, name: str):
    if not isinstance(mechanism, Mechanism):
        raise TypeError(f"{name} subsamples a Mechanism, got {type(mechanism).__name__}")
    comps = mechanism.components()
    if len(comps) != 1 or comps[0][1] != 1:
        raise ValueError(f"{name} needs a one-step mechanism (one dominating pair used once); "
                         "subsample each step and compose instead")
    return comps[0][0]


@dataclass(frozen=True)
class PoissonSampled(Mechanism):
    """``mechanism`` run on a Poisson sample with inclusion probability ``rate`` (add/remove relation)."""

    mechanism: Mechanism
    rate: float

    def __post_init__(self):
        probability("rate", self.rate, zero=False)
        _one_step_pair(self.mechanism, "PoissonSampled")
        if self.mechanism.relation != "add_remove":
            raise ValueError("Poisson sampling is analysed under the add/remove relation; the mechanism has "
                             f"relation {self.mechanism.relation!r} (use SampledWithoutReplacement)")

    @property
    def relation(self) -> str:
        return "add_remove"

    def components(self):
        return ((_one_step_pair(self.mechanism, "PoissonSampled").subsample(self.rate), 1),)


@dataclass(frozen=True)
class SampledWithoutReplacement(Mechanism):
    """``mechanism`` run on a uniformly random subset of size rate * n (replace-one relation)."""

    mechanism: Mechanism
    rate: float

    def __post_init__(self):
        probability("rate", self.rate, zero=False)
        _one_step_pair(self.mechanism, "SampledWithoutReplacement")
        if self.mechanism.relation != "replace_one":
            raise ValueError("sampling without replacement is analysed under the replace-one relation; the "
                             f"mechanism has relation {self.mechanism.relation!r}")

    @property
    def relation(self) -> str:
        return "replace_one"

    def components(self):
        return ((_one_step_pair(self.mechanism, "SampledWithoutReplacement").subsample(self.rate), 1),)
