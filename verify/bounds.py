"""Bound propagation with auto-LiRPA 0.3 semantics: IBP, CROWN and alpha-CROWN.

- IBP (Gowal et al. 2018): intervals pushed layer by layer, c' = W c + b, r' = |W| r; the first affine block
  is bounded exactly (for lp balls with the dual norm, Hoelder) and the specification C is folded into the
  last affine block (bounds of C W x + C b rather than C applied to the bounds of W x + b).
- CROWN (Zhang et al. 2018): each ReLU on [l, u] is relaxed between a lower line a x (a = 1 if u > -l,
  else 0) and the upper chord u (x - l) / (u - l); a bound of A f(x) is back-substituted to the input and
  minimised over the perturbation set. Pre-activation bounds of each ReLU layer come from CROWN itself, as
  in auto-LiRPA 0.3: neurons that one interval step from the previous layer's bounds already proves stable
  keep those interval bounds, the others get CROWN bounds. By default stability is decided per example;
  auto-LiRPA 0.3 decides it for the whole batch (a neuron unstable for any example gets CROWN bounds for
  every example, even where CROWN is looser than the interval), so its bounds depend on the batch.
  ``batch_stability=True`` reproduces that rule (WK17a CNN, 100 inputs, l-inf 0.1: 1.1e-14 from
  auto-LiRPA's numbers with it, 1.1e-2 tighter without).
- alpha-CROWN (Xu et al. 2021): the lower slopes a in [0, 1] of unstable ReLUs become variables, one per
  (specification row, neuron), for the final bound and for every intermediate layer; they are optimised by
  Adam (20 steps, learning rate 0.5, decay 0.98, as auto-LiRPA) and the best bound of every step is kept,
  starting from CROWN's slopes, so alpha-CROWN is never looser than CROWN.

The relaxation's soundness and the dual-norm minimum are checked in proofs/verify_relu_relaxation.py.

One deliberate difference from auto-LiRPA 0.3: for an l2/l1 ball and a first Conv2d with zero padding,
auto-LiRPA bounds every output with the dual norm of the whole kernel (its code: "TODO: padding"); here the
first affine block is bounded exactly, so outputs at the image border, where part of the kernel meets the
padding, get tighter (still sound) bounds, and every bound after them can be tighter too. Without padding,
and for l-inf balls, the numbers agree to rounding (benchmarks/verification.py lirpa).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import torch

from mechanisms.validate import choice
from verify import lirpa_backend
from verify.network import ElementwiseOp, Network, ReluOp, ReshapeOp, parse_model
from verify.patches import patch_bounds, patch_chain
from verify.perturbation import InputSet

METHODS = ("ibp", "crown", "alpha-crown")
BACKENDS = ("auto", "native", "auto_lirpa")
# Largest number of elements of one A matrix [N, rows, *shape] built at once (rows are chunked to fit).
CHUNK_ELEMENTS = 2 ** 25


@dataclass(frozen=True)
class Relaxation:
    """Linear bounds lower_slope * x <= relu(x) <= upper_slope * x + upper_intercept on [l, u]."""
    lower_slope: torch.Tensor
    upper_slope: torch.Tensor
    upper_intercept: torch.Tensor
    unstable: torch.Tensor


def relu_relaxation(lower: torch.Tensor, upper: torch.Tensor) -> Relaxation:
    """CROWN's relaxation as auto-LiRPA 0.3 computes it (stable neurons exact, 1e-8 guard on the chord)."""
    l_neg = lower.clamp(max=0)
    u_pos = torch.maximum(upper.clamp(min=0), l_neg + 1e-8)
    upper_slope = u_pos / (u_pos - l_neg)
    return Relaxation((upper_slope > 0.5).to(lower.dtype), upper_slope, -l_neg * upper_slope,
                      (lower < 0) & (upper > 0))


def _flat_sum(t):
    return t.flatten(2).sum(-1)


