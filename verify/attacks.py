"""A minimal PGD attack (Madry et al. 2018): the cheap search for counterexamples before exact verification.

Input gradients only: maximise objective(model(x')) over x' in an l-inf or l2 ball around x intersected with
[x_min, x_max], by signed (l-inf) or normalised (l2) gradient ascent and projection back onto the set.
"""
from __future__ import annotations

import math

import torch

from mechanisms.validate import choice, integer, positive
from verify.perturbation import InputSet


def margin_objective(labels: torch.Tensor):
    """objective(y) = max_{j != label} y_j - y_label: >= 0 exactly when the label is not the unique argmax."""
    def objective(outputs: torch.Tensor) -> torch.Tensor:
        true = outputs.gather(1, labels.view(-1, 1)).squeeze(1)
        others = outputs.scatter(1, labels.view(-1, 1), -math.inf)
        return others.max(1).values - true
    return objective


def _project(z: torch.Tensor, domain: InputSet) -> torch.Tensor:
    if domain.norm == 2.0:
        delta = (z - domain.center).flatten(1)
        scale = (domain.eps / delta.norm(dim=1).clamp(min=1e-30)).clamp(max=1.0)
        z = domain.center + (delta * scale.unsqueeze(1)).reshape(z.shape)
    # Clamping coordinate-wise towards a box that contains the centre never leaves the l2 ball.
    return torch.maximum(torch.minimum(z, domain.upper), domain.lower)


def pgd(model, x: torch.Tensor, *, eps, objective, norm=math.inf, steps: int = 50, restarts: int = 1,
        step_size=None, x_min=None, x_max=None, seed: int = 0) -> torch.Tensor:
    """Best x' found (per example) maximising ``objective(model(x'))`` over the ball of radius eps around x.

    model: any differentiable callable [N, *shape] -> [N, outputs]; objective: outputs -> [N];
    norm: inf or 2 (eps may be a per-coordinate tensor for inf, i.e. a box); step_size defaults to
    2.5 eps / steps; restart 0 starts at x, the others uniformly in the l-inf box (seeded).
    """
    norm = choice("norm", float(norm), (math.inf, 2.0))
    steps = integer("steps", steps, minimum=1)
    restarts = integer("restarts", restarts, minimum=1)
    x = x.detach()
    domain = InputSet.build(x, eps, norm, x_min, x_max)
    if step_size is None:
        step = 2.5 * (torch.as_tensor(eps, dtype=x.dtype, device=x.device) if torch.is_tensor(eps) else eps) / steps
    else:
        step = positive("step_size", step_size)
    generator = torch.Generator(device=x.device).manual_seed(seed)
    best_x, best_value = x.clone(), torch.full((x.shape[0],), -math.inf, dtype=x.dtype, device=x.device)
    for restart in range(restarts):
        z = x.clone() if restart == 0 else domain.lower + (domain.upper - domain.lower) * torch.rand(
            x.shape, generator=generator, dtype=x.dtype, device=x.device)
        z = _project(z, domain)
        for _ in range(steps + 1):
            with torch.enable_grad():
                z.requires_grad_(True)
                value = objective(model(z))
                grad, = torch.autograd.grad(value.sum(), z)
            with torch.no_grad():
                better = value.detach() > best_value
                best_value = torch.where(better, value.detach(), best_value)
                best_x[better] = z.detach()[better]
                if norm == math.inf:
                    direction = grad.sign()
                else:
                    direction = grad / grad.flatten(1).norm(dim=1).clamp(min=1e-30).view(-1, *[1] * (x.dim() - 1))
                z = _project(z.detach() + step * direction, domain)
    return best_x
