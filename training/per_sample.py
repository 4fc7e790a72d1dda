"""Clipped sums of per-example gradients: the sensitivity-bounding half of DP-SGD (Abadi et al. 2016, Alg. 1).

Given a micro-batch of B examples, each with K views x[i, 0..K-1] (augmented copies, noisy copies or
adversarial examples; K = 1 without them), the per-example loss is a criterion of example i's K outputs,
by default the mean cross-entropy over the views,
    l_i(θ) = (1/K) Σ_k loss(f_θ(x[i, k]), y_i),
so every per-example gradient g_i = ∇ l_i depends on example i alone and clipping it to norm C bounds the
sensitivity of Σ_i clip(g_i) by C whatever K is (augmentation multiplicity, De et al. 2022, Sec. 3.1).

Two engines compute the same sum Σ_i min(1, C / ||g_i||) g_i:

- ``"vmap"``: ``torch.func.vmap(torch.func.grad(...))`` over ``functional_call``: any module (no per-layer
  hooks), the per-example gradients materialised.
- ``"ghost"``: for networks whose trainable layers are Linear, Conv2d, GroupNorm or LayerNorm. One forward,
  one backward to the layer *outputs* only; each layer's per-example norm comes from its input
  activations a_i and output gradients b_i: ||b_iᵀ a_i||² = Σ_{t,t'} (a_it·a_it')(b_it·b_it') (ghost
  clipping, Goodfellow 2015; Li et al. 2022; mixed with materialisation per layer, whichever is cheaper,
  Bu et al. 2022), and the clipped sum is the single weighted product Σ_i c_i b_iᵀ a_i
  (book-keeping, Bu et al. 2023): no second backward pass.

``per_layer=True`` clips each layer's piece to C / sqrt(L) (L layers) instead of the whole gradient to C;
the sum still has ℓ2 sensitivity sqrt(L (C/sqrt(L))²) = C (McMahan et al. 2018).
"""
from __future__ import annotations

import math
import time
import weakref
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call, grad, vmap

from mechanisms.validate import choice, positive
from training.models import reject_batchnorm

ENGINES = ("auto", "vmap", "ghost")
GHOST_LAYERS = (nn.Linear, nn.Conv2d, nn.GroupNorm, nn.LayerNorm)
#: added to the norm before dividing, as in Opacus, so a zero gradient gets factor 1 and no NaN
NORM_EPS = 1e-6

#: criterion(outputs [B, K, classes], targets [B]) -> per-example losses [B]
Criterion = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def cross_entropy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Cross-entropy averaged over each example's K views: the default per-example criterion."""
    views = outputs.shape[1]
    rows = F.cross_entropy(outputs.flatten(0, 1), targets.repeat_interleave(views), reduction="none")
    return rows.view(-1, views).mean(1)


@dataclass(frozen=True)
class ClippedBatch:
    """Σ_i clip(g_i) per trainable parameter, with the per-example norms, losses and first-view outputs."""

    grads: tuple[torch.Tensor, ...]
    norms: torch.Tensor
    losses: torch.Tensor
    outputs: torch.Tensor


def trainable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def ghost_supported(model: nn.Module) -> bool:
    """True when every trainable parameter sits directly in a Linear, Conv2d (zero padding, groups = 1),
    GroupNorm or LayerNorm layer: the layers the ghost engine knows."""
    for module in model.modules():
        if not any(p.requires_grad for p in module.parameters(recurse=False)):
            continue
        if not isinstance(module, GHOST_LAYERS):
            return False
        if isinstance(module, nn.Conv2d) and (module.groups != 1 or module.padding_mode != "zeros"
                                              or isinstance(module.padding, str)):
            return False
    return True


