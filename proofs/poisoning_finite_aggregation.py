"""Finite aggregation: the greedy certificate never exceeds the brute-force certified size over bucket subsets."""
import itertools

import numpy as np
import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="Finite aggregation certified poisoning size",
    statement="a poisoned bucket turns each classifier using it to any class; m buckets cannot flip c to c' while the "
              "m largest capacities (2 per c-vote, 1 per other vote, 0 per c' vote) sum to <= n_c - n_c' - 1[c' < c]",
    source="Wang, Levine & Feizi 2022, Improved Certified Defenses against Data Poisoning with (Deterministic) "
           "Finite Aggregation, Thm. 2",
    backs=("bounds.aggregation.finite_aggregation_certified_size",),
)


def brute_force_size(predictions, uses, classes) -> int:
    """(fewest buckets whose classifiers, all turned to one class c', change the prediction) - 1."""
    votes = np.bincount(predictions, minlength=classes)
    c = int(np.argmax(votes))
    for m in range(1, uses.shape[0] + 1):
        for chosen in itertools.combinations(range(uses.shape[0]), m):
            touched = uses[list(chosen)].any(axis=0)
            for other in range(classes):
                changed = np.where(touched, other, predictions)
                if int(np.argmax(np.bincount(changed, minlength=classes))) != c:
                    return m - 1
    return uses.shape[0]


def check() -> str:
    # 1. subadditivity: the gap reduction of a union of buckets is at most the sum of their capacities, since a
    #    classifier used by several poisoned buckets counts once on the left and at least once on the right
    r1, r2, shared = sp.symbols("r1 r2 s", nonnegative=True)
    assert sp.simplify((r1 + r2) - (r1 + r2 - shared) - shared) == 0
    from bounds.aggregation import dpa_certified_size, finite_aggregation_certified_size

    rng = np.random.default_rng(2)
    tight = 0
    for trial in range(120):
        classes, buckets, spread = int(rng.integers(2, 4)), int(rng.integers(3, 8)), int(rng.integers(1, 3))
        classifiers = buckets
        uses = np.zeros((buckets, classifiers), dtype=bool)
        for i in range(classifiers):  # classifier i trains on `spread` buckets, as in FA's hash spreading
            uses[rng.choice(buckets, size=spread, replace=False), i] = True
        predictions = rng.choice(classes, size=classifiers, p=rng.dirichlet(np.ones(classes) * 0.7))
        got = finite_aggregation_certified_size(predictions, uses, classes)
        brute = brute_force_size(predictions, uses, classes)
        assert got <= brute, f"trial {trial}: certificate {got} > brute force {brute}"
        tight += got == brute
        if spread == 1 and uses.sum(axis=1).max() == 1:
            assert got == dpa_certified_size(np.bincount(predictions, minlength=classes)) == brute
    return f"sympy: capacities are subadditive; certificate <= brute force on 120 instances ({tight} tight)"
