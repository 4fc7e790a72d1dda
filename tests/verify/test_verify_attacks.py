"""Soundness stated as properties: no attack ever beats a certificate (bound propagation, MIP, minimum
distortion), and PGD against closed-form optima of linear models."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

from verify import compute_bounds, margin_objective, minimum_distortion, mip_verify, pgd


def random_net(seed, conv):
    torch.manual_seed(seed)
    if conv:
        return nn.Sequential(nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(27, 12),
                             nn.ReLU(), nn.Linear(12, 4)).double()
    return nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)).double()


def margin_matrix(labels, n_classes):
    """Rows e_label - e_j for every j != label, [N, n_classes - 1, n_classes]."""
    C = torch.zeros(len(labels), n_classes - 1, n_classes, dtype=torch.float64)
    for n, y in enumerate(labels.tolist()):
        others = [j for j in range(n_classes) if j != y]
        C[n, torch.arange(n_classes - 1), y] = 1.0
        C[n, torch.arange(n_classes - 1), others] = -1.0
    return C


@settings(max_examples=30)
@given(seed=st.integers(0, 10_000), conv=st.booleans(), norm=st.sampled_from([math.inf, 2.0]),
       method=st.sampled_from(["ibp", "crown", "alpha-crown"]), eps=st.floats(0.01, 0.4), boxed=st.booleans())
def test_attack_never_beats_a_certificate(seed, conv, norm, method, eps, boxed):
    model = random_net(seed, conv)
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(3, *((1, 6, 6) if conv else (5,)), generator=gen, dtype=torch.float64)
    labels = model(x).argmax(1)
    C = margin_matrix(labels, 4)
    x_min, x_max = (0.0, 1.0) if boxed else (None, None)
    lower, _ = compute_bounds(model, x, eps=eps, norm=norm, method=method, C=C, x_min=x_min, x_max=x_max)
    adv = pgd(model, x, eps=eps, norm=norm, objective=margin_objective(labels), steps=30, restarts=2,
              x_min=x_min, x_max=x_max, seed=seed)
    distance = torch.linalg.vector_norm((adv - x).flatten(1), ord=norm, dim=1)
    assert (distance <= eps * (1 + 1e-12)).all()
    if boxed:
        assert adv.min() >= 0 and adv.max() <= 1
    margins = torch.einsum("nmk,nk->nm", C, model(adv))
    assert (margins >= lower - 1e-9).all()  # every margin at the attack point respects its certificate
    certified = (lower > 0).all(1)
    assert not (certified & (margin_objective(labels)(model(adv)) >= 0)).any()


@settings(max_examples=20)
@given(seed=st.integers(0, 10_000), eps=st.floats(0.01, 0.3))
def test_mip_verdict_agrees_with_certificates_and_attacks(seed, eps):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 10), nn.ReLU(), nn.Linear(10, 3)).double()
    x = torch.rand(1, 4, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    label = int(model(x).argmax())
    result = mip_verify(model, x, label, eps=eps, timeout=30, x_min=0.0, x_max=1.0)
    assert result.status in ("robust", "not robust")
    lower, _ = compute_bounds(model, x, eps=eps, C=margin_matrix(torch.tensor([label]), 3), method="alpha-crown",
                              x_min=0.0, x_max=1.0)
    adv = pgd(model, x, eps=eps, objective=margin_objective(torch.tensor([label])), steps=50, restarts=3,
              x_min=0.0, x_max=1.0, seed=seed)
    attacked = margin_objective(torch.tensor([label]))(model(adv)).item() >= 0
    if bool((lower > 0).all()):
        assert result.status == "robust"
    if attacked:
        assert result.status == "not robust"
    if result.status == "not robust":
        cex = result.counterexample
        assert (cex - x).abs().max() <= eps + 1e-12 and cex.min() >= 0 and cex.max() <= 1
        assert margin_objective(torch.tensor([label]))(model(cex)).item() >= -1e-8


@settings(max_examples=8)
@given(seed=st.integers(0, 10_000))
def test_no_attack_inside_the_minimum_distortion(seed):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    x = torch.rand(1, 3, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    label = int(model(x).argmax())
    result = minimum_distortion(model, x, label, tol=1e-3, timeout=30, x_min=0.0, x_max=1.0)
    objective = margin_objective(torch.tensor([label]))
    if result.lower > 0:
        adv = pgd(model, x, eps=result.lower, objective=objective, steps=100, restarts=5, x_min=0.0, x_max=1.0)
        assert objective(model(adv)).item() < 0
    if result.counterexample is not None:
        cex = result.counterexample
        assert (cex - x).abs().max() <= result.upper + 1e-12
        assert objective(model(cex)).item() >= -1e-8


@pytest.mark.parametrize("norm", [math.inf, 2.0])
def test_pgd_reaches_the_closed_form_optimum_of_a_linear_margin(norm):
    torch.manual_seed(0)
    model = nn.Linear(6, 2).double()
    x = torch.rand(4, 6, dtype=torch.float64)
    w = model.weight[1] - model.weight[0]  # objective y_1 - y_0 = w x + const, maximised over the ball
    eps = 0.3
    best = x + eps * (w.sign() if norm == math.inf else w / w.norm())
    objective = margin_objective(torch.zeros(4, dtype=torch.long))
    adv = pgd(model, x, eps=eps, norm=norm, objective=objective, steps=200)
    torch.testing.assert_close(objective(model(adv)), objective(model(best)), rtol=0, atol=1e-6)


def test_pgd_respects_a_box_that_cuts_the_ball():
    model = nn.Linear(3, 1, bias=False).double()
    with torch.no_grad():
        model.weight.copy_(torch.tensor([[1.0, -1.0, 2.0]]))
    x = torch.full((1, 3), 0.95, dtype=torch.float64)
    adv = pgd(model, x, eps=0.5, objective=lambda y: y[:, 0], x_min=0.0, x_max=1.0)
    # maximiser of x0 - x1 + 2 x2 over [0.45, 1.45]^3 ∩ [0, 1]^3
    torch.testing.assert_close(adv, torch.tensor([[1.0, 0.95 - 0.5, 1.0]], dtype=torch.float64), rtol=0, atol=0)


@pytest.mark.parametrize("kwargs, error, message", [
    ({"norm": 1}, ValueError, "norm must be one of"), ({"steps": 0}, ValueError, "steps must be an integer >= 1"),
    ({"restarts": 1.5}, TypeError, "restarts must be an integer"), ({"step_size": -0.1}, ValueError, "step_size"),
    ({"eps": -0.2}, ValueError, r"eps must be in \[0, inf\)")])
def test_pgd_bad_arguments(kwargs, error, message):
    args = {"eps": 0.1, "objective": lambda y: y.sum(1)} | kwargs
    with pytest.raises(error, match=message):
        pgd(nn.Linear(3, 2).double(), torch.rand(1, 3, dtype=torch.float64), **args)