def resolve_engine(model: nn.Module, engine: str) -> str:
    """``"auto"`` -> ``"ghost"`` when the model allows it, else ``"vmap"``; a forced ghost is checked."""
    choice("per_sample", engine, ENGINES)
    if engine == "auto":
        return "ghost" if ghost_supported(model) else "vmap"
    if engine == "ghost" and not ghost_supported(model):
        raise ValueError("per_sample='ghost' needs every trainable layer to be Linear, Conv2d (zero padding, "
                         "groups=1), GroupNorm or LayerNorm; use per_sample='vmap' for this model")
    return engine


def clip_factors(sq_norms: torch.Tensor, clip_norm: float) -> torch.Tensor:
    """min(1, C / (||g|| + 1e-6)) from squared norms (any shape)."""
    return (clip_norm / (sq_norms.sqrt() + NORM_EPS)).clamp(max=1.0)


def clipped_grad_sum(model: nn.Module, x: torch.Tensor, y: torch.Tensor, *, clip_norm: float,
                     criterion: Criterion = cross_entropy, engine: str = "auto",
                     per_layer: bool = False) -> ClippedBatch:
    """Σ_i clip(∇ l_i) for views x of shape [B, K, *input] and labels y of shape [B] (see the module doc)."""
    clip_norm = positive("clip_norm", clip_norm)
    if x.dim() < 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x must have shape [B, K, *input] and y shape [B], got {tuple(x.shape)} and "
                         f"{tuple(y.shape)}")
    reject_batchnorm(model)
    engine = resolve_engine(model, engine)
    params = trainable(model)
    if x.shape[0] == 0:
        zeros = tuple(torch.zeros_like(p) for _, p in params)
        empty = x.new_zeros(0)
        return ClippedBatch(zeros, empty, empty, x.new_zeros(0, 0))
    pieces, losses, outputs = (_ghost_pieces if engine == "ghost" else _vmap_pieces)(model, x, y, criterion)
    sq = sum(piece.sq_norm for piece in pieces.values())
    if per_layer:
        groups = _groups(params)
        threshold = clip_norm / math.sqrt(len(groups))
        factor = {name: clip_factors(sum(pieces[n].sq_norm for n in members), threshold)
                  for name, members in groups.items()}
        grads = tuple(pieces[n].weighted_sum(factor[_group_of(n)]) for n, _ in params)
    else:
        factor = clip_factors(sq, clip_norm)
        grads = tuple(pieces[n].weighted_sum(factor) for n, _ in params)
    return ClippedBatch(grads, sq.sqrt().detach(), losses.detach(), outputs.detach())


@dataclass(frozen=True)
class _Piece:
    """One parameter's per-example squared norms and a way to form Σ_i c_i g_i without storing g_i twice."""

    sq_norm: torch.Tensor
    weighted_sum: Callable[[torch.Tensor], torch.Tensor]


def _group_of(name: str) -> str:
    return name.rpartition(".")[0]


def _groups(params) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for name, _ in params:
        groups.setdefault(_group_of(name), []).append(name)
    return groups


def _materialised(per_example: torch.Tensor) -> _Piece:
    flat = per_example.flatten(1)
    shape = per_example.shape[1:]
    return _Piece(flat.pow(2).sum(1), lambda c: (c @ flat).reshape(shape))


# ----------------------------------------------------------------------------------------------- vmap
def _vmap_pieces(model, x, y, criterion):
    names = [n for n, _ in trainable(model)]
    params = {n: p.detach() for n, p in trainable(model)}
    fixed = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    fixed.update(dict(model.named_buffers()))

    def loss_one(p, xi, yi):
        out = functional_call(model, {**p, **fixed}, (xi,))
        loss = criterion(out.unsqueeze(0), yi.unsqueeze(0))[0]
        return loss, (loss, out[0])

    per_example, (losses, outputs) = vmap(grad(loss_one, has_aux=True), in_dims=(None, 0, 0),
                                          randomness="different")(params, x, y)
    return {n: _materialised(per_example[n]) for n in names}, losses, outputs


