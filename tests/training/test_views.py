"""Views: shifts are translations, noise has the recorded σ, adversarial views use input gradients only."""
import math

import pytest
import torch
from scipy import stats

from training.models import MLP
from training.views import Adversarial, Views, random_shift


def test_random_shift_is_a_zero_filled_translation():
    x = torch.rand(20, 2, 6, 7)
    out = random_shift(x, 2, torch.Generator().manual_seed(0))
    for img, moved in zip(x, out):
        matches = []
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                ref = torch.zeros_like(img)
                src = img[:, max(dy, 0):6 + min(dy, 0), max(dx, 0):7 + min(dx, 0)]
                ref[:, max(-dy, 0):6 + min(-dy, 0), max(-dx, 0):7 + min(-dx, 0)] = src
                matches.append(torch.equal(ref, moved))
        assert any(matches)


def test_noise_views_have_the_recorded_sigma():
    x = torch.zeros(200, 1, 4, 4)
    views = Views(multiplicity=3, noise_std=0.25)(None, x, torch.zeros(200, dtype=torch.long),
                                                  torch.Generator().manual_seed(0))
    assert views.shape == (200, 3, 1, 4, 4)
    assert stats.kstest(views.flatten().numpy() / 0.25, "norm").pvalue > 1e-3


@pytest.mark.parametrize("norm", [math.inf, 2.0])
def test_adversarial_views_stay_in_the_ball_and_touch_no_parameter_gradient(norm):
    torch.manual_seed(0)
    model = MLP(16, (8,))
    x, y = torch.rand(6, 1, 4, 4), torch.randint(0, 10, (6,))
    adv = Adversarial(norm, 0.1, steps=3, ramp=0.0)
    views = Views(adversarial=adv)(model, x, y, torch.Generator().manual_seed(1))
    delta = (views[:, 0] - x).flatten(1)
    size = delta.abs().max(1).values if norm == math.inf else delta.norm(dim=1)
    assert (size <= 0.1 + 1e-6).all() and (views >= 0).all() and (views <= 1).all()
    assert all(p.grad is None for p in model.parameters())
    loss = torch.nn.functional.cross_entropy
    assert loss(model(views[:, 0]), y) >= loss(model(x), y)


def test_adversarial_ramp_and_parse():
    adv = Adversarial.parse("linf:0.2", ramp=0.5)
    assert adv.norm == math.inf and adv.eps_at(0.25) == pytest.approx(0.1) and adv.eps_at(0.9) == 0.2
    assert Adversarial.parse("l2:1.5").norm == 2.0
    with pytest.raises(ValueError, match="linf:EPS"):
        Adversarial.parse("l1:0.1")
    with pytest.raises(ValueError, match="noise_std"):
        Views(noise_std=-1.0)
