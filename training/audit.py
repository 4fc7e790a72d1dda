"""Auditing a real DP-SGD run: an empirical lower bound on its ε, set beside the ε the accountant claims.

The distinguishing game of Jagielski, Ullman & Oprea 2020 (Sec. 3, Alg. 2) played on DP-SGD itself
(training/dpsgd.py): each trial trains from the same public initialisation θ₀ on D or on D ∪ {canary},
and the auditor sees the final parameters θ_T (white-box, the threat model of Nasr et al. 2021, Sec. 4) and
scores the trial by how far training moved θ along the canary's clipped gradient direction at θ₀,
    score = ⟨θ₀ − θ_T, u⟩ / lr,   u = ∇ℓ(θ₀; canary) / ||∇ℓ(θ₀; canary)||.
verify.audit.distinguishing_audit turns the scores into ε_LB with Clopper–Pearson bounds (threshold chosen
on half of the trials, counted on the other half). For a correct (ε, δ)-DP run ε_LB <= ε with
probability >= 1 - α; an implementation that under-noises or does not clip shows ε_LB > ε.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from mechanisms.validate import choice, integer, positive, probability
from training.dpsgd import DPSGD
from training.sampling import poisson_batch
from verify.audit import AuditResult, distinguishing_audit


def _flat(model: nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in model.parameters()])


def audit_dpsgd(build: Callable[[], nn.Module], x: torch.Tensor, y: torch.Tensor, canary_x: torch.Tensor,
                canary_y: int, *, noise_multiplier: float, clip_norm: float, sample_rate: float, steps: int,
                lr: float = 1.0, trials: int = 1000, delta: float = 0.0, alpha: float = 0.05,
                seed: int = 0) -> AuditResult:
    """ε lower bound of DP-SGD (Poisson rate q, σ, C, ``steps`` plain-SGD steps) on (x, y) with one canary.

    ``build()`` returns the model at its public initialisation (call torch.manual_seed inside for a fixed
    θ₀); ``trials`` runs per world (with and without the canary), each with its own sampling and noise.
    The expected batch size q |D| normalises the noisy sum in both worlds (a public constant).
    """
    if x.shape[0] != y.shape[0] or x.shape[1:] != canary_x.shape:
        raise ValueError(f"x [N, *shape], y [N] and canary_x [*shape] must agree, got {tuple(x.shape)}, "
                         f"{tuple(y.shape)}, {tuple(canary_x.shape)}")
    noise_multiplier = positive("noise_multiplier", noise_multiplier)
    clip_norm = positive("clip_norm", clip_norm)
    sample_rate = probability("sample_rate", sample_rate, zero=False)
    steps = integer("steps", steps, minimum=1)
    lr = positive("lr", lr)
    with_canary = (torch.cat([x, canary_x.unsqueeze(0)]), torch.cat([y, y.new_tensor([canary_y])]))
    start = build()
    theta0 = _flat(start)
    loss = nn.functional.cross_entropy(start(canary_x.unsqueeze(0)), y.new_tensor([canary_y]))
    direction = torch.cat([g.flatten() for g in torch.autograd.grad(loss, list(start.parameters()))])
    direction = direction / direction.norm()

    def run_trial(include: bool, trial_seed: int) -> float:
        data_x, data_y = with_canary if include else (x, y)
        model = build()
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        randomness = torch.Generator().manual_seed(trial_seed)  # sampling and noise: one stream per trial
        engine = DPSGD(model, optimizer, noise_multiplier=noise_multiplier, clip_norm=clip_norm,
                       expected_batch_size=sample_rate * x.shape[0], noise_generator=randomness)
        for _ in range(steps):
            batch = poisson_batch(data_x.shape[0], sample_rate, randomness)
            engine.step(data_x[batch], data_y[batch], randomness)
        return float(torch.dot(theta0 - _flat(model), direction)) / lr

    return distinguishing_audit(run_trial, trials, delta=delta, alpha=alpha, seed=seed)


#: the implementations digits_dpsgd_audit can run: (noise multiplier, clip norm) from the calibrated σ and N
VARIANTS = {"correct": lambda sigma, n: (sigma, 1.0),
            "no-clipping": lambda sigma, n: (sigma / 1e6, 1e6),              # the same noise std, no clipping
            "noise-over-sqrt-n": lambda sigma, n: (sigma / n ** 0.5, 1.0)}


def digits_dpsgd_audit(epsilon: float, *, variant: str = "correct", trials: int = 1000, steps: int = 3,
                       examples: int = 256, delta: float = 1e-5, alpha: float = 0.05, seed: int = 0):
    """The reference audit of benchmarks/privacy_audit.py and ``privrobust audit dpsgd``: softmax regression
    on the first ``examples`` sklearn digits plus one canary (an all-10 image, label 0), full batch,
    ``steps`` steps of lr 0.5, σ calibrated so that the certified ε(δ) upper bound is ``epsilon``, run as
    ``variant`` (VARIANTS). Returns (AuditResult, the accountant's EpsilonBracket for the correct run)."""
    from bounds.accountant import dpsgd_epsilon
    from bounds.calibrate import calibrate_noise
    from training.data import load_dataset
    from training.models import MLP

    variant = choice("variant", variant, tuple(VARIANTS))
    examples = integer("examples", examples, minimum=1)
    sigma = calibrate_noise(positive("epsilon", epsilon), delta, 1.0, steps)
    digits = load_dataset("digits")
    x, y = torch.as_tensor(digits.x_train[:examples]), torch.as_tensor(digits.y_train[:examples])

    def build():
        torch.manual_seed(0)
        return MLP(64, (), 10)

    noise, clip = VARIANTS[variant](sigma, examples)
    result = audit_dpsgd(build, x, y, torch.full((1, 8, 8), 10.0), 0, noise_multiplier=noise, clip_norm=clip,
                         sample_rate=1.0, steps=steps, lr=0.5, trials=trials, delta=delta, alpha=alpha, seed=seed)
    return result, dpsgd_epsilon(sigma, 1.0, steps, delta)
