"""Exact verification by mixed-integer linear programming (Tjeng, Xiao, Tedrake 2019, MIPVerify).

The network is encoded with one binary per unstable ReLU (big-M, verify/mip_encoding.py) on neuron bounds
from CROWN ∩ IBP, optionally tightened over the violating inputs (verify/obbt.py). The question "is there an
input in the set whose output satisfies C y <= d" is one MILP, solved by HiGHS through ``scipy.optimize.milp``. A property
holds when every such problem is infeasible; a solver solution is reported only after the float64 network
confirms it (``specs.CHECK_TOLERANCE``); anything else (time limit, unconfirmed solution) is "unknown".
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from scipy.optimize import Bounds, milp

from mechanisms.validate import choice, in_interval, integer, positive
from verify.attacks import margin_objective, pgd
from verify.bounds import ibp_relu_bounds, network_bounds
from verify.mip_encoding import Encoding, device_dtype, encode, network_blocks
from verify.network import Network, parse_model
from verify.obbt import ViolationLP
from verify.perturbation import InputSet
from verify.specs import Conjunction, margin_disjuncts

MIP_NORMS = (math.inf, 1.0)
# After a solver solution that the network does not confirm, the problem is solved once more with the
# unsafe set shrunk by this margin (C y <= d - margin), away from the solver's feasibility tolerance.
RETRY_MARGIN = 1e-6


@dataclass(frozen=True)
class SolveOutcome:
    """One MILP: status "infeasible" (no violation), "violation" (confirmed x), "timeout" or "unknown"."""
    status: str
    x: np.ndarray | None
    solver_message: str
    gap: float
    seconds: float
    binaries: int


def _in_set(x: np.ndarray, lower, upper, l1_ball) -> np.ndarray:
    """x moved into the input set (solver tolerances may leave it a hair outside)."""
    x = np.clip(x, lower, upper)
    if l1_ball is not None:
        center, eps = l1_ball
        norm = np.abs(x - center).sum()
        if norm > eps:
            x = center + (x - center) * (eps / norm)
    return x


def find_violation(net: Network, blocks, relu_bounds: dict, lower, upper, conj: Conjunction, *, deadline: float,
                   l1_ball=None) -> SolveOutcome:
    """Solve "exists x in the set with C f(x) <= d"; a solution counts only once the network confirms it."""
    start = time.monotonic()
    message, gap = "", math.nan
    binaries = 0
    for margin in (0.0, RETRY_MARGIN):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return SolveOutcome("timeout", None, "time limit reached", gap, time.monotonic() - start, binaries)
        shrunk = Conjunction(conj.C, conj.d - margin)
        c, integrality, bounds, constraints = encode(blocks, relu_bounds, lower, upper, shrunk, l1_ball)
        binaries = int(integrality.sum())
        res = milp(c, integrality=integrality, bounds=bounds, constraints=constraints,
                   options={"time_limit": remaining, "disp": False})
        message, gap = res.message, float(getattr(res, "mip_gap", math.nan) or 0.0)
        if res.status == 2:
            status = "infeasible" if margin == 0.0 else "unknown"
            return SolveOutcome(status, None, message, 0.0, time.monotonic() - start, binaries)
        if res.x is None:
            status = "timeout" if res.status == 1 else "unknown"
            return SolveOutcome(status, None, message, gap, time.monotonic() - start, binaries)
        x = _in_set(res.x[:lower.size], lower, upper, l1_ball)
        y = _forward(net, x)
        if conj.contains(y):
            return SolveOutcome("violation", x, message, gap, time.monotonic() - start, binaries)
    return SolveOutcome("unknown", None, f"{message} (solution not confirmed by the network)", gap,
                        time.monotonic() - start, binaries)


def _forward(net: Network, x: np.ndarray) -> np.ndarray:
    device, dtype = device_dtype(net)
    with torch.no_grad():
        t = torch.as_tensor(x, dtype=dtype, device=device).reshape(1, *net.in_shape)
        return net.forward(t)[0].cpu().numpy()


def flat_relu_bounds(relu_bounds: dict) -> dict:
    """op index -> (l, u) flat numpy arrays of the first (only) example."""
    return {k: (l[0].flatten().cpu().numpy(), u[0].flatten().cpu().numpy()) for k, (l, u) in relu_bounds.items()}


def _decide_tightened(net: Network, blocks, relu_bounds: dict, lower, upper, conj: Conjunction, deadline: float,
                      l1_ball) -> SolveOutcome:
    """find_violation after obbt.ViolationLP: the LP's deepest violation is checked on the network before and
    after tightening the bounds over the violating inputs; an infeasible LP decides without a MILP."""
    start = time.monotonic()
    lp = ViolationLP(blocks, relu_bounds, lower, upper, conj, l1_ball)
    for tightened in (False, True):
        if tightened:
            lp.tighten(deadline)
        candidate = None if lp.infeasible else lp.deepest_violation()
        if lp.infeasible:
            return SolveOutcome("infeasible", None, "LP relaxation infeasible" + " after tightening" * tightened,
                                0.0, time.monotonic() - start, 0)
        if candidate is not None:
            candidate = _in_set(candidate, lower, upper, l1_ball)
            if conj.contains(_forward(net, candidate)):
                return SolveOutcome("violation", candidate, "LP relaxation point, confirmed by the network", 0.0,
                                    time.monotonic() - start, 0)
    outcome = find_violation(net, blocks, lp.bounds, lower, upper, conj, deadline=deadline, l1_ball=l1_ball)
    return replace(outcome, seconds=time.monotonic() - start)


@dataclass(frozen=True)
class MipResult:
    """mip_verify's answer: "robust", "not robust" (with a confirmed counterexample) or "unknown"."""
    status: str
    counterexample: torch.Tensor | None
    eps: float
    norm: float
    seconds: float
    gap: float
    classes: dict = field(default_factory=dict)  # wrong class -> "refuted by CROWN" or a SolveOutcome


