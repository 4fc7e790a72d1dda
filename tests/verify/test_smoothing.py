"""CERTIFY and PREDICT (Cohen et al. 2019, Alg. 1) against scipy and against classifiers whose smoothed version
is known in closed form: a half-space f(x) = 1[wᵀx + b > 0] smoothed with N(0, σ²I) has p_A = Φ(d/σ) and the
exact ℓ2 robustness radius d = |wᵀx + b|/‖w‖ (REFERENCES §2); a 1-d threshold smoothed with Laplace(b) has
p_A = 1 - e^{-d/b}/2 and with U[-λ, λ] p_A = 1/2 + d/(2λ), where the Teng and Yang ℓ1 radii equal d exactly.
A certificate may exceed the true radius only when its Clopper–Pearson bound fails, with probability <= α:
tested statistically (one-sided binomial test at level 1e-4)."""
import math
import warnings

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from bounds.montecarlo import SampleSizeWarning
from verify.smoothing import ABSTAIN, certify, predict


class HalfSpace(nn.Module):
    """Logits (0, wᵀx + b): class 1 iff wᵀx + b > 0; records the largest batch it saw."""

    def __init__(self, w, b):
        super().__init__()
        self.w, self.b, self.largest_batch = w, b, 0

    def forward(self, x):
        self.largest_batch = max(self.largest_batch, x.shape[0])
        z = x.flatten(1) @ self.w.to(x.dtype) + self.b
        return torch.stack([torch.zeros_like(z), z], dim=1)


def not_more_than_alpha(violations, trials, alpha):
    """One-sided binomial test: is the violation count consistent with a rate <= alpha (at level 1e-4)?"""
    return stats.binom.sf(violations - 1, trials, alpha) > 1e-4


def test_certificate_matches_scipy_clopper_pearson_and_cohen_radius():
    torch.manual_seed(0)
    model = HalfSpace(torch.randn(6), 0.3)
    x = torch.rand(5, 6)
    sigma, n, alpha = 0.7, 3000, 0.01
    for cert in certify(model, x, sigma=sigma, n0=50, n=n, alpha=alpha, seed=1):
        expected = stats.beta.ppf(alpha, cert.count, n - cert.count + 1)
        assert cert.p_a_lower == pytest.approx(expected, rel=1e-12)
        if expected > 0.5:
            assert cert.radius == pytest.approx(sigma * stats.norm.ppf(expected), rel=1e-12)
            assert cert.radius <= sigma * stats.norm.ppf(expected)  # rounded down, never over-reported
            assert set(cert.radii) == {"gdp", "renyi", "tv", "pixeldp", "auto"}
            assert all(r <= cert.radii["gdp"] for r in cert.radii.values())  # Cohen is tight
        else:
            assert (cert.prediction, cert.radius) == (ABSTAIN, 0.0)


def test_gaussian_certify_never_exceeds_the_exact_halfspace_radius_beyond_alpha():
    gen = torch.Generator().manual_seed(3)
    w = torch.randn(10, generator=gen)
    model = HalfSpace(w, 0.0)
    x = torch.randn(300, 10, generator=gen) * 0.4
    sigma, alpha = 0.5, 0.05
    margin = x @ w
    distance = (margin.abs() / w.norm()).numpy()
    truth = (margin > 0).long().numpy()
    certs = certify(model, x, sigma=sigma, n0=64, n=800, alpha=alpha, batch_size=256, seed=5)
    wrong = sum(1 for c, d, t in zip(certs, distance, truth)
                if c.prediction != ABSTAIN and (c.prediction != t or c.radius >= d))
    assert not_more_than_alpha(wrong, len(certs), alpha)
    assert model.largest_batch <= 256  # noise streamed in batches, never n × input
    certified = [c.radius for c in certs if c.prediction != ABSTAIN]
    assert len(certified) > 100  # and the test is not vacuous


@pytest.mark.parametrize("noise,exact", [
    ("laplace", lambda d, s: 1 - 0.5 * np.exp(-d / s)),
    ("uniform", lambda d, s: np.clip(0.5 + d / (2 * s), 0, 1)),
])
def test_l1_noises_certify_within_the_exact_threshold_distance(noise, exact):
    model = HalfSpace(torch.ones(1), 0.0)
    x = torch.linspace(-1.5, 1.5, 121).reshape(-1, 1)
    scale, alpha, n = 1.0, 0.05, 2000
    certs = certify(model, x, sigma=scale, noise=noise, n0=64, n=n, alpha=alpha, seed=11)
    d = x.abs().flatten().numpy()
    wrong = sum(1 for c, dist, xi in zip(certs, d, x.flatten().tolist())
                if c.prediction != ABSTAIN and (c.prediction != int(xi > 0) or c.radius >= dist))
    assert not_more_than_alpha(wrong, len(certs), alpha)
    # the exact p_A gives the exact distance through each certificate's route, so the radii track d
    assert all(c.norm == 1.0 for c in certs)
    far = [c for c, dist in zip(certs, d) if 0.3 < dist and exact(dist, scale) < 0.995]
    assert far and all(c.radius > 0 for c in far)
    assert {"teng", "pixeldp"} <= set(certs[0].radii) if noise == "laplace" else {"tv"} <= set(certs[0].radii)


