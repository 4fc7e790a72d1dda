"""A torch model as a chain of affine maps and ReLUs, the form bound propagation and the MIP work on.

``parse_model`` flattens a (nested) ``nn.Sequential`` of Linear, Conv2d, ReLU, Flatten, AvgPool2d,
BatchNorm (eval), a normalisation layer (``verify.layers.Normalize`` or any module with ``mean`` and ``std``
computing (x - mean) / std), ``verify.layers.Reshape``, Identity/Dropout (eval) and the project's noise
layers. Noise layers (``is_noise_layer = True``) are taken in expectation, i.e. as the identity: the bounds
then hold for the mean network, not for a noisy draw. Every affine op offers the four maps CROWN needs:

- ``forward(x)`` = W x + b, ``forward_abs(r)`` = |W| r (interval radius, Gowal et al. 2018),
- ``backward(A)`` = A W and ``bias_term(A)`` = A b, for A of shape [B, S, *out] (S specification rows).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from verify.layers import Normalize, Reshape

SUPPORTED = ("Sequential", "Linear", "Conv2d", "ReLU", "Flatten", "AvgPool2d", "BatchNorm1d", "BatchNorm2d",
             "Normalize (x - mean) / std", "Reshape", "Identity", "Dropout (eval)", "noise layers")


def _feature_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum over every dimension after the first two ([B, S, *shape] -> [B, S])."""
    return t.flatten(2).sum(-1)


@dataclass(eq=False)
class LinearOp:
    """y = W x + b on the last dimension."""
    weight: torch.Tensor
    bias: torch.Tensor

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def forward_abs(self, r):
        return F.linear(r, self.weight.abs())

    def backward(self, A):
        return A @ self.weight

    def bias_term(self, A):
        return _feature_sum(A @ self.bias.unsqueeze(-1))


@dataclass(eq=False)
class ConvOp:
    """2-d convolution (zero padding); A W is the transposed convolution of A."""
    weight: torch.Tensor
    bias: torch.Tensor
    stride: tuple
    padding: tuple
    dilation: tuple
    groups: int
    in_shape: tuple
    out_shape: tuple

    def _conv(self, x, weight, bias=None):
        return F.conv2d(x, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, x):
        return self._conv(x, self.weight, self.bias)

    def forward_abs(self, r):
        return self._conv(r, self.weight.abs())

    def backward(self, A):
        lead = A.shape[:2]
        # output_padding recovers input rows/columns that the stride skips.
        out_pad = tuple(self.in_shape[1 + i] - ((self.out_shape[1 + i] - 1) * self.stride[i] - 2 * self.padding[i]
                                                + self.dilation[i] * (self.weight.shape[2 + i] - 1) + 1)
                        for i in range(2))
        x = F.conv_transpose2d(A.reshape(-1, *self.out_shape), self.weight, None, self.stride, self.padding,
                               out_pad, self.groups, self.dilation)
        return x.reshape(*lead, *self.in_shape)

    def bias_term(self, A):
        return A.flatten(3).sum(-1) @ self.bias


@dataclass(eq=False)
class ElementwiseOp:
    """y = scale * x + shift, coordinate by coordinate (BatchNorm in eval mode, normalisation)."""
    scale: torch.Tensor
    shift: torch.Tensor

    def forward(self, x):
        return x * self.scale + self.shift

    def forward_abs(self, r):
        return r * self.scale.abs()

    def backward(self, A):
        return A * self.scale

    def bias_term(self, A):
        return _feature_sum(A * self.shift)


@dataclass(eq=False)
class ReshapeOp:
    """Reshape of each example (Flatten, Reshape)."""
    in_shape: tuple
    out_shape: tuple

    def forward(self, x):
        return x.reshape(x.shape[0], *self.out_shape)

    forward_abs = forward

    def backward(self, A):
        return A.reshape(*A.shape[:2], *self.in_shape)

    def bias_term(self, A):
        return A.new_zeros(A.shape[:2])


@dataclass(eq=False)
class ReluOp:
    """y = max(x, 0)."""
    shape: tuple

    def forward(self, x):
        return x.clamp(min=0)