def backward_lower(net: Network, start: int, stop: int, A: torch.Tensor, domain: InputSet, relax: dict,
                   alphas: dict | None = None) -> torch.Tensor:
    """Lower bound of A g(z), g = ops[start:stop], over z in ``domain``, by back-substitution (CROWN).

    A has shape [B, S, *shape of g's output] with B = 1 or N; returns [N, S]. ``relax`` maps the index of each
    ReLU op to its Relaxation; ``alphas`` optionally maps it to lower slopes of shape [N, S, *shape].
    """
    bias = 0.0
    for i in range(stop - 1, start - 1, -1):
        op = net.ops[i]
        if isinstance(op, ReluOp):
            r = relax[i]
            lower_slope = r.lower_slope.unsqueeze(1)
            if alphas is not None and i in alphas:
                lower_slope = torch.where(r.unstable.unsqueeze(1), alphas[i], lower_slope)
            # negative coefficients take the upper line (slope and intercept), the others the lower line:
            # A' = A lower + min(A, 0) (upper - lower), bias += min(A, 0) . intercept
            negative = A.clamp(max=0)
            bias = bias + torch.matmul(negative.flatten(2), r.upper_intercept.flatten(1).unsqueeze(-1))[..., 0]
            A = torch.addcmul(A * lower_slope, negative, r.upper_slope.unsqueeze(1) - lower_slope)
        else:
            bias = bias + op.bias_term(A)
            A = op.backward(A)
    return domain.min_linear(A) + bias


def _box(lower, upper) -> InputSet:
    return InputSet(lower, 0.0, math.inf, lower, upper, True)


def _rows_spec(rows: torch.Tensor, shape, like: torch.Tensor) -> torch.Tensor:
    """[1, 2S, *shape]: +e_i then -e_i for the flat neuron indices ``rows``."""
    S = rows.numel()
    spec = like.new_zeros(2 * S, math.prod(shape))
    idx = torch.arange(S, device=like.device)
    spec[idx, rows] = 1.0
    spec[idx + S, rows] = -1.0
    return spec.reshape(1, 2 * S, *shape)