# ---------------------------------------------------------------------------------------------- ghost
def _ghost_pieces(model, x, y, criterion):
    batch, views = x.shape[:2]
    records: list[tuple[nn.Module, torch.Tensor, torch.Tensor, int]] = []
    layers = [m for m in model.modules() if any(p.requires_grad for p in m.parameters(recurse=False))]

    def capture(module, inputs, output):
        records.append((module, inputs[0].detach(), output, output._version))

    handles = [m.register_forward_hook(capture) for m in layers]
    try:
        out = model(x.flatten(0, 1))
    finally:
        for h in handles:
            h.remove()
    seen = [id(r[0]) for r in records]
    if len(set(seen)) != len(seen) or len(seen) != len(layers):
        raise ValueError("per_sample='ghost' needs every trainable layer to be called exactly once per "
                         "forward pass; use per_sample='vmap' for this model")
    for module, _, output, version in records:
        if output._version != version:
            raise ValueError(f"the output of {module} is modified in place later in the forward pass "
                             "(e.g. ReLU(inplace=True)); use inplace=False or per_sample='vmap'")
    losses = criterion(out.view(batch, views, -1), y)
    out_grads = torch.autograd.grad(losses.sum(), [r[2] for r in records])
    names = {id(p): n for n, p in model.named_parameters()}
    pieces: dict[str, _Piece] = {}
    for (module, a, _, _), g in zip(records, out_grads):
        for param, piece in _layer_pieces(module, a, g.detach(), batch):
            pieces[names[id(param)]] = piece
    outputs = out.detach().view(batch, views, -1)[:, 0]
    return pieces, losses, outputs


def _layer_pieces(module, a, g, batch):
    """(parameter, piece) for each trainable parameter of one layer from its input a and output grad g."""
    if isinstance(module, (nn.Linear, nn.Conv2d)):
        found = []
        if module.weight.requires_grad:
            found.append((module.weight, _linear_weight_piece(module, a, g, batch) if isinstance(module, nn.Linear)
                          else _conv_weight_piece(module, a, g, batch)))
        if module.bias is not None and module.bias.requires_grad:
            out_dim = -1 if isinstance(module, nn.Linear) else 1
            found.append((module.bias, _materialised(g.movedim(out_dim, -1).reshape(batch, -1, g.shape[out_dim]).sum(1))))
        return found
    # GroupNorm / LayerNorm: y = x̂ w + b with x̂ the normalised input (no parameters in x̂).
    if isinstance(module, nn.GroupNorm):
        x_hat = F.group_norm(a, module.num_groups, eps=module.eps)
        reduce_dims = lambda t: t.reshape(batch, -1, t.shape[1], t[0, 0].numel()).sum((1, 3))  # noqa: E731
    else:
        x_hat = F.layer_norm(a, module.normalized_shape, eps=module.eps)
        reduce_dims = lambda t: t.reshape(batch, -1, *module.normalized_shape).sum(1)  # noqa: E731
    found = []
    if module.weight is not None and module.weight.requires_grad:
        found.append((module.weight, _materialised(reduce_dims(g * x_hat))))
    if module.bias is not None and module.bias.requires_grad:
        found.append((module.bias, _materialised(reduce_dims(g))))
    return found


def _linear_weight_piece(module, a, g, batch) -> _Piece:
    return _weight_piece(a.reshape(batch, -1, a.shape[-1]), g.reshape(batch, -1, g.shape[-1]), module.weight.shape)


