"""Deep Partition Aggregation: the certified poisoning size equals the brute-force minimum over vote changes."""
import itertools

import sympy as sp

from proofs import Theorem

THEOREM = Theorem(
    name="DPA certified poisoning size",
    statement="with votes n and prediction c (ties to the smaller class), changing m partitions cannot change the "
              "prediction iff m <= min_{c' != c} floor((n_c - n_c' - 1[c' < c])/2)",
    source="Levine & Feizi 2021, Deep Partition Aggregation, Thm. 1; REFERENCES.md Sec. 3",
    backs=("bounds.aggregation.dpa_certified_size", "bounds.aggregation.aggregate"),
)


def brute_force_size(votes) -> int:
    """(fewest changed voters that change the argmax) - 1, over every vote vector with the same total."""
    total, classes = sum(votes), len(votes)
    c = max(range(classes), key=lambda i: (votes[i], -i))
    fewest = total + 1
    for split in itertools.product(range(total + 1), repeat=classes - 1):
        if sum(split) > total:
            continue
        other = list(split) + [total - sum(split)]
        if max(range(classes), key=lambda i: (other[i], -i)) != c:
            fewest = min(fewest, sum(max(0, a - b) for a, b in zip(votes, other)))
    return fewest - 1


def check() -> str:
    # 1. one changed partition moves one vote: n_c - n_c' drops by at most 2 (sympy: the two ways it can drop)
    nc, no = sp.symbols("n_c n_o", integer=True)
    assert sp.expand((nc - 1) - (no + 1) - (nc - no)) == -2 and sp.expand((nc - 1) - no - (nc - no)) == -1
    # 2. the code against brute force on every vote vector with at most 7 voters and 2 or 3 classes
    from bounds.aggregation import dpa_certified_size

    checked = 0
    for classes in (2, 3):
        for total in range(1, 8):
            for votes in itertools.product(range(total + 1), repeat=classes):
                if sum(votes) != total:
                    continue
                assert dpa_certified_size(list(votes)) == brute_force_size(list(votes)), votes
                checked += 1
    return f"sympy: a vote change moves the gap by <= 2; closed form = brute force on {checked} vote vectors"
