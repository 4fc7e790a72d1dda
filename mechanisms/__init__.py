"""Randomized mechanisms and their exact privacy curves.

Importing this package never loads torch; the torch noise layers live in ``mechanisms.noise_layers``.
"""
from mechanisms.composition import Composition, self_compose
from mechanisms.core import Mechanism, ProfileNotExact, gdp_delta, gdp_epsilon
from mechanisms.gaussian import Gaussian
from mechanisms.laplace import Laplace
from mechanisms.loss import BaseLoss, DiscreteLoss, GaussianLoss, LaplaceLoss, randomized_response_loss
from mechanisms.pair import PrivacyLossPair
from mechanisms.randomized_response import RandomizedResponse
from mechanisms.sampling import PoissonSampled, SampledWithoutReplacement


def dpsgd(noise_multiplier: float, sample_rate: float, steps: int) -> Composition:
    """DP-SGD's mechanism: ``steps`` Poisson-sampled Gaussians with Δ = 1 (add/remove, noise σ = multiplier)."""
    return self_compose(PoissonSampled(Gaussian(noise_multiplier), sample_rate), steps)


__all__ = ["BaseLoss", "Composition", "DiscreteLoss", "Gaussian", "GaussianLoss", "Laplace", "LaplaceLoss",
           "Mechanism", "PoissonSampled", "PrivacyLossPair", "ProfileNotExact", "RandomizedResponse",
           "SampledWithoutReplacement", "dpsgd", "gdp_delta", "gdp_epsilon", "randomized_response_loss",
           "self_compose"]
