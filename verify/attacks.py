"""Empirical attacks, the lower bounds no certificate may cross: PGD (Madry et al. 2018), Carlini–Wagner ℓ2
(Carlini & Wagner 2017) and SmoothAdv's attack on smoothed classifiers (Salman et al. 2019).

Input gradients only: PGD maximises objective(model(x')) over x' in an l-inf or l2 ball around x intersected
with [x_min, x_max], by signed (l-inf) or normalised (l2) gradient ascent and projection back onto the set.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

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


@dataclass(frozen=True)
class CarliniWagnerResult:
    """Per example: the closest adversarial example found (x itself where none was), whether one was found
    (the label is not the argmax at it), and its ℓ2 distance to x (inf where none)."""
    adversarial: torch.Tensor
    success: torch.Tensor
    distance: torch.Tensor


def carlini_wagner_l2(model, x: torch.Tensor, labels: torch.Tensor, *, confidence=0.0, c_init=1.0,
                      binary_steps: int = 6, steps: int = 200, lr=0.05, x_min=0.0, x_max=1.0) -> CarliniWagnerResult:
    """Carlini & Wagner 2017, the ℓ2 attack (Sec. V.A): minimise ‖x' - x‖₂² + c · max(Z_y - max_{j≠y} Z_j, -κ)
    over w with x' = x_min + (x_max - x_min)(tanh(w) + 1)/2 (the change of variables of their eq. (7),
    keeping x' in the box), by Adam at rate ``lr`` for ``steps`` steps, with a binary search over c per
    example (``binary_steps`` rounds; c is multiplied by 10 until a first success). κ = ``confidence``.
    The defaults (c = 1, lr = 0.05, 200 steps) trade the paper's 10,000 steps at lr = 0.01 for speed.
    Keeps the closest x' that the network misclassifies (checked on the real outputs)."""
    confidence = float(confidence)
    if confidence < 0:
        raise ValueError(f"confidence must be >= 0, got {confidence!r}")
    c_init = positive("c_init", c_init)
    binary_steps = integer("binary_steps", binary_steps, minimum=1)
    steps = integer("steps", steps, minimum=1)
    lr = positive("lr", lr)
    if not float(x_min) < float(x_max):
        raise ValueError(f"x_min must be < x_max, got {x_min!r} and {x_max!r}")
    x = x.detach()
    low, span = float(x_min), float(x_max) - float(x_min)
    if (x < low).any() or (x > low + span).any():
        raise ValueError(f"x must lie in [x_min, x_max] = [{x_min}, {x_max}]")
    n = x.shape[0]
    objective = margin_objective(labels)
    c = torch.full((n,), c_init, dtype=x.dtype, device=x.device)
    c_low = torch.zeros_like(c)
    c_high = torch.full_like(c, math.inf)
    best_x, best_d = x.clone(), torch.full_like(c, math.inf)
    w0 = torch.atanh(((x - low) / span * 2 - 1).clamp(-1 + 1e-6, 1 - 1e-6))
    for _ in range(binary_steps):
        w = w0.clone().requires_grad_(True)
        optimizer = torch.optim.Adam([w], lr=lr)
        succeeded = torch.zeros(n, dtype=torch.bool, device=x.device)
        for _ in range(steps):
            with torch.enable_grad():
                adv = low + span * (torch.tanh(w) + 1) / 2
                margin = objective(model(adv))  # max_{j≠y} Z_j - Z_y
                distance = (adv - x).flatten(1).pow(2).sum(1)
                loss = (distance + c * torch.clamp(-margin, min=-confidence)).sum()
                w.grad, = torch.autograd.grad(loss, w)  # input gradients only: the model's stay untouched
            optimizer.step()
            with torch.no_grad():
                hit = (margin > 0) & (distance.sqrt() < best_d)
                best_d = torch.where(hit, distance.sqrt(), best_d)
                best_x[hit] = adv.detach()[hit]
                succeeded |= margin > confidence
        c_high = torch.where(succeeded, torch.minimum(c_high, c), c_high)
        c_low = torch.where(succeeded, c_low, torch.maximum(c_low, c))
        c = torch.where(torch.isinf(c_high), c * 10, (c_low + c_high) / 2)
    with torch.no_grad():
        success = objective(model(best_x)) > 0
    best_d = torch.where(success, (best_x - x).flatten(1).norm(dim=1), torch.full_like(best_d, math.inf))
    best_x[~success] = x[~success]
    return CarliniWagnerResult(best_x, success, best_d)


class SoftSmoothed(torch.nn.Module):
    """log E_Z[softmax(model(x + Z))], Z ~ N(0, σ²I), estimated with ``samples`` fresh draws per call: the
    soft smoothed classifier that SmoothAdv attacks (Salman et al. 2019, eq. (S) and Sec. 3.1)."""

    def __init__(self, model, sigma, samples: int, generator: torch.Generator):
        super().__init__()
        self.model, self.sigma = model, positive("sigma", sigma)
        self.samples, self.generator = integer("samples", samples, minimum=1), generator

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.randn((self.samples, *x.shape), generator=self.generator, dtype=x.dtype, device=x.device)
        noisy = (x.unsqueeze(0) + self.sigma * noise).flatten(0, 1)
        log_p = torch.log_softmax(self.model(noisy), dim=1).reshape(self.samples, x.shape[0], -1)
        return torch.logsumexp(log_p, dim=0) - math.log(self.samples)


def smoothed_pgd(model, x: torch.Tensor, labels: torch.Tensor, *, sigma, eps, norm=2.0, samples: int = 16,
                 steps: int = 20, restarts: int = 1, step_size=None, x_min=None, x_max=None, seed: int = 0) -> torch.Tensor:
    """SmoothAdv's attack on a Gaussian-smoothed classifier (Salman et al. 2019, Alg. 1, PGD variant):
    ``pgd`` on the margin of log E_Z[softmax(f(x' + Z))], estimated by ``samples`` noise draws at each
    step (expectation over noise), in the ℓ2 (or ℓ∞) ball of radius eps around x."""
    generator = torch.Generator(device=x.device).manual_seed(integer("seed", seed))
    soft = SoftSmoothed(model, sigma, samples, generator)
    return pgd(soft, x, eps=eps, objective=margin_objective(labels), norm=norm, steps=steps, restarts=restarts,
               step_size=step_size, x_min=x_min, x_max=x_max, seed=seed)
