"""One DP-SGD step: clip per-example gradients, sum, add Gaussian noise once, normalise, update.

DP-SGD (Abadi et al. 2016, "Deep learning with differential privacy", Algorithm 1) with the noisy sum
normalised by the *expected* batch size q N rather than the realised one, so that the released gradient
    ĝ = (Σ_{i in B} clip_C(g_i) + N(0, σ² C² I)) / (q N)
is a post-processing of the Poisson-subsampled Gaussian mechanism of sensitivity C analysed by
bounds/accountant.py (noise multiplier σ = noise std / sensitivity). The logical batch is processed in
micro-batches whose clipped sums are added before the noise (training/sampling.py), and, across processes,
all-reduced with the noise drawn by one process only (training/distributed.py): one noise draw per logical
batch in every configuration.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from mechanisms.validate import positive
from training.per_sample import Criterion, clipped_grad_sum, cross_entropy, resolve_engine, trainable
from training.sampling import micro_batches
from training.views import Views

#: in-place sum of a list of tensors across processes (None: a single process)
AllReduce = Callable[[list[torch.Tensor]], None]


@dataclass(frozen=True)
class StepStats:
    """What one logical batch did: its size, summed loss, correct first-view predictions, clipped count,
    summed per-example norms (all summed over every process)."""

    batch_size: int
    loss_sum: float
    correct: int
    clipped: int
    norm_sum: float


class DPSGD:
    """DP-SGD step object: ``step(x, y)`` updates ``model`` through ``optimizer`` with a private gradient.

    noise_multiplier σ and clip_norm C: the noise std is σ C on the clipped sum; expected_batch_size q N
    normalises the noisy sum; ``views`` makes each example's K views (augmentation multiplicity, noise
    augmentation, adversarial examples); ``engine`` picks the per-example gradient engine
    (training/per_sample.py); ``per_layer`` clips layer by layer; ``micro_batch`` bounds memory;
    ``noise_generator`` draws the noise; ``all_reduce`` and ``adds_noise`` are for data-parallel runs;
    ``after_step`` runs after each update (e.g. PixelDP's projection: post-processing, no privacy cost).
    """

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer, *, noise_multiplier: float,
                 clip_norm: float, expected_batch_size: float, views: Views = Views(),
                 criterion: Criterion = cross_entropy, engine: str = "auto", per_layer: bool = False,
                 micro_batch: int | None = None, noise_generator: torch.Generator | None = None,
                 all_reduce: AllReduce | None = None, adds_noise: bool = True,
                 after_step: Callable[[], None] | None = None):
        self.model, self.optimizer = model, optimizer
        self.noise_multiplier = positive("noise_multiplier", noise_multiplier)
        self.clip_norm = positive("clip_norm", clip_norm)
        self.expected_batch_size = positive("expected_batch_size", expected_batch_size)
        if not isinstance(views, Views):
            raise TypeError(f"views must be a training.views.Views, got {type(views).__name__}")
        self.views, self.criterion, self.per_layer = views, criterion, bool(per_layer)
        self.engine = resolve_engine(model, engine)
        self.micro_batch = micro_batch
        self.noise_generator = noise_generator
        self.all_reduce, self.adds_noise, self.after_step = all_reduce, bool(adds_noise), after_step
        self.params = [p for _, p in trainable(model)]

    @property
    def noise_std(self) -> float:
        """Standard deviation of the Gaussian noise added to the clipped sum: σ C."""
        return self.noise_multiplier * self.clip_norm

    def noisy_sum(self, x: torch.Tensor, y: torch.Tensor, view_generator: torch.Generator,
                  progress: float = 1.0) -> tuple[list[torch.Tensor], StepStats]:
        """Σ clip(g_i) over this process's examples (+ the noise if ``adds_noise``), reduced across processes."""
        sums = [torch.zeros_like(p) for p in self.params]
        stats = torch.zeros(5, dtype=torch.float64, device=sums[0].device)
        for part in micro_batches(x.shape[0], self.micro_batch):
            xb, yb = x[part], y[part]
            views = self.views(self.model, xb, yb, view_generator, progress)
            batch = clipped_grad_sum(self.model, views, yb, clip_norm=self.clip_norm, criterion=self.criterion,
                                     engine=self.engine, per_layer=self.per_layer)
            for total, g in zip(sums, batch.grads):
                total.add_(g)
            stats += torch.stack([torch.tensor(float(xb.shape[0]), device=stats.device),
                                  batch.losses.sum().double(),
                                  (batch.outputs.argmax(-1) == yb).sum().double(),
                                  (batch.norms > self.clip_norm).sum().double(),
                                  batch.norms.sum().double()]) if xb.shape[0] else 0.0
        if self.adds_noise:
            for total in sums:
                total.add_(torch.randn(total.shape, generator=self.noise_generator, device=total.device,
                                       dtype=total.dtype), alpha=self.noise_std)
        if self.all_reduce is not None:
            self.all_reduce(sums + [stats])
        n, loss, correct, clipped, norms = stats.tolist()
        return sums, StepStats(int(n), loss, int(correct), int(clipped), norms)

    def step(self, x: torch.Tensor, y: torch.Tensor, view_generator: torch.Generator,
             progress: float = 1.0) -> StepStats:
        """One private update from the logical batch (x, y) (possibly empty); returns its statistics."""
        sums, stats = self.noisy_sum(x, y, view_generator, progress)
        for p, total in zip(self.params, sums):
            p.grad = total.div_(self.expected_batch_size)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.after_step is not None:
            self.after_step()
        return stats
