"""Non-private robust training: noise augmentation for randomized smoothing, PGD adversarial training and
PixelDP noise-layer networks, all through the same per-example views and criteria as DP-SGD.

- Smoothing (Cohen et al. 2019): K Gaussian copies per example (``Views(noise_std=σ, multiplicity=K)``)
  and the consistency regulariser of Jeong & Shin 2020 (``consistency``), which pulls every noisy
  prediction towards their mean; ``RobustResult.smoothing_sigma`` records σ for certification.
- Adversarial training (Madry et al. 2018): ``Views(adversarial=Adversarial(...))``, PGD by
  verify.attacks.pgd with input gradients only (torch.autograd.grad with respect to the input: no
  parameter gradient is formed, no hook is involved), ε ramped up over the first part of training.
- PixelDP (Lecuyer et al. 2019): ``pixeldp_route`` (for a model from pixeldp_network) projects the
  pre-noise layers after every step
  and enforces sensitivity <= 1 at the end (training/pixeldp.py); the measured sensitivity is returned.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from mechanisms.validate import in_interval, integer, positive
from training.loop import accuracy
from training.per_sample import Criterion, cross_entropy
from training.pixeldp import constrain, enforce, pre_noise_layers
from training.views import Views


def consistency(weight: float = 1.0) -> Criterion:
    """Per-example loss over K noisy views: mean_k CE(p_k, y) + weight · mean_k KL(p̄ ‖ p_k), p̄ the mean
    prediction (Jeong & Shin 2020, "Consistency regularization for certified robustness", Eq. 5)."""
    weight = in_interval("weight", weight, 0.0, float("inf"), low_open=False)

    def criterion(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        log_p = outputs.log_softmax(-1)
        views = log_p.shape[1]
        ce = -log_p.gather(-1, targets.view(-1, 1, 1).expand(-1, views, 1)).squeeze(-1).mean(1)
        mean_p = log_p.exp().mean(1, keepdim=True)
        kl = (mean_p * (mean_p.clamp_min(1e-12).log() - log_p)).sum(-1).mean(1)
        return ce + weight * kl
    return criterion


@dataclass(frozen=True)
class RobustConfig:
    """Minibatch SGD (momentum, cosine-decayed lr) for ``epochs`` over shuffled batches of ``batch_size``."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.05
    momentum: float = 0.9
    views: Views = field(default_factory=Views)

    def __post_init__(self):
        integer("epochs", self.epochs, minimum=1)
        integer("batch_size", self.batch_size, minimum=1)
        positive("lr", self.lr)
        in_interval("momentum", self.momentum, 0.0, 1.0, low_open=False)


@dataclass(frozen=True)
class RobustResult:
    """The trained model, its clean test accuracy (one noisy draw for randomized models), the smoothing σ
    it was trained for (None without noise augmentation), the PixelDP pre-noise sensitivity measured
    before it was enforced to be <= 1 (None without PixelDP), per-epoch (loss, test accuracy)."""

    model: nn.Module
    test_accuracy: float
    smoothing_sigma: float | None
    sensitivity: float | None
    history: tuple[tuple[float, float], ...]
    wall_time_s: float


def train_robust(model: nn.Module, dataset, *, config: RobustConfig = RobustConfig(),
                 criterion: Criterion = cross_entropy, pixeldp_route: str | None = None,
                 seed: int = 0, device: str | torch.device = "cpu", progress: bool = True, out=None,
                 resume: bool = False) -> RobustResult:
    """Train ``model`` (not privately) on its views of ``dataset`` and return a ``RobustResult``.

    ``out``: run directory (training/runs.py; created, never overwritten): config.json, one checkpoint per
    epoch (model, optimizer, schedule, random state, history) and metrics.json at the end; ``resume``
    continues the run saved there from its last checkpoint, refusing another configuration."""
    from tqdm.auto import tqdm

    from training.runs import METRICS, RunDirectory

    if not isinstance(config, RobustConfig):
        raise TypeError(f"config must be a training.RobustConfig, got {type(config).__name__}")
    device = torch.device(device)
    generator = torch.Generator(device).manual_seed(integer("seed", seed))
    model = model.to(device)
    x, y = torch.as_tensor(dataset.x_train, device=device), torch.as_tensor(dataset.y_train, device=device)
    x_test, y_test = torch.as_tensor(dataset.x_test, device=device), torch.as_tensor(dataset.y_test, device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.lr, momentum=config.momentum)
    per_epoch = -(-len(y) // config.batch_size)
    total = config.epochs * per_epoch
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
    pre = pre_noise_layers(model) if pixeldp_route is not None else None
    history, start, spent = [], time.perf_counter(), 0.0
    record = {"dataset": getattr(dataset, "name", "?"), "seed": seed, "private": False,
              "pixeldp_route": pixeldp_route, "config": dataclasses.asdict(config)}
    run = RunDirectory(out, resume=resume) if out is not None else None
    state = run.begin(record, resume) if run is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        generator.set_state(state["generator"])
        history, spent = [tuple(h) for h in state["history"]], state["wall_time_s"]
    for epoch in range(len(history), config.epochs):
        order = torch.randperm(len(y), generator=generator, device=device)
        running = 0.0
        bar = tqdm(range(per_epoch), desc=f"epoch {epoch + 1}", leave=False, disable=not progress)
        for s in bar:
            idx = order[s * config.batch_size:(s + 1) * config.batch_size]
            views = config.views(model, x[idx], y[idx], generator, (epoch * per_epoch + s) / total)
            loss = criterion(model(views.flatten(0, 1)).view(len(idx), views.shape[1], -1), y[idx]).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            if pre is not None:
                constrain(pre, pixeldp_route)
            running += float(loss.detach())
            bar.set_postfix(loss=f"{running / (s + 1):.3f}")
        history.append((running / per_epoch, accuracy(model, x_test, y_test)))
        if run is not None:
            run.save_checkpoint(epoch + 1, {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                            "schedule": schedule.state_dict(), "generator": generator.get_state(),
                                            "history": history, "wall_time_s": spent + time.perf_counter() - start})
    measured = enforce(pre, pixeldp_route) if pre is not None else None
    result = RobustResult(model, accuracy(model, x_test, y_test), config.views.noise_std or None, measured,
                          tuple(history), spent + time.perf_counter() - start)
    if run is not None:
        run.write_json(METRICS, {"test_accuracy": result.test_accuracy, "smoothing_sigma": result.smoothing_sigma,
                                 "pixeldp_sensitivity": measured, "epochs": config.epochs,
                                 "wall_time_s": result.wall_time_s, "history": history})
    return result
