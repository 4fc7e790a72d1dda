"""Aggregation ensembles against poisoning (non-private): Deep Partition Aggregation, finite aggregation and
bagging, trained with torch; the certificates themselves are in bounds/aggregation.py.

Each training image goes to a bucket chosen by a hash of its bytes (so an inserted or deleted image moves
only its own bucket, as the certificates assume). DPA trains one classifier per bucket; finite aggregation
(FA) trains k·d classifiers on d cyclically consecutive of k·d buckets, so each bucket feeds d classifiers;
bagging trains classifiers on k images drawn with replacement. The base classifier is a small MLP.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bounds.aggregation import (bagging_certified_size, certified_accuracy, dpa_certified_size,
                                finite_aggregation_certified_size)
from bounds.confidence import clopper_pearson_lower
from mechanisms.validate import choice, integer, probability

METHODS = ("dpa", "fa", "bagging")


@dataclass(frozen=True)
class EnsembleCertificate:
    """Per test point: the aggregated prediction, whether it is correct, its certified poisoning size."""

    method: str
    predictions: np.ndarray
    correct: np.ndarray
    sizes: np.ndarray
    members: int

    def certified_accuracy(self, radii) -> list[float]:
        return certified_accuracy(self.sizes, self.correct, radii)


def bucket_of(images: np.ndarray, buckets: int) -> np.ndarray:
    """A bucket in [0, buckets) per image from the SHA-256 of its bytes (stable across runs and machines)."""
    buckets = integer("buckets", buckets, minimum=1)
    return np.array([int.from_bytes(hashlib.sha256(np.ascontiguousarray(im).tobytes()).digest()[:8], "little")
                     % buckets for im in images], dtype=np.int64)


def _train(x: np.ndarray, y: np.ndarray, num_classes: int, epochs: int, seed: int) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(x.shape[1:])), 64), nn.ReLU(), nn.Linear(64, num_classes))
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-2)
    inputs, targets = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y, dtype=torch.int64)
    for _ in range(epochs):
        order = torch.randperm(len(inputs), generator=generator)
        for start in range(0, len(inputs), 32):
            batch = order[start:start + 32]
            optimiser.zero_grad()
            nn.functional.cross_entropy(model(inputs[batch]), targets[batch]).backward()
            optimiser.step()
    return model


def _predict(model: nn.Module, x: np.ndarray) -> np.ndarray:
    with torch.inference_mode():
        return model(torch.as_tensor(x, dtype=torch.float32)).argmax(dim=1).numpy()


def train_ensemble(x_train, y_train, x_test, y_test, method: str = "dpa", *, partitions: int = 50, spread: int = 2,
                   bags: int = 100, bag_size: int = 100, alpha: float = 0.001, epochs: int = 30, seed: int = 0,
                   progress: bool = False) -> EnsembleCertificate:
    """Train the ensemble of ``method`` and certify every test prediction: DPA with ``partitions`` buckets,
    FA with partitions·spread buckets and classifiers, bagging with ``bags`` bags of ``bag_size`` images
    (p_A from a one-sided Clopper–Pearson bound at level ``alpha``, p_B = 1 − p_A)."""
    choice("method", method, METHODS)
    partitions, spread = integer("partitions", partitions, minimum=1), integer("spread", spread, minimum=1)
    bags, bag_size = integer("bags", bags, minimum=1), integer("bag_size", bag_size, minimum=1)
    alpha = probability("alpha", alpha, zero=False, one=False)
    x_train, y_train = np.asarray(x_train), np.asarray(y_train, dtype=np.int64)
    x_test, y_test = np.asarray(x_test), np.asarray(y_test, dtype=np.int64)
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    torch.set_num_threads(1)
    if method == "bagging":
        draws = [np.random.default_rng([seed, i]).integers(0, len(x_train), bag_size) for i in range(bags)]
    else:
        count = partitions * (spread if method == "fa" else 1)
        bucket = bucket_of(x_train, count)
        width = spread if method == "fa" else 1
        uses = np.zeros((count, count), dtype=bool)  # uses[b, i]: classifier i trains on bucket b
        for i in range(count):
            uses[(i + np.arange(width)) % count, i] = True
        draws = [np.flatnonzero(uses[bucket, i]) for i in range(count)]
    votes = np.zeros((len(x_test), len(draws)), dtype=np.int64)
    members = range(len(draws))
    if progress:
        from tqdm import tqdm
        members = tqdm(members, desc=f"training {method}")
    for i in members:
        keep = draws[i]
        if len(keep) == 0:  # an empty bucket's classifier votes for class 0 (any fixed class is allowed)
            continue
        votes[:, i] = _predict(_train(x_train[keep], y_train[keep], num_classes, epochs, seed + i), x_test)
    counts = np.stack([np.bincount(v, minlength=num_classes) for v in votes])
    predictions = counts.argmax(axis=1)
    if method == "dpa":
        sizes = np.array([dpa_certified_size(c) for c in counts])
    elif method == "fa":
        sizes = np.array([finite_aggregation_certified_size(v, uses, num_classes) for v in votes])
    else:
        p_a = [clopper_pearson_lower(int(c.max()), bags, alpha) for c in counts]
        sizes = np.array([bagging_certified_size(p, None, len(x_train), bag_size) for p in p_a])
    return EnsembleCertificate(method, predictions, predictions == y_test, sizes, len(draws))
