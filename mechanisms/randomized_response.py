"""k-ary randomized response (Warner 1965): report the true value with probability e^ε/(e^ε + k - 1), otherwise
one of the k - 1 others uniformly. Pure ε-DP under replace-one (changing one person's value).
"""
from __future__ import annotations

from dataclasses import dataclass

from mechanisms.core import Mechanism, check_relation
from mechanisms.loss import randomized_response_loss
from mechanisms.pair import PrivacyLossPair


@dataclass(frozen=True)
class RandomizedResponse(Mechanism):
    """Randomized response with privacy parameter ``epsilon_0`` over ``k`` values."""

    epsilon_0: float
    k: int = 2
    relation: str = "replace_one"

    def __post_init__(self):
        check_relation(self.relation)
        randomized_response_loss(self.epsilon_0, self.k)  # validates

    def components(self):
        return ((PrivacyLossPair(randomized_response_loss(self.epsilon_0, self.k)), 1),)
