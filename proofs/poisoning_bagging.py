"""Bagging: the certified poisoning size, derived by splitting bags at the points both datasets share."""
import itertools
from collections import Counter
from fractions import Fraction

import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Bagging certified poisoning size",
    statement="k draws with replacement from n points; with p_A, p_B and r changed points (poisoned size n', s = "
              "max(n, n') - r shared points) the prediction holds if p_A - p_B > (max(n,n')/n)^k - 2 (s/n)^k + 1",
    source="Jia, Cao & Gong 2021, Intrinsic Certified Robustness of Bagging against Data Poisoning Attacks, Thm. 1",
    backs=("bounds.aggregation.bagging_certified_size",),
)


def _bagged(points, k):
    """Exact class probabilities of a bagged majority-label learner (ties to label 0), all len^k bags."""
    counts = Counter()
    for bag in itertools.product(points, repeat=k):
        ones = sum(bag)
        counts[1 if 2 * ones > k else 0] += 1
    total = len(points) ** k
    return Fraction(counts[0], total), Fraction(counts[1], total)


def check() -> str:
    # 1. bags drawn only from the s shared points have probability (s/n)^k under D and (s/n')^k under D', with the
    #    same conditional law; so P'(A) >= (n/n')^k (p_A - 1 + (s/n)^k), P'(B) <= 1 - (s/n')^k + (n/n')^k p_B, and
    #    P'(A) > P'(B) reduces (times (n'/n)^k) to p_A - p_B > (n'/n)^k - 2 (s/n)^k + 1
    pa, pb, n, n2, s, k = sp.symbols("p_A p_B n n2 s k", positive=True)
    lower_a = (n / n2) ** k * (pa - 1 + (s / n) ** k)
    upper_b = 1 - (s / n2) ** k + (n / n2) ** k * pb
    condition = (lower_a - upper_b) * (n2 / n) ** k
    assert sp.simplify(sp.expand(condition - (pa - pb - ((n2 / n) ** k - 2 * (s / n) ** k + 1)))) == 0
    # 2. exhaustive: points are labels 0/1, base learner = majority label of the bag; every dataset within r
    #    insertions/deletions/changes of D keeps the bagged prediction when the code certifies r
    from bounds.aggregation import bagging_certified_size

    checked = 0
    for data in [(0, 0, 0, 1), (0, 0, 0, 0, 1), (1, 1, 1, 1, 0, 0), (0, 0, 0, 0, 0, 1, 1), (0,) * 7 + (1,), (1,) * 8]:
        for k in (1, 2, 3):
            p0, p1 = _bagged(data, k)
            top = 0 if p0 >= p1 else 1
            p_a, p_b = (p0, p1) if top == 0 else (p1, p0)
            r = bagging_certified_size(float(p_a), float(p_b), len(data), k)
            for dist in range(1, r + 1):  # every dataset at distance exactly dist (d = max(n, n') - |D ∩ D'|)
                ones, zeros = sum(data), len(data) - sum(data)
                for removed1 in range(0, min(ones, dist) + 1):
                    for removed0 in range(0, min(zeros, dist - removed1) + 1):
                        kept = len(data) - removed1 - removed0
                        for size in range(max(kept, 1), kept + 2 * dist + 1):
                            if max(len(data), size) - kept != dist:
                                continue
                            for added1 in range(size - kept + 1):
                                new = [1] * (ones - removed1 + added1) + [0] * (zeros - removed0 + size - kept - added1)
                                q0, q1 = _bagged(new, k)
                                assert (0 if q0 >= q1 else 1) == top, (data, k, new)
                                checked += 1
    return f"sympy: the bag-splitting condition; exhaustive check of {checked} poisoned datasets within the certified r"
