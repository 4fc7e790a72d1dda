"""Auditing DP-SGD itself (training/audit.py): a correct run's audited ε stays below the ε the accountant
certifies; the two classic broken implementations -- no clipping, noise divided by sqrt(batch) -- are caught
(audited lower bound above the claim) at claimed ε = 1, with an audit whose ceiling is above the claim."""
import math

import pytest
import torch

from bounds.accountant import dpsgd_epsilon
from bounds.calibrate import calibrate_noise
from training.audit import audit_dpsgd
from training.data import load_dataset
from training.models import MLP

N, STEPS, DELTA = 256, 3, 1e-5


def build():
    torch.manual_seed(0)
    return MLP(64, (), 10)


@pytest.fixture(autouse=True)
def one_thread():
    # hundreds of tiny trainings: threads only contend with the other test worker
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def data():
    digits = load_dataset("digits")
    return torch.as_tensor(digits.x_train[:N]), torch.as_tensor(digits.y_train[:N])


@pytest.mark.parametrize("variant", ["correct", "no clipping", "noise / sqrt(n)"])
def test_audit_separates_correct_from_broken_dpsgd(data, variant):
    x, y = data
    sigma = calibrate_noise(1.0, DELTA, 1.0, STEPS)
    claimed = dpsgd_epsilon(sigma, 1.0, STEPS, DELTA).upper
    noise, clip = {"correct": (sigma, 1.0), "no clipping": (sigma / 1e6, 1e6),
                   "noise / sqrt(n)": (sigma / math.sqrt(N), 1.0)}[variant]
    result = audit_dpsgd(build, x, y, torch.full((1, 8, 8), 10.0), 0, noise_multiplier=noise, clip_norm=clip,
                         sample_rate=1.0, steps=STEPS, lr=0.5, trials=100, delta=DELTA)
    assert result.max_certifiable > claimed
    assert result.epsilon <= result.max_certifiable
    assert result.violates(claimed) == (variant != "correct")


def test_bad_audit_input_names_the_parameter(data):
    x, y = data
    with pytest.raises(ValueError, match="canary_x"):
        audit_dpsgd(build, x, y, torch.zeros(1, 4, 4), 0, noise_multiplier=1.0, clip_norm=1.0, sample_rate=1.0,
                    steps=1)
    with pytest.raises(ValueError, match="sample_rate"):
        audit_dpsgd(build, x, y, torch.zeros(1, 8, 8), 0, noise_multiplier=1.0, clip_norm=1.0, sample_rate=0.0,
                    steps=1)