def _one_example(x, label, n_outputs=None):
    if not torch.is_tensor(x) or x.dim() < 2 or x.shape[0] != 1:
        raise TypeError("x must be a tensor of shape [1, *input shape] (one example)")
    label = integer("label", label)
    if n_outputs is not None and label >= n_outputs:
        raise ValueError(f"label must be in [0, {n_outputs - 1}], got {label}")
    return label


def mip_verify(model, x: torch.Tensor, label: int, *, eps, norm=math.inf, timeout: float = 60.0, x_min=None,
               x_max=None, tighten: bool = False) -> MipResult:
    """Exact robustness of ``label`` at x over the l-inf or l1 ball of radius eps (∩ [x_min, x_max]).

    One MILP per wrong class j (those whose margin CROWN ∩ IBP already proves positive are skipped), in
    order of CROWN's weakest margin first; robust when all are infeasible (Tjeng et al. 2019). ``tighten``
    first tightens each class's neuron bounds over its violating inputs (obbt.ViolationLP: fewer binaries and
    tighter big-M, or a proof by LP alone). The result carries each class's solver outcome (status, message,
    gap, time).
    """
    start = time.monotonic()
    timeout = positive("timeout", timeout)
    norm = choice("norm", float(norm), MIP_NORMS)
    x = x.detach().to(device="cpu", dtype=torch.float64)
    net = parse_model(model, x.shape[1:])
    label = _one_example(x, label, net.out_features)
    domain = InputSet.build(x, eps, norm, x_min, x_max)
    return _verify(net, network_blocks(net), x, label, domain, start, start + timeout, tighten)


def _verify(net: Network, blocks, x: torch.Tensor, label: int, domain: InputSet, start: float, deadline: float,
            tighten: bool) -> MipResult:
    """mip_verify on a parsed network and its MILP blocks (minimum_distortion reuses them across decisions)."""
    norm = domain.norm
    y = net.forward(x)[0].numpy()
    disjuncts = margin_disjuncts(label, net.out_features)
    wrong = [j for j in range(net.out_features) if j != label]
    classes = {}
    for j, conj in zip(wrong, disjuncts):
        if conj.contains(y):
            return MipResult("not robust", x.clone(), domain.eps, norm, time.monotonic() - start, 0.0,
                             {j: "misclassified"})
    C = torch.as_tensor(np.stack([c.C[0] for c in disjuncts]), dtype=x.dtype).unsqueeze(0)
    with torch.no_grad():
        lower, _, relu_bounds = network_bounds(net, domain, C, "crown", intersect=True)
    flat = flat_relu_bounds(relu_bounds)
    box_lo, box_hi = domain.lower[0].flatten().numpy(), domain.upper[0].flatten().numpy()
    l1_ball = (x[0].flatten().numpy(), domain.eps) if norm == 1.0 else None
    undecided = []
    for r in np.argsort(lower[0].numpy()):
        j, conj = wrong[r], disjuncts[r]
        if lower[0, r] > 0:
            classes[j] = "refuted by CROWN"
            continue
        if tighten:
            outcome = _decide_tightened(net, blocks, flat, box_lo, box_hi, conj, deadline, l1_ball)
        else:
            outcome = find_violation(net, blocks, flat, box_lo, box_hi, conj, deadline=deadline, l1_ball=l1_ball)
        classes[j] = outcome
        if outcome.status == "violation":
            cex = torch.as_tensor(outcome.x, dtype=x.dtype).reshape(x.shape)
            return MipResult("not robust", cex, domain.eps, norm, time.monotonic() - start, outcome.gap, classes)
        if outcome.status != "infeasible":
            undecided.append(outcome.gap)
    status, gap = ("unknown", max(undecided)) if undecided else ("robust", 0.0)
    return MipResult(status, None, domain.eps, norm, time.monotonic() - start, gap, classes)


