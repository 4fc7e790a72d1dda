"""Robust training: consistency loss, PixelDP sensitivity control, smoothing and adversarial training."""
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from bounds.radius import calibrated_noise
from training.data import load_dataset
from training.models import MLP
from training.pixeldp import PixelDPSpec, constrain, enforce, pixeldp_network, sensitivity
from training.robust import RobustConfig, consistency, train_robust
from training.views import Adversarial, Views


def test_consistency_loss_by_hand():
    torch.manual_seed(0)
    outputs, y = torch.randn(3, 4, 5), torch.tensor([0, 2, 4])
    got = consistency(0.7)(outputs, y)
    for i in range(3):
        p = outputs[i].softmax(-1).double()
        mean = p.mean(0)
        ce = np.mean([-math.log(p[k, y[i]]) for k in range(4)])
        kl = np.mean([float((mean * (mean.log() - p[k].log())).sum()) for k in range(4)])
        assert float(got[i]) == pytest.approx(ce + 0.7 * kl, rel=1e-5)
    same = outputs[:, :1].expand(-1, 4, -1)
    torch.testing.assert_close(consistency(5.0)(same, y), F.cross_entropy(outputs[:, 0], y, reduction="none"))


def test_linear_sensitivity_is_the_spectral_norm_and_column_norms():
    torch.manual_seed(0)
    pre = nn.Sequential(nn.Flatten(), nn.Linear(12, 7))
    w = pre[1].weight.detach().double().numpy()
    assert sensitivity(pre, "l2-l2") == pytest.approx(np.linalg.svd(w, compute_uv=False)[0], rel=1e-12)
    assert sensitivity(pre, "l1-l2") == pytest.approx(np.linalg.norm(w, axis=0).max(), rel=1e-12)
    assert sensitivity(pre, "l1-l1") == pytest.approx(np.abs(w).sum(0).max(), rel=1e-12)


@pytest.mark.parametrize("route,p_in,p_out", [("l2-l2", 2, 2), ("l1-l2", 1, 2), ("l1-l1", 1, 1)])
def test_conv_sensitivity_bounds_every_observed_ratio(route, p_in, p_out):
    torch.manual_seed(1)
    pre = nn.Sequential(nn.Conv2d(2, 3, 4, stride=2, padding=1), nn.ReLU())
    bound = sensitivity(pre, route)
    x = torch.rand(1, 2, 10, 10)
    for _ in range(200):
        d = torch.zeros_like(x)
        if p_in == 1:  # the extreme points of the l1 ball: one pixel
            d.view(-1)[torch.randint(d.numel(), (1,))] = 1.0
        else:
            d = torch.randn_like(x)
        change = (pre(x + d) - pre(x)).flatten().norm(p=p_out)
        assert change <= bound * d.flatten().norm(p=p_in) * (1 + 1e-6)


@pytest.mark.parametrize("route,layers", [("l1-l2", 1), ("l1-l1", 2)])
def test_column_normalisation_projects_exactly(route, layers):
    # exact for the l1 -> l2 first layer and every l1 -> l1 layer (later l2 -> l2 layers are Parseval's)
    torch.manual_seed(2)
    pre = nn.Sequential(nn.Linear(6, 6, bias=False), nn.ReLU(), nn.Linear(6, 4))[:2 * layers - 1]
    with torch.no_grad():
        for p in pre.parameters():
            p.mul_(10)
    constrain(pre, route)
    assert sensitivity(pre, route) <= 1 + 1e-6


def test_parseval_step_caps_and_enforce_caps_the_spectral_norm():
    torch.manual_seed(3)
    pre = nn.Sequential(nn.Linear(8, 8))
    with torch.no_grad():
        pre[0].weight.mul_(2.0 / torch.linalg.matrix_norm(pre[0].weight, ord=2))
    assert enforce(pre, "l2-l2") == pytest.approx(2.0, rel=1e-5)   # measured before scaling
    assert sensitivity(pre, "l2-l2") <= 1.0
    conv = nn.Sequential(nn.Conv2d(2, 4, 3))                         # overlap m = 9: bound 3 ||W||
    with torch.no_grad():
        conv[0].weight.mul_(10)
    constrain(conv, "l2-l2", beta=0.01)
    assert sensitivity(conv, "l2-l2") <= 1 + 1e-5