def bound_rows(net: Network, stop: int, rows: torch.Tensor, domain: InputSet, relax: dict,
               alphas: dict | None = None, start: int = 0):
    """CROWN lower and upper bounds [N, S] of the flat neurons ``rows`` of the output of ops[start:stop].

    Rows are processed in chunks so that no A matrix exceeds CHUNK_ELEMENTS; alphas (if any) have shape
    [N, 2S, *shape] and are sliced with them (rows first, then the same rows negated). Without alphas and
    behind a chain of convolutions every neuron is bounded in patch form instead (verify/patches.py: the same
    numbers, about 4x faster on WK17a's second convolution than these dense matrices).
    """
    if alphas is None and start == 0 and patch_chain(net, stop):
        lower, upper = patch_bounds(net, stop, domain, relax, CHUNK_ELEMENTS)
        return lower[:, rows], upper[:, rows]
    S = rows.numel()
    N = domain.center.shape[0]
    widest = max(math.prod(s) for s in net.shapes[start:stop + 1])
    chunk = max(1, CHUNK_ELEMENTS // (2 * N * widest))
    lowers, uppers = [], []
    for begin in range(0, S, chunk):
        part = rows[begin:begin + chunk]
        k = part.numel()
        chunk_alphas = None if alphas is None else {
            i: torch.cat([a[:, begin:begin + k], a[:, S + begin:S + begin + k]], dim=1) for i, a in alphas.items()}
        both = backward_lower(net, start, stop, _rows_spec(part, net.shapes[stop], domain.center), domain, relax,
                              chunk_alphas)
        lowers.append(both[:, :k])
        uppers.append(-both[:, k:])
    return torch.cat(lowers, dim=1), torch.cat(uppers, dim=1)


def _interval_step(net: Network, start: int, stop: int, lower, upper):
    """Interval arithmetic through ops[start:stop] (Gowal et al. 2018), ReLUs included."""
    for op in net.ops[start:stop]:
        if isinstance(op, ReluOp):
            lower, upper = lower.clamp(min=0), upper.clamp(min=0)
        else:
            center, radius = (upper + lower) / 2, (upper - lower) / 2
            center, radius = op.forward(center), op.forward_abs(radius)
            lower, upper = center - radius, center + radius
    return lower, upper


def _first_block_bounds(net: Network, stop: int, domain: InputSet):
    """Exact bounds of the affine block ops[:stop] over the input set. A box through ops that are all
    coordinate-wise (scalings, reshapes) but the last: interval steps are exact, since |W D| = |W| |D| for
    D diagonal; otherwise back-substitution of every neuron (the dual norm for lp balls)."""
    if domain.norm == math.inf and all(isinstance(op, (ElementwiseOp, ReshapeOp)) for op in net.ops[:stop - 1]):
        return _interval_step(net, 0, stop, domain.lower, domain.upper)
    rows = torch.arange(math.prod(net.shapes[stop]), device=domain.center.device)
    lower, upper = bound_rows(net, stop, rows, domain, {})
    return lower.reshape(-1, *net.shapes[stop]), upper.reshape(-1, *net.shapes[stop])


def ibp_relu_bounds(net: Network, domain: InputSet) -> dict:
    """IBP bounds (lower, upper) of every ReLU's input, keyed by the ReLU's op index."""
    relus = net.relu_indices
    bounds = {}
    if not relus:
        return bounds
    lower, upper = _first_block_bounds(net, relus[0], domain)
    bounds[relus[0]] = (lower, upper)
    for prev, cur in zip(relus, relus[1:]):
        lower, upper = _interval_step(net, prev, cur, lower, upper)
        bounds[cur] = (lower, upper)
    return bounds


def crown_relu_bounds(net: Network, domain: InputSet, *, intersect: bool = False,
                      batch_stability: bool = False) -> dict:
    """CROWN bounds of every ReLU's input (auto-LiRPA 0.3: interval-stable neurons keep interval bounds).

    With ``intersect`` every bound is the tighter of CROWN and the interval step (CROWN ∩ IBP): still
    sound, never looser, but no longer auto-LiRPA's numbers. ``batch_stability``: see the module docstring.
    """
    relus = net.relu_indices
    bounds, relax = {}, {}
    for k, cur in enumerate(relus):
        if k == 0:
            bounds[cur] = _first_block_bounds(net, cur, domain)
        else:
            ref_l, ref_u = _interval_step(net, relus[k - 1], cur, *bounds[relus[k - 1]])
            bounds[cur] = _refine(net, cur, domain, relax, ref_l, ref_u, intersect, batch_stability=batch_stability)
        relax[cur] = relu_relaxation(*bounds[cur])
    return bounds


def unstable_rows(lower, upper) -> torch.Tensor:
    """Flat indices of the neurons unstable (l < 0 < u) for at least one example of the batch."""
    return torch.nonzero(((lower < 0) & (upper > 0)).flatten(1).any(0)).flatten()


def _refine(net, stop, domain, relax, ref_l, ref_u, intersect, alphas=None, batch_stability=False):
    """Replace the bounds of interval-unstable neurons by CROWN bounds (or by the tighter of both); with
    ``batch_stability`` a neuron unstable for any example of the batch is replaced for all of them."""
    rows = unstable_rows(ref_l, ref_u)
    lower, upper = ref_l.flatten(1).clone(), ref_u.flatten(1).clone()
    if rows.numel():
        crown_l, crown_u = bound_rows(net, stop, rows, domain, relax, alphas)
        if intersect:
            crown_l, crown_u = torch.maximum(crown_l, lower[:, rows]), torch.minimum(crown_u, upper[:, rows])
        use = (lower[:, rows] < 0) & (upper[:, rows] > 0) | batch_stability
        lower[:, rows] = torch.where(use, crown_l, lower[:, rows])
        upper[:, rows] = torch.where(use, crown_u, upper[:, rows])
    return lower.reshape(ref_l.shape), upper.reshape(ref_u.shape)


def _spec_matrix(C, N: int, net: Network, like: torch.Tensor) -> torch.Tensor:
    """C as [B, m, *out_shape] (B = 1 or N); the identity when C is None."""
    m_out = net.out_features
    if C is None:
        C = torch.eye(m_out, dtype=like.dtype, device=like.device)
    C = torch.as_tensor(C, dtype=like.dtype, device=like.device)
    if C.dim() == 2:
        C = C.unsqueeze(0)
    if C.dim() != 3 or C.shape[-1] != m_out or C.shape[0] not in (1, N):
        raise ValueError(f"C must have shape [rows, {m_out}] or [{N}, rows, {m_out}], got {tuple(C.shape)}")
    return C.reshape(C.shape[0], C.shape[1], *net.out_shape)


def spec_bounds(net: Network, domain: InputSet, C: torch.Tensor, relu_bounds: dict, alphas=None):
    """CROWN lower and upper bounds [N, m] of C f(x) (C of shape [B, m, *out_shape])."""
    relax = {i: relu_relaxation(*b) for i, b in relu_bounds.items()}
    both = backward_lower(net, 0, len(net.ops), torch.cat([C, -C], dim=1), domain, relax, alphas)
    m = C.shape[1]
    return both[:, :m], -both[:, m:]


def ibp_spec_bounds(net: Network, domain: InputSet, C: torch.Tensor, relu_bounds: dict):
    """IBP bounds of C f(x): intervals up to the last ReLU, C folded into the affine block after it."""
    relus = net.relu_indices
    if not relus:
        return spec_bounds(net, domain, C, {})
    last = relus[-1]
    lower, upper = relu_bounds[last]
    both = backward_lower(net, last + 1, len(net.ops), torch.cat([C, -C], dim=1),
                          _box(lower.clamp(min=0), upper.clamp(min=0)), {})
    m = C.shape[1]
    return both[:, :m], -both[:, m:]


def alpha_crown(net: Network, domain: InputSet, C: torch.Tensor, relu_bounds: dict, *, iterations: int = 20,
                lr: float = 0.5, lr_decay: float = 0.98):
    """alpha-CROWN (Xu et al. 2021, Sec. 3.1) bounds of C f(x), starting from CROWN's ``relu_bounds``.

    Returns (lower, upper, tightened relu bounds); the bounds are the best of all steps, CROWN included.
    """
    relus = net.relu_indices
    rows = {k: unstable_rows(*relu_bounds[k]) for k in relus[1:]}
    rows = {k: r for k, r in rows.items() if r.numel()}
    base = {i: relu_relaxation(*b) for i, b in relu_bounds.items()}
    N, m = domain.center.shape[0], C.shape[1]

    def init(start, n_rows):
        return {j: base[j].lower_slope.unsqueeze(1).expand(N, n_rows, *net.shapes[j]).clone().requires_grad_()
                for j in relus if j < start and bool(base[j].unstable.any())}

    alphas = {k: init(k, 2 * r.numel()) for k, r in rows.items()}
    alphas["out"] = init(len(net.ops), 2 * m)
    params = [a for group in alphas.values() for a in group.values()]
    best = {k: (b[0].detach().clone(), b[1].detach().clone()) for k, b in relu_bounds.items()}
    best_lower, best_upper = spec_bounds(net, domain, C, relu_bounds)
    if not params:
        return best_lower, best_upper, best
    optimizer = torch.optim.Adam(params, lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, lr_decay)
    with torch.enable_grad():
        for _ in range(iterations):
            relax = dict(base)
            current = dict(best)
            for k in relus[1:]:
                if k in rows:
                    current[k] = _tighten(net, k, rows[k], domain, relax, alphas[k], best[k])
                    best[k] = (torch.maximum(best[k][0], current[k][0].detach()),
                               torch.minimum(best[k][1], current[k][1].detach()))
                relax[k] = relu_relaxation(*current[k])
            lower, upper = spec_bounds(net, domain, C, current, alphas["out"])
            best_lower = torch.maximum(best_lower, lower.detach())
            best_upper = torch.minimum(best_upper, upper.detach())
            optimizer.zero_grad()
            (upper - lower).sum().backward()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                for a in params:
                    a.clamp_(0.0, 1.0)
    return best_lower, best_upper, best


def _tighten(net, stop, rows, domain, relax, alphas, best):
    """Bounds of layer ``stop`` with the rows' CROWN bounds under alphas, intersected with ``best``."""
    lower, upper = best[0].flatten(1).clone(), best[1].flatten(1).clone()
    new_l, new_u = bound_rows(net, stop, rows, domain, relax, alphas)
    lower[:, rows] = torch.maximum(lower[:, rows], new_l)
    upper[:, rows] = torch.minimum(upper[:, rows], new_u)
    return lower.reshape(best[0].shape), upper.reshape(best[1].shape)


def network_bounds(net: Network, domain: InputSet, C: torch.Tensor, method: str, *, intersect: bool = False,
                   batch_stability: bool = False):
    """(lower, upper, relu bounds) of C f(x) by ``method``; the core of compute_bounds."""
    if method == "ibp":
        relu_bounds = ibp_relu_bounds(net, domain)
        return (*ibp_spec_bounds(net, domain, C, relu_bounds), relu_bounds)
    relu_bounds = crown_relu_bounds(net, domain, intersect=intersect, batch_stability=batch_stability)
    if method == "crown":
        return (*spec_bounds(net, domain, C, relu_bounds), relu_bounds)
    return alpha_crown(net, domain, C, relu_bounds)


def compute_bounds(model, x, *, eps, norm=math.inf, method="crown", C=None, x_min=None, x_max=None,
                   dtype=torch.float64, batch_stability: bool = False, backend: str = "auto"):
    """Lower and upper bounds [N, m] of C f(x') over x' in the perturbation set of each example x[n].

    model: nn.Sequential (see verify.network for the layers); x: [N, *input shape] on any device.
    eps: radius (a float, or for norm=inf a tensor of per-coordinate half-widths, i.e. a box);
    norm: inf, 2 or 1; x_min, x_max: optional box the set is intersected with (floats or tensors).
    method: "ibp", "crown" or "alpha-crown"; C: [m, outputs] or [N, m, outputs] (default: the identity,
    m = outputs). Computed in ``dtype`` (float64 by default) on x's device. batch_stability=True decides
    which intermediate neurons get CROWN bounds for the whole batch, as auto-LiRPA 0.3 does (looser, and
    batch-dependent; for comparisons with it). backend: "native" (this module), "auto_lirpa" (auto-LiRPA, see
    verify/lirpa_backend.py; it always applies its batch rule and drops the box of ℓ2/ℓ1 sets) or "auto"
    (auto_lirpa when auto_LiRPA imports; native, with a warning, if it then fails; else native).
    """
    if not isinstance(batch_stability, bool):
        raise TypeError(f"batch_stability must be a bool, got {type(batch_stability).__name__}")
    method = choice("method", method, METHODS)
    backend = choice("backend", backend, BACKENDS)
    if backend == "auto_lirpa" and not lirpa_backend.available():
        raise ValueError("backend 'auto_lirpa' needs a working auto_LiRPA (its PyPI release 0.3 does not import "
                         "with this torch); use backend='native' or 'auto'")
    if not torch.is_tensor(x) or x.dim() < 2:
        raise TypeError("x must be a tensor of shape [N, *input shape]")
    x = x.detach().to(dtype)
    with torch.no_grad():
        net = parse_model(model, x.shape[1:], dtype=dtype, device=x.device)
        domain = InputSet.build(x, eps, norm, x_min, x_max)
        spec = _spec_matrix(C, x.shape[0], net, x)
        if backend == "auto_lirpa":
            return lirpa_backend.lirpa_bounds(model, x, domain, spec, method, dtype)
        if backend == "auto" and lirpa_backend.available():
            try:
                return lirpa_backend.lirpa_bounds(model, x, domain, spec, method, dtype)
            except Exception as err:  # an auto_LiRPA that imports but cannot run this model or torch
                warnings.warn(f"auto-LiRPA failed ({type(err).__name__}: {err}); using the native bounds")
        lower, upper, _ = network_bounds(net, domain, spec, method, batch_stability=batch_stability)
    return lower, upper

