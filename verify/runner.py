"""Verification of a property (input box, unsafe output set) with a cascade of ever stronger methods.

"auto" tries IBP, CROWN ∩ IBP and alpha-CROWN (each refutes the unsafe disjuncts it can), then a PGD attack
on the disjuncts left (a confirmed counterexample ends it), then one MILP per disjunct left (Tjeng et al.
2019), all within the timeout. A bound method alone can only say "holds" or "unknown"; "mip" skips the attack.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch

from mechanisms.validate import choice, positive
from verify.attacks import pgd
from verify.bounds import network_bounds
from verify.mip import find_violation, flat_relu_bounds
from verify.mip_encoding import network_blocks
from verify.network import parse_model
from verify.onnx_io import load_onnx
from verify.perturbation import InputSet
from verify.specs import Property
from verify.vnnlib import parse_vnnlib

RUN_METHODS = ("auto", "ibp", "crown", "alpha-crown", "mip")
ATTACK_STEPS, ATTACK_RESTARTS = 100, 5


@dataclass(frozen=True)
class VerificationResult:
    """status "holds", "violated" (counterexample = (input, output), flat float64 arrays) or "unknown"."""
    status: str
    counterexample: tuple | None
    decided_by: str
    seconds: float

    def vnncomp_lines(self) -> str:
        """The VNN-COMP result: the status line, then for "violated" the witness ((X_i v) ... (Y_j v))."""
        if self.counterexample is None:
            return self.status
        x, y = self.counterexample
        pairs = [f"(X_{i} {v!r})" for i, v in enumerate(x.tolist())] + \
                [f"(Y_{j} {v!r})" for j, v in enumerate(y.tolist())]
        return self.status + "\n(" + "\n ".join(pairs) + ")"


def _stages(method: str) -> list:
    if method == "auto":
        return ["ibp", "crown", "alpha-crown"]
    if method == "mip":
        return ["crown", "alpha-crown"]
    return [method]


def _refuted(lower: torch.Tensor, disjuncts, open_ids) -> set:
    """Disjuncts one of whose rows C_r y <= d_r is impossible (lower bound of C_r y above d_r)."""
    refuted, row = set(), 0
    for i in open_ids:
        conj = disjuncts[i]
        k = conj.d.size
        if bool((lower[0, row:row + k].numpy() > conj.d).any()):
            refuted.add(i)
        row += k
    return refuted


def _attack(net, domain: InputSet, conj):
    C = torch.as_tensor(conj.C)
    d = torch.as_tensor(conj.d)

    def objective(outputs):
        return -(outputs @ C.T - d).max(dim=1).values

    x = pgd(net.forward, domain.center, eps=(domain.upper - domain.lower) / 2, objective=objective,
            steps=ATTACK_STEPS, restarts=ATTACK_RESTARTS)
    x = torch.minimum(torch.maximum(x, domain.lower), domain.upper)
    y = net.forward(x)[0].detach().numpy()
    return (x[0].flatten().numpy(), y) if conj.contains(y) else None


def verify_property(model, prop: Property, in_shape, *, method: str = "auto", timeout: float = 120.0):
    """Decide whether some input of prop's box reaches prop's unsafe set (see the module docstring)."""
    start = time.monotonic()
    method = choice("method", method, RUN_METHODS)
    timeout = positive("timeout", timeout)
    deadline = start + timeout
    net = parse_model(model, in_shape)
    if prop.lower.size != math.prod(net.in_shape) or prop.n_outputs != net.out_features:
        raise ValueError(f"the property has {prop.lower.size} inputs and {prop.n_outputs} outputs, the network "
                         f"{math.prod(net.in_shape)} and {net.out_features}")

    def result(status, decided_by, counterexample=None):
        return VerificationResult(status, counterexample, decided_by, time.monotonic() - start)

    lower = torch.as_tensor(prop.lower, dtype=torch.float64).reshape(1, *net.in_shape)
    upper = torch.as_tensor(prop.upper, dtype=torch.float64).reshape(1, *net.in_shape)
    # eps = inf with both ends: the set is exactly the box (no rounding of centre +- radius).
    domain = InputSet.build((lower + upper) / 2, math.inf, math.inf, lower, upper)
    open_ids = list(range(len(prop.disjuncts)))
    relu_bounds = None
    with torch.no_grad():
        for stage in _stages(method):
            C = torch.as_tensor(np.concatenate([prop.disjuncts[i].C for i in open_ids])).unsqueeze(0)
            bound, _, relu_bounds = network_bounds(net, domain, C, stage, intersect=True)
            open_ids = [i for i in open_ids if i not in _refuted(bound, prop.disjuncts, open_ids)]
            if not open_ids:
                return result("holds", stage)
            if time.monotonic() > deadline:
                return result("unknown", "")
    if method not in ("auto", "mip"):
        return result("unknown", "")
    if method == "auto":
        for i in open_ids:
            found = _attack(net, domain, prop.disjuncts[i])
            if found is not None:
                return result("violated", "attack", found)
            if time.monotonic() > deadline:
                return result("unknown", "")
    blocks, flat = network_blocks(net), flat_relu_bounds(relu_bounds)
    box = (domain.lower[0].flatten().numpy(), domain.upper[0].flatten().numpy())
    undecided = False
    for i in open_ids:
        outcome = find_violation(net, blocks, flat, *box, prop.disjuncts[i], deadline=deadline)
        if outcome.status == "violation":
            y = net.forward(torch.as_tensor(outcome.x).reshape(1, *net.in_shape))[0].numpy()
            return result("violated", "mip", (outcome.x, y))
        undecided |= outcome.status != "infeasible"
    return result("unknown", "") if undecided else result("holds", "mip")


def verify_onnx(onnx_path, vnnlib_path, *, method: str = "auto", timeout: float = 120.0) -> VerificationResult:
    """Verify a VNN-COMP instance: an ONNX chain network and a VNNLIB property (see verify_property)."""
    start = time.monotonic()
    timeout = positive("timeout", timeout)
    model, in_shape = load_onnx(onnx_path)
    prop = parse_vnnlib(vnnlib_path)
    remaining = max(timeout - (time.monotonic() - start), 1e-3)
    found = verify_property(model, prop, in_shape, method=method, timeout=remaining)
    return VerificationResult(found.status, found.counterexample, found.decided_by, time.monotonic() - start)