#: minimum_distortion tries eps = upper - JUMP_FRACTION tol (one robust answer there ends the search) once the
#: bracket is narrower than JUMP_WINDOW times its upper end; wider brackets are halved, as the robust answers
#: far below the threshold are cheap and a counterexample's region (_nearest_in_region) is usually at the
#: minimum (WK17a sample 9: 0.0940013 from a counterexample at 0.09434).
JUMP_FRACTION, JUMP_WINDOW = 0.9, 0.1


@dataclass(frozen=True)
class DistortionResult:
    """Bracket lower <= minimum adversarial distortion <= upper; ``status`` "exact" when upper - lower <= tol."""
    lower: float
    upper: float
    status: str
    counterexample: torch.Tensor | None
    seconds: float
    steps: tuple  # (eps, "robust" | "not robust" | "unknown", seconds) of each decision


def _shrink_counterexample(net: Network, objective, x: torch.Tensor, cex: torch.Tensor, steps: int = 40):
    """The point x + t (cex - x) with the smallest t in (0, 1] found by bisection that the network still
    misclassifies (objective >= 0); it lies in any convex set holding x and cex."""
    direction, inside, outside = cex - x, 1.0, 0.0
    for _ in range(steps):
        middle = 0.5 * (inside + outside)
        if objective(net.forward(x + middle * direction)).item() >= 0:
            inside = middle
        else:
            outside = middle
    return x + inside * direction


def _nearest_in_region(net: Network, blocks, objective, x: torch.Tensor, cex: torch.Tensor, label: int, x_min,
                       x_max, rounds: int = 10) -> torch.Tensor:
    """A counterexample at least as l-inf-close to x as ``cex``: the LP point nearest x in the closure of cex's
    activation region (every ReLU input on the side of 0 it has at cex, so the network is affine there: fixed
    binaries make the MILP rows exact) where cex's class beats the label by RETRY_MARGIN; repeated from the new
    point (whose region may differ on the neurons at 0) while it gets closer. A point that the network does not
    misclassify (objective >= 0) is not taken."""
    y = _forward(net, cex.flatten().numpy())
    j = max((k for k in range(y.size) if k != label), key=lambda k: y[k])
    row = np.zeros((1, y.size))
    row[0, label], row[0, j] = 1.0, -1.0
    x0 = x.flatten().numpy()
    n0, radius = x0.size, _distance(cex, x, math.inf)
    domain = InputSet.build(x, radius, math.inf, x_min, x_max)
    lower, upper = domain.lower[0].flatten().numpy(), domain.upper[0].flatten().numpy()
    enc = Encoding(blocks[:-1], flat_relu_bounds(ibp_relu_bounds(net, domain)), lower, upper)
    enc.add_violation(blocks[-1], Conjunction(row, np.array([-RETRY_MARGIN])))
    t, idx = enc.n_vars, np.arange(n0)  # one more column t: x' - t <= x0 <= x' + t, minimise t
    enc.rows.add((np.r_[idx, idx], np.r_[idx, np.full(n0, t)], np.r_[np.ones(n0), -np.ones(n0)]),
                 np.full(n0, -np.inf), x0)
    enc.rows.add((np.r_[idx, idx], np.r_[idx, np.full(n0, t)], np.ones(2 * n0)), x0, np.full(n0, np.inf))
    constraints, cost = enc.rows.constraint(t + 1), np.r_[np.zeros(t), 1.0]
    lb, ub = np.r_[enc.bounds.lb, 0.0], np.r_[enc.bounds.ub, radius]
    for _ in range(rounds):
        h = cex.flatten().numpy()
        for layer in enc.layers:
            z = layer.block.W @ h + layer.block.b
            lb[layer.a_cols] = ub[layer.a_cols] = z[layer.unstable] > 0
            h = np.maximum(z, 0.0)
        res = milp(cost, bounds=Bounds(lb, ub), constraints=constraints)
        if res.x is None:
            break
        point = torch.as_tensor(_in_set(res.x[:n0], lower, upper, None), dtype=x.dtype).reshape(x.shape)
        if objective(net.forward(point)).item() < 0 or _distance(point, x, math.inf) >= _distance(cex, x, math.inf):
            break
        cex = point
    return cex


