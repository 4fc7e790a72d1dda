"""Poisson subsampling and micro-batches: how DP-SGD draws its logical batches (Abadi et al. 2016, Sec. 3.1).

The accountant (bounds/accountant.py) analyses the Poisson-subsampled Gaussian: each example joins each
logical batch independently with probability q, so the batch size is Binomial(N, q) and may be 0. The
logical batch is then cut into physical micro-batches only to bound memory: the clipped per-example
gradients are summed over all micro-batches before the noise is added once, so the released sum and the
privacy analysis are those of the whole logical batch.
"""
from __future__ import annotations

import torch

from mechanisms.validate import integer, probability


def poisson_batch(size: int, sample_rate: float, generator: torch.Generator) -> torch.Tensor:
    """Indices of a Poisson sample of range(size): each index independently with probability sample_rate."""
    size = integer("size", size, minimum=1)
    sample_rate = probability("sample_rate", sample_rate)
    keep = torch.rand(size, generator=generator, device=generator.device) < sample_rate
    return keep.nonzero().flatten()


def micro_batches(count: int, micro_batch: int | None) -> list[slice]:
    """Consecutive slices of at most ``micro_batch`` (all of them when None) covering range(count)."""
    count = integer("count", count)
    if micro_batch is None:
        return [slice(0, count)]
    micro_batch = integer("micro_batch", micro_batch, minimum=1)
    return [slice(start, min(start + micro_batch, count)) for start in range(0, count, micro_batch)]


def steps_per_epoch(sample_rate: float) -> int:
    """round(1 / q): steps in which each example is expected to be seen once."""
    sample_rate = probability("sample_rate", sample_rate, zero=False)
    return max(1, round(1.0 / sample_rate))
