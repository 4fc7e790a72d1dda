"""Margin losses of linear classifiers: ℓ(m) for the margin m = y(wᵀx + b), its slope, and the concave
function −ℓ*(−a) of the Fenchel dual (a ∈ [0, 1]), with ℓ(m) >= −a m − ℓ*(−a) for every m (Fenchel–Young).

- hinge: ℓ(m) = max(0, 1 − m), −ℓ*(−a) = a.
- logistic: ℓ(m) = ln(1 + e^{−m}), −ℓ*(−a) = −a ln a − (1 − a) ln(1 − a).
Both decrease in m, so the worst point of a feasible set is the one with the smallest margin.
Proof: proofs/poisoning_svm_dual.py.
"""
from __future__ import annotations

import numpy as np
from scipy.special import expit, xlogy

from mechanisms.validate import choice

LOSSES = ("hinge", "logistic")


def loss_value(loss: str, margin):
    """ℓ(m), elementwise."""
    choice("loss", loss, LOSSES)
    margin = np.asarray(margin, dtype=float)
    return np.maximum(0.0, 1.0 - margin) if loss == "hinge" else np.logaddexp(0.0, -margin)


def loss_slope(loss: str, margin):
    """A (sub)derivative dℓ/dm <= 0, elementwise (−1 below the hinge's kink, 0 at and above it)."""
    choice("loss", loss, LOSSES)
    margin = np.asarray(margin, dtype=float)
    return -(margin < 1.0).astype(float) if loss == "hinge" else -expit(-margin)


def dual_value(loss: str, a):
    """−ℓ*(−a) for a in [0, 1], elementwise."""
    choice("loss", loss, LOSSES)
    a = np.asarray(a, dtype=float)
    return a if loss == "hinge" else -xlogy(a, a) - xlogy(1.0 - a, 1.0 - a)


def dual_slope(loss: str, a):
    """d(−ℓ*(−a))/da, elementwise (finite inside (0, 1))."""
    choice("loss", loss, LOSSES)
    a = np.asarray(a, dtype=float)
    return np.ones_like(a) if loss == "hinge" else np.log1p(-a) - np.log(a)
