"""Data-parallel DP-SGD with torch.distributed (torchrun; gloo on CPU, NCCL on GPU).

Every process draws the *same* Poisson logical batch (the sampling generator is seeded alike everywhere),
keeps its share (indices rank, rank + world, ...), and computes the clipped sum of its share; the sums are
all-reduced and only rank 0 adds the Gaussian noise before the reduction. The reduced noisy sum is exactly
the single-process one: one clipped sum of the logical batch plus one N(0, σ² C² I) draw, so the privacy
guarantee is that of a single process (Abadi et al. 2016's analysis applies unchanged).
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Workers:
    """This process's place among the data-parallel workers (rank 0 of 1 without torch.distributed)."""

    rank: int = 0
    world: int = 1

    @staticmethod
    def current() -> "Workers":
        if dist.is_available() and dist.is_initialized():
            return Workers(dist.get_rank(), dist.get_world_size())
        return Workers()

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def share(self, indices: torch.Tensor) -> torch.Tensor:
        """This worker's part of a logical batch."""
        return indices[self.rank::self.world]

    def all_reduce(self, tensors: list[torch.Tensor]) -> None:
        """In-place sum over the workers (a no-op for one process)."""
        if self.world > 1:
            for t in tensors:
                dist.all_reduce(t, op=dist.ReduceOp.SUM)

    def broadcast_model(self, model: nn.Module) -> None:
        """Copy rank 0's parameters and buffers to every worker, so all start from the same weights."""
        if self.world > 1:
            for t in list(model.parameters()) + list(model.buffers()):
                dist.broadcast(t.data, src=0)


def init_from_environment(device: str | torch.device = "cpu") -> tuple[Workers, torch.device]:
    """Join the process group torchrun describes (WORLD_SIZE > 1 in the environment): NCCL with this
    process's GPU (cuda:LOCAL_RANK) for a CUDA device, gloo otherwise. A single process is left alone.
    Returns the workers and the device this process should use."""
    device = torch.device(device)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Workers.current(), device
