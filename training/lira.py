"""LiRA with trained shadow models (Carlini, Chien, Nasr, Song, Terzis & Tramèr 2022, "Membership inference
attacks from first principles", Sec. IV-VI): the attack the per-example likelihood ratio of verify/membership.py
is meant for, run end to end.

M = shadows + 1 models are trained by ``train(x, y, seed)`` on independent random halves of a pool (each
example in each model's training set with probability 1/2, Sec. VI.A). Model 0 is the target; every example
of the pool is scored on it by its logit-scaled confidence φ = log p_y − log(1 − p_y) (eq. (4)) and compared
with the φ the shadows give it: online LiRA fits a Gaussian to the IN and to the OUT shadows of each example
(Alg. 1), offline LiRA only to the OUT ones (Sec. VI.C). The baseline is the target's φ alone (a confidence
threshold, equivalent to the loss threshold of Yeom et al. 2018). ROC curves over the whole pool, members
being the examples in the target's half.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from torch import nn

from mechanisms.validate import integer
from verify.membership import Roc, lira_offline, lira_online, logit_confidence, roc


@dataclass(frozen=True)
class LiraResult:
    """ROC of online LiRA, offline LiRA and the confidence-threshold baseline on the target model; ``members``:
    the target's half of the pool; ``confidences`` [M, N] and ``in_mask`` [M, N] of every model (row 0: target)."""

    online: Roc
    offline: Roc
    baseline: Roc
    members: np.ndarray
    confidences: np.ndarray
    in_mask: np.ndarray


@torch.inference_mode()
def _confidences(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> np.ndarray:
    was_training = model.training
    model.eval()
    logits = torch.cat([model(x[i:i + batch]) for i in range(0, len(x), batch)])
    model.train(was_training)
    return logit_confidence(logits.double().cpu().numpy(), y.cpu().numpy())


def lira_attack(train: Callable[[torch.Tensor, torch.Tensor, int], nn.Module], x: torch.Tensor, y: torch.Tensor, *,
                shadows: int = 16, seed: int = 0, global_variance: bool = False) -> LiraResult:
    """Train 1 + ``shadows`` models on random halves of the pool (x, y) and attack model 0 (module doc).
    ``train(x, y, seed)`` returns a trained model; ``global_variance`` uses one variance for all examples
    (Carlini et al. recommend it below 64 shadows)."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have as many examples, got {x.shape[0]} and {y.shape[0]}")
    shadows = integer("shadows", shadows, minimum=2)
    rng = np.random.default_rng(integer("seed", seed))
    in_mask = rng.random((shadows + 1, x.shape[0])) < 0.5
    confidences = np.stack([_confidences(train(x[torch.as_tensor(mask)], y[torch.as_tensor(mask)], seed + k), x, y)
                            for k, mask in enumerate(in_mask)])
    target, members = confidences[0], in_mask[0]
    online = lira_online(target, confidences[1:], in_mask[1:], global_variance=global_variance)
    offline = lira_offline(target, confidences[1:], in_mask[1:], global_variance=global_variance)
    return LiraResult(roc(online, members), roc(offline, members), roc(target, members), members, confidences,
                      in_mask)
