"""PixelDP noise-layer networks (Lecuyer et al. 2019): noise after the first layers, calibrated by bounds/.

The network is pre → NoiseLayer → post. If the pre-noise layers map an input perturbation of size L (in the
attack norm) to an output change of size at most Δ L, the noise layer calibrated to be (ε, δ)-DP at
distance Δ L makes the scores (ε, δ)-DP in the input, which certifies robustness (Lecuyer et al. 2019,
Prop. 1; radius by bounds/pixeldp_radius.py). The noise stays on at inference: a randomized classifier.

Sensitivity Δ of the pre-noise layers (Linear, Conv2d and 1-Lipschitz coordinate-wise activations) is
the product of the layers' operator norms, the first from the attack norm to the noise norm, the others
noise norm to noise norm:
- ℓ2 → ℓ2 (Gaussian noise, ℓ2 attack): spectral norm, kept near-orthogonal during training by the
  Parseval retraction W ← (1 + β) W − β W Wᵀ W (Cisse et al. 2017) followed by division by the spectral
  norm when it exceeds 1, and enforced again after training (with a float32 margin);
- ℓ1 → ℓ2 (Gaussian noise, ℓ1 attack) and ℓ1 → ℓ1 (Laplace noise): the largest column ℓ2 / ℓ1 norm, kept
  <= 1 by column normalisation after every step (an exact projection).
For a Conv2d the kernel matrix [out, in k k] is used and a pixel lies in m = ⌈kh/sh⌉⌈kw/sw⌉ patches, so the
bounds are sqrt(m) ||W||₂ (ℓ2 → ℓ2), sqrt(m) max-column-ℓ2 (ℓ1 → ℓ2) and m max-column-ℓ1 (ℓ1 → ℓ1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from mechanisms.noise_layers import NoiseLayer
from mechanisms.validate import choice, positive, probability

ROUTES = ("l2-l2", "l1-l2", "l1-l1")
#: relative margin of ``enforce`` (float32 rounding is ~6e-8 relative per entry)
ENFORCE_MARGIN = 1e-6
#: layers that are 1-Lipschitz in ℓ1 and ℓ2 (average pooling: each output averages its window, and each
#: input is in at most ⌈k/s⌉² windows of weight 1/k² <= 1 per dimension)
LIPSCHITZ_ONE = (nn.ReLU, nn.Tanh, nn.Flatten, nn.Identity, nn.LeakyReLU, nn.AvgPool2d)


@dataclass(frozen=True)
class PixelDPSpec:
    """(ε, δ) of the noise layer at input distance L, for the route (attack norm -> noise norm)."""

    epsilon: float
    delta: float
    l_attack: float
    route: str = "l2-l2"

    def __post_init__(self):
        positive("epsilon", self.epsilon)
        positive("l_attack", self.l_attack)
        choice("route", self.route, ROUTES)
        probability("delta", self.delta, zero=self.route == "l1-l1", one=False)

    def noise(self, sensitivity: float = 1.0) -> NoiseLayer:
        """The noise layer (ε, δ)-DP at distance L Δ: Gaussian (…-l2) or Laplace (l1-l1) from bounds/."""
        from bounds.radius import calibrated_noise

        kind, scale = calibrated_noise(self.epsilon, self.delta, self.l_attack * positive("sensitivity", sensitivity),
                                       norm=1 if self.route == "l1-l1" else 2)
        return NoiseLayer(scale, kind)


    @staticmethod
    def parse(spec: str) -> "PixelDPSpec":
        """``"EPS:DELTA:L"`` or ``"EPS:DELTA:L:ROUTE"`` (route l2-l2 by default), e.g. ``"1:0.05:0.3"``."""
        parts = str(spec).split(":")
        if len(parts) not in (3, 4):
            raise ValueError(f"noise_layer must look like 'EPS:DELTA:L[:ROUTE]', got {spec!r}")
        return PixelDPSpec(float(parts[0]), float(parts[1]), float(parts[2]), *parts[3:])


def pixeldp_network(pre: nn.Sequential, post: nn.Module, spec: PixelDPSpec) -> nn.Sequential:
    """Sequential(pre, noise, post) with the noise calibrated for sensitivity 1 (what training keeps)."""
    _weighted_layers(pre)
    return nn.Sequential(pre, spec.noise(1.0), post)


def after_first_layer(model: nn.Sequential, spec: PixelDPSpec) -> nn.Sequential:
    """The PixelDP version of a Sequential network: the noise layer right after its first Linear/Conv2d."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential, got {type(model).__name__}")
    layers = list(model)
    first = next((i for i, m in enumerate(layers) if isinstance(m, (nn.Linear, nn.Conv2d))), None)
    if first is None:
        raise ValueError("model has no Linear or Conv2d layer to put the noise after")
    return pixeldp_network(nn.Sequential(*layers[:first + 1]), nn.Sequential(*layers[first + 1:]), spec)


