"""``train_dpsgd``: a whole DP-SGD run (Abadi et al. 2016) with accounting, logging, checkpoints and resume.

Poisson-sampled logical batches (training/sampling.py), the private step (training/dpsgd.py), σ calibrated
for a target ε or ε reported for a fixed σ (training/privacy.py), weight averaging for evaluation
(training/averaging.py), one checkpoint per epoch in a run directory that is never overwritten
(training/runs.py), data-parallel workers (training/distributed.py). Reproducible from ``seed``: the model's
initial weights are the caller's; sampling, noise and views each get a generator derived from the seed.
"""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import torch
from torch import nn

from bounds.accountant import EpsilonBracket
from mechanisms.validate import choice, in_interval, integer, positive
from training.averaging import WeightAverage
from training.distributed import Workers
from training.dpsgd import DPSGD
from training.pixeldp import constrain, enforce, pre_noise_layers
from training.privacy import plan_privacy
from training.runs import METRICS, RunDirectory
from training.sampling import poisson_batch, steps_per_epoch
from training.views import Views

SCHEDULES = ("constant", "cosine")


@dataclass(frozen=True)
class DPConfig:
    """Hyper-parameters of a DP-SGD run.

    batch_size: expected logical batch q N; clip_norm: C; lr, momentum: SGD (heavy ball); schedule:
    "constant" or "cosine" decay of lr over the run; ema_decay: weight-averaging decay (None: off);
    views: augmentation multiplicity / noise augmentation / adversarial views; engine: per-example
    gradient engine ("auto", "vmap", "ghost"); per_layer: per-layer clipping; micro_batch: physical batch.
    """

    epochs: int = 30
    batch_size: int = 1000
    clip_norm: float = 1.0
    lr: float = 2.0
    momentum: float = 0.9
    schedule: str = "constant"
    ema_decay: float | None = 0.99
    views: Views = field(default_factory=Views)
    engine: str = "auto"
    per_layer: bool = False
    micro_batch: int | None = 256

    def __post_init__(self):
        integer("epochs", self.epochs, minimum=1)
        integer("batch_size", self.batch_size, minimum=1)
        positive("clip_norm", self.clip_norm)
        positive("lr", self.lr)
        in_interval("momentum", self.momentum, 0.0, 1.0, low_open=False)
        choice("schedule", self.schedule, SCHEDULES)
        if self.ema_decay is not None:
            in_interval("ema_decay", self.ema_decay, 0.0, 1.0, low_open=False)
        if self.micro_batch is not None:
            integer("micro_batch", self.micro_batch, minimum=1)


@dataclass(frozen=True)
class EpochRecord:
    """Training loss / accuracy (first view) of one epoch, test accuracy after it and ε bracket so far."""

    epoch: int
    steps: int
    train_loss: float
    train_accuracy: float
    test_accuracy: float
    epsilon_lower: float
    epsilon_upper: float
    clipped_fraction: float
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    """A trained private model with its certified ε(δ) bracket, the DP-SGD parameters and its history.

    ``model`` is the evaluation model (the weight average when ``ema_decay`` is set); ``smoothing_sigma``
    is the Gaussian noise-augmentation σ the model was trained with (None without), the σ that
    randomized-smoothing certification must use; ``pixeldp_sensitivity`` the pre-noise sensitivity of a
    PixelDP model measured after training, before it was enforced to be <= 1 (None without a noise layer).
    """

    model: nn.Module
    epsilon: EpsilonBracket
    delta: float
    noise_multiplier: float
    sample_rate: float
    steps: int
    epochs: int
    test_accuracy: float
    wall_time_s: float
    history: tuple[EpochRecord, ...]
    config: DPConfig
    smoothing_sigma: float | None = None
    pixeldp_sensitivity: float | None = None

    def metrics(self) -> dict:
        """The final metrics as a JSON-ready dict."""
        return {"test_accuracy": self.test_accuracy,
                "epsilon": {"lower": self.epsilon.lower, "estimate": self.epsilon.estimate,
                            "upper": self.epsilon.upper, "method": self.epsilon.method},
                "delta": self.delta, "noise_multiplier": self.noise_multiplier,
                "sample_rate": self.sample_rate, "steps": self.steps, "epochs": self.epochs,
                "wall_time_s": self.wall_time_s, "smoothing_sigma": self.smoothing_sigma,
                "pixeldp_sensitivity": self.pixeldp_sensitivity,
                "clip_norm": self.config.clip_norm, "batch_size": self.config.batch_size}


