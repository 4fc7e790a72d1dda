"""Laws of a base mechanism's privacy loss T = ln dG1/dG0.

G1 is the output law on the dataset with the record, G0 without it (for replace-one: with the record and
with its replacement). Because dG1 = e^t dG0, the law of T under G0 alone determines everything; each class
gives it in log space, split into a continuous part (density, survival function, CDF) and atoms.

Every dominating pair of mechanisms/pair.py is a pair of mixtures of G0 and G1, so these few functions are
all the exact privacy curves need. Sources: Gaussian — Balle & Wang 2018, Dong, Roth & Su 2022 (μ-GDP);
Laplace — Mironov 2017 Prop. 6 and the Laplace PLD of Koskela et al. 2021; randomized response — Warner 1965,
Kairouz, Oh & Viswanath 2015.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import special

from mechanisms.validate import integer, positive

NEG_INF = -np.inf
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)


def _log_ndtr_upper(z):
    """log P(N(0,1) > z), accurate in both tails."""
    return special.log_ndtr(-np.asarray(z, dtype=float))


@dataclass(frozen=True)
class BaseLoss:
    """The law of T under G0 (side 0) and G1 (side 1): continuous part plus atoms.

    Subclasses set ``atoms_t``/``atoms_log_mass0`` (possibly empty) and implement the continuous part in
    log space: ``cont_log_sf(t, side)`` = log G_side(T > t, continuous part), ``cont_log_cdf`` likewise for
    T <= t, ``cont_log_pdf(t)`` under side 0 (side 1 is e^t times it), and ``cont_support`` (lo, hi).
    """

    @property
    def symmetric(self) -> bool:
        """True when T under G1 has the law of -T under G0 (the pair and its swap have the same PLD)."""
        return True

    # --- atoms -------------------------------------------------------------------------------------
    @property
    def atoms_t(self) -> np.ndarray:
        return np.empty(0)

    @property
    def atoms_log_mass0(self) -> np.ndarray:
        return np.empty(0)

    def atoms_log_mass(self, side: int) -> np.ndarray:
        return self.atoms_log_mass0 + (self.atoms_t if side == 1 else 0.0)

    # --- continuous part ---------------------------------------------------------------------------
    cont_support = (0.0, 0.0)  # class attribute (not a dataclass field): (lo, hi) of the continuous part

    def cont_log_mass(self, side: int) -> float:
        return NEG_INF

    def cont_log_sf(self, t, side: int):
        return np.full(np.shape(t), NEG_INF)

    def cont_log_cdf(self, t, side: int):
        return np.full(np.shape(t), NEG_INF)

    def cont_log_pdf(self, t):
        return np.full(np.shape(t), NEG_INF)

    # --- whole law ---------------------------------------------------------------------------------
    def log_sf(self, t, side: int, *, strict: bool = True):
        """log G_side(T > t) (or T >= t when strict=False), continuous part plus atoms, vectorised in t."""
        t = np.asarray(t, dtype=float)
        parts = [self.cont_log_sf(t, side)]
        if self.atoms_t.size:
            above = self.atoms_t > t[..., None] if strict else self.atoms_t >= t[..., None]
            parts.append(special.logsumexp(np.where(above, self.atoms_log_mass(side), NEG_INF), axis=-1))
        return np.logaddexp.reduce(parts, axis=0) if len(parts) > 1 else parts[0]

    def log_cdf(self, t, side: int, *, strict: bool = False):
        """log G_side(T <= t) (or T < t when strict=True)."""
        t = np.asarray(t, dtype=float)
        parts = [self.cont_log_cdf(t, side)]
        if self.atoms_t.size:
            below = self.atoms_t < t[..., None] if strict else self.atoms_t <= t[..., None]
            parts.append(special.logsumexp(np.where(below, self.atoms_log_mass(side), NEG_INF), axis=-1))
        return np.logaddexp.reduce(parts, axis=0) if len(parts) > 1 else parts[0]

    def log_mgf0(self, k):
        """log E_{G0}[e^{kT}] for real k (E_{G0}[e^T] = 1)."""
        raise NotImplementedError

    @property
    def effective_support(self) -> tuple[float, float]:
        """A finite interval holding all but a negligible (< e^{-700}) part of the continuous mass under both
        G0 and G1; the mass outside it is still accounted for exactly through cont_log_cdf/cont_log_sf."""
        return self.cont_support

    @property
    def scale(self) -> float:
        """A length in t over which the continuous density and the loss maps vary by O(1) (for quadrature)."""
        return 1.0

    def quadrature(self, alpha: float):
        """Nodes t and log weights (G0 density times rule weight) integrating the continuous part against
        functions growing up to e^{(alpha + 1) t}; empty when there is no continuous part."""
        return np.empty(0), np.empty(0)

    def _panels(self, lo: float, hi: float, width: float):
        """8-point Gauss-Legendre on panels of at most ``width`` covering [lo, hi]."""
        n = max(1, int(math.ceil((hi - lo) / width)))
        edges = np.linspace(lo, hi, n + 1)
        half = 0.5 * np.diff(edges)[:, None]
        t = (0.5 * (edges[:-1] + edges[1:]))[:, None] + half * _GL_NODES
        return t.ravel(), (np.log(half * _GL_WEIGHTS) + self.cont_log_pdf(t)).ravel()

    @property
    def t_range(self) -> tuple[float, float]:
        """Smallest and largest value T takes (atoms and continuous support)."""
        lo, hi = self.cont_support if self.cont_log_mass(0) > NEG_INF else (np.inf, -np.inf)
        if self.atoms_t.size:
            lo, hi = min(lo, self.atoms_t.min()), max(hi, self.atoms_t.max())
        return float(lo), float(hi)


@dataclass(frozen=True)
class GaussianLoss(BaseLoss):
    """Gaussian mechanism with mu = sensitivity / sigma: T ~ N(-mu^2/2, mu^2) under G0, N(mu^2/2, mu^2) under G1."""

    mu: float = 1.0

    def __post_init__(self):
        positive("mu", self.mu)

    cont_support = (-np.inf, np.inf)

    def cont_log_mass(self, side: int) -> float:
        return 0.0

    def _z(self, t, side):
        return (np.asarray(t, dtype=float) + (0.5 - side) * self.mu ** 2) / self.mu

    def cont_log_sf(self, t, side: int):
        return _log_ndtr_upper(self._z(t, side))

    def cont_log_cdf(self, t, side: int):
        return special.log_ndtr(self._z(t, side))

    def cont_log_pdf(self, t):
        z = self._z(t, 0)
        return -0.5 * z * z - math.log(self.mu) - 0.5 * math.log(2 * math.pi)

    def log_mgf0(self, k):
        k = np.asarray(k, dtype=float)
        return 0.5 * k * (k - 1.0) * self.mu ** 2

    @property
    def effective_support(self):
        return (-0.5 * self.mu ** 2 - 40 * self.mu, 0.5 * self.mu ** 2 + 40 * self.mu)

    @property
    def scale(self) -> float:
        return min(self.mu, 1.0)

    def quadrature(self, alpha: float):
        # e^{kt} G0 is N(-mu^2/2 + k mu^2, mu^2): cover tilts 0..alpha+1 with 40 standard deviations each side
        mu = self.mu
        lo, hi = -0.5 * mu * mu - 40 * mu, -0.5 * mu * mu + (alpha + 1.0) * mu * mu + 40 * mu
        return self._panels(lo, hi, mu / 4)


@dataclass(frozen=True)
class LaplaceLoss(BaseLoss):
    """Laplace mechanism with eps0 = sensitivity / scale.

    Under G0 = Lap(0, b) the loss T = (|x| - |x - Δ|)/b has atoms at -eps0 (mass 1/2) and +eps0
    (mass e^{-eps0}/2) and density e^{-(t + eps0)/2}/4 on (-eps0, eps0).
    """

    eps0: float = 1.0

    def __post_init__(self):
        positive("eps0", self.eps0)

    @property
    def atoms_t(self):
        return np.array([-self.eps0, self.eps0])

    @property
    def atoms_log_mass0(self):
        return np.array([-math.log(2.0), -self.eps0 - math.log(2.0)])

    @property
    def cont_support(self):
        return (-self.eps0, self.eps0)

    def cont_log_mass(self, side: int) -> float:
        # both sides: (1 - e^{-eps0}) / 2
        return math.log(-math.expm1(-self.eps0)) - math.log(2.0)

    def _log_integral(self, a, b, side):
        """log of the continuous mass on [a, b] under G_side: density e^{(side - 1/2) t - eps0/2} / 4."""
        s = side - 0.5
        a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
        # integral of e^{s t} over [a, b] = e^{s b} (1 - e^{-s (b - a)}) / s, with s = +-1/2
        with np.errstate(divide="ignore"):
            if s > 0:
                val = s * b + np.log(-np.expm1(-s * (b - a))) - math.log(s)
            else:
                val = s * a + np.log(-np.expm1(s * (b - a))) - math.log(-s)
        return np.where(b > a, val - 0.5 * self.eps0 - math.log(4.0), NEG_INF)

    def cont_log_sf(self, t, side: int):
        t = np.clip(np.asarray(t, dtype=float), -self.eps0, self.eps0)
        return self._log_integral(t, self.eps0, side)

    def cont_log_cdf(self, t, side: int):
        t = np.clip(np.asarray(t, dtype=float), -self.eps0, self.eps0)
        return self._log_integral(-self.eps0, t, side)

    def cont_log_pdf(self, t):
        t = np.asarray(t, dtype=float)
        inside = (t > -self.eps0) & (t < self.eps0)
        return np.where(inside, -0.5 * (t + self.eps0) - math.log(4.0), NEG_INF)

    def quadrature(self, alpha: float):
        return self._panels(-self.eps0, self.eps0, self.eps0 / 16)

    def log_mgf0(self, k):
        k = np.asarray(k, dtype=float)
        e = self.eps0
        c = k - 0.5
        with np.errstate(invalid="ignore", divide="ignore"):
            # continuous part: e^{-e/2} sinh(c e) / (2c)  (-> e^{-e/2} e / 2 at c = 0), in log space
            cont = np.where(np.abs(c) * e > 1e-8,
                            -0.5 * e + np.abs(c) * e + np.log(-np.expm1(-2 * np.abs(c) * e))
                            - np.log(4 * np.abs(c) + (c == 0)),
                            -0.5 * e + math.log(e / 2.0))
        atoms = np.logaddexp(-k * e - math.log(2.0), (k - 1.0) * e - math.log(2.0))
        return np.logaddexp(atoms, cont)


@dataclass(frozen=True)
class DiscreteLoss(BaseLoss):
    """A loss with finitely many values: atoms t_i with G0 masses m_i (randomized response and friends).

    The G1 masses e^{t_i} m_i must also sum to one (checked).
    """

    t: tuple = (0.0,)
    mass0: tuple = (1.0,)

    def __post_init__(self):
        t, m = np.asarray(self.t, dtype=float), np.asarray(self.mass0, dtype=float)
        if t.shape != m.shape or t.ndim != 1 or t.size == 0:
            raise ValueError("t and mass0 must be 1-d sequences of the same positive length")
        if np.any(m <= 0) or not np.all(np.isfinite(t)):
            raise ValueError("masses must be > 0 and loss values finite")
        if abs(m.sum() - 1) > 1e-12 or abs(np.dot(m, np.exp(t)) - 1) > 1e-12:
            raise ValueError("masses must sum to one under both G0 and G1 = e^t G0")

    @property
    def symmetric(self) -> bool:
        t, m0, m1 = self.atoms_t, np.exp(self.atoms_log_mass0), np.exp(self.atoms_log_mass(1))
        own, mirrored = np.argsort(t), np.argsort(-t)
        return bool(np.allclose(t[own], -t[mirrored], rtol=0, atol=1e-15)
                    and np.allclose(m0[own], m1[mirrored], rtol=1e-13, atol=0))

    @property
    def atoms_t(self):
        return np.asarray(self.t, dtype=float)

    @property
    def atoms_log_mass0(self):
        return np.log(np.asarray(self.mass0, dtype=float))

    def log_mgf0(self, k):
        k = np.asarray(k, dtype=float)
        return special.logsumexp(self.atoms_log_mass0 + k[..., None] * self.atoms_t, axis=-1)


def randomized_response_loss(epsilon: float, k: int = 2) -> DiscreteLoss:
    """k-ary randomized response: the true value with probability e^ε/(e^ε + k - 1), else uniform on the others.

    Under G0 (true value x') the output x has T = ε, x' has T = -ε, and each of the k - 2 others T = 0.
    """
    epsilon, k = positive("epsilon", epsilon), integer("k", k, minimum=2)
    z = math.exp(epsilon) + k - 1
    t = [epsilon, -epsilon] + ([0.0] if k > 2 else [])
    m = [1 / z, math.exp(epsilon) / z] + ([(k - 2) / z] if k > 2 else [])
    return DiscreteLoss(tuple(t), tuple(m))
