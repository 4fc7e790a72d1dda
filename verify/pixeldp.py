"""PixelDP certification of a noise-layer network (Lecuyer, Atlidakis, Geambasu, Hsu & Jana 2019).

The network is pre -> NoiseLayer -> post (an nn.Sequential with one noise layer). If ``pre`` maps inputs at
ℓp distance r to outputs at ℓq distance <= Δ r (Δ its pre-noise sensitivity, ℓp→ℓq operator norm), the noise
of scale s is, for inputs at distance r, the noise of scale s/Δ at distance r in the noise's own norm (ℓ2 for
Gaussian, ℓ1 for Laplace). Every post-processing of it -- the expected softmax scores, or the expected
one-hot votes -- is then a randomized classifier whose top expected score p_A and runner-up p_B certify the
radius of Lecuyer et al. 2019, Prop. 1 (p_A > e^{2ε} p_B + (1 + e^ε) δ), maximised over all (ε, δ) the noise
satisfies (bounds/pixeldp_radius.py: the continuous supremum). The expected scores are estimated from n
draws with Clopper–Pearson (votes), Hoeffding or empirical-Bernstein bounds (Lecuyer et al. 2019, Sec. 3.3,
eq. (4)) with Bonferroni over the K classes, so all K intervals hold together with probability >= 1 - α and
choosing the top class from the same draws is sound. Expected softmax scores are the class probabilities of
the randomized classifier that samples its answer from the softmax, so every route of bounds/radius.py
applies to them as well (reported side by side).
"""
from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from bounds.confidence import (bernoulli_variance, bernstein_lower, bernstein_upper, bonferroni,
                               clopper_pearson_lower, clopper_pearson_upper, hoeffding_lower, hoeffding_upper)
from bounds.radius import radii_from_noise, radius_from_noise
from bounds.safe_rounding import round_down
from mechanisms.validate import choice, integer, positive, probability

BOUNDS = ("cp", "hoeffding", "bernstein")
SCORES = ("softmax", "votes")
NOISE_NORM = {"gaussian": 2, "laplace": 1}  # the norm in which the noise layer's own guarantee holds
SENSITIVITY_NORMS = ((1, 1), (1, 2), (2, 2))
EXACT_LIMIT = 4096  # ℓ2→ℓ2: the matrix is materialised (exact spectral norm) up to this input dimension


@dataclass(frozen=True)
class Sensitivity:
    """An ℓ_input→ℓ_output operator-norm bound of the layers before the noise layer.

    ``method``: "exact" (one affine block, norm computed exactly), "product" (blocks separated by ReLUs,
    which are 1-Lipschitz coordinate-wise: the product of the blocks' norms bounds the whole) or "power"
    (a block's ℓ2→ℓ2 norm estimated by power iteration: converges from below, the PixelDP practice)."""
    value: float
    input_norm: int
    output_norm: int
    method: str
    blocks: tuple


