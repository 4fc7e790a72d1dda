"""Randomized-smoothing certification of a trained classifier by Monte Carlo (Cohen, Rosenfeld & Kolter 2019).

The smoothed classifier g(x) = argmax_c P[f(x + Z) = c] is queried only through counts of f's predictions
on noisy copies of x. CERTIFY (Cohen et al. 2019, Alg. 1 "CERTIFY") guesses the top class c_A from n0
selection draws, bounds p_A from below by the one-sided Clopper–Pearson bound at level α on n fresh
estimation draws, abstains unless p_A > 1/2 and certifies the radius of Thm. 1, R = σΦ⁻¹(p_A); the same
counts give the radius of every route of bounds/radius.py side by side (gdp = Cohen, renyi = Li et al. 2019,
tv, pixeldp = Lecuyer et al. 2019), and, for Laplace or uniform noise, the ℓ1 routes (Teng et al. 2020,
Yang et al. 2020). PREDICT (Alg. 1 "PREDICT") returns the top class only if the two-sided binomial test of
the top two counts rejects a tie at level α. The statistics live in bounds/montecarlo.py and
bounds/confidence.py; this module only draws the noise and counts. Noise is streamed in batches of
``batch_size`` (never n × input), under ``torch.inference_mode``, on any device.
"""
from __future__ import annotations

import functools
import time
import warnings
import weakref
from dataclasses import dataclass

import numpy as np
import torch

from bounds.confidence import clopper_pearson_lower
from bounds.montecarlo import check_sample_size, predict as predict_from_counts
from bounds.radius import ROUTES, radii_from_noise, radius_from_noise
from mechanisms.noise_layers import NoiseLayer
from mechanisms.validate import choice, integer, positive, probability

ABSTAIN = -1
# Layers whose nn.Sequential a trace captures exactly (no data-dependent control flow).
TRACEABLE = (torch.nn.Conv2d, torch.nn.Linear, torch.nn.ReLU, torch.nn.Flatten, torch.nn.AvgPool2d,
             torch.nn.MaxPool2d, torch.nn.BatchNorm1d, torch.nn.BatchNorm2d, torch.nn.Dropout, torch.nn.Identity)
_FROZEN: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
NOISES = tuple(ROUTES)  # gaussian, laplace, uniform
DEFAULT_NORM = {"gaussian": 2, "laplace": 1, "uniform": 1}


@dataclass(frozen=True)
class Certificate:
    """CERTIFY's answer for one input: ``prediction`` (ABSTAIN = -1) and ``radius`` (the tightest sound route
    for the noise, "auto" of bounds/radius.py; 0.0 when abstaining), with the counts behind them.

    ``radii``: {route: radius} for the same p_A (p_B = 1 - p_A) by every route of the noise
    (bounds/radius.radii_from_noise; computed on first access, since the searched routes cost milliseconds);
    the certificate holds with probability >= 1 - α over the draws (Cohen et al. 2019, Prop. 2). Unpacks as
    ``prediction, radius = certificate``."""
    prediction: int
    radius: float
    p_a_lower: float
    count: int
    n0: int
    n: int
    alpha: float
    sigma: float
    noise: str
    norm: float
    dim: int
    seconds: float = 0.0

    def __iter__(self):
        return iter((self.prediction, self.radius))

    @functools.cached_property
    def radii(self) -> dict:
        if self.prediction == ABSTAIN:
            return dict.fromkeys(ROUTES[self.noise] + ("auto",), 0.0)
        return radii_from_noise(self.sigma, self.p_a_lower, norm=self.norm, noise=self.noise, dim=self.dim)


def sample_noise(shape, noise: str, scale: float, generator: torch.Generator, device, dtype) -> torch.Tensor:
    """A tensor of i.i.d. noise: N(0, scale²) and uniform on [-scale, scale] (Yang et al. 2020) drawn in
    place (one pass over memory); Laplace(0, scale) by mechanisms/noise_layers.NoiseLayer's sampler."""
    like = torch.empty(shape, device=device, dtype=dtype)
    if noise == "gaussian":
        return like.normal_(0.0, scale, generator=generator)
    if noise == "uniform":
        return like.uniform_(-scale, scale, generator=generator)
    return NoiseLayer(scale, noise, generator=generator).sample_noise(like)


