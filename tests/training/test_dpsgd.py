"""The private step: noise of std σ C with the accountant's σ, normalised by the expected batch size."""
import pytest
import torch
from scipy import stats

from bounds.accountant import dpsgd_epsilon
from bounds.calibrate import calibrate_noise
from training.dpsgd import DPSGD
from training.models import MLP
from training.per_sample import clipped_grad_sum
from training.privacy import plan_privacy


def make_step(model, sigma=2.0, clip=0.5, expected=10.0, seed=0, **kw):
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    return DPSGD(model, opt, noise_multiplier=sigma, clip_norm=clip, expected_batch_size=expected,
                 noise_generator=torch.Generator().manual_seed(seed), **kw)


def test_noise_on_an_empty_batch_has_std_sigma_times_clip():
    model = MLP(64, (64,))
    step = make_step(model, sigma=2.0, clip=0.5)
    sums, stats_ = step.noisy_sum(torch.zeros(0, 1, 8, 8), torch.zeros(0, dtype=torch.long), torch.Generator())
    noise = torch.cat([s.flatten() for s in sums]).double().numpy()
    assert stats_.batch_size == 0
    # the pure noise: N(0, (σ C)²) per coordinate, by a Kolmogorov-Smirnov test at a fixed seed
    assert stats.kstest(noise / (2.0 * 0.5), "norm").pvalue > 1e-3
    assert noise.size > 4000


def test_update_is_noisy_clipped_sum_over_expected_batch_size():
    torch.manual_seed(0)
    model = MLP(64, (8,))
    before = [p.detach().clone() for p in model.parameters()]
    x, y = torch.rand(6, 1, 8, 8), torch.randint(0, 10, (6,))
    clipped = clipped_grad_sum(model, x.unsqueeze(1), y, clip_norm=0.5).grads
    step = make_step(model, sigma=2.0, clip=0.5, expected=7.5, seed=3)
    step.step(x, y, torch.Generator())
    noise_gen = torch.Generator().manual_seed(3)
    for p, b, c in zip(model.parameters(), before, clipped):
        noise = torch.randn(c.shape, generator=noise_gen) * 1.0
        torch.testing.assert_close(b - p.detach(), (c + noise) / 7.5, rtol=1e-5, atol=1e-6)
        assert p.grad is None


def test_target_mode_uses_the_accountants_sigma():
    plan = plan_privacy(sample_rate=0.1, steps=50, delta=1e-5, epsilon=2.0)
    assert plan.noise_multiplier == calibrate_noise(2.0, 1e-5, 0.1, 50)
    assert dpsgd_epsilon(plan.noise_multiplier, 0.1, 50, 1e-5).upper <= 2.0
    assert plan.epsilon().upper <= 2.0 and plan.target_epsilon == 2.0
    step = make_step(MLP(4, (2,)), sigma=plan.noise_multiplier, clip=0.7)
    assert step.noise_std == pytest.approx(plan.noise_multiplier * 0.7, rel=1e-15)


def test_fixed_mode_reports_the_accountants_epsilon_and_trajectory():
    plan = plan_privacy(sample_rate=0.2, steps=20, delta=1e-5, noise_multiplier=1.5)
    final = dpsgd_epsilon(1.5, 0.2, 20, 1e-5)
    assert plan.epsilon() == final
    log = plan.log_brackets([5, 10, 20])
    assert log[20][0] <= final.upper and log[20][1] >= final.lower
    assert log[5][1] <= log[10][1] <= log[20][1]


@pytest.mark.parametrize("kwargs,match", [({"epsilon": 1.0, "noise_multiplier": 1.0}, "exactly one"),
                                          ({}, "exactly one"), ({"epsilon": -1.0}, "epsilon")])
def test_plan_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plan_privacy(sample_rate=0.1, steps=10, delta=1e-5, **kwargs)


def test_step_arguments():
    with pytest.raises(ValueError, match="noise_multiplier"):
        make_step(MLP(4, (2,)), sigma=0.0)
    with pytest.raises(TypeError, match="views"):
        make_step(MLP(4, (2,)), views="shift")
