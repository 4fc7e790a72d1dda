"""The sphere + slab outlier defense of Steinhardt, Koh & Liang (2017) and the worst point it admits.

A point (x, y) passes when ‖x − μ_y‖ ≤ r_y (sphere) and |vᵀ(x − μ_y)| ≤ s_y (slab), μ_y the centroid of
class y and v the unit vector between the two centroids; the radii are percentiles of the clean distances.
For a linear model (w, b) the point of class y with the smallest margin y(wᵀx + b) has a closed form
(REFERENCES.md §3): with w = αv + w⊥, t = clip(−yαr/‖w‖, −min(s, r), min(s, r)),
x* = μ + t v − y √(r² − t²) w⊥/‖w⊥‖. Proof: proofs/poisoning_inner_max.py.

Labels are −1 and +1; arrays hold one class per row in the order (−1, +1). Images are flattened.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mechanisms.validate import in_interval, integer

LABELS = (-1, 1)


def features(x, y=None) -> tuple[np.ndarray, np.ndarray | None]:
    """x as a float64 [N, d] array (images flattened) and y checked to be ±1 labels of the same length."""
    x = np.asarray(x, dtype=float)
    if x.ndim < 1 or x.size == 0:
        raise ValueError(f"x must be a non-empty array of points, got shape {x.shape}")
    x = x.reshape(len(x), -1)
    if not np.isfinite(x).all():
        raise ValueError("x must be finite (no NaN or inf)")
    if y is None:
        return x, None
    y = np.asarray(y)
    if y.shape != (len(x),):
        raise ValueError(f"y must have shape ({len(x)},) to match x, got {y.shape}")
    if not np.isin(y, LABELS).all():
        raise ValueError(f"y must hold labels -1 and +1, got {sorted(set(np.unique(y).tolist()))}")
    return x, y.astype(int)


def label_index(y) -> int:
    """0 for label −1, 1 for label +1."""
    if y not in LABELS:
        raise ValueError(f"y must be -1 or +1, got {y!r}")
    return LABELS.index(y)


@dataclass(frozen=True)
class SphereSlab:
    """Centroids [2, d] (classes −1, +1), unit direction v between them, sphere radii r and slab radii s
    per class; ``percentile`` records how the radii were chosen (None when given directly)."""

    centroids: np.ndarray
    direction: np.ndarray
    sphere_radii: tuple[float, float]
    slab_radii: tuple[float, float]
    percentile: float | None = None

    def contains(self, x, y, *, tol: float = 1e-9) -> np.ndarray:
        """Which points (x, y) pass both filters (up to a relative tolerance)."""
        x, y = features(x, y)
        mu = self.centroids[(y > 0).astype(int)]
        r = np.asarray(self.sphere_radii)[(y > 0).astype(int)]
        s = np.asarray(self.slab_radii)[(y > 0).astype(int)]
        sphere = np.linalg.norm(x - mu, axis=1) <= r * (1 + tol) + tol
        slab = np.abs((x - mu) @ self.direction) <= s * (1 + tol) + tol
        return sphere & slab

    def worst_point(self, w, b: float, y: int) -> np.ndarray:
        """argmin of the margin y(wᵀx + b) over the feasible points of class y (closed form above).
        Proof: proofs/poisoning_inner_max.py."""
        i = label_index(y)
        w = np.asarray(w, dtype=float)
        mu, v, r, s = self.centroids[i], self.direction, self.sphere_radii[i], self.slab_radii[i]
        alpha = float(w @ v)
        w_perp = w - alpha * v
        norm_w, norm_perp = float(np.linalg.norm(w)), float(np.linalg.norm(w_perp))
        half = min(s, r)
        t = 0.0 if norm_w == 0.0 else float(np.clip(-y * alpha * r / norm_w, -half, half))
        x = mu + t * v
        if norm_perp > 1e-12 * norm_w:  # below that, w_perp is rounding noise and any u ⊥ v is optimal
            u = w_perp / norm_perp
            u = u - (u @ v) * v  # re-orthogonalise so that the slab coordinate stays t
            x = x - y * np.sqrt(max(r * r - t * t, 0.0)) * u / np.linalg.norm(u)
        return x

    def worst_margin(self, w, b: float) -> tuple[float, np.ndarray, int]:
        """The smallest margin over both classes' feasible sets, its point and its label.
        Proof: proofs/poisoning_inner_max.py."""
        candidates = []
        for y in LABELS:
            x = self.worst_point(w, b, y)
            candidates.append((y * (float(np.asarray(w) @ x) + b), x, y))
        return min(candidates, key=lambda c: c[0])


def _centroids(x, y) -> tuple[np.ndarray, np.ndarray]:
    """Class centroids [2, d] and the unit vector v = (μ₋ − μ₊)/‖μ₋ − μ₊‖ (x, y already checked)."""
    for label in LABELS:
        integer(f"number of points with label {label}", int((y == label).sum()), minimum=1)
    centroids = np.stack([x[y == label].mean(axis=0) for label in LABELS])
    gap = centroids[0] - centroids[1]
    if not np.linalg.norm(gap) > 0:
        raise ValueError("the two class centroids coincide: the slab direction is undefined")
    return centroids, gap / np.linalg.norm(gap)


def refit_centroids(defense: SphereSlab, x, y) -> SphereSlab:
    """The defense with its centroids and slab direction recomputed on (x, y), radii kept (the data-dependent
    defense of Steinhardt et al. §5 applied to the poisoned data)."""
    centroids, v = _centroids(*features(x, y))
    return SphereSlab(centroids, v, defense.sphere_radii, defense.slab_radii, defense.percentile)


def fit_sphere_slab(x, y, percentile: float = 70.0) -> SphereSlab:
    """The defense fitted on clean data: class centroids, v = (μ₋ − μ₊)/‖μ₋ − μ₊‖, and radii at the given
    percentile (numpy's linear interpolation) of ‖x − μ_y‖ and |vᵀ(x − μ_y)| within each class."""
    x, y = features(x, y)
    percentile = in_interval("percentile", percentile, 0.0, 100.0, low_open=False, high_open=False)
    centroids, v = _centroids(x, y)
    sphere, slab = [], []
    for i, label in enumerate(LABELS):
        centred = x[y == label] - centroids[i]
        sphere.append(float(np.percentile(np.linalg.norm(centred, axis=1), percentile)))
        slab.append(float(np.percentile(np.abs(centred @ v), percentile)))
    return SphereSlab(centroids, v, tuple(sphere), tuple(slab), percentile)


def centroid_shift_outer(defense: SphereSlab, class_counts, k) -> SphereSlab:
    """A fixed set containing every poison point that survives the defense when the centroids are computed
    on the poisoned data (radii fixed): k points of class y move μ_y by at most k r_y/n_y, so each lies within
    r_y (1 + k/n_y) of the clean centroid; the slab is dropped (its direction moves too).
    Proof: proofs/poisoning_centroid_shift.py."""
    k = integer("k", k, minimum=0)
    counts = [integer("class_counts", c, minimum=1) for c in class_counts]
    if len(counts) != 2:
        raise ValueError(f"class_counts must hold two counts (classes -1, +1), got {len(counts)}")
    radii = tuple(r * (1.0 + k / n) * (1.0 + 1e-12) for r, n in zip(defense.sphere_radii, counts))
    return SphereSlab(defense.centroids, defense.direction, radii, radii, defense.percentile)
