"""Exponential moving average of the weights, the evaluation model of private training.

θ̄_t = β_t θ̄_{t-1} + (1 - β_t) θ_t with the warm-up β_t = min(β, (1 + t) / (10 + t)) (Tan & Le 2019;
for DP-SGD, De et al. 2022, Sec. 3.2). It is a post-processing of the private iterates, so it costs no
privacy, and it averages out part of the injected noise.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from mechanisms.validate import in_interval


class WeightAverage:
    """EMA copy of ``model`` (parameters and buffers); ``update()`` after every step, ``.model`` to evaluate."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = in_interval("ema_decay", decay, 0.0, 1.0, low_open=False)
        self.source = model
        self.model = copy.deepcopy(model).requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self) -> None:
        beta = min(self.decay, (1.0 + self.updates) / (10.0 + self.updates))
        for avg, cur in zip(self.model.parameters(), self.source.parameters()):
            avg.lerp_(cur.detach(), 1.0 - beta)
        for avg, cur in zip(self.model.buffers(), self.source.buffers()):
            avg.copy_(cur)
        self.updates += 1

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = int(state["updates"])
