"""Specifications: the unsafe output set of a property as a disjunction of conjunctions of C y <= d.

A property holds when no input of its box reaches the unsafe set; robustness of a label is the property
whose unsafe set is "some other class j scores at least as high": the disjuncts y_label - y_j <= 0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# A counterexample is accepted when the float64 network satisfies every row within this slack.
CHECK_TOLERANCE = 1e-8


@dataclass(frozen=True)
class Conjunction:
    """The output set {y : C y <= d}; C has shape [rows, outputs]."""
    C: np.ndarray
    d: np.ndarray

    def violation(self, y: np.ndarray) -> float:
        """max_r (C_r y - d_r): <= 0 inside the set."""
        return float(np.max(self.C @ y - self.d))

    def contains(self, y: np.ndarray) -> bool:
        return self.violation(y) <= CHECK_TOLERANCE


@dataclass(frozen=True)
class Property:
    """Inputs in [lower, upper] (flattened); unsafe outputs: the union of the disjuncts."""
    lower: np.ndarray
    upper: np.ndarray
    disjuncts: tuple

    @property
    def n_outputs(self) -> int:
        return self.disjuncts[0].C.shape[1]


def margin_disjuncts(label: int, n_outputs: int) -> tuple:
    """One conjunction y_label - y_j <= 0 per class j != label (the label is not the unique argmax)."""
    out = []
    for j in range(n_outputs):
        if j != label:
            row = np.zeros((1, n_outputs))
            row[0, label], row[0, j] = 1.0, -1.0
            out.append(Conjunction(row, np.zeros(1)))
    return tuple(out)