def sample_counts(model, x: torch.Tensor, num: int, *, noise: str, sigma: float, batch_size: int,
                  generator: torch.Generator, num_classes: int | None = None) -> np.ndarray:
    """Counts [classes] of argmax model(x + Z) over ``num`` i.i.d. noise draws Z, in batches of
    ``batch_size``; x is one input [*shape] on the model's device. Counted on the device (bincount),
    copied to the host once."""
    counts = None if num_classes is None else torch.zeros(num_classes, dtype=torch.int64, device=x.device)
    remaining = num
    while remaining > 0:
        size = min(batch_size, remaining)
        remaining -= size
        batch = sample_noise((size, *x.shape), noise, sigma, generator, x.device, x.dtype).add_(x)
        logits = model(batch)
        if counts is None:
            counts = torch.zeros(logits.shape[1], dtype=torch.int64, device=x.device)
        counts += torch.bincount(logits.argmax(1), minlength=counts.numel())
    return counts.cpu().numpy()


def _checked(x, sigma, noise, alpha, batch_size, seed, device):
    if not torch.is_tensor(x) or x.dim() < 2:
        raise TypeError("x must be a tensor of shape [N, *input shape]")
    noise = choice("noise", noise, NOISES)
    sigma = positive("sigma", sigma)
    alpha = probability("alpha", alpha, zero=False, one=False)
    batch_size = integer("batch_size", batch_size, minimum=1)
    device = torch.device(device)
    generator = torch.Generator(device=device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(integer("seed", seed))
    return x.to(device), sigma, noise, alpha, batch_size, generator


def inference_model(model, example: torch.Tensor):
    """On CPU, an nn.Sequential of TRACEABLE layers as a frozen TorchScript graph optimised for inference
    (torch.jit.freeze + optimize_for_inference: oneDNN conv+ReLU fusion and weight prepacking, about 2x on
    small CNNs); anything else, or a graph whose output differs from the model's by more than 1e-4 on the
    example, is returned unchanged. Cached per model while its parameters and buffers equal those traced
    (compared exactly at each call, so a model trained further is re-traced). Call in eval mode."""
    if (example.device.type != "cpu" or not isinstance(model, torch.nn.Sequential)
            or not all(isinstance(m, TRACEABLE) for m in model)):
        return model
    key = (tuple(example.shape[1:]), example.dtype)
    state = model.state_dict()
    cached = _FROZEN.get(model)
    if (cached is not None and cached[0] == key and cached[1].keys() == state.keys()
            and all(torch.equal(cached[1][k], v) for k, v in state.items())):
        return cached[2]
    try:
        with warnings.catch_warnings():  # torch.jit is deprecated in favour of torch.compile (which needs a
            warnings.simplefilter("ignore", DeprecationWarning)  # C++ toolchain); without it: eager
            frozen = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.trace(model, example)))
            same = torch.allclose(frozen(example[:3]), model(example[:3]), rtol=1e-4, atol=1e-4)
    except (RuntimeError, AttributeError):
        return model
    if not same:
        return model
    _FROZEN[model] = (key, {k: v.clone() for k, v in state.items()}, frozen)
    return frozen


class _EvalMode:
    """Run a module in eval mode and restore its training flag afterwards."""

    def __init__(self, model):
        self.model, self.was_training = model, getattr(model, "training", False)

    def __enter__(self):
        if isinstance(self.model, torch.nn.Module):
            self.model.eval()

    def __exit__(self, *exc):
        if isinstance(self.model, torch.nn.Module):
            self.model.train(self.was_training)