def split_at_noise(model) -> tuple[nn.Sequential, nn.Module, nn.Sequential]:
    """(pre, noise layer, post) of an nn.Sequential holding exactly one noise layer."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"model must be an nn.Sequential with one noise layer, got {type(model).__name__}")
    where = [i for i, m in enumerate(model) if getattr(m, "is_noise_layer", False)]
    if len(where) != 1:
        raise ValueError(f"model must hold exactly one noise layer, found {len(where)}")
    i = where[0]
    return model[:i], model[i], model[i + 1:]


def _affine_blocks(layers: nn.Sequential) -> list[nn.Sequential]:
    """The layers split at ReLUs into blocks that must be affine (checked numerically later)."""
    blocks, current = [], []
    for layer in layers:
        if isinstance(layer, nn.ReLU):
            blocks.append(nn.Sequential(*current))
            current = []
        else:
            current.append(layer)
    return blocks + [nn.Sequential(*current)]


def _linear_part(block, shape, device, dtype):
    """v ↦ block(v) - block(0), checked to be linear on random vectors (ValueError otherwise)."""
    zero = torch.zeros((1, *shape), device=device, dtype=dtype)
    offset = block(zero)

    def apply(v):
        return (block(v.reshape(-1, *shape)) - offset).flatten(1)

    gen = torch.Generator(device=device).manual_seed(0)
    a, b = (torch.randn((1, *shape), generator=gen, device=device, dtype=dtype) for _ in range(2))
    if not torch.allclose(apply(a + b), apply(a) + apply(b), rtol=1e-6, atol=1e-9):
        names = ", ".join(type(m).__name__ for m in block)
        raise ValueError(f"layers before the noise layer must be affine maps separated by ReLUs; the block "
                         f"({names}) is not affine")
    return apply, offset.shape[1:]


def _column_norms(apply, d_in, ord_, device, dtype, chunk=1024) -> float:
    """max_i ‖J e_i‖_ord: the exact ℓ1→ℓ_ord norm of J (the largest column norm)."""
    best = 0.0
    for start in range(0, d_in, chunk):
        eye = torch.eye(d_in, device=device, dtype=dtype)[start:start + chunk]
        best = max(best, float(torch.linalg.vector_norm(apply(eye), ord=ord_, dim=1).max()))
    return best


def _spectral_norm(apply, d_in, iterations, device, dtype) -> tuple[float, str]:
    """‖J‖₂: exact (singular values of the materialised matrix) up to EXACT_LIMIT inputs, else power
    iteration on JᵀJ through autograd."""
    if d_in <= EXACT_LIMIT:
        matrix = apply(torch.eye(d_in, device=device, dtype=dtype))
        return float(torch.linalg.matrix_norm(matrix, ord=2)), "exact"
    gen = torch.Generator(device=device).manual_seed(0)
    v = torch.randn((1, d_in), generator=gen, device=device, dtype=dtype)
    value = 0.0
    for _ in range(iterations):
        v = v / v.norm()
        with torch.enable_grad():
            v.requires_grad_(True)
            out = apply(v)
            w, = torch.autograd.grad(out, v, grad_outputs=out.detach())
        value, v = float(out.norm()), w.detach()
    return value, "power"


def pre_noise_sensitivity(layers, input_shape, *, input_norm: int = 2, output_norm: int = 2,
                          iterations: int = 100, device="cpu", dtype=torch.float64) -> Sensitivity:
    """Operator-norm bound Δ with ‖pre(x) - pre(x')‖_out <= Δ ‖x - x'‖_in (Lecuyer et al. 2019, Sec. 3.2:
    the sensitivity the noise is calibrated to).

    ℓ1→ℓ1 and ℓ1→ℓ2: the largest column norm of each affine block's matrix (exact, Lecuyer et al. eq. (5));
    ℓ2→ℓ2: the spectral norm, exact when the block has at most EXACT_LIMIT inputs, else ``iterations`` of
    power iteration. Blocks separated by ReLUs multiply (the first ℓ_in→ℓ_out, the rest ℓ_out→ℓ_out; ℓ1→ℓ2
    blocks after the first are ℓ2→ℓ2). An empty ``layers`` (noise on the input) has Δ = 1."""
    pair = (integer("input_norm", input_norm, minimum=1), integer("output_norm", output_norm, minimum=1))
    if pair not in SENSITIVITY_NORMS:
        raise ValueError(f"(input_norm, output_norm) must be one of {SENSITIVITY_NORMS}, got {pair}")
    iterations = integer("iterations", iterations, minimum=1)
    device = torch.device(device)
    layers = _copy_to(layers, device, dtype)
    shape, norms, methods = tuple(input_shape), [], []
    with torch.no_grad():
        for k, block in enumerate(_affine_blocks(layers)):
            apply, out_shape = _linear_part(block, shape, device, dtype)
            d_in = int(np.prod(shape))
            p = pair[0] if k == 0 else pair[1]
            if p == 1:
                norms.append(_column_norms(apply, d_in, pair[1], device, dtype))
                methods.append("exact")
            else:
                value, method = _spectral_norm(apply, d_in, iterations, device, dtype)
                norms.append(value)
                methods.append(method)
            shape = tuple(out_shape)
    method = "power" if "power" in methods else ("exact" if len(norms) == 1 else "product")
    return Sensitivity(float(np.prod(norms)), pair[0], pair[1], method, tuple(norms))


def _copy_to(layers, device, dtype):
    return copy.deepcopy(layers).to(device=device, dtype=dtype).eval()


@dataclass(frozen=True)
class PixelDPCertificate:
    """One input's PixelDP answer: ``prediction`` (the top expected score) and ``radius`` (Prop. 1 maximised
    over the noise's (ε, δ), in the input's ℓ_norm, divided by the sensitivity; 0.0 when p_A <= p_B), with
    the bounds p_A (top class, lower) and p_B (runner-up, upper) that hold jointly with probability >= 1 - α.
    ``radii``: every route of bounds/radius.py for the same (p_A, p_B), computed on first access."""
    prediction: int
    radius: float
    p_a_lower: float
    p_b_upper: float
    scores: tuple
    n: int
    alpha: float
    bound: str
    score_kind: str
    noise: str
    scale: float
    sensitivity: float
    norm: int

    def __iter__(self):
        return iter((self.prediction, self.radius))

    @functools.cached_property
    def radii(self) -> dict:
        radii = radii_from_noise(self.scale, self.p_a_lower, self.p_b_upper, norm=NOISE_NORM[self.noise],
                                 noise=self.noise)
        return {route: _per_sensitivity(r, self.sensitivity) for route, r in radii.items()}


def _per_sensitivity(radius: float, sensitivity: float) -> float:
    """A radius in the noise layer's space as one in the input's: R/Δ, rounded down."""
    return round_down(radius / sensitivity)


def _interval(bound, total, total_sq, n, level, votes):
    """(lower, upper) of one class's expected score from the sum and sum of squares of n draws."""
    mean = min(1.0, max(0.0, total / n))
    if bound == "cp":
        count = int(round(total))
        return clopper_pearson_lower(count, n, level), clopper_pearson_upper(count, n, level)
    if bound == "hoeffding":
        return hoeffding_lower(mean, n, level), hoeffding_upper(mean, n, level)
    variance = bernoulli_variance(int(round(total)), n) if votes else max(0.0, (total_sq - total * mean) / (n - 1))
    return bernstein_lower(mean, variance, n, level), bernstein_upper(mean, variance, n, level)