def _conv_weight_piece(module, a, g, batch) -> _Piece:
    """Conv2d weight: the ghost/materialised choice of ``_weight_piece`` on unfolded patches, except where
    materialising is cheaper and a grouped convolution (one group per row; Rochette et al. 2019) computes the
    per-example gradients faster than the unfold on this machine (timed once per layer, then remembered)."""
    cols = _unfold(a, module)
    t, d, p = cols.shape[2] * (a.shape[0] // batch), cols.shape[1], g.shape[1]
    if d * p > t * (d + p) or _CONV_ROUTE.get(module) == "unfold":
        return _weight_piece(_rows(cols, batch), _rows(g.flatten(2), batch), module.weight.shape)
    if module in _CONV_ROUTE:
        return _materialised(_grouped_conv_grads(module, a, g, batch))
    start = _clock(a)
    grads = _grouped_conv_grads(module, a, g, batch)
    middle = _clock(a)
    piece = _weight_piece(_rows(cols, batch), _rows(g.flatten(2), batch), module.weight.shape)
    _CONV_ROUTE[module] = "grouped" if middle - start < _clock(a) - middle else "unfold"
    return _materialised(grads) if _CONV_ROUTE[module] == "grouped" else piece


#: per Conv2d layer, the faster way to materialise its per-example weight gradients
_CONV_ROUTE: "weakref.WeakKeyDictionary[nn.Conv2d, str]" = weakref.WeakKeyDictionary()


def _clock(t: torch.Tensor) -> float:
    """Wall time once the work queued on ``t``'s device is done."""
    if t.is_cuda:
        torch.cuda.synchronize(t.device)
    return time.perf_counter()


def _unfold(a: torch.Tensor, module: nn.Conv2d) -> torch.Tensor:
    """F.unfold(a, ...) of the layer's patches [R, C kh kw, L], taken as a strided view of the padded input
    and copied once: CUDA's im2col launches one kernel per row, which dominated the step on a GPU."""
    (kh, kw), (sh, sw), (dh, dw), (ph, pw) = module.kernel_size, module.stride, module.dilation, module.padding
    windows = F.pad(a, (pw, pw, ph, ph)).unfold(2, dh * (kh - 1) + 1, sh).unfold(3, dw * (kw - 1) + 1, sw)
    patches = windows[..., ::dh, ::dw]                                  # [R, C, oh, ow, kh, kw]
    rows, channels, oh, ow = patches.shape[:4]
    return patches.permute(0, 1, 4, 5, 2, 3).reshape(rows, channels * kh * kw, oh * ow)


def _rows(cols: torch.Tensor, batch: int) -> torch.Tensor:
    """[R, D, L] (R = batch K rows, L positions) -> [batch, K L, D]."""
    return cols.reshape(batch, -1, cols.shape[1], cols.shape[2]).transpose(2, 3).flatten(1, 2)


def _grouped_conv_grads(module, a, g, batch) -> torch.Tensor:
    """Per-example Conv2d weight gradients [batch, out, in, kh, kw] as one grouped convolution of the
    inputs with the output gradients (stride and dilation swap roles)."""
    rows, c_in = a.shape[:2]
    c_out, _, kh, kw = module.weight.shape
    out = F.conv2d(a.transpose(0, 1), g.reshape(rows * c_out, 1, *g.shape[2:]), stride=module.dilation,
                   padding=module.padding, dilation=module.stride, groups=rows)[:, :, :kh, :kw]
    return out.reshape(c_in, batch, rows // batch, c_out, kh, kw).sum(2).permute(1, 2, 0, 3, 4)


def _weight_piece(acts: torch.Tensor, outs: torch.Tensor, shape) -> _Piece:
    """Weight gradient b_iᵀ a_i (acts [B, T, D], outs [B, T, P]): norms by the cheaper of materialising
    (T D P per example) and the ghost Gram identity (T² (D + P)); the clipped sum as one product."""
    t, d, p = acts.shape[1], acts.shape[2], outs.shape[2]
    if t == 1:
        sq = acts.pow(2).sum((1, 2)) * outs.pow(2).sum((1, 2))
    elif t * d * p <= t * t * (d + p):
        return _materialised(torch.bmm(outs.transpose(1, 2), acts).reshape(-1, *shape))
    else:
        sq = (torch.bmm(acts, acts.transpose(1, 2)) * torch.bmm(outs, outs.transpose(1, 2))).sum((1, 2))
    return _Piece(sq, lambda c: ((outs * c.view(-1, 1, 1)).flatten(0, 1).t() @ acts.flatten(0, 1)).reshape(shape))
