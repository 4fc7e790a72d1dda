"""Input perturbation sets: an lp ball of radius eps around x (p = inf, 2, 1) intersected with a box.

A plain box is the l-inf case: x its centre and eps a tensor of per-coordinate half-widths, or eps = inf with
x_min/x_max. The one operation bound propagation needs is the minimum of a linear function over the set.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from mechanisms.validate import choice, in_interval

NORMS = (math.inf, 2.0, 1.0)


@dataclass(frozen=True)
class InputSet:
    """{x' : ||x' - x||_p <= eps, lower <= x' <= upper}; ``lower``/``upper`` also bound the set as a box."""
    center: torch.Tensor
    eps: float
    norm: float
    lower: torch.Tensor
    upper: torch.Tensor
    box_constrained: bool

    @staticmethod
    def build(x: torch.Tensor, eps, norm=math.inf, x_min=None, x_max=None) -> "InputSet":
        """Check the arguments and build the set for a batch x of shape [N, *shape]."""
        norm = choice("norm", float(norm) if isinstance(norm, (int, float)) else norm, NORMS)
        if torch.is_tensor(eps):
            if norm != math.inf:
                raise ValueError("a per-coordinate eps tensor is only allowed with norm=inf")
            eps_t = eps.to(dtype=x.dtype, device=x.device)
            if torch.isnan(eps_t).any() or (eps_t < 0).any():
                raise ValueError("eps must be >= 0 in every coordinate")
            eps_value = float(eps_t.max()) if eps_t.numel() else 0.0
        else:
            # eps = inf is the box [x_min, x_max] itself (l-inf only, both ends given).
            whole_box = norm == math.inf and x_min is not None and x_max is not None
            eps_value = in_interval("eps", eps, 0.0, math.inf, low_open=False, high_open=not whole_box)
            eps_t = torch.as_tensor(eps_value, dtype=x.dtype, device=x.device)
        low = _as_bound("x_min", x_min, x, -math.inf)
        high = _as_bound("x_max", x_max, x, math.inf)
        if (low > high).any():
            raise ValueError("x_min must be <= x_max in every coordinate")
        lower = torch.maximum(x - eps_t, low)
        upper = torch.minimum(x + eps_t, high)
        if (lower > upper).any():
            raise ValueError("the perturbation set is empty: x is farther than eps from [x_min, x_max]")
        return InputSet(x, eps_value, norm, lower, upper, x_min is not None or x_max is not None)

    def min_linear(self, A: torch.Tensor, dot=None) -> torch.Tensor:
        """min over the set of A x', for A of shape [B, S, *shape] (B = 1 or N); returns [N, S].

        l-inf/box: A c - |A| r with c, r the box centre and radius. lp: A x - eps ||A||_q with 1/p + 1/q = 1
        (Hoelder; proofs/verify_relu_relaxation.py); with a box as well, the larger of the two (both are
        valid lower bounds). ``dot(A, t)`` gives the rows of A times a tensor t shaped like x; other layouts
        of A (verify/patches.py: one window per row, zero outside the input) pass their own, the norm being
        taken over A's last dimension.
        """
        if dot is None:
            A = A.flatten(2)
            dot = _rows_dot
        if self.norm == math.inf or self.box_constrained:
            box = dot(A, (self.upper + self.lower) / 2) - dot(A.abs(), (self.upper - self.lower) / 2)
        if self.norm == math.inf:
            return box
        dual = {2.0: 2.0, 1.0: math.inf}[self.norm]
        ball = dot(A, self.center) - self.eps * torch.linalg.vector_norm(A, ord=dual, dim=-1)
        return torch.maximum(ball, box) if self.box_constrained else ball


def _rows_dot(A: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """[N, S]: A[n] t[n] for A [B, S, D] (B = 1 or N) and t [N, *shape] with D elements; one matrix product
    when A is shared."""
    v = t.flatten(1)
    return v @ A[0].T if A.shape[0] == 1 else (A @ v.unsqueeze(-1)).squeeze(-1)


def _as_bound(name, value, x, default) -> torch.Tensor:
    if value is None:
        return torch.full_like(x, default)
    t = torch.as_tensor(value, dtype=x.dtype, device=x.device)
    if torch.isnan(t).any():
        raise ValueError(f"{name} must not contain NaN")
    return t.expand_as(x)