def _distance(a: torch.Tensor, b: torch.Tensor, norm: float) -> float:
    return float(torch.linalg.vector_norm((a - b).flatten(), ord=norm))


def minimum_distortion(model, x: torch.Tensor, label: int, *, norm=math.inf, tol: float = 1e-4,
                       timeout: float = 60.0, x_min=None, x_max=None, eps_max=None) -> DistortionResult:
    """Bracket on the smallest l-inf (or l1) perturbation that changes the label (Tjeng et al. 2019, Sec. 4).

    A search on eps: the lower end only moves on a "robust" answer of mip_verify(tighten=True) (bounds
    tightened over each class's violating inputs, obbt.py), the upper end to the distance of a confirmed
    counterexample (PGD first, then the MIP's), shrunk towards x along its direction and, for a MIP's, moved to
    the nearest point of its activation region (_nearest_in_region). Wide brackets are halved, narrow ones
    tried just below the upper end (JUMP_FRACTION, JUMP_WINDOW). eps_max defaults to the radius that covers the
    box [x_min, x_max]; stops when upper - lower <= tol or at the timeout. WK17a sample 9, tol 2e-4:
    [0.0938213, 0.0940013] in 34 s, 6 decisions (benchmarks/verification.py mip). (MIPVerify's single MILP
    minimising the distance was tried: with HiGHS it is slower.)
    """
    start = time.monotonic()
    tol = positive("tol", tol)
    timeout = positive("timeout", timeout)
    norm = choice("norm", float(norm), MIP_NORMS)
    x = x.detach().to(device="cpu", dtype=torch.float64)
    net = parse_model(model, x.shape[1:])
    label = _one_example(x, label, net.out_features)
    if eps_max is None:
        if x_min is None or x_max is None:
            raise ValueError("eps_max is required when x_min or x_max is not given")
        reach = torch.maximum(x - torch.as_tensor(x_min, dtype=x.dtype), torch.as_tensor(x_max, dtype=x.dtype) - x)
        eps_max = float(torch.linalg.vector_norm(reach.flatten(), ord=norm))
    eps_max = in_interval("eps_max", eps_max, 0.0, math.inf)
    objective = margin_objective(torch.tensor([label]))
    blocks = network_blocks(net)
    lo, hi, best, steps = 0.0, math.inf, None, []
    if objective(net.forward(x)).item() >= 0:
        return DistortionResult(0.0, 0.0, "exact", x.clone(), time.monotonic() - start, ())
    eps = eps_max
    while hi - lo > tol:
        remaining = timeout - (time.monotonic() - start)
        if remaining <= 0:
            break
        step_start = time.monotonic()
        adv = pgd(net.forward, x, eps=eps, norm=norm, objective=objective, x_min=x_min, x_max=x_max) \
            if norm == math.inf else x
        by_attack = objective(net.forward(adv)).item() >= 0
        if by_attack:
            verdict, cex = "not robust", adv
        else:
            domain = InputSet.build(x, eps, norm, x_min, x_max)
            result = _verify(net, blocks, x, label, domain, step_start, start + timeout, tighten=True)
            verdict, cex = result.status, result.counterexample
        steps.append((eps, verdict, time.monotonic() - step_start))
        if verdict == "robust":
            lo = eps
        elif verdict == "not robust":
            cex = _shrink_counterexample(net, objective, x, cex)
            if norm == math.inf and not by_attack:
                cex = _nearest_in_region(net, blocks, objective, x, cex, label, x_min, x_max)
            if _distance(cex, x, norm) < hi:
                hi, best = _distance(cex, x, norm), cex
        else:
            break
        if math.isinf(hi):
            break
        eps = hi - JUMP_FRACTION * tol if hi - lo <= JUMP_WINDOW * hi else (lo + hi) / 2
    if hi - lo <= tol:
        status = "exact"
    elif math.isinf(hi) and lo == eps_max:
        status = "robust at eps_max"
    else:
        status = "incomplete"  # time out, or a MIP that could not decide
    return DistortionResult(lo, hi, status, best, time.monotonic() - start, tuple(steps))
