"""compute_bounds: soundness on sampled points, an independent numpy CROWN, exact cases, errors."""
import math

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from torch import nn
from verify_reference import SHARED, load_wk17a, mlp_weights, numpy_crown

from mechanisms.noise_layers import NoiseLayer
from verify import Normalize, compute_bounds

NORMS = (math.inf, 2.0, 1.0)
METHODS = ("ibp", "crown", "alpha-crown")


def mlp(seed, widths=(4, 12, 12, 3)):
    torch.manual_seed(seed)
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1]).double()


def cnn(seed):
    torch.manual_seed(seed)
    return nn.Sequential(
        Normalize(torch.tensor([0.4]).view(1, 1, 1), torch.tensor([0.3]).view(1, 1, 1)),
        nn.Conv2d(1, 3, 3, stride=2, padding=1), nn.BatchNorm2d(3), nn.ReLU(),
        nn.Sequential(nn.Conv2d(3, 4, 3, stride=1, padding=0), nn.ReLU(), nn.AvgPool2d(2)),
        nn.Flatten(), NoiseLayer(0.5, active=False), nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 3)).double().eval()


def sample_set(x, eps, norm, x_min, x_max, n, gen):
    """Points of the lp ball ∩ box: l-inf corners and uniform points; lp: random directions and radii."""
    N, d = x.shape[0], x[0].numel()
    if norm == math.inf:
        u = torch.rand(N, n, d, generator=gen, dtype=x.dtype)
        u[:, : n // 2] = u[:, : n // 2].round()  # corners
        delta = (2 * u - 1) * eps
    else:
        g = torch.randn(N, n, d, generator=gen, dtype=x.dtype)
        if norm == 1.0:
            g = torch.sign(g) * torch.distributions.Exponential(1.0).sample(g.shape).to(x.dtype)
        direction = g / torch.linalg.vector_norm(g, ord=norm, dim=-1, keepdim=True)
        radius = eps * torch.rand(N, n, 1, generator=gen, dtype=x.dtype) ** 0.25
        delta = direction * radius
        delta[:, 0] = 0.0
        if norm == 1.0:  # vertices of the l1 ball
            k = torch.randint(d, (N, n // 4), generator=gen)
            delta[:, 1:1 + n // 4] = 0.0
            delta[:, 1:1 + n // 4].scatter_(2, k.unsqueeze(-1), eps)
    pts = x.flatten(1).unsqueeze(1) + delta
    if x_min is not None:
        pts = pts.clamp(x_min, x_max)  # moving towards a box holding the centre stays in the ball
    return pts.reshape(N * n, *x.shape[1:])


@given(seed=st.integers(0, 10_000), norm=st.sampled_from(NORMS), method=st.sampled_from(METHODS),
       boxed=st.booleans(), conv=st.booleans(), eps=st.floats(0.01, 0.5), batch_stability=st.booleans())
def test_sampled_points_never_leave_the_bounds(seed, norm, method, boxed, conv, eps, batch_stability):
    model = cnn(seed) if conv else mlp(seed)
    if conv:
        model[2].running_mean.uniform_(-0.5, 0.5)
        model[2].running_var.uniform_(0.5, 2.0)
    gen = torch.Generator().manual_seed(seed)
    shape = (1, 10, 10) if conv else (4,)
    x = torch.rand(2, *shape, generator=gen, dtype=torch.float64)
    x_min, x_max = (0.0, 1.0) if boxed else (None, None)
    lower, upper = compute_bounds(model, x, eps=eps, norm=norm, method=method, x_min=x_min, x_max=x_max,
                                  batch_stability=batch_stability)
    pts = sample_set(x, eps, norm, x_min, x_max, 400, gen)
    with torch.no_grad():
        y = model(pts).reshape(2, 400, -1)
    assert (y >= lower.unsqueeze(1) - 1e-9).all()
    assert (y <= upper.unsqueeze(1) + 1e-9).all()


@pytest.mark.parametrize("norm", NORMS)
@pytest.mark.parametrize("boxed", [False, True])
def test_crown_matches_independent_numpy_crown(norm, boxed):
    model = mlp(3, (6, 30, 30, 20, 4))
    x = torch.rand(3, 6, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    x_min, x_max = (0.0, 1.0) if boxed and norm == math.inf else (None, None)
    lower, upper = compute_bounds(model, x, eps=0.15, norm=norm, x_min=x_min, x_max=x_max)
    for n in range(3):
        ref_l, ref_u = numpy_crown(mlp_weights(model), x[n].numpy(), 0.15, norm, x_min, x_max)
        np.testing.assert_allclose(lower[n].numpy(), ref_l, rtol=0, atol=1e-12)
        np.testing.assert_allclose(upper[n].numpy(), ref_u, rtol=0, atol=1e-12)


def test_linear_network_bounds_are_attained_at_corners():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2)).double()
    x = torch.tensor([[0.2, -0.1, 0.5]], dtype=torch.float64)
    corners = torch.tensor(np.array(np.meshgrid(*[[-1, 1]] * 3)).reshape(3, -1).T, dtype=torch.float64)
    y = model(x + 0.3 * corners)
    for method in METHODS:
        lower, upper = compute_bounds(model, x, eps=0.3, method=method)
        torch.testing.assert_close(lower[0], y.min(0).values, rtol=0, atol=1e-12)
        torch.testing.assert_close(upper[0], y.max(0).values, rtol=0, atol=1e-12)


def test_specification_matrix_gives_margin_bounds():
    model = mlp(5)
    x = torch.rand(4, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    C = torch.tensor([[1.0, -1.0, 0.0], [1.0, 0.0, -1.0]], dtype=torch.float64)
    pts = sample_set(x, 0.1, math.inf, None, None, 500, torch.Generator().manual_seed(3))
    margins = (model(pts) @ C.T).reshape(4, 500, 2)
    for method in METHODS:
        lower, upper = compute_bounds(model, x, eps=0.1, C=C, method=method)
        assert lower.shape == (4, 2)
        assert (margins >= lower.unsqueeze(1) - 1e-12).all() and (margins <= upper.unsqueeze(1) + 1e-12).all()
    # C folded into the last layer is at least as tight as bounding the outputs and then combining them
    lo_c, up_c = compute_bounds(model, x, eps=0.1, C=C, method="ibp")
    lo, up = compute_bounds(model, x, eps=0.1, method="ibp")
    assert (lo_c >= lo[:, [0, 0]] - up[:, [1, 2]] - 1e-12).all()


@pytest.mark.parametrize("norm", NORMS)
def test_alpha_crown_is_never_looser_than_crown(norm):
    model = mlp(7, (5, 40, 40, 5))
    x = torch.rand(3, 5, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    crown = compute_bounds(model, x, eps=0.2, norm=norm)
    alpha = compute_bounds(model, x, eps=0.2, norm=norm, method="alpha-crown")
    assert (alpha[0] >= crown[0] - 1e-12).all() and (alpha[1] <= crown[1] + 1e-12).all()
    assert (alpha[1] - alpha[0]).sum() < (crown[1] - crown[0]).sum()


def test_box_given_as_per_coordinate_eps():
    model = mlp(8)
    lo = torch.tensor([[0.0, 0.2, -0.5, 0.1]], dtype=torch.float64)
    hi = torch.tensor([[0.1, 0.9, -0.4, 0.1]], dtype=torch.float64)
    lower, upper = compute_bounds(model, (lo + hi) / 2, eps=(hi - lo) / 2)
    pts = lo + (hi - lo) * torch.rand(3000, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = model(pts)
    assert (y >= lower - 1e-12).all() and (y <= upper + 1e-12).all()
    same = compute_bounds(model, lo, eps=math.inf, x_min=lo, x_max=hi)
    torch.testing.assert_close(same[0], lower)


def test_zero_radius_gives_the_network_output():
    model = cnn(1)
    x = torch.rand(2, 1, 10, 10, dtype=torch.float64)
    for method in METHODS:
        lower, upper = compute_bounds(model, x, eps=0.0, method=method)
        torch.testing.assert_close(lower, model(x), rtol=0, atol=1e-12)
        torch.testing.assert_close(upper, model(x), rtol=0, atol=1e-12)


def test_float32_model_is_bounded_in_float64():
    model = mlp(9).float()
    x = torch.rand(2, 4)
    lower, _ = compute_bounds(model, x, eps=0.01)
    assert lower.dtype == torch.float64


def test_unsupported_layer_is_named():
    model = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Tanh()), nn.Linear(4, 2))
    with pytest.raises(TypeError, match=r"'1\.0' \(Tanh\) is not supported; supported layers: Sequential"):
        compute_bounds(model, torch.rand(1, 4), eps=0.1)


def test_batchnorm_in_training_mode_is_refused():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(TypeError, match="eval mode"):
        compute_bounds(model, torch.rand(1, 4), eps=0.1)


@pytest.mark.parametrize("kwargs, message", [
    ({"eps": -0.1}, r"eps must be in \[0, inf\)"),
    ({"eps": 0.1, "norm": 3}, "norm must be one of"),
    ({"eps": 0.1, "method": "lp"}, "method must be one of"),
    ({"eps": torch.full((1, 4), 0.1), "norm": 2}, "only allowed with norm=inf"),
    ({"eps": 0.1, "C": torch.ones(2, 5)}, r"C must have shape \[rows, 3\]"),
    ({"eps": 0.1, "x_min": 2.0, "x_max": 3.0}, "perturbation set is empty"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        compute_bounds(mlp(0), torch.rand(1, 4), **kwargs)


@pytest.mark.gpu
def test_cuda_bounds_equal_cpu_bounds():
    model = cnn(2)
    x = torch.rand(3, 1, 10, 10, dtype=torch.float64)
    for method in METHODS:
        cpu = compute_bounds(model, x, eps=0.05, method=method)
        gpu = compute_bounds(model.cuda(), x.cuda(), eps=0.05, method=method)
        assert gpu[0].is_cuda
        torch.testing.assert_close(gpu[0].cpu(), cpu[0], rtol=1e-9, atol=1e-9)
        torch.testing.assert_close(gpu[1].cpu(), cpu[1], rtol=1e-9, atol=1e-9)
        model = model.cpu()


@pytest.mark.parametrize("method", METHODS)
def test_an_example_bounds_do_not_depend_on_its_batch(method):
    """Exactly so for IBP and CROWN. alpha-CROWN's Adam amplifies rounding: moving its starting bounds by
    1e-15 moves its result by 4e-5 on this network (measured), and the rows bounded together differ from
    those bounded alone in the last bits; so there both answers must be at least CROWN's and close."""
    model = cnn(4).eval()
    x = torch.rand(6, 1, 10, 10, generator=torch.Generator().manual_seed(6), dtype=torch.float64)
    kwargs = dict(eps=0.08, x_min=0.0, x_max=1.0)
    together = compute_bounds(model, x, method=method, **kwargs)
    crown = compute_bounds(model, x, method="crown", **kwargs)
    for n in range(6):
        alone = compute_bounds(model, x[n:n + 1], method=method, **kwargs)
        if method == "alpha-crown":
            for bounds in (alone, (together[0][n:n + 1], together[1][n:n + 1])):
                assert (bounds[0] >= crown[0][n:n + 1] - 1e-9).all() and (bounds[1] <= crown[1][n:n + 1] + 1e-9).all()
        tol = 1e-3 if method == "alpha-crown" else 1e-9
        torch.testing.assert_close(alone[0], together[0][n:n + 1], rtol=0, atol=tol)
        torch.testing.assert_close(alone[1], together[1][n:n + 1], rtol=0, atol=tol)


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"needs the benchmark data at {SHARED}")
def test_batch_stability_rule_couples_the_examples_of_a_batch():
    """auto-LiRPA 0.3's rule on the trained WK17a CNN: alone, an example gets the per-example bounds; in a
    batch, neurons unstable for another example get CROWN bounds for it too, which is sound but looser."""
    model, X, Y = load_wk17a()
    x = torch.as_tensor(X[16:26], dtype=torch.float64).reshape(-1, 1, 28, 28)  # 19, 24, 25 are coupled
    kwargs = dict(eps=0.1, x_min=0.0, x_max=1.0)
    coupled = compute_bounds(model, x, batch_stability=True, **kwargs)
    per_example = compute_bounds(model, x, **kwargs)
    alone = compute_bounds(model, x[:1], batch_stability=True, **kwargs)
    torch.testing.assert_close(alone[0], per_example[0][:1], rtol=0, atol=1e-12)
    gap = per_example[0] - coupled[0]
    assert gap.max() > 1e-6
    y = model(x.float()).double()
    assert (coupled[0] <= y + 1e-6).all() and (y <= coupled[1] + 1e-6).all()
    with pytest.raises(TypeError, match="batch_stability must be a bool"):
        compute_bounds(model, x, batch_stability="yes", **kwargs)
