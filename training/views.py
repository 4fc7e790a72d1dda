"""The K views of each example that its per-example loss averages: augmentation, noise, adversarial examples.

Each view of example i is a function of x_i alone (and of fresh randomness and the current model), so the
per-example gradient of the mean loss over the views still depends on one example only and DP-SGD's
clipping keeps its sensitivity C: the privacy analysis is unchanged however the views are made.

- ``shift``: random translations by up to ``shift`` pixels with zero fill; K such copies is augmentation
  multiplicity (De et al. 2022, "Unlocking high-accuracy differentially private image classification
  through scale", Sec. 3.1).
- ``noise_std``: Gaussian noise augmentation x + N(0, σ² I), the training that randomized smoothing
  certifies (Cohen et al. 2019); under DP-SGD with K noisy copies it is the DP-CERT recipe
  (Liu et al. 2023).
- ``adversarial``: each view replaced by a PGD adversarial example (Madry et al. 2018) found with input
  gradients only by verify.attacks.pgd; ε ramps up linearly over the first part of training, which keeps
  adversarial training from collapsing (Gowal et al. 2018). Random start: PGD's second restart begins at a
  uniform point of the ball.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from mechanisms.validate import choice, in_interval, integer, positive, real


@dataclass(frozen=True)
class Adversarial:
    """PGD in the ℓ∞ or ℓ2 ball of radius ``eps`` (clipped to [0, 1]), ``steps`` per restart."""

    norm: float
    eps: float
    steps: int = 5
    restarts: int = 2
    ramp: float = 0.3

    def __post_init__(self):
        object.__setattr__(self, "norm", choice("norm", float(self.norm), (math.inf, 2.0)))
        object.__setattr__(self, "eps", positive("eps", self.eps))
        object.__setattr__(self, "steps", integer("steps", self.steps, minimum=1))
        object.__setattr__(self, "restarts", integer("restarts", self.restarts, minimum=1))
        object.__setattr__(self, "ramp", in_interval("ramp", self.ramp, 0.0, 1.0, low_open=False,
                                                     high_open=False))

    @staticmethod
    def parse(spec: str, **options) -> "Adversarial":
        """``"linf:0.1"`` or ``"l2:1.5"`` -> Adversarial."""
        norm, sep, eps = str(spec).partition(":")
        if not sep or norm not in ("linf", "l2"):
            raise ValueError(f"adversarial must look like 'linf:EPS' or 'l2:EPS', got {spec!r}")
        return Adversarial(math.inf if norm == "linf" else 2.0, float(eps), **options)

    def eps_at(self, progress: float) -> float:
        """ε after a fraction ``progress`` of training: linear from 0 to eps over the first ``ramp``."""
        return self.eps if self.ramp == 0 else self.eps * min(1.0, max(progress, 0.0) / self.ramp)

    def attack(self, model, x: torch.Tensor, y: torch.Tensor, eps: float, seed: int) -> torch.Tensor:
        from verify.attacks import pgd

        def loss(outputs):
            return F.cross_entropy(outputs, y, reduction="none")

        return pgd(model, x, eps=eps, objective=loss, norm=self.norm, steps=self.steps,
                   restarts=self.restarts, x_min=0.0, x_max=1.0, seed=seed).detach()


@dataclass(frozen=True)
class Views:
    """How each example becomes ``multiplicity`` views: shift, then adversarial, then Gaussian noise."""

    multiplicity: int = 1
    shift: int = 0
    noise_std: float = 0.0
    adversarial: Adversarial | None = None

    def __post_init__(self):
        integer("multiplicity", self.multiplicity, minimum=1)
        integer("shift", self.shift)
        if real("noise_std", self.noise_std) < 0:
            raise ValueError(f"noise_std must be >= 0, got {self.noise_std!r}")
        if self.adversarial is not None and not isinstance(self.adversarial, Adversarial):
            raise TypeError(f"adversarial must be an Adversarial, got {type(self.adversarial).__name__}")

    def __call__(self, model, x: torch.Tensor, y: torch.Tensor, generator: torch.Generator,
                 progress: float = 1.0) -> torch.Tensor:
        """Views of shape [B, K, *input] for a batch x of shape [B, *input]."""
        k = self.multiplicity
        views = x.unsqueeze(1).expand(-1, k, *x.shape[1:]).flatten(0, 1)
        if self.shift:
            views = random_shift(views, self.shift, generator)
        if self.adversarial is not None and views.shape[0]:
            eps = self.adversarial.eps_at(progress)
            if eps > 0:
                seed = int(torch.randint(2 ** 31 - 1, (1,), generator=generator, device=generator.device))
                views = self.adversarial.attack(model, views, y.repeat_interleave(k), eps, seed)
        if self.noise_std:
            views = views + self.noise_std * torch.randn(views.shape, generator=generator,
                                                         device=views.device, dtype=views.dtype)
        return views.reshape(x.shape[0], k, *x.shape[1:])


def random_shift(x: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Each image of x [N, C, H, W] translated by independent integer offsets in [-shift, shift]², zero fill."""
    n, _, h, w = x.shape
    padded = F.pad(x, (shift, shift, shift, shift))
    offsets = torch.randint(0, 2 * shift + 1, (2, n), generator=generator, device=generator.device).to(x.device)
    rows = (offsets[0].view(n, 1) + torch.arange(h, device=x.device)).view(n, 1, h, 1)
    cols = (offsets[1].view(n, 1) + torch.arange(w, device=x.device)).view(n, 1, 1, w)
    batch = torch.arange(n, device=x.device).view(n, 1, 1, 1)
    channel = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
    return padded[batch, channel, rows, cols]
