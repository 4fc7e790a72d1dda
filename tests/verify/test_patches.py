"""Patch-form CROWN (verify/patches.py) against the dense back-substitution of verify/bounds.py, which the
auto-LiRPA comparison and the soundness tests check: the same bounds on random convolutional chains."""
import math

import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from verify.bounds import CHUNK_ELEMENTS, _rows_spec, backward_lower, crown_relu_bounds, relu_relaxation
from verify.network import parse_model
from verify.patches import patch_bounds, patch_chain
from verify.perturbation import InputSet


def conv_chain(seed, layers, size):
    """Convolutions with random kernels, strides and paddings (shapes kept valid), each followed by a
    BatchNorm and / or a ReLU or by nothing (so padding meets padding in conv-conv pairs)."""
    rng = torch.Generator().manual_seed(seed)
    mods, channels = [], 1 + int(torch.randint(0, 3, (1,), generator=rng))
    in_channels = channels
    for k in range(layers):
        kernel = int(torch.randint(1, 5, (1,), generator=rng))
        stride = int(torch.randint(1, 3, (1,), generator=rng))
        padding = int(torch.randint(0, kernel, (1,), generator=rng))
        if size + 2 * padding < kernel:
            padding = kernel
        out = int(torch.randint(1, 6, (1,), generator=rng))
        mods.append(nn.Conv2d(channels, out, kernel, stride=stride, padding=padding))
        size = (size + 2 * padding - kernel) // stride + 1
        kind = int(torch.randint(0, 4, (1,), generator=rng))
        if kind in (1, 3):
            bn = nn.BatchNorm2d(out).eval()
            bn.running_mean.uniform_(-1, 1, generator=rng)
            bn.running_var.uniform_(0.5, 2, generator=rng)
            bn.weight.data.uniform_(-2, 2, generator=rng)
            mods.append(bn)
        if kind in (0, 1):
            mods.append(nn.ReLU())
        channels = out
    torch.manual_seed(seed)
    for m in mods:
        if isinstance(m, nn.Conv2d):
            m.reset_parameters()
    if isinstance(mods[-1], nn.ReLU):
        mods.pop()
    return nn.Sequential(*mods).double(), in_channels


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10**6), layers=st.integers(1, 4), size=st.integers(3, 12), eps=st.floats(0.01, 0.5),
       norm=st.sampled_from([math.inf, 2.0, 1.0]), box=st.booleans())
def test_patch_bounds_equal_dense_back_substitution(seed, layers, size, eps, norm, box):
    """Boxes, l2 and l1 balls, with and without [0, 1]."""
    model, channels = conv_chain(seed, layers, size)
    x = torch.rand(3, channels, size, size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    net = parse_model(model, x.shape[1:])
    domain = InputSet.build(x, eps * (1 if norm == math.inf else 4), norm, *((0.0, 1.0) if box else (None, None)))
    relax = {k: relu_relaxation(*b) for k, b in crown_relu_bounds(net, domain).items()}
    stop = len(net.ops)
    assert patch_chain(net, stop)
    for max_elements in (CHUNK_ELEMENTS, 1):  # one chunk, and one example per chunk
        lower, upper = patch_bounds(net, stop, domain, relax, max_elements)
        rows = torch.arange(math.prod(net.shapes[stop]))
        dense = backward_lower(net, 0, stop, _rows_spec(rows, net.shapes[stop], x), domain, relax)
        scale = 1.0 + dense.abs().max()
        assert torch.allclose(lower, dense[:, :rows.numel()], atol=1e-11 * scale, rtol=0)
        assert torch.allclose(upper, -dense[:, rows.numel():], atol=1e-11 * scale, rtol=0)


def test_patch_chain_only_for_plain_convolution_chains():
    dilated = parse_model(nn.Sequential(nn.Conv2d(1, 2, 3, dilation=2), nn.ReLU(), nn.Conv2d(2, 2, 3)).double(),
                          (1, 9, 9))
    flat = parse_model(nn.Sequential(nn.Flatten(), nn.Linear(16, 4), nn.ReLU(), nn.Linear(4, 2)).double(), (1, 4, 4))
    rect = parse_model(nn.Sequential(nn.Conv2d(1, 2, (3, 2)), nn.ReLU(), nn.Conv2d(2, 2, 2)).double(), (1, 6, 6))
    assert not patch_chain(dilated, 3) and not patch_chain(flat, 3) and not patch_chain(rect, 3)
    plain = parse_model(nn.Sequential(nn.Conv2d(1, 2, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(2, 2, 2)).double(),
                        (1, 6, 6))
    assert patch_chain(plain, 3)