@torch.inference_mode()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    """Fraction of (x, y) that ``model`` classifies correctly (one draw for a randomized model)."""
    if x.shape[0] == 0:
        raise ValueError("accuracy needs at least one example")
    was_training = model.training
    model.eval()
    correct = sum(int((model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum()) for i in range(0, len(x), batch))
    model.train(was_training)
    return correct / x.shape[0]


def _generators(seed: int, device: torch.device, rank: int) -> dict[str, torch.Generator]:
    """Sampling (shared by all workers), noise (used by rank 0) and views (per worker) generators."""
    states = np.random.SeedSequence([seed]).spawn(2) + [np.random.SeedSequence([seed, 1 + rank])]
    return {name: torch.Generator(device).manual_seed(int(s.generate_state(1, np.uint64)[0] >> np.uint64(1)))
            for name, s in zip(("sampling", "noise", "views"), states)}


def train_dpsgd(model: nn.Module, dataset, *, config: DPConfig = DPConfig(), epsilon: float | None = None,
                noise_multiplier: float | None = None, delta: float = 1e-5, seed: int = 0,
                device: str | torch.device = "cpu", out=None, resume: bool = False,
                progress: bool = True, pixeldp_route: str | None = None) -> TrainResult:
    """Train ``model`` on ``dataset`` (training.data.Dataset) with DP-SGD and return a ``TrainResult``.

    Exactly one of ``epsilon`` (target mode: σ calibrated so the certified ε upper bound is <= epsilon
    after the whole run) and ``noise_multiplier`` (fixed-σ mode). ``out``: run directory (created; must
    not hold another run unless ``resume``). ``progress``: tqdm bars with live loss, accuracy and ε.
    ``pixeldp_route``: the model is a PixelDP network (training.pixeldp.pixeldp_network) whose pre-noise
    layers are projected after every step and enforced to sensitivity <= 1 at the end for this route.
    """
    started = time.perf_counter()
    if not isinstance(config, DPConfig):
        raise TypeError(f"config must be a training.DPConfig, got {type(config).__name__}")
    seed = integer("seed", seed)
    device = torch.device(device)
    workers = Workers.current()
    n = len(dataset.y_train)
    if config.batch_size > n:
        raise ValueError(f"batch_size must be <= the training set size {n}, got {config.batch_size}")
    q = config.batch_size / n
    per_epoch = steps_per_epoch(q)
    total = config.epochs * per_epoch
    plan = plan_privacy(sample_rate=q, steps=total, delta=delta, epsilon=epsilon, noise_multiplier=noise_multiplier)
    model = model.to(device)
    workers.broadcast_model(model)
    x_train = torch.as_tensor(dataset.x_train, device=device)
    y_train = torch.as_tensor(dataset.y_train, device=device)
    x_test = torch.as_tensor(dataset.x_test, device=device)
    y_test = torch.as_tensor(dataset.y_test, device=device)
    gens = _generators(seed, device, workers.rank)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=config.lr,
                                momentum=config.momentum)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, (lambda s: 0.5 * (1 + math.cos(math.pi * s / total))) if config.schedule == "cosine"
        else (lambda s: 1.0))
    engine = DPSGD(model, optimizer, noise_multiplier=plan.noise_multiplier, clip_norm=config.clip_norm,
                   expected_batch_size=q * n, views=config.views, engine=config.engine,
                   per_layer=config.per_layer, micro_batch=config.micro_batch, noise_generator=gens["noise"],
                   all_reduce=workers.all_reduce, adds_noise=workers.is_main,
                   after_step=None if pixeldp_route is None else partial(constrain, pre_noise_layers(model),
                                                                        pixeldp_route))
    average = WeightAverage(model, config.ema_decay) if config.ema_decay is not None else None
    evaluated = average.model if average is not None else model
    record = {"dataset": getattr(dataset, "name", "?"), "seed": seed, "delta": delta, "target_epsilon": epsilon,
              "noise_multiplier": plan.noise_multiplier, "sample_rate": q, "steps": total,
              "world_size": workers.world, "config": dataclasses.asdict(config)}
    # every worker reads a resumed run; only rank 0 writes
    run = RunDirectory(out, resume=resume) if (out is not None and (workers.is_main or resume)) else None
    history: list[EpochRecord] = []
    spent = 0.0
    state = run.begin(record, resume) if run is not None else None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        for name, g in gens.items():
            g.set_state(state["generators"][name])
        if average is not None:
            average.load_state_dict(state["average"])
        history = [EpochRecord(**h) for h in state["history"]]
        spent = state["wall_time_s"]
    writer = run if workers.is_main else None
    brackets = plan.log_brackets(range(per_epoch, total + 1, per_epoch))
    for epoch in range(len(history), config.epochs):
        history.append(_epoch(engine, average, evaluated, schedule, gens, x_train, y_train, x_test, y_test,
                              workers, epoch, per_epoch, total, q, brackets, progress))
        if writer is not None:
            writer.save_checkpoint(epoch + 1, {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": schedule.state_dict(), "average": average.state_dict() if average else None,
                "generators": {k: g.get_state() for k, g in gens.items()},
                "history": [dataclasses.asdict(h) for h in history],
                "wall_time_s": spent + time.perf_counter() - started})
    measured = None if pixeldp_route is None else enforce(pre_noise_layers(evaluated), pixeldp_route)
    test = history[-1].test_accuracy if measured is None else accuracy(evaluated, x_test, y_test)
    result = TrainResult(evaluated, plan.epsilon(), plan.delta, plan.noise_multiplier, q, total, config.epochs,
                         test, spent + time.perf_counter() - started, tuple(history),
                         config, config.views.noise_std or None, measured)
    if writer is not None:
        writer.write_json(METRICS, result.metrics())
    return result