def certify(model, x: torch.Tensor, *, sigma, n0: int = 100, n: int = 100_000, alpha=0.001,
            batch_size: int = 1000, device="cpu", seed=None, noise: str = "gaussian", norm=None,
            num_classes: int | None = None, optimize: bool = True) -> list[Certificate]:
    """CERTIFY (Cohen et al. 2019, Alg. 1) for each input of x [N, *shape]: a list of ``Certificate``.

    Selection: c_A = the most frequent class of n0 draws; estimation: n fresh draws, p_A = Clopper–Pearson
    lower bound of count(c_A) at level α (one-sided); abstain unless p_A > 1/2; radius R = σΦ⁻¹(p_A)
    (Thm. 1) for Gaussian noise (ℓ2), and every route of bounds/radius.radii_from_noise for the same p_A.
    ``noise``: "gaussian" (σ the std), "laplace" (σ the scale b; ℓ1 radii, Teng et al. 2020 Thm. 1 and
    Lecuyer et al. 2019) or "uniform" (σ the half-width λ; ℓ1 radius 2λ(p_A - 1/2), Yang et al. 2020).
    ``norm`` of the reported radii (default 2 for Gaussian, 1 otherwise; others by bounds' conversion with
    the input dimension). The model is run in eval mode on ``device`` (it must already live there) under
    ``torch.inference_mode``; ``seed`` fixes the noise (None: fresh entropy); ``optimize`` evaluates a plain
    CPU nn.Sequential through ``inference_model`` (the same function up to float rounding). A warning
    (bounds.montecarlo.SampleSizeWarning) says when n draws can never certify at level α.
    """
    x, sigma, noise, alpha, batch_size, generator = _checked(x, sigma, noise, alpha, batch_size, seed, device)
    n0 = integer("n0", n0, minimum=1)
    n = integer("n", n, minimum=1)
    norm = DEFAULT_NORM[noise] if norm is None else norm
    dim = x[0].numel()
    check_sample_size(n, alpha, "certify")
    draw = dict(noise=noise, sigma=sigma, batch_size=batch_size, generator=generator, num_classes=num_classes)
    certificates = []
    with _EvalMode(model), torch.inference_mode():
        net = inference_model(model, x[:1].expand(min(batch_size, n), *x.shape[1:])) if optimize else model
        for x_i in x:
            start = time.perf_counter()
            c_a = int(np.argmax(sample_counts(net, x_i, n0, **draw)))
            count = int(sample_counts(net, x_i, n, **draw)[c_a])
            p_a = clopper_pearson_lower(count, n, alpha)
            if p_a > 0.5:
                prediction, radius = c_a, radius_from_noise(sigma, p_a, norm=norm, noise=noise, dim=dim)
            else:
                prediction, radius = ABSTAIN, 0.0
            certificates.append(Certificate(prediction, radius, p_a, count, n0, n, alpha, sigma, noise,
                                            float(norm), dim, time.perf_counter() - start))
    return certificates


def predict(model, x: torch.Tensor, *, sigma, n: int = 100_000, alpha=0.001, batch_size: int = 1000,
            device="cpu", seed=None, noise: str = "gaussian", num_classes: int | None = None,
            optimize: bool = True) -> np.ndarray:
    """PREDICT (Cohen et al. 2019, Alg. 1) for each input of x [N, *shape]: the top class of n noise draws
    if the two-sided binomial test of the top two counts (scipy.stats.binomtest, p = 1/2) rejects a tie at
    level α, else ABSTAIN (-1); returns an int64 array [N]. With probability >= 1 - α the returned class is
    g(x) (Prop. 1). Arguments as in ``certify``."""
    x, sigma, noise, alpha, batch_size, generator = _checked(x, sigma, noise, alpha, batch_size, seed, device)
    n = integer("n", n, minimum=1)
    out = np.empty(x.shape[0], dtype=np.int64)
    with _EvalMode(model), torch.inference_mode():
        net = inference_model(model, x[:1].expand(min(batch_size, n), *x.shape[1:])) if optimize else model
        for i, x_i in enumerate(x):
            counts = sample_counts(net, x_i, n, noise=noise, sigma=sigma, batch_size=batch_size,
                                   generator=generator, num_classes=num_classes)
            top = predict_from_counts(counts, alpha)
            out[i] = ABSTAIN if top is None else top
    return out