def test_predict_is_the_two_sided_binomial_test():
    model = HalfSpace(torch.ones(2), 0.0)
    x = torch.tensor([[0.02, 0.0], [3.0, 3.0], [-3.0, -3.0]])
    alpha, n = 0.01, 400
    result = predict(model, x, sigma=1.0, n=n, alpha=alpha, seed=2)
    # far points: every draw agrees, and scipy's test rejects a tie
    assert stats.binomtest(n, n, 0.5).pvalue <= alpha
    assert result[1] == 1 and result[2] == 0
    # near the boundary p ≈ 0.51: the test cannot separate the top two with 400 draws
    assert result[0] == ABSTAIN


def test_too_few_draws_warn_and_abstain():
    model = HalfSpace(torch.ones(1), 0.0)
    with pytest.warns(SampleSizeWarning):
        cert, = certify(model, torch.tensor([[5.0]]), sigma=0.1, n0=5, n=9, alpha=0.001, seed=0)
    assert stats.beta.ppf(0.001, 9, 1) < 0.5 and cert.prediction == ABSTAIN
    with pytest.warns(SampleSizeWarning):
        assert predict(model, torch.tensor([[5.0]]), sigma=0.1, n=10, alpha=0.001, seed=0)[0] == ABSTAIN


def test_seed_reproduces_and_model_mode_is_restored():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3)).train()
    x = torch.rand(3, 4)
    first = certify(model, x, sigma=0.5, n=500, alpha=0.01, seed=7)
    second = certify(model, x, sigma=0.5, n=500, alpha=0.01, seed=7)
    assert [(c.count, c.radius) for c in first] == [(c.count, c.radius) for c in second]
    prediction, radius = first[0]
    assert (prediction, radius) == (first[0].prediction, first[0].radius)
    assert model.training


@pytest.mark.parametrize("kwargs,match", [
    ({"sigma": 0.0}, "sigma"), ({"sigma": 1.0, "alpha": 1.5}, "alpha"), ({"sigma": 1.0, "n": 0}, "n must"),
    ({"sigma": 1.0, "noise": "cauchy"}, "noise"), ({"sigma": 1.0, "batch_size": 0}, "batch_size"),
])
def test_bad_arguments_name_the_parameter(kwargs, match):
    with pytest.raises(ValueError, match=match):
        certify(HalfSpace(torch.ones(1), 0.0), torch.zeros(1, 1), **kwargs)


def test_x_must_be_a_batch():
    with pytest.raises(TypeError, match="x must be"):
        certify(HalfSpace(torch.ones(1), 0.0), torch.zeros(1), sigma=1.0)


@pytest.mark.gpu
def test_cuda_certify_matches_the_exact_radius():
    model = HalfSpace(torch.ones(3, device="cuda"), 0.0)
    x = torch.full((2, 3), 0.2, device="cuda")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        certs = certify(model, x, sigma=0.25, n=20_000, alpha=0.001, device="cuda", seed=0)
    exact = 0.6 / math.sqrt(3)
    assert all(c.prediction == 1 and 0.9 * exact < c.radius < exact for c in certs)


def test_optimized_cpu_graph_gives_the_same_counts_as_eager():
    """inference_model only changes how f is evaluated: with the same noise, the counts agree (no near-ties
    at these inputs for the float rounding to break)."""
    torch.manual_seed(4)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(64, 3)).eval()
    x = torch.rand(2, 1, 4, 4)
    fast = certify(model, x, sigma=0.3, n=400, alpha=0.01, seed=3, batch_size=128)
    eager = certify(model, x, sigma=0.3, n=400, alpha=0.01, seed=3, batch_size=128, optimize=False)
    assert [(c.prediction, c.count) for c in fast] == [(c.prediction, c.count) for c in eager]
    model[0].weight.data.mul_(-1)  # a changed model is re-traced, not served from the cache
    changed = certify(model, x, sigma=0.3, n=400, alpha=0.01, seed=3, batch_size=128)
    eager = certify(model, x, sigma=0.3, n=400, alpha=0.01, seed=3, batch_size=128, optimize=False)
    assert [c.count for c in changed] == [c.count for c in eager]