def pre_noise_layers(model: nn.Module) -> nn.Sequential:
    """The pre-noise part of a network built by ``pixeldp_network``."""
    if not (isinstance(model, nn.Sequential) and len(model) == 3 and isinstance(model[1], NoiseLayer)):
        raise ValueError("a PixelDP model must be Sequential(pre, NoiseLayer, post) from pixeldp_network")
    return model[0]


def _weighted_layers(pre: nn.Sequential) -> list[nn.Module]:
    layers = []
    for module in pre:
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            layers.append(module)
        elif not isinstance(module, LIPSCHITZ_ONE):
            raise ValueError(f"pre-noise layers must be Linear, Conv2d or 1-Lipschitz activations "
                             f"({', '.join(c.__name__ for c in LIPSCHITZ_ONE)}), got {type(module).__name__}")
    if not layers:
        raise ValueError("pre-noise layers must contain at least one Linear or Conv2d")
    return layers


def _matrix_and_overlap(layer) -> tuple[torch.Tensor, int]:
    if isinstance(layer, nn.Linear):
        return layer.weight, 1
    kh, kw = layer.kernel_size
    sh, sw = layer.stride
    return layer.weight.flatten(1), math.ceil(kh / sh) * math.ceil(kw / sw)


def _layer_norm(layer, norm_in: str, norm_out: str) -> float:
    w, m = _matrix_and_overlap(layer)
    w = w.detach().double()
    if (norm_in, norm_out) == ("l2", "l2"):
        return math.sqrt(m) * float(torch.linalg.matrix_norm(w, ord=2))
    if (norm_in, norm_out) == ("l1", "l2"):
        return math.sqrt(m) * float(w.norm(dim=0).max())
    return m * float(w.abs().sum(0).max())


def sensitivity(pre: nn.Sequential, route: str) -> float:
    """Δ: a bound on ||pre(x') − pre(x)|| / ||x' − x|| in the route's norms (see the module doc)."""
    attack, noise = choice("route", route, ROUTES).split("-")
    layers = _weighted_layers(pre)
    return math.prod(_layer_norm(layer, attack if i == 0 else noise, noise) for i, layer in enumerate(layers))


@torch.no_grad()
def constrain(pre: nn.Sequential, route: str, beta: float = 0.003) -> None:
    """One projection step after an optimizer step: Parseval retraction (l2-l2) or column normalisation."""
    attack, noise = choice("route", route, ROUTES).split("-")
    for i, layer in enumerate(_weighted_layers(pre)):
        w, m = _matrix_and_overlap(layer)
        norm_in = attack if i == 0 else noise
        if (norm_in, noise) == ("l2", "l2"):
            scaled = w * math.sqrt(m)
            scaled = (1 + beta) * scaled - beta * scaled @ scaled.t() @ scaled
            scaled = scaled / max(1.0, float(torch.linalg.matrix_norm(scaled.double(), ord=2)))
            w.copy_(scaled / math.sqrt(m))
        else:
            col = w.norm(dim=0) * math.sqrt(m) if noise == "l2" else w.abs().sum(0) * m
            w.div_(col.clamp(min=1.0))


@torch.no_grad()
def enforce(pre: nn.Sequential, route: str) -> float:
    """Scale each pre-noise layer so that Δ <= 1 exactly; returns Δ measured before the scaling."""
    attack, noise = choice("route", route, ROUTES).split("-")
    measured = sensitivity(pre, route)
    for i, layer in enumerate(_weighted_layers(pre)):
        factor = _layer_norm(layer, attack if i == 0 else noise, noise)
        if factor > 1.0:  # the margin covers the float32 rounding of the divided weights
            layer.weight.div_(factor * (1.0 + ENFORCE_MARGIN))
    return measured