@dataclass(eq=False)
class Network:
    """ops applied in order to inputs of shape [N, *shapes[0]]; shapes[i] is the input shape of ops[i] and
    shapes[-1] the output shape; outputs are flattened to [N, out_features]."""
    ops: list
    shapes: list

    @property
    def in_shape(self) -> tuple:
        return self.shapes[0]

    @property
    def out_shape(self) -> tuple:
        return self.shapes[-1]

    @property
    def out_features(self) -> int:
        return math.prod(self.out_shape)

    @property
    def relu_indices(self) -> list:
        return [i for i, op in enumerate(self.ops) if isinstance(op, ReluOp)]

    def forward(self, x: torch.Tensor, stop: int | None = None) -> torch.Tensor:
        """Output of ops[:stop] (all ops by default), flattened to [N, -1] when stop is None."""
        for op in self.ops[:stop]:
            x = op.forward(x)
        return x.reshape(x.shape[0], -1) if stop is None else x


def _pair(v):
    return tuple(v) if isinstance(v, (tuple, list)) else (v, v)


def _conv_op(module: nn.Conv2d, shape, dtype, device):
    if module.padding_mode != "zeros":
        raise TypeError(f"Conv2d padding_mode must be 'zeros', got {module.padding_mode!r}")
    if isinstance(module.padding, str):
        if module.padding != "valid":
            raise TypeError("Conv2d padding must be numeric or 'valid', got 'same'")
        padding = (0, 0)
    else:
        padding = _pair(module.padding)
    weight = module.weight.detach().to(dtype=dtype, device=device)
    bias = (module.bias.detach().to(dtype=dtype, device=device) if module.bias is not None
            else weight.new_zeros(weight.shape[0]))
    return _with_out_shape(ConvOp(weight, bias, _pair(module.stride), padding, _pair(module.dilation),
                                  module.groups, tuple(shape), ()), shape, dtype, device)


def _avgpool_op(module: nn.AvgPool2d, shape, dtype, device):
    if module.ceil_mode or module.divisor_override is not None or (
            not module.count_include_pad and any(_pair(module.padding))):
        raise TypeError("AvgPool2d is supported with ceil_mode=False, divisor_override=None and "
                        "count_include_pad=True (or no padding)")
    kh, kw = _pair(module.kernel_size)
    channels = shape[0]
    weight = torch.full((channels, 1, kh, kw), 1.0 / (kh * kw), dtype=dtype, device=device)
    stride = _pair(module.stride if module.stride is not None else module.kernel_size)
    op = ConvOp(weight, weight.new_zeros(channels), stride, _pair(module.padding), (1, 1), channels,
                tuple(shape), ())
    return _with_out_shape(op, shape, dtype, device)


def _with_out_shape(op: ConvOp, shape, dtype, device) -> ConvOp:
    op.out_shape = tuple(op.forward(torch.zeros(1, *shape, dtype=dtype, device=device)).shape[1:])
    return op


def _channel_broadcast(values: torch.Tensor, shape) -> torch.Tensor:
    """Per-channel values [C] as a tensor of one example's shape (channel = first dimension)."""
    return values.reshape(-1, *([1] * (len(shape) - 1))).expand(*shape)


def _batchnorm_op(module, shape, dtype, device):
    if module.training or module.running_mean is None:
        raise TypeError(f"{type(module).__name__} must be in eval mode with running statistics "
                        "(call model.eval())")
    mean = module.running_mean.detach().to(dtype=dtype, device=device)
    var = module.running_var.detach().to(dtype=dtype, device=device)
    gamma = (module.weight.detach().to(dtype=dtype, device=device) if module.weight is not None
             else torch.ones_like(mean))
    beta = (module.bias.detach().to(dtype=dtype, device=device) if module.bias is not None
            else torch.zeros_like(mean))
    scale = gamma / torch.sqrt(var + module.eps)
    return ElementwiseOp(_channel_broadcast(scale, shape), _channel_broadcast(beta - mean * scale, shape))