def test_pixeldp_noise_is_calibrated_by_bounds_and_stays_on():
    spec = PixelDPSpec(epsilon=1.0, delta=0.05, l_attack=0.3)
    net = pixeldp_network(nn.Sequential(nn.Flatten(), nn.Linear(4, 4)), nn.Linear(4, 2), spec)
    kind, scale = calibrated_noise(1.0, 0.05, 0.3, norm=2)
    assert net[1].scale == scale and net[1].distribution == kind == "gaussian"
    net.eval()
    x = torch.rand(1, 4)
    assert not torch.equal(net(x), net(x))  # randomized at inference
    assert PixelDPSpec(1.0, 0.0, 0.3, route="l1-l1").noise().distribution == "laplace"
    with pytest.raises(ValueError, match="pre-noise layers"):
        pixeldp_network(nn.Sequential(nn.BatchNorm1d(4)), nn.Identity(), spec)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_noise_augmented_training_records_sigma_and_learns(digits):
    torch.manual_seed(0)
    config = RobustConfig(epochs=4, batch_size=64, lr=0.1, views=Views(multiplicity=2, noise_std=0.25))
    result = train_robust(MLP(64, (64,)), digits, config=config, criterion=consistency(1.0), progress=False)
    assert result.smoothing_sigma == 0.25 and result.sensitivity is None
    assert result.test_accuracy > 0.85


def test_adversarial_training_beats_standard_training_under_attack(digits):
    from verify.attacks import pgd

    def robust_accuracy(model):
        x, y = torch.as_tensor(digits.x_test[:180]), torch.as_tensor(digits.y_test[:180])
        adv = pgd(model, x, eps=0.1, objective=lambda o: F.cross_entropy(o, y, reduction="none"), steps=5,
                  x_min=0.0, x_max=1.0)
        return float((model(adv).argmax(1) == y).float().mean())

    accs = {}
    for name, views in (("standard", Views()), ("adversarial", Views(adversarial=Adversarial(math.inf, 0.1, steps=2, restarts=1)))):
        torch.manual_seed(0)
        config = RobustConfig(epochs=3, batch_size=64, lr=0.1, views=views)
        accs[name] = robust_accuracy(train_robust(MLP(64, (64,)), digits, config=config, progress=False).model)
    assert accs["adversarial"] > accs["standard"] + 0.1


@pytest.mark.parametrize("route", ["l2-l2", "l1-l1"])
def test_pixeldp_networks_train_privately_and_non_privately_within_sensitivity_one(digits, route):
    from training.loop import DPConfig, train_dpsgd
    from training.pixeldp import after_first_layer, pre_noise_layers

    spec = PixelDPSpec(1.0, 0.05 if route == "l2-l2" else 0.0, 0.1, route=route)
    torch.manual_seed(0)
    net = after_first_layer(MLP(64, (32,), activation=nn.Tanh), spec)
    private = train_dpsgd(net, digits, config=DPConfig(epochs=2, batch_size=300, lr=1.0), noise_multiplier=1.0,
                          pixeldp_route=route, progress=False)
    assert private.pixeldp_sensitivity is not None
    assert sensitivity(pre_noise_layers(private.model), route) <= 1 + 1e-9
    assert isinstance(private.model[1], type(net[1])) and private.model[1].active
    torch.manual_seed(0)
    net = after_first_layer(MLP(64, (32,), activation=nn.Tanh), spec)
    plain = train_robust(net, digits, config=RobustConfig(epochs=2), pixeldp_route=route, progress=False)
    assert sensitivity(pre_noise_layers(plain.model), route) <= 1 + 1e-9
    assert plain.test_accuracy > 0.5


def test_robust_runs_checkpoint_every_epoch_and_resume_to_the_same_model(digits, tmp_path):
    import json

    config = RobustConfig(epochs=3, batch_size=128, lr=0.1, views=Views(multiplicity=2, noise_std=0.25))

    def run(out, resume=False):
        torch.manual_seed(0)
        return train_robust(MLP(64, (16,)), digits, config=config, seed=3, progress=False, out=out, resume=resume)

    whole = run(tmp_path / "whole")
    run(tmp_path / "cut")
    (tmp_path / "cut" / "checkpoints" / "epoch-0003.pt").unlink()   # as if stopped after epoch 2
    (tmp_path / "cut" / "metrics.json").unlink()
    resumed = run(tmp_path / "cut", resume=True)
    assert all(torch.equal(a, b) for a, b in zip(whole.model.parameters(), resumed.model.parameters()))
    assert resumed.history == whole.history and len(list((tmp_path / "cut" / "checkpoints").iterdir())) == 3
    assert json.loads((tmp_path / "cut" / "metrics.json").read_text())["test_accuracy"] == whole.test_accuracy
    with pytest.raises(FileExistsError, match="not empty"):
        run(tmp_path / "whole")
    with pytest.raises(ValueError, match="different configuration"):
        torch.manual_seed(0)
        train_robust(MLP(64, (16,)), digits, config=config, seed=4, progress=False, out=tmp_path / "cut", resume=True)
