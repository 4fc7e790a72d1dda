"""Small torch layers that verification understands beyond torch.nn: normalisation and reshape.

``Normalize`` is the "subtract mean / divide std" layer (also what ONNX Add/Sub/Div by a constant become);
``Reshape`` is ONNX Reshape. Both act on each example: shapes exclude the batch dimension.
"""
from __future__ import annotations

import torch
from torch import nn


def _float_tensor(value) -> torch.Tensor:
    t = torch.as_tensor(value)
    return t if t.is_floating_point() else t.to(torch.get_default_dtype())


class Normalize(nn.Module):
    """y = (x - mean) / std, with mean and std broadcastable to one example (e.g. per channel [C, 1, 1])."""

    def __init__(self, mean, std):
        super().__init__()
        mean, std = _float_tensor(mean), _float_tensor(std)
        if bool((std == 0).any()):
            raise ValueError("std must be nonzero everywhere")
        self.register_buffer("mean", mean)
        self.register_buffer("std", std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class Reshape(nn.Module):
    """Reshape each example to ``shape`` (batch dimension kept; one entry may be -1)."""

    def __init__(self, shape):
        super().__init__()
        self.shape = tuple(int(s) for s in shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"
