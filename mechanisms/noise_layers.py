"""Noise layers: the Gaussian and Laplace mechanisms as torch modules (PixelDP, Lecuyer et al. 2019).

This module imports torch; ``import mechanisms`` does not load it. A noise layer adds i.i.d. noise of a
fixed scale to its input in training *and* at inference (the network is a randomized classifier). Its
privacy/robustness meaning comes from bounds/: the scale is calibrated for (epsilon, delta) and the
sensitivity of the layers before it. Verification code (verify/) treats a noise layer as the identity,
which is the expectation of its output.
"""
from __future__ import annotations

import torch
from torch import nn

from mechanisms.validate import choice, positive

DISTRIBUTIONS = ("gaussian", "laplace")


class NoiseLayer(nn.Module):
    """y = x + Z, Z i.i.d. N(0, scale^2) ("gaussian") or Laplace(0, scale) ("laplace").

    ``active=False`` makes the layer the identity (the expected output), e.g. to evaluate the mean network.
    ``generator`` is an optional torch.Generator on the input's device, for reproducible noise.
    """

    is_noise_layer = True

    def __init__(self, scale: float, distribution: str = "gaussian", *, active: bool = True,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.scale = positive("scale", scale)
        self.distribution = choice("distribution", distribution, DISTRIBUTIONS)
        self.active = active
        self.generator = generator

    def sample_noise(self, like: torch.Tensor) -> torch.Tensor:
        if self.distribution == "gaussian":
            return torch.randn(like.shape, dtype=like.dtype, device=like.device,
                               generator=self.generator) * self.scale
        # Laplace(0, b) = b (E1 - E2) with E1, E2 i.i.d. standard exponential.
        e = torch.empty((2, *like.shape), dtype=like.dtype, device=like.device)
        e.exponential_(generator=self.generator)
        return self.scale * (e[0] - e[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.sample_noise(x) if self.active else x

    def extra_repr(self) -> str:
        return f"scale={self.scale:g}, distribution={self.distribution!r}, active={self.active}"