def _score_sums(pre, layer, post, x_i, n, batch_size, votes):
    """Sums and sums of squares [K] (float64) of the scores over n draws of the noise layer."""
    h = pre(x_i.unsqueeze(0))
    total = total_sq = None
    remaining = n
    while remaining > 0:
        size = min(batch_size, remaining)
        remaining -= size
        logits = post(layer(h.expand(size, *h.shape[1:])))
        if votes:
            scores = nn.functional.one_hot(logits.argmax(1), logits.shape[1]).to(torch.float64)
        else:
            scores = torch.softmax(logits.to(torch.float64), dim=1)
        if total is None:
            total, total_sq = scores.sum(0), (scores * scores).sum(0)
        else:
            total, total_sq = total + scores.sum(0), total_sq + (scores * scores).sum(0)
    return total.cpu().numpy(), total_sq.cpu().numpy()


def pixeldp_certify(model, x: torch.Tensor, *, n: int = 1000, alpha=0.05, bound: str = "hoeffding",
                    scores: str = "softmax", norm=None, sensitivity: Sensitivity | float | None = None,
                    batch_size: int = 1000, device="cpu", seed=None) -> list[PixelDPCertificate]:
    """PixelDP certification (Lecuyer et al. 2019, Sec. 3.3 and Prop. 1) of each input of x [N, *shape].

    model: nn.Sequential pre -> NoiseLayer -> post (already on ``device``); n noise draws per input;
    bound: "cp" (Clopper–Pearson, votes only), "hoeffding" or "bernstein" (empirical Bernstein, Maurer &
    Pontil 2009), each at level α/K (Bonferroni over the K classes); scores: "softmax" or "votes";
    norm: the input norm certified (default the noise's: 2 for Gaussian, 1 for Laplace; ℓ1 with a Gaussian
    layer uses the ℓ1→ℓ2 sensitivity); sensitivity: a ``Sensitivity``/float, or None to measure it with
    ``pre_noise_sensitivity``. The noise layer is switched on and, when ``seed`` is given, driven by a seeded
    generator for the call (both restored afterwards; seed=None uses the layer's own generator or torch's)."""
    pre, layer, post = split_at_noise(model)
    if not torch.is_tensor(x) or x.dim() < 2:
        raise TypeError("x must be a tensor of shape [N, *input shape]")
    n = integer("n", n, minimum=2)
    alpha = probability("alpha", alpha, zero=False, one=False)
    bound, kind = choice("bound", bound, BOUNDS), choice("scores", scores, SCORES)
    if bound == "cp" and kind != "votes":
        raise ValueError("bound='cp' (Clopper–Pearson) needs scores='votes' (0/1 draws)")
    batch_size = integer("batch_size", batch_size, minimum=1)
    noise_norm = NOISE_NORM[layer.distribution]
    norm = noise_norm if norm is None else integer("norm", norm, minimum=1)
    if (norm, noise_norm) not in SENSITIVITY_NORMS:
        raise ValueError(f"norm must be 1 or 2 for Gaussian noise and 1 for Laplace noise, got {norm}")
    device = torch.device(device)
    x = x.to(device)
    if sensitivity is None:
        sensitivity = pre_noise_sensitivity(pre, x.shape[1:], input_norm=norm, output_norm=noise_norm,
                                            device=device)
    delta_value = positive("sensitivity", sensitivity.value if isinstance(sensitivity, Sensitivity) else sensitivity)
    saved = (layer.active, layer.generator, model.training)
    if seed is not None:
        layer.generator = torch.Generator(device=device).manual_seed(integer("seed", seed))
    layer.active = True
    model.eval()
    try:
        with torch.inference_mode():
            sums = [_score_sums(pre, layer, post, x_i, n, batch_size, kind == "votes") for x_i in x]
    finally:
        layer.active, layer.generator = saved[0], saved[1]
        model.train(saved[2])
    return [_certificate(total, total_sq, n, alpha, bound, kind, layer, delta_value, norm)
            for total, total_sq in sums]


def _certificate(total, total_sq, n, alpha, bound, kind, layer, sensitivity, norm) -> PixelDPCertificate:
    level = bonferroni(alpha, len(total))
    intervals = [_interval(bound, t, s, n, level, kind == "votes") for t, s in zip(total, total_sq)]
    top = int(np.argmax(total))
    p_a = intervals[top][0]
    p_b = min(1.0 - p_a, max(u for k, (_, u) in enumerate(intervals) if k != top))
    radius = 0.0
    if p_a > p_b:
        native = radius_from_noise(layer.scale, p_a, p_b, route="pixeldp", norm=NOISE_NORM[layer.distribution],
                                   noise=layer.distribution)
        radius = _per_sensitivity(native, sensitivity)
    return PixelDPCertificate(top, radius, p_a, p_b, tuple(float(t / n) for t in total), n, alpha, bound, kind,
                              layer.distribution, layer.scale, sensitivity, norm)
