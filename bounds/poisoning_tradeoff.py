"""DP ⇒ poisoning robustness for DP-SGD: for learners of given (σ, q, T), the ε they spend and how many
poisoned training points a prediction (top-class probability p_A) or the expected accuracy survives,
one row per noise multiplier (a table across ε; write it with bounds/tables.py).

ε is the accountant's certified upper bound (bounds/accountant.py), so every count is sound; the counts
come from bounds/group_privacy.py (proofs/group_privacy.py, proofs/poisoning_group_cost.py).
"""
from __future__ import annotations

from bounds.accountant import dpsgd_arguments, dpsgd_epsilon
from bounds.group_privacy import certified_poisoning_size, certified_poisoning_size_for_accuracy
from mechanisms.validate import probability

DEFAULT_NOISE = (0.6, 0.8, 1.0, 1.5, 2.0, 4.0, 8.0)
DEFAULT_P_A = (0.9, 0.99, 0.999)


def dpsgd_poisoning_table(noise_multipliers=DEFAULT_NOISE, sample_rate=0.01, steps=1000, delta=1e-5,
                          p_a_values=DEFAULT_P_A, *, clean_accuracy=0.99, target_accuracy=0.9) -> list[dict]:
    """One row per σ, sorted by ε: σ, ε (upper), the certified poisoning size ``k_pA=<p>`` of a prediction
    at each p_A (runner-up 1 - p_A) and ``k_acc`` keeping expected accuracy >= target from clean_accuracy.
    Proofs: proofs/group_privacy.py, proofs/poisoning_group_cost.py."""
    delta = probability("delta", delta, zero=False, one=False)
    noise_multipliers, p_a_values = tuple(noise_multipliers), tuple(p_a_values)
    if not noise_multipliers or not p_a_values:
        raise ValueError("noise_multipliers and p_a_values must each contain at least one value")
    rows = []
    for sigma in noise_multipliers:
        sigma, q, t = dpsgd_arguments(sigma, sample_rate, steps)
        eps = dpsgd_epsilon(sigma, q, t, delta).upper
        row = {"sigma": sigma, "q": q, "steps": t, "delta": delta, "eps": eps}
        for p_a in p_a_values:
            row[f"k_pA={p_a:g}"] = certified_poisoning_size(eps, delta, p_a)
        row["k_acc"] = certified_poisoning_size_for_accuracy(eps, delta, clean_accuracy, target_accuracy)
        rows.append(row)
    return sorted(rows, key=lambda r: r["eps"])
