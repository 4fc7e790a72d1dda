"""CROWN back-substitution in patch form (auto-LiRPA's "patches" mode) for chains of convolutions.

A row of A that starts at one neuron of a convolutional layer touches, in each earlier layer, only the
window that neuron sees (its receptive field): K x K positions, windows of neighbouring neurons S apart.
Stored as that window per output position, a row needs C K^2 numbers instead of C H W (WK17a's second
convolution: 256 or 100 instead of 3136 or 784). Each step is backward_lower's step on the window: a
convolution's transpose maps a K-window to a ((K - 1) s + k)-window, a ReLU or elementwise op multiplies by
its slopes / scales gathered over the window (F.unfold), and window positions outside the layer (its
padding) are masked to 0 before every step, as the dense matrix has no entries there. So the bounds are
backward_lower's, up to the order of summation (tests/verify/test_patches.py).
"""
from __future__ import annotations

from dataclasses import replace

import torch
import torch.nn.functional as F

from verify.network import ConvOp, ElementwiseOp, Network, ReluOp
from verify.perturbation import InputSet


def patch_chain(net: Network, stop: int) -> bool:
    """Whether ops[:stop] is a chain of plain convolutions (no dilation or groups), ReLUs and elementwise ops
    ending in a convolutional layer, i.e. whether patch_bounds applies."""
    ops = net.ops[:stop]
    plain = all(isinstance(op, (ReluOp, ElementwiseOp)) or (
        isinstance(op, ConvOp) and op.dilation == (1, 1) and op.groups == 1 and op.stride[0] == op.stride[1]
        and op.padding[0] == op.padding[1] and op.weight.shape[-2] == op.weight.shape[-1]) for op in ops)
    return plain and any(isinstance(op, ConvOp) for op in ops) and len(net.shapes[stop]) == 3


def _windows(t: torch.Tensor, K: int, S: int, off: int, grid: tuple) -> torch.Tensor:
    """[B, 1, L, C K K]: for each of the L = h w grid positions (i, j), t[:, :, iS - off : iS - off + K,
    jS - off : jS - off + K] flattened (channel, row, column), zero outside t. t: [B, C, H, W]."""
    h, w = grid
    pad_h = max(0, (h - 1) * S - off + K - t.shape[-2])
    pad_w = max(0, (w - 1) * S - off + K - t.shape[-1])
    cols = F.unfold(F.pad(t, (off, pad_w, off, pad_h)), K, stride=S)
    n_w = (t.shape[-1] + off + pad_w - K) // S + 1
    cols = cols.reshape(t.shape[0], -1, cols.shape[-1] // n_w, n_w)[:, :, :h, :w]
    return cols.flatten(2).transpose(1, 2).unsqueeze(1)


def patch_bounds(net: Network, stop: int, domain: InputSet, relax: dict, max_elements: int):
    """CROWN lower and upper bounds [N, C H W] of every neuron of the output of ops[:stop] over ``domain``;
    ``relax`` maps ReLU op indices to Relaxations (bounds.py). Examples are processed in chunks so that no
    patch tensor much exceeds ``max_elements``."""
    channels, h, w = net.shapes[stop]
    widest = max(shape[0] for shape in net.shapes[:stop + 1]) * _receptive_field(net, stop) ** 2
    chunk = max(1, max_elements // (2 * channels * h * w * widest))
    parts = []
    for begin in range(0, domain.center.shape[0], chunk):
        part = slice(begin, begin + chunk)
        relax_part = {i: type(r)(*(t[part] for t in vars(r).values())) for i, r in relax.items()}
        domain_part = replace(domain, center=domain.center[part], lower=domain.lower[part], upper=domain.upper[part])
        parts.append(_patch_bounds(net, stop, domain_part, relax_part))
    return tuple(torch.cat(side) for side in zip(*parts))


def _receptive_field(net: Network, stop: int) -> int:
    """Width K of the input window that one neuron of the output of ops[:stop] sees."""
    K = 1
    for op in reversed(net.ops[:stop]):
        if isinstance(op, ConvOp):
            K = (K - 1) * op.stride[0] + op.weight.shape[-1]
    return K


def _patch_bounds(net: Network, stop: int, domain: InputSet, relax: dict):
    center = domain.center
    channels, h, w = net.shapes[stop]
    grid, N = (h, w), center.shape[0]
    eye = torch.eye(channels, dtype=center.dtype, device=center.device)
    P = torch.cat([eye, -eye]).reshape(1, 2 * channels, 1, channels).expand(1, 2 * channels, h * w, channels)
    bias = center.new_zeros(N, 2 * channels, h * w)
    K, S, off = 1, 1, 0
    for i in range(stop - 1, -1, -1):
        op, shape = net.ops[i], net.shapes[i + 1]
        P = P * _windows(center.new_ones(1, *shape), K, S, off, grid)
        if isinstance(op, ReluOp):
            r = relax[i]
            lower, upper = (_windows(t, K, S, off, grid) for t in (r.lower_slope, r.upper_slope))
            negative = P.clamp(max=0)
            bias = bias + (negative * _windows(r.upper_intercept, K, S, off, grid)).sum(-1)
            P = P * lower + negative * (upper - lower)
        elif isinstance(op, ElementwiseOp):
            scale, shift = (_windows(torch.as_tensor(t).expand(1, *shape), K, S, off, grid)
                            for t in (op.scale, op.shift))
            bias = bias + (P * shift).sum(-1)
            P = P * scale
        else:
            c_out = op.weight.shape[0]
            bias = bias + P.reshape(*P.shape[:3], c_out, K * K).sum(-1) @ op.bias
            lead = P.shape[:3]
            P = F.conv_transpose2d(P.reshape(-1, c_out, K, K), op.weight, stride=op.stride)
            K, S, off = (K - 1) * op.stride[0] + op.weight.shape[-1], S * op.stride[0], off * op.stride[0] + op.padding[0]
            P = P.reshape(*lead, -1)
    P = P * _windows(center.new_ones(1, *net.shapes[0]), K, S, off, grid)
    # entries outside the input are 0 in P, so a window's norm is its dense row's norm
    value = domain.min_linear(P, lambda coeffs, t: (coeffs * _windows(t, K, S, off, grid)).sum(-1)) + bias
    return value[:, :channels].reshape(N, -1), -value[:, channels:].reshape(N, -1)
