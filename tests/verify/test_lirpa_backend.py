"""The auto_lirpa backend of compute_bounds (verify/lirpa_backend.py). auto_LiRPA 0.3 cannot import with
this torch, so CI checks the hand-over through a stand-in auto_LiRPA module that records what it receives:
the model in eval mode and the requested dtype, C as [N, m, outputs], the ℓ∞ set as the box InputSet builds,
ℓ2 as a plain ball, the method names auto-LiRPA uses; and that "auto" falls back to the native bounds.
(The real auto-LiRPA 0.3, in a torch 1.13 venv, gives the native ℓ∞ IBP and CROWN bounds to 6e-17 through
this backend: docs/verification.md.)"""
import math
import sys
import types

import pytest
import torch
from torch import nn

from verify import compute_bounds, lirpa_backend


def network():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3))


class Recorder:
    calls = []

    class PerturbationLpNorm:
        def __init__(self, norm, eps, x_L=None, x_U=None):
            self.norm, self.eps, self.x_L, self.x_U = norm, eps, x_L, x_U

    class BoundedTensor:
        def __init__(self, x, ptb):
            self.x, self.ptb = x, ptb

    class BoundedModule:
        def __init__(self, model, example, device):
            self.model = model

        def compute_bounds(self, x, C, method):
            (bounded,) = x
            Recorder.calls.append({"model": self.model, "ptb": bounded.ptb, "C": C, "method": method})
            out = C @ self.model(bounded.x).unsqueeze(-1)
            return out[..., 0] - 1.0, out[..., 0] + 1.0


@pytest.fixture
def stand_in(monkeypatch):
    module = types.ModuleType("auto_LiRPA")
    module.BoundedModule, module.BoundedTensor = Recorder.BoundedModule, Recorder.BoundedTensor
    module.PerturbationLpNorm = Recorder.PerturbationLpNorm
    monkeypatch.setitem(sys.modules, "auto_LiRPA", module)
    lirpa_backend.available.cache_clear()
    Recorder.calls.clear()
    yield Recorder.calls
    lirpa_backend.available.cache_clear()


def test_the_problem_is_handed_over_unchanged(stand_in):
    model, x = network(), torch.rand(2, 4, dtype=torch.float64)
    C = torch.tensor([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0]])
    lower, upper = compute_bounds(model, x, eps=0.1, method="crown", C=C, x_min=0.0, x_max=1.0,
                                  backend="auto_lirpa")
    call = stand_in[-1]
    assert call["method"] == "CROWN" and not call["model"].training
    assert all(p.dtype == torch.float64 for p in call["model"].parameters())
    assert call["C"].shape == (2, 2, 3) and torch.equal(call["C"][1], C.double())
    ptb = call["ptb"]
    assert ptb.norm == math.inf and torch.equal(ptb.x_L, (x - 0.1).clamp(min=0.0))
    assert torch.equal(ptb.x_U, (x + 0.1).clamp(max=1.0))
    centre = (C.double() @ model.double()(x).unsqueeze(-1))[..., 0]
    assert torch.allclose(lower, centre - 1.0) and torch.allclose(upper, centre + 1.0)
    compute_bounds(model, x, eps=0.5, norm=2, method="alpha-crown", x_min=0.0, x_max=1.0, backend="auto")
    ptb = stand_in[-1]["ptb"]
    assert stand_in[-1]["method"] == "CROWN-Optimized" and ptb.norm == 2.0 and ptb.eps == 0.5 and ptb.x_L is None


def test_auto_is_native_without_auto_lirpa(monkeypatch):
    monkeypatch.setitem(sys.modules, "auto_LiRPA", None)  # import fails
    lirpa_backend.available.cache_clear()
    model, x = network(), torch.rand(2, 4, dtype=torch.float64)
    try:
        auto = compute_bounds(model, x, eps=0.1, method="crown", backend="auto")
        native = compute_bounds(model, x, eps=0.1, method="crown", backend="native")
        assert all(torch.equal(a, b) for a, b in zip(auto, native))
        with pytest.raises(ValueError, match="auto_LiRPA"):
            compute_bounds(model, x, eps=0.1, backend="auto_lirpa")
        with pytest.raises(ValueError, match="backend"):
            compute_bounds(model, x, eps=0.1, backend="lirpa")
    finally:
        lirpa_backend.available.cache_clear()


def test_auto_falls_back_with_a_warning_when_auto_lirpa_fails(stand_in, monkeypatch):
    def broken(self, x, C, method):
        raise RuntimeError("unsupported torch")
    monkeypatch.setattr(Recorder.BoundedModule, "compute_bounds", broken)
    model, x = network(), torch.rand(2, 4, dtype=torch.float64)
    with pytest.warns(UserWarning, match="auto-LiRPA failed.*unsupported torch"):
        auto = compute_bounds(model, x, eps=0.1, method="crown")
    native = compute_bounds(model, x, eps=0.1, method="crown", backend="native")
    assert all(torch.equal(a, b) for a, b in zip(auto, native))
    with pytest.raises(RuntimeError, match="unsupported torch"):
        compute_bounds(model, x, eps=0.1, backend="auto_lirpa")
