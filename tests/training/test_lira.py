"""LiRA on trained shadow models (training/lira.py) on sklearn digits: it finds members of an overfit
non-private model far better than the confidence threshold; against DP-SGD at ε = 1 no point of its ROC
beats the hypothesis-testing bound of (ε, δ)-DP, TPR <= e^ε FPR + δ (Kairouz et al. 2015, Thm. 2.1)."""
import math

import numpy as np
import pytest
import torch

from bounds.accountant import dpsgd_epsilon
from bounds.calibrate import calibrate_noise
from training.data import load_dataset
from training.dpsgd import DPSGD
from training.lira import lira_attack
from training.models import MLP

EPSILON, DELTA, STEPS = 1.0, 1e-5, 30


@pytest.fixture(scope="module")
def pool():
    digits = load_dataset("digits")
    x = np.concatenate([digits.x_train, digits.x_test])[:1000]
    y = np.concatenate([digits.y_train, digits.y_test])[:1000]
    return torch.as_tensor(x), torch.as_tensor(y)


pytestmark = pytest.mark.usefixtures("one_thread")


def overfit(x, y, seed):
    torch.manual_seed(seed)
    model = MLP(64, (256,), 10)
    optimizer = torch.optim.Adam(model.parameters(), 1e-2)
    for _ in range(150):
        optimizer.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    return model


SIGMA = calibrate_noise(EPSILON, DELTA, 1.0, STEPS)


def private(x, y, seed):
    torch.manual_seed(seed)
    model = MLP(64, (256,), 10)
    randomness = torch.Generator().manual_seed(seed)
    engine = DPSGD(model, torch.optim.SGD(model.parameters(), lr=0.5), noise_multiplier=SIGMA, clip_norm=1.0,
                   expected_batch_size=len(x), noise_generator=randomness)
    for _ in range(STEPS):
        engine.step(x, y, randomness)
    return model


def test_lira_beats_the_confidence_threshold_on_an_overfit_model(pool):
    x, y = pool
    result = lira_attack(overfit, x, y, shadows=16, global_variance=True)
    assert result.online.auc > result.baseline.auc + 0.05
    assert result.online.tpr_at(0.01) > 3 * max(result.baseline.tpr_at(0.01), 0.01)
    # the target's row is model 0 retrained from its own half, scored by an independent log-softmax
    members = torch.as_tensor(result.members)
    log_p = torch.log_softmax(overfit(x[members], y[members], 0)(x).double(), 1).gather(1, y[:, None])[:, 0]
    phi = (log_p - torch.log1p(-log_p.exp())).detach().numpy()
    np.testing.assert_allclose(result.confidences[0], phi, rtol=1e-6, atol=1e-6)
    assert result.in_mask.shape == (17, len(y)) and 0.4 < result.in_mask.mean() < 0.6


def test_lira_never_beats_the_dp_bound_of_dpsgd(pool):
    x, y = pool
    assert dpsgd_epsilon(SIGMA, 1.0, STEPS, DELTA).upper <= EPSILON
    result = lira_attack(private, x, y, shadows=16, global_variance=True)
    for curve in (result.online, result.offline, result.baseline):
        assert abs(curve.auc - 0.5) < 0.05
        # 0.03: chance alone would need, e.g., 26 of the 30 highest scores to be members (p ~ 3e-5)
        assert np.max(curve.tpr - math.exp(EPSILON) * curve.fpr - DELTA) <= 0.03


def test_lira_checks_its_input(pool):
    x, y = pool
    with pytest.raises(ValueError, match="shadows"):
        lira_attack(overfit, x, y, shadows=1)
    with pytest.raises(ValueError, match="as many examples"):
        lira_attack(overfit, x, y[:10])
