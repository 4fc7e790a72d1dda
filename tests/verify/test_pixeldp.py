"""PixelDP certification (Lecuyer et al. 2019): pre-noise sensitivities against numpy's exact operator norms and
brute force, the score bounds against REFERENCES §2 (p = 0.99, n = 1000, per-class level 0.001: CP 0.97604,
Bernstein 0.95997, Hoeffding 0.93123), the Laplace radius against its closed form (b/2Δ) ln(p_A/p_B), and
soundness against a half-space whose exact radius is known."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy import stats
from torch import nn

import verify.pixeldp as pixeldp
from mechanisms.noise_layers import NoiseLayer
from verify.pixeldp import Sensitivity, pixeldp_certify, pre_noise_sensitivity, split_at_noise


def matrix_of(layer, shape):
    """The matrix of a linear layer (bias removed), by numpy from the layer's response to the basis."""
    d = int(np.prod(shape))
    with torch.no_grad():
        eye = torch.eye(d, dtype=torch.float64).reshape(d, *shape)
        return (layer.double()(eye) - layer.double()(torch.zeros(1, *shape, dtype=torch.float64))).flatten(1).numpy().T


@pytest.mark.parametrize("pair", [(1, 1), (1, 2), (2, 2)])
def test_linear_and_conv_sensitivity_are_exact_operator_norms(pair):
    torch.manual_seed(0)
    for layer, shape in [(nn.Linear(7, 5), (7,)), (nn.Conv2d(1, 3, 3, stride=2, padding=1), (1, 6, 6))]:
        J = matrix_of(layer, shape)
        expected = {(1, 1): np.abs(J).sum(0).max(), (1, 2): np.linalg.norm(J, axis=0).max(),
                    (2, 2): np.linalg.svd(J, compute_uv=False)[0]}[pair]
        s = pre_noise_sensitivity(nn.Sequential(layer), shape, input_norm=pair[0], output_norm=pair[1])
        assert s.value == pytest.approx(expected, rel=1e-10) and s.method == "exact"


def test_power_iteration_agrees_with_the_exact_spectral_norm(monkeypatch):
    torch.manual_seed(1)
    layer = nn.Conv2d(1, 4, 3, padding=1)
    exact = pre_noise_sensitivity(nn.Sequential(layer), (1, 8, 8)).value
    monkeypatch.setattr(pixeldp, "EXACT_LIMIT", 10)
    power = pre_noise_sensitivity(nn.Sequential(layer), (1, 8, 8), iterations=500)
    assert power.method == "power" and power.value == pytest.approx(exact, rel=1e-6)
    assert power.value <= exact * (1 + 1e-9)  # power iteration approaches from below


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), pair=st.sampled_from([(1, 1), (1, 2), (2, 2)]))
def test_sensitivity_bounds_every_output_change(seed, pair):
    """Theorem: ‖pre(x) - pre(x')‖_q <= Δ ‖x - x'‖_p for the measured Δ (here ReLU-separated blocks)."""
    torch.manual_seed(seed)
    pre = nn.Sequential(nn.Linear(6, 9), nn.ReLU(), nn.Linear(9, 4)).double()
    s = pre_noise_sensitivity(pre, (6,), input_norm=pair[0], output_norm=pair[1])
    assert s.method == "product" and len(s.blocks) == 2
    gen = torch.Generator().manual_seed(seed)
    x, x2 = torch.randn(200, 6, generator=gen, dtype=torch.float64), torch.randn(200, 6, generator=gen,
                                                                                dtype=torch.float64)
    with torch.no_grad():
        out = torch.linalg.vector_norm(pre(x) - pre(x2), ord=pair[1], dim=1)
    inp = torch.linalg.vector_norm(x - x2, ord=pair[0], dim=1)
    assert (out <= s.value * inp * (1 + 1e-9)).all()


def test_a_non_affine_layer_before_the_noise_is_refused():
    with pytest.raises(ValueError, match="not affine"):
        pre_noise_sensitivity(nn.Sequential(nn.Linear(3, 3), nn.Sigmoid()), (3,))
    with pytest.raises(ValueError, match="exactly one noise layer"):
        split_at_noise(nn.Sequential(nn.Linear(3, 3)))


class FixedVotes(nn.Module):
    """Ignores its input: of each batch, the first ``top`` rows vote class 0, the rest class 1 (K = 10)."""

    def __init__(self, top):
        super().__init__()
        self.top = top

    def forward(self, h):
        logits = torch.zeros(h.shape[0], 10, dtype=h.dtype)
        logits[:self.top, 0] = 1.0
        logits[self.top:, 1] = 1.0
        return logits


