"""Per-example clipped sums against a Python loop over single examples (training/per_sample.py)."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from training.models import MLP, LeNet, SampleConvNet, TanhCNN, reject_batchnorm, replace_batchnorm
from training.per_sample import clipped_grad_sum, cross_entropy, ghost_supported

MODELS = [(SampleConvNet, (1, 28, 28)), (LeNet, (1, 28, 28)), (lambda: MLP(64, (16,)), (1, 8, 8)),
          (lambda: TanhCNN((4, 8), side=8), (1, 8, 8))]


def loop_reference(model, x, y, clip, per_layer=False):
    """Σ_i clip(∇ l_i) by one backward pass per example (the definition)."""
    total = [torch.zeros_like(p) for p in model.parameters()]
    names = [n.rpartition(".")[0] for n, _ in model.named_parameters()]
    layers = sorted(set(names))
    for i in range(x.shape[0]):
        model.zero_grad()
        cross_entropy(model(x[i]).unsqueeze(0), y[i:i + 1]).sum().backward()
        grads = [p.grad.clone() for p in model.parameters()]
        if per_layer:
            for layer in layers:
                members = [j for j, n in enumerate(names) if n == layer]
                norm = torch.sqrt(sum(grads[j].pow(2).sum() for j in members)).item()
                for j in members:
                    grads[j] *= min(1.0, clip / len(layers) ** 0.5 / (norm + 1e-6))
        else:
            norm = torch.sqrt(sum(g.pow(2).sum() for g in grads)).item()
            grads = [g * min(1.0, clip / (norm + 1e-6)) for g in grads]
        total = [t + g for t, g in zip(total, grads)]
    return total


@pytest.mark.parametrize("engine", ["vmap", "ghost"])
@pytest.mark.parametrize("factory,shape", MODELS)
@pytest.mark.parametrize("views,per_layer", [(1, False), (3, False), (2, True)])
def test_clipped_sum_equals_loop(engine, factory, shape, views, per_layer):
    torch.manual_seed(0)
    model = factory()
    x, y = torch.rand(5, views, *shape), torch.randint(0, 10, (5,))
    expected = loop_reference(model, x, y, 0.3, per_layer)
    # twice: the ghost engine times its two Conv2d routes on the first call and uses the faster after
    for _ in range(2):
        got = clipped_grad_sum(model, x, y, clip_norm=0.3, engine=engine, per_layer=per_layer)
        for e, g in zip(expected, got.grads):
            torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("engine", ["vmap", "ghost"])
def test_every_per_example_norm_is_clipped(engine):
    torch.manual_seed(1)
    model = LeNet()
    x, y = 3 * torch.rand(8, 1, 1, 28, 28), torch.randint(0, 10, (8,))
    for i in range(8):
        one = clipped_grad_sum(model, x[i:i + 1], y[i:i + 1], clip_norm=0.05, engine=engine)
        assert one.norms[0] > 0.05  # the unclipped gradient is larger than C ...
        assert torch.sqrt(sum(g.pow(2).sum() for g in one.grads)) <= 0.05 * (1 + 1e-5)  # ... the clipped is not


def test_empty_batch_gives_zero_sum():
    model = MLP(64, (16,))
    got = clipped_grad_sum(model, torch.zeros(0, 1, 1, 8, 8), torch.zeros(0, dtype=torch.long), clip_norm=1.0)
    assert all(float(g.abs().sum()) == 0.0 for g in got.grads)
    assert [g.shape for g in got.grads] == [p.shape for p in model.parameters()]


def test_batchnorm_rejected_with_advice_and_swapped():
    model = nn.Sequential(nn.Conv2d(1, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    with pytest.raises(ValueError, match="GroupNorm or LayerNorm"):
        clipped_grad_sum(model, torch.rand(2, 1, 1, 8, 8), torch.tensor([0, 1]), clip_norm=1.0)
    replace_batchnorm(model)
    assert isinstance(model[1], nn.GroupNorm) and model[1].num_channels == 8
    reject_batchnorm(model)  # no longer raises
    assert ghost_supported(model)


def test_ghost_refuses_what_it_cannot_do():
    embed = nn.Sequential(nn.Flatten(), nn.Linear(4, 4), nn.PReLU(), nn.Linear(4, 2))
    assert not ghost_supported(embed)
    with pytest.raises(ValueError, match="per_sample='vmap'"):
        clipped_grad_sum(embed, torch.rand(2, 1, 4), torch.tensor([0, 1]), clip_norm=1.0, engine="ghost")
    inplace = nn.Sequential(nn.Linear(4, 4), nn.ReLU(inplace=True), nn.Linear(4, 2))
    with pytest.raises(ValueError, match="in place"):
        clipped_grad_sum(inplace, torch.rand(2, 1, 4), torch.tensor([0, 1]), clip_norm=1.0, engine="ghost")


@pytest.mark.parametrize("kwargs,error", [({"clip_norm": 0.0}, ValueError), ({"clip_norm": 1.0, "engine": "x"}, ValueError)])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error, match="clip_norm|per_sample"):
        clipped_grad_sum(MLP(4, (2,)), torch.rand(2, 1, 1, 2, 2), torch.tensor([0, 1]), **kwargs)


@pytest.mark.parametrize("kernel, stride, dilation, padding", [(8, 2, 1, 3), (4, 2, 1, 0), (3, 1, 2, 1),
                                                               ((3, 5), (2, 1), (1, 2), (2, 0))])
def test_strided_patches_equal_torch_unfold(kernel, stride, dilation, padding):
    from training.per_sample import _unfold

    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, kernel, stride, padding, dilation=dilation)
    a = torch.randn(5, 3, 17, 19)
    assert torch.equal(_unfold(a, conv), F.unfold(a, conv.kernel_size, conv.dilation, conv.padding, conv.stride))