def _normalize_op(module, shape, dtype, device):
    mean = torch.as_tensor(module.mean, dtype=dtype, device=device)
    std = torch.as_tensor(module.std, dtype=dtype, device=device)
    probe = torch.linspace(-1.0, 1.0, math.prod(shape), dtype=dtype, device=device).reshape(1, *shape)
    expected = (probe - mean) / std
    with torch.no_grad():
        got = module(probe).to(dtype)
    if got.shape != expected.shape or not torch.allclose(got, expected, rtol=1e-5, atol=1e-6):
        raise TypeError(f"{type(module).__name__} has mean/std but does not compute (x - mean) / std")
    scale = (1.0 / std).expand(*shape)
    return ElementwiseOp(scale.contiguous(), (-mean / std).expand(*shape).contiguous())


def _flatten_op(module: nn.Flatten, shape):
    if module.start_dim != 1 or module.end_dim != -1:
        raise TypeError(f"Flatten is supported with start_dim=1, end_dim=-1, got {module.start_dim}, "
                        f"{module.end_dim}")
    return ReshapeOp(tuple(shape), (math.prod(shape),))


def _reshape_op(module: Reshape, shape):
    out = torch.empty(math.prod(shape), device="meta").reshape(module.shape).shape
    return ReshapeOp(tuple(shape), tuple(out))


def _linear_op(module: nn.Linear, shape, dtype, device):
    if shape[-1] != module.in_features:
        raise ValueError(f"Linear expects {module.in_features} input features, got shape {tuple(shape)}")
    weight = module.weight.detach().to(dtype=dtype, device=device)
    bias = (module.bias.detach().to(dtype=dtype, device=device) if module.bias is not None
            else weight.new_zeros(weight.shape[0]))
    return LinearOp(weight, bias)


def _leaves(model: nn.Module, prefix: str = ""):
    """(name, module) of the non-Sequential modules, in execution order."""
    if isinstance(model, nn.Sequential):
        for name, child in model.named_children():
            yield from _leaves(child, f"{prefix}.{name}" if prefix else name)
    else:
        yield prefix or type(model).__name__, model


def _op_for(module: nn.Module, shape, dtype, device):
    """The op of one layer, or None for layers that are the identity in verification."""
    if getattr(module, "is_noise_layer", False) or isinstance(module, nn.Identity):
        return None
    if isinstance(module, nn.Dropout):
        if module.training:
            raise TypeError("Dropout must be in eval mode (call model.eval())")
        return None
    if isinstance(module, nn.Linear):
        return _linear_op(module, shape, dtype, device)
    if isinstance(module, nn.Conv2d):
        return _conv_op(module, shape, dtype, device)
    if isinstance(module, nn.ReLU):
        return ReluOp(tuple(shape))
    if isinstance(module, nn.Flatten):
        return _flatten_op(module, shape)
    if isinstance(module, Reshape):
        return _reshape_op(module, shape)
    if isinstance(module, nn.AvgPool2d):
        return _avgpool_op(module, shape, dtype, device)
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
        return _batchnorm_op(module, shape, dtype, device)
    if isinstance(module, Normalize) or (hasattr(module, "mean") and hasattr(module, "std")):
        return _normalize_op(module, shape, dtype, device)
    return False


def parse_model(model: nn.Module, in_shape, *, dtype=torch.float64, device=None) -> Network:
    """The chain of ops computing ``model`` on inputs of shape [N, *in_shape], weights cast to dtype/device."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    shape = tuple(int(s) for s in in_shape)
    ops, shapes = [], [shape]
    for name, module in _leaves(model):
        op = _op_for(module, shape, dtype, device)
        if op is False:
            raise TypeError(f"layer {name!r} ({type(module).__name__}) is not supported; supported layers: "
                            f"{', '.join(SUPPORTED)}")
        if op is None:
            continue
        if not isinstance(op, ReluOp):
            with torch.no_grad():
                shape = tuple(op.forward(torch.zeros(1, *shape, dtype=dtype, device=device)).shape[1:])
        ops.append(op)
        shapes.append(shape)
    return Network(ops, shapes)
