"""Aggregation certificates (DPA, finite aggregation, bagging) against brute force on small instances.

References: brute-force enumeration of vote changes (DPA), of poisoned bucket subsets (finite aggregation),
and exact bagged probabilities over every bag of every poisoned dataset (bagging), with Fractions.
"""
import itertools
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bounds.aggregation import (aggregate, bagging_certified_size, certified_accuracy, dpa_certified_size,
                                finite_aggregation_certified_size)


def argmax_low(votes):
    return max(range(len(votes)), key=lambda i: (votes[i], -i))


def brute_dpa(votes):
    """Breadth-first over single vote moves: the fewest moves that change the prediction, minus one."""
    c, frontier, seen, moves = argmax_low(votes), {tuple(votes)}, {tuple(votes)}, 0
    while True:
        moves += 1
        nxt = set()
        for v in frontier:
            for a, b in itertools.permutations(range(len(v)), 2):
                if v[a] > 0:
                    w = list(v)
                    w[a] -= 1
                    w[b] += 1
                    if argmax_low(w) != c:
                        return moves - 1
                    if tuple(w) not in seen:
                        seen.add(tuple(w))
                        nxt.add(tuple(w))
        frontier = nxt


@settings(max_examples=80, deadline=None)
@given(votes=st.lists(st.integers(0, 6), min_size=2, max_size=4).filter(lambda v: sum(v) > 0))
def test_dpa_equals_brute_force(votes):
    assert dpa_certified_size(votes) == brute_dpa(votes)
    assert aggregate(votes) == argmax_low(votes)


def brute_fa(predictions, uses, classes):
    c = argmax_low(np.bincount(predictions, minlength=classes).tolist())
    for m in range(1, uses.shape[0] + 1):
        for chosen in itertools.combinations(range(uses.shape[0]), m):
            touched = uses[list(chosen)].any(axis=0)
            for other in range(classes):
                counts = np.bincount(np.where(touched, other, predictions), minlength=classes).tolist()
                if argmax_low(counts) != c:
                    return m - 1
    return uses.shape[0]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10 ** 6), buckets=st.integers(2, 7), spread=st.integers(1, 3), classes=st.integers(2, 3))
def test_finite_aggregation_is_sound_and_dpa_when_spread_is_one(seed, buckets, spread, classes):
    rng = np.random.default_rng(seed)
    spread = min(spread, buckets)
    uses = np.zeros((buckets, buckets), dtype=bool)
    for i in range(buckets):
        uses[(i + np.arange(spread)) % buckets, i] = True
    predictions = rng.integers(0, classes, buckets)
    got = finite_aggregation_certified_size(predictions, uses, classes)
    assert got <= brute_fa(predictions, uses, classes)
    if spread == 1:
        assert got == dpa_certified_size(np.bincount(predictions, minlength=classes))


def bagged(points, k):
    counts = Counter(int(2 * sum(bag) > k) for bag in itertools.product(points, repeat=k))
    return Fraction(counts[0], len(points) ** k), Fraction(counts[1], len(points) ** k)


@pytest.mark.parametrize("data", [(0, 0, 0, 1), (0,) * 6 + (1,), (1, 1, 1, 1, 1, 0), (0,) * 5])
@pytest.mark.parametrize("k", [1, 2, 3])
def test_bagging_is_sound_against_every_poisoned_dataset(data, k):
    p0, p1 = bagged(data, k)
    top = 0 if p0 >= p1 else 1
    r = bagging_certified_size(float(max(p0, p1)), float(min(p0, p1)), len(data), k)
    ones = sum(data)
    for new_ones in range(0, ones + r + 1):  # datasets within distance r: any label counts reachable
        for new_zeros in range(0, len(data) - ones + r + 1):
            kept = min(ones, new_ones) + min(len(data) - ones, new_zeros)
            if new_ones + new_zeros == 0 or max(len(data), new_ones + new_zeros) - kept > r:
                continue
            q0, q1 = bagged([1] * new_ones + [0] * new_zeros, k)
            assert (0 if q0 >= q1 else 1) == top


@given(p_a=st.floats(0.51, 0.9999), n=st.integers(10, 5000), k=st.integers(1, 100))
def test_bagging_size_is_the_largest_r_meeting_the_condition(p_a, n, k):
    r = bagging_certified_size(p_a, None, n, k)
    gap = 2 * p_a - 1

    def excess(radius):  # Jia et al. Thm. 1, maximised over insertions j <= radius, plainly
        return max(((n + j) / n) ** k - 2 * ((n + j - radius) / n) ** k + 1 for j in range(radius + 1))

    assert gap > excess(r) - 1e-9
    assert gap <= excess(r + 1) + 1e-9
    if 1 - (1 - 1 / n) ** k < 1e-9:
        return
    # modifications alone: Δ = 2(1 - (1 - r/n)^k), the paper's simpler form, never certifies less
    assert 2 * (1 - (1 - r / n) ** k) < gap + 1e-9


def test_certified_accuracy_counts_correct_and_large_enough():
    assert certified_accuracy([0, 3, 5, -1], [True, True, False, True], [0, 3, 4]) == [0.5, 0.25, 0.0]


@pytest.mark.parametrize("call, exc, message", [
    (lambda: dpa_certified_size([3]), ValueError, "at least two class counts"),
    (lambda: dpa_certified_size([1.5, 2.0]), ValueError, "non-negative integer"),
    (lambda: finite_aggregation_certified_size(np.array([0, 3]), np.eye(2, dtype=bool), 2), ValueError,
     "class indices"),
    (lambda: finite_aggregation_certified_size(np.array([0, 1]), np.eye(3, dtype=bool), 2), ValueError, "uses must"),
    (lambda: bagging_certified_size(0.9, 0.2, 100, 10), ValueError, "p_b must be in"),
    (lambda: bagging_certified_size(0.9, None, 0, 10), ValueError, "n must be an integer >= 1"),
])
def test_bad_input(call, exc, message):
    with pytest.raises(exc, match=message):
        call()
