"""Auditing DP-SGD itself (training/audit.py): a correct run's audited ε stays below the ε the accountant
certifies; the two classic broken implementations -- no clipping, noise divided by sqrt(batch) -- are caught
(audited lower bound above the claim) at claimed ε = 1, with an audit whose ceiling is above the claim."""
import pytest
import torch

from training.audit import audit_dpsgd, digits_dpsgd_audit
from training.models import MLP


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("variant", ["correct", "no-clipping", "noise-over-sqrt-n"])
def test_audit_separates_correct_from_broken_dpsgd(variant):
    result, accounted = digits_dpsgd_audit(1.0, variant=variant, trials=100)
    claimed = accounted.upper
    assert claimed <= 1.0 and result.max_certifiable > claimed
    assert result.epsilon <= result.max_certifiable
    assert result.violates(claimed) == (variant != "correct")


def test_bad_audit_input_names_the_parameter():
    x, y = torch.rand(8, 1, 8, 8), torch.zeros(8, dtype=torch.long)

    def build():
        return MLP(64, (), 10)
    with pytest.raises(ValueError, match="canary_x"):
        audit_dpsgd(build, x, y, torch.zeros(1, 4, 4), 0, noise_multiplier=1.0, clip_norm=1.0, sample_rate=1.0,
                    steps=1)
    with pytest.raises(ValueError, match="sample_rate"):
        audit_dpsgd(build, x, y, torch.zeros(1, 8, 8), 0, noise_multiplier=1.0, clip_norm=1.0, sample_rate=0.0,
                    steps=1)
    with pytest.raises(ValueError, match="variant"):
        digits_dpsgd_audit(1.0, variant="no clipping")
