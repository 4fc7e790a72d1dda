"""Certified accuracy at every radius, average certified radius, and a resumable per-example results file.

Certified accuracy at radius r (Cohen et al. 2019, Sec. 4): the fraction of test examples whose certified
prediction is correct with certified radius >= r -- a step function of r, falling at each correct example's
radius. Average certified radius (Zhai et al. 2020, eq. (9)): the mean over examples of the radius when
correct, 0 otherwise. With N examples each certified at level α, the observed curve is corrected to one that
holds with probability 1 - ρ by Cohen et al. 2019, App. D (bounds/montecarlo.certified_accuracy_lower_bound).
Results are written one JSON line per example as they are computed (``ResultsFile``), so a run can be resumed;
a file is never overwritten unless asked, and plots go to PNG/PDF.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bounds.montecarlo import certified_accuracy_lower_bound
from mechanisms.validate import probability

PLOT_FORMATS = ("png", "pdf")


def _checked(radii, correct) -> tuple[np.ndarray, np.ndarray]:
    radii = np.asarray(radii, dtype=float)
    correct = np.asarray(correct)
    if radii.ndim != 1 or radii.size == 0 or correct.shape != radii.shape:
        raise ValueError("radii and correct must be 1-d arrays of the same nonzero length")
    if np.isnan(radii).any() or (radii < 0).any():
        raise ValueError("radii must be >= 0 (0 for an abstention)")
    if correct.dtype != bool:
        raise TypeError(f"correct must be a boolean array, got dtype {correct.dtype}")
    return radii, correct


@dataclass(frozen=True)
class CertifiedAccuracyCurve:
    """The step function r ↦ certified accuracy: ``accuracy[i]`` holds on (radii[i-1], radii[i]] (an example
    certified at R counts at r = R), 0 beyond the last radius. ``lower`` is the
    App. D high-probability lower bound of each step at confidence 1 - ρ (None without α)."""
    radii: tuple
    accuracy: tuple
    n_examples: int
    average_radius: float
    alpha: float | None = None
    rho: float | None = None
    lower: tuple | None = None


def certified_accuracy(radii, correct, at) -> np.ndarray:
    """Fraction of examples with a correct prediction and certified radius >= r, for each r in ``at``
    (Cohen et al. 2019, Sec. 4; abstentions count as incorrect)."""
    radii, correct = _checked(radii, correct)
    at = np.atleast_1d(np.asarray(at, dtype=float))
    return (correct[None, :] & (radii[None, :] >= at[:, None])).mean(axis=1)


def average_certified_radius(radii, correct) -> float:
    """ACR = (1/N) Σ_i R_i 1[correct_i] (Zhai et al. 2020, eq. (9))."""
    radii, correct = _checked(radii, correct)
    return float(np.where(correct, radii, 0.0).mean())


def accuracy_curve(radii, correct, *, alpha=None, rho: float = 0.001) -> CertifiedAccuracyCurve:
    """The exact step function of certified accuracy over every radius (steps at r = 0 and at each correct
    example's radius), its ACR and, when the certificates' level α is given, the App. D lower bound of each
    step holding with probability >= 1 - ρ."""
    radii, correct = _checked(radii, correct)
    steps = np.unique(np.concatenate([[0.0], radii[correct & np.isfinite(radii)]]))
    accuracy = certified_accuracy(radii, correct, steps)
    lower = None
    if alpha is not None:
        alpha = probability("alpha", alpha, zero=False, one=False)
        rho = probability("rho", rho, zero=False, one=False)
        lower = tuple(certified_accuracy_lower_bound(float(a), radii.size, alpha, rho) for a in accuracy)
    return CertifiedAccuracyCurve(tuple(steps.tolist()), tuple(accuracy.tolist()), radii.size,
                                  average_certified_radius(radii, correct), alpha, rho if alpha else None, lower)


class ResultsFile:
    """A JSON-lines file of per-example results, appended (and flushed) one example at a time.

    The first line is a header {"config": ...}. Opening an existing file resumes it when its config equals
    ``config`` (``done`` lists the indices already there) and refuses otherwise (ValueError); ``overwrite``
    starts afresh. A truncated last line (a run killed mid-write) is dropped on resume."""

    def __init__(self, path, config: dict, *, overwrite: bool = False):
        self.path = Path(path)
        self.config = json.loads(json.dumps(config))
        self.records: list[dict] = []
        if self.path.exists() and not overwrite:
            self._resume()
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps({"config": self.config}) + "\n", encoding="utf-8")

    def _resume(self) -> None:
        lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0])["config"] if lines else None
        except (json.JSONDecodeError, KeyError, TypeError):
            header = None
        if header != self.config:
            raise ValueError(f"{self.path} holds results of another configuration ({header}); pass "
                             f"overwrite=True (--force) to replace it or choose another output")
        for line in lines[1:]:
            try:
                self.records.append(json.loads(line))
            except json.JSONDecodeError:
                break
        good = "\n".join(lines[:1 + len(self.records)]) + "\n"
        self.path.write_text(good, encoding="utf-8")

    @property
    def done(self) -> set:
        return {r["index"] for r in self.records}

    def append(self, record: dict) -> None:
        """Write one example's record (must carry "index") and flush it to disk."""
        if "index" not in record:
            raise ValueError("record must carry an 'index'")
        with self.path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(record) + "\n")
            handle.flush()
        self.records.append(record)


def plot_certified_accuracy(curves: dict, path, *, formats=PLOT_FORMATS, force: bool = False,
                            title: str | None = None) -> list[Path]:
    """Plot certified accuracy against radius for each {label: CertifiedAccuracyCurve} (with its App. D
    lower bound dashed when present) to ``path``.{png,pdf}; refuses to overwrite unless ``force``."""
    if not formats or any(f not in PLOT_FORMATS for f in formats):
        raise ValueError(f"formats must be a non-empty subset of {PLOT_FORMATS}, got {tuple(formats)}")
    targets = [Path(f"{path}.{fmt}") for fmt in formats]
    existing = [str(t) for t in targets if t.exists()]
    if existing and not force:
        raise FileExistsError(f"refusing to overwrite {', '.join(existing)} (use force=True / --force)")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for label, curve in curves.items():
        line, = ax.step(curve.radii, curve.accuracy, where="pre",
                        label=f"{label} (ACR {curve.average_radius:.3f})")
        if curve.lower is not None:
            ax.step(curve.radii, curve.lower, where="pre", linestyle="--", color=line.get_color(),
                    label=f"{label}, App. D bound (ρ = {curve.rho:g})")
    ax.set_xlabel("radius")
    ax.set_ylabel("certified accuracy")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    for target in targets:
        target.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(target)
    plt.close(fig)
    return targets