@pytest.mark.parametrize("bound,expected", [("cp", 0.97604), ("bernstein", 0.95997), ("hoeffding", 0.93123)])
def test_score_bounds_match_references(bound, expected):
    """K = 10 classes at α = 0.01: Bonferroni gives the per-class level 0.001 of REFERENCES §2."""
    model = nn.Sequential(NoiseLayer(1.0), FixedVotes(990))
    cert, = pixeldp_certify(model, torch.zeros(1, 2), n=1000, alpha=0.01, bound=bound, scores="votes",
                            batch_size=1000, seed=0)
    assert cert.p_a_lower == pytest.approx(expected, abs=5e-6)
    assert cert.prediction == 0 and cert.scores[0] == pytest.approx(0.99)


def test_laplace_radius_is_the_closed_form_over_the_sensitivity():
    model = nn.Sequential(nn.Linear(2, 2, bias=False), NoiseLayer(0.8, "laplace"), FixedVotes(990))
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([[2.0, 0.0], [1.0, 0.5]]))
    cert, = pixeldp_certify(model, torch.zeros(1, 2), n=1000, alpha=0.01, bound="cp", scores="votes", seed=0)
    assert cert.sensitivity == pytest.approx(3.0)  # ℓ1→ℓ1: the largest column ℓ1 norm, |2| + |1|
    expected = 0.8 / 3.0 / 2 * math.log(cert.p_a_lower / cert.p_b_upper)
    assert cert.radius == pytest.approx(expected, rel=1e-12) and cert.radius <= expected


def test_pixeldp_radius_never_exceeds_the_exact_halfspace_distance_beyond_alpha():
    """Noise on a linear layer A then a half-space on A x: the exact ℓ2 radius is |wᵀAx|/‖Aᵀw‖; PixelDP's
    radius (Prop. 1) is below Cohen's, so it may exceed the exact one only when a bound fails (prob. <= α)."""
    gen = torch.Generator().manual_seed(0)
    A, w = torch.randn(4, 4, generator=gen), torch.randn(4, generator=gen)
    head = nn.Linear(4, 2)
    with torch.no_grad():
        head.weight.copy_(torch.stack([torch.zeros(4), w]))
        head.bias.zero_()
    pre = nn.Linear(4, 4, bias=False)
    with torch.no_grad():
        pre.weight.copy_(A)
    model = nn.Sequential(pre, NoiseLayer(0.5), head)
    x = torch.randn(60, 4, generator=gen)
    alpha = 0.05
    certs = pixeldp_certify(model, x, n=500, alpha=alpha, bound="cp", scores="votes", seed=1)
    exact = ((x @ A.T @ w).abs() / (A.T @ w).norm()).numpy()
    truth = ((x @ A.T @ w) > 0).long().numpy()
    wrong = sum(1 for c, d, t in zip(certs, exact, truth) if c.radius > 0 and (c.prediction != t or c.radius >= d))
    assert stats.binom.sf(wrong - 1, len(certs), alpha) > 1e-4
    assert sum(c.radius > 0 for c in certs) > 20
    assert model[1].active and model[1].generator is None  # the layer is left as it was


def test_given_sensitivity_and_bad_arguments():
    model = nn.Sequential(NoiseLayer(1.0), FixedVotes(990))
    c1, = pixeldp_certify(model, torch.zeros(1, 2), n=1000, bound="cp", scores="votes", seed=0)
    c2, = pixeldp_certify(model, torch.zeros(1, 2), n=1000, bound="cp", scores="votes", seed=0,
                          sensitivity=Sensitivity(2.0, 2, 2, "exact", (2.0,)))
    assert c2.radius == pytest.approx(c1.radius / 2, rel=1e-12)
    assert set(c1.radii) == {"gdp", "renyi", "tv", "pixeldp", "auto"} and c1.radii["pixeldp"] == c1.radius
    with pytest.raises(ValueError, match="scores='votes'"):
        pixeldp_certify(model, torch.zeros(1, 2), bound="cp", scores="softmax")
    with pytest.raises(ValueError, match="bound"):
        pixeldp_certify(model, torch.zeros(1, 2), bound="chernoff")
    with pytest.raises(ValueError, match="sensitivity"):
        pixeldp_certify(model, torch.zeros(1, 2), sensitivity=-1.0)