def _epoch(engine, average, evaluated, schedule, gens, x_train, y_train, x_test, y_test, workers, epoch,
           per_epoch, total, q, brackets, progress) -> EpochRecord:
    from tqdm.auto import tqdm

    start = time.perf_counter()
    seen = loss = correct = clipped = 0.0
    done = epoch * per_epoch
    lower, upper = brackets[done + per_epoch]
    bar = tqdm(range(per_epoch), desc=f"epoch {epoch + 1}", leave=False,
               disable=not (progress and workers.is_main))
    for s in bar:
        batch = workers.share(poisson_batch(len(y_train), q, gens["sampling"]))
        stats = engine.step(x_train[batch], y_train[batch], gens["views"], (done + s) / total)
        schedule.step()
        if average is not None:
            average.update()
        seen += stats.batch_size
        loss += stats.loss_sum
        correct += stats.correct
        clipped += stats.clipped
        bar.set_postfix(loss=f"{loss / max(seen, 1):.3f}", acc=f"{correct / max(seen, 1):.3f}",
                        eps_at_end=f"<={upper:.3f}")
    test = accuracy(evaluated, x_test, y_test)
    if progress and workers.is_main:
        tqdm.write(f"epoch {epoch + 1}: loss {loss / max(seen, 1):.4f}  train acc {correct / max(seen, 1):.4f}  "
                   f"test acc {test:.4f}  ε in [{lower:.3f}, {upper:.3f}]")
    return EpochRecord(epoch + 1, done + per_epoch, loss / max(seen, 1), correct / max(seen, 1), test,
                       lower, upper, clipped / max(seen, 1), time.perf_counter() - start)
