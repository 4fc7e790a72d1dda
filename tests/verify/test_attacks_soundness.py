"""Soundness on a trained network: no attack (PGD ℓ∞/ℓ2 with restarts, Carlini–Wagner ℓ2, SmoothAdv) ever finds an
adversarial example inside a radius certified by CROWN, the MIP, or CERTIFY (for CERTIFY at most at the α
rate, tested statistically). The network is a small MLP trained here in a few seconds on sklearn's digits
with Gaussian noise augmentation; Carlini–Wagner is also checked against the closed-form distance to a
linear decision boundary (inside a box wide enough not to matter)."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from scipy import stats
from torch import nn

from training.data import load_dataset
from verify import compute_bounds, margin_objective, mip_verify, pgd
from verify.attacks import carlini_wagner_l2, smoothed_pgd
from verify.smoothing import ABSTAIN, certify, predict

SIGMA = 0.25


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny networks: one thread avoids oversubscription on a shared 2-core machine (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def trained(one_thread):
    torch.manual_seed(0)
    data = load_dataset("digits")
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    gen = torch.Generator().manual_seed(0)
    for _ in range(12):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            noisy = x[idx] + SIGMA * torch.randn(x[idx].shape, generator=gen)
            loss = nn.functional.cross_entropy(model(noisy), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    x_test, y_test = torch.as_tensor(data.x_test), torch.as_tensor(data.y_test)
    keep = model(x_test).argmax(1) == y_test
    assert keep.float().mean() > 0.85  # the network is trained, so the certificates are not vacuous
    return model.double(), x_test[keep].double(), y_test[keep]


def crown_radius(model, x, label, norm, steps=14):
    """The largest eps (bisection) at which CROWN proves every margin y_label - y_j > 0 on the ball ∩ [0, 1]."""
    C = -torch.eye(10, dtype=torch.float64)[[j for j in range(10) if j != label]]
    C[:, label] = 1.0
    lo, hi = 0.0, 1.0 if norm == math.inf else 4.0
    for _ in range(steps):
        mid = (lo + hi) / 2
        lower, _ = compute_bounds(model, x, eps=mid, norm=norm, method="crown", C=C, x_min=0.0, x_max=1.0)
        lo, hi = (mid, hi) if (lower > 0).all() else (lo, mid)
    return lo


@settings(max_examples=12, deadline=None)
@given(index=st.integers(0, 300), norm=st.sampled_from([math.inf, 2.0]))
def test_no_attack_beats_a_crown_certificate(trained, index, norm):
    model, xs, ys = trained
    x, y = xs[index:index + 1], ys[index:index + 1]
    radius = crown_radius(model, x, int(y), norm)
    adv = pgd(model, x, eps=radius, norm=norm, objective=margin_objective(y), steps=40, restarts=3,
              x_min=0.0, x_max=1.0, seed=index)
    assert torch.linalg.vector_norm((adv - x).flatten(), ord=norm) <= radius * (1 + 1e-9)
    assert model(adv).argmax(1).item() == int(y)
    if norm == 2.0:
        cw = carlini_wagner_l2(model, x, y, steps=100, binary_steps=5)
        assert not cw.success.item() or cw.distance.item() >= radius
        assert not cw.success.item() or model(cw.adversarial).argmax(1).item() != int(y)


@settings(max_examples=6, deadline=None)
@given(index=st.integers(0, 300), stretch=st.floats(1.0, 3.0))
def test_no_attack_beats_a_mip_verdict(trained, index, stretch):
    model, xs, ys = trained
    x, y = xs[index:index + 1], int(ys[index])
    eps = crown_radius(model, x, y, math.inf, steps=8) * stretch
    verdict = mip_verify(model, x, y, eps=eps, x_min=0.0, x_max=1.0, timeout=20)
    adv = pgd(model, x, eps=eps, objective=margin_objective(torch.tensor([y])), steps=40, restarts=3,
              x_min=0.0, x_max=1.0, seed=index)
    attacked = model(adv).argmax(1).item() != y
    assert not (verdict.status == "robust" and attacked)
    if verdict.status == "not robust":
        assert model(verdict.counterexample).argmax(1).item() != y


def test_carlini_wagner_reaches_the_closed_form_distance_of_a_linear_model():
    torch.manual_seed(0)
    model = nn.Linear(5, 3).double()
    x = torch.rand(6, 5, dtype=torch.float64) * 0.5 + 0.25
    y = model(x).argmax(1)
    result = carlini_wagner_l2(model, x, y, steps=200, binary_steps=5, x_min=-1.0, x_max=2.0)
    W, b = model.weight.detach(), model.bias.detach()
    for i in range(6):
        z = W @ x[i] + b
        exact = min(((z[y[i]] - z[j]) / (W[y[i]] - W[j]).norm()).item() for j in range(3) if j != y[i])
        assert result.success[i]
        assert exact * (1 - 1e-9) <= result.distance[i] <= exact * 1.02  # never closer than the boundary

def test_smoothadv_never_beats_certify_beyond_alpha(trained):
    """CERTIFY's radius holds with probability >= 1 - α (Cohen et al. 2019, Prop. 2): SmoothAdv inside it may
    flip the smoothed prediction (as judged by PREDICT) for at most about an α fraction of inputs."""
    model, xs, ys = trained
    x, y = xs[:40], ys[:40]
    alpha = 0.05
    certs = certify(model, x, sigma=SIGMA, n0=64, n=2000, alpha=alpha, seed=0)
    flipped, certified = 0, 0
    for i, cert in enumerate(certs):
        if cert.prediction == ABSTAIN:
            continue
        certified += 1
        target = torch.tensor([cert.prediction])
        adv = smoothed_pgd(model, x[i:i + 1], target, sigma=SIGMA, eps=0.999 * cert.radius, samples=32, steps=15,
                           x_min=0.0, x_max=1.0, seed=i)
        assert torch.linalg.vector_norm(adv - x[i:i + 1]) <= cert.radius
        judged = predict(model, adv, sigma=SIGMA, n=4000, alpha=0.001, seed=100 + i)[0]
        flipped += judged not in (ABSTAIN, cert.prediction)
    assert certified >= 25
    assert stats.binom.sf(flipped - 1, certified, alpha + 0.001) > 1e-4
    assert np.isfinite([c.radius for c in certs]).all()
