"""auto-LiRPA (Xu et al. 2020) as a backend of verify.compute_bounds, used when a working auto_LiRPA is
importable (DESIGN.md, "Verification and auto-LiRPA"); its PyPI release 0.3 does not import on current torch,
so the native bound propagation of verify/bounds.py is what normally runs.

The same problem is handed over: the model (a float copy in the requested dtype, eval mode), the examples, the
specification C as [N, m, outputs], and the perturbation set as auto-LiRPA's PerturbationLpNorm. For ℓ∞ the
set is the box verify.perturbation.InputSet builds (ball ∩ [x_min, x_max], or a per-coordinate box), passed
as x_L, x_U. auto-LiRPA 0.3 ignores x_L, x_U for ℓ2 and ℓ1 balls, so there the box is dropped: the bounds
hold over the whole ball, a superset of the set asked for, hence still sound (and looser near the box).
"""
from __future__ import annotations

import copy
import functools
import math

import torch

#: verify's method names -> auto-LiRPA's
LIRPA_METHODS = {"ibp": "IBP", "crown": "CROWN", "alpha-crown": "CROWN-Optimized"}


@functools.lru_cache(maxsize=1)
def available() -> bool:
    """Whether auto_LiRPA imports here (its release 0.3 fails on torch > 1.12), checked once."""
    try:
        import auto_LiRPA  # noqa: F401
    except Exception:  # an ImportError, or the errors an incompatible torch raises while importing it
        return False
    return True


def lirpa_bounds(model, x: torch.Tensor, domain, C: torch.Tensor, method: str, dtype) -> tuple:
    """Lower and upper bounds [N, m] of C f(x') over ``domain`` (an InputSet) by auto-LiRPA."""
    from auto_LiRPA import BoundedModule, BoundedTensor, PerturbationLpNorm

    net = copy.deepcopy(model).to(dtype=dtype, device=x.device).eval()
    N = x.shape[0]
    spec = C.reshape(C.shape[0], C.shape[1], -1).expand(N, -1, -1)
    if domain.norm == math.inf:
        perturbation = PerturbationLpNorm(norm=math.inf, eps=domain.eps, x_L=domain.lower, x_U=domain.upper)
    else:
        perturbation = PerturbationLpNorm(norm=domain.norm, eps=domain.eps)
    bounded = BoundedModule(net, torch.empty_like(x), device=x.device)
    with torch.enable_grad():  # α-CROWN optimises its slopes by gradient steps, even under no_grad
        lower, upper = bounded.compute_bounds(x=(BoundedTensor(x, perturbation),), C=spec,
                                              method=LIRPA_METHODS[method])
    return lower.detach(), upper.detach()
