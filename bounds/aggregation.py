"""Certified poisoning sizes of aggregation defenses: how many training points may be inserted, deleted or
changed before the aggregated prediction can change.

- Deep Partition Aggregation (Levine & Feizi 2021, Thm. 1): each training point lands in one partition,
  one classifier per partition; with vote counts n, prediction c (ties to the smaller class), the size is
  min_{c'≠c} ⌊(n_c − n_{c'} − 1[c' < c])/2⌋.
- Finite aggregation (Wang, Levine & Feizi 2022, Thm. 2): each point lands in one bucket and each classifier
  trains on several buckets; a poisoned bucket can turn each classifier using it to any class, so with
  capacity_b(c') = Σ_{i uses b} (2 if vote_i = c, 1 if vote_i ∉ {c, c'}, 0 if vote_i = c'), m buckets
  cannot flip c to c' while the m largest capacities sum to at most n_c − n_{c'} − 1[c' < c].
- Bagging (Jia, Cao & Gong 2021, Thm. 1): k points drawn with replacement from n; the prediction with
  probability bounds p_A > p_B survives r changed points when for every size n' the poisoned set may have,
  p_A − p_B > (max(n, n')/n)^k − 2((max(n, n') − r)/n)^k + 1.
Proofs: proofs/poisoning_dpa.py, proofs/poisoning_finite_aggregation.py, proofs/poisoning_bagging.py.
"""
from __future__ import annotations

import numpy as np

from bounds.top_two import top_two
from mechanisms.validate import integer


def _votes(votes) -> np.ndarray:
    votes = np.asarray(votes)
    if votes.ndim != 1 or votes.size < 2:
        raise ValueError(f"votes must be a 1-d array of at least two class counts, got shape {votes.shape}")
    if not np.issubdtype(votes.dtype, np.integer) or (votes < 0).any():
        raise ValueError("votes must hold non-negative integer counts")
    return votes.astype(np.int64)


def aggregate(votes) -> int:
    """The aggregated class: the most votes, ties to the smaller class index (the rule the DPA certificate
    assumes). Proof: proofs/poisoning_dpa.py."""
    return int(np.argmax(_votes(votes)))


def dpa_certified_size(votes) -> int:
    """min_{c'≠c} ⌊(n_c − n_{c'} − 1[c' < c])/2⌋ (Levine & Feizi 2021, Thm. 1): the number of poisoned
    training points (insertions or deletions) the prediction provably survives. Proof: proofs/poisoning_dpa.py."""
    votes = _votes(votes)
    c = int(np.argmax(votes))
    gaps = votes[c] - votes - (np.arange(len(votes)) < c)
    return int(np.delete(gaps, c).min() // 2)


def finite_aggregation_certified_size(predictions, uses, num_classes) -> int:
    """Certified poisoning size of finite aggregation (Wang, Levine & Feizi 2022, Thm. 2); ``predictions`` holds
    each classifier's class, ``uses[b, i]`` says whether classifier i trains on bucket b (every training point
    lands in exactly one bucket). With one bucket per classifier it equals DPA's size.
    Proof: proofs/poisoning_finite_aggregation.py."""
    num_classes = integer("num_classes", num_classes, minimum=2)
    predictions = np.asarray(predictions)
    uses = np.asarray(uses, dtype=bool)
    if predictions.ndim != 1 or not np.issubdtype(predictions.dtype, np.integer):
        raise ValueError("predictions must be a 1-d integer array (one class per classifier)")
    if ((predictions < 0) | (predictions >= num_classes)).any():
        raise ValueError(f"predictions must be class indices in [0, {num_classes - 1}]")
    if uses.ndim != 2 or uses.shape[1] != len(predictions):
        raise ValueError(f"uses must have shape (buckets, {len(predictions)}), got {uses.shape}")
    votes = np.bincount(predictions, minlength=num_classes)
    c = int(np.argmax(votes))
    size = uses.shape[0]
    for other in range(num_classes):
        if other == c:
            continue
        gain = np.where(predictions == c, 2, np.where(predictions == other, 0, 1))
        capacity = np.sort(uses.astype(np.int64) @ gain)[::-1]
        gap = votes[c] - votes[other] - (other < c)
        flipping = np.flatnonzero(np.cumsum(capacity) > gap)
        size = min(size, int(flipping[0]) if flipping.size else uses.shape[0])
    return size


def _bagging_excess(n: int, k: int, r: int) -> float:
    """max over poisoned sizes n' of (max(n, n')/n)^k − 2((max(n, n') − r)/n)^k + 1 (deletions: n' < n behaves
    like n' = n; insertions j <= r give n' = n + j)."""
    j = np.arange(r + 1, dtype=float)
    with np.errstate(over="ignore"):
        grown = np.exp(k * np.log1p(j / n))
        kept = np.exp(k * np.log1p((j - r) / n))  # r < n, so j - r > -n
    return float(np.max(grown - 2.0 * kept + 1.0))


def bagging_certified_size(p_a, p_b, n, k) -> int:
    """The largest r such that every change of at most r training points (insertions, deletions,
    modifications) keeps a bagged prediction whose top class has probability >= p_A and runner-up <= p_B
    (Jia, Cao & Gong 2021, Thm. 1); −1 when p_A <= p_B (no certified prediction).
    Proof: proofs/poisoning_bagging.py."""
    p_a, p_b = top_two(p_a, p_b)
    n, k = integer("n", n, minimum=1), integer("k", k, minimum=1)
    margin = p_a - p_b - 1e-12  # covers the rounding of the few operations in _bagging_excess

    def survives(r: int) -> bool:
        return margin > _bagging_excess(n, k, r)

    if not survives(0):
        return -1
    lo, hi = 0, n  # survives(lo); r = n always fails (2 - 0 >= p_A - p_B)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if survives(mid) else (lo, mid)
    return lo


def certified_accuracy(sizes, correct, radii) -> list[float]:
    """For each radius r, the fraction of test points predicted correctly with certified size >= r."""
    sizes, correct = np.asarray(sizes), np.asarray(correct, dtype=bool)
    if sizes.shape != correct.shape or sizes.ndim != 1 or sizes.size == 0:
        raise ValueError("sizes and correct must be 1-d arrays of the same, non-zero length")
    return [float(np.mean(correct & (sizes >= integer("radius", r)))) for r in radii]
