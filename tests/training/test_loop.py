"""A tiny private run trains; run directories are never overwritten; resume continues the same run."""
import json

import pytest
import torch

from training.data import load_dataset
from training.loop import DPConfig, train_dpsgd
from training.models import MLP
from training.runs import RunDirectory
from training.views import Views

CONFIG = DPConfig(epochs=3, batch_size=300, lr=2.0, ema_decay=0.9, micro_batch=128,
                  views=Views(multiplicity=2, shift=1))


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def tiny(digits, **kwargs):
    torch.manual_seed(0)
    return train_dpsgd(MLP(64, (32,)), digits, config=CONFIG, noise_multiplier=1.0, progress=False, **kwargs)


def test_tiny_private_run_trains_and_reports_its_privacy(digits):
    result = tiny(digits)
    assert result.test_accuracy > 0.6  # chance is 0.1
    predictions = result.model(torch.as_tensor(digits.x_test)).argmax(1)
    assert predictions.unique().numel() >= 8  # no collapse to a constant predictor
    steps = 3 * round(len(digits.y_train) / 300)
    assert result.steps == steps and result.sample_rate == 300 / len(digits.y_train)
    from bounds.accountant import dpsgd_epsilon
    assert result.epsilon == dpsgd_epsilon(1.0, result.sample_rate, steps, 1e-5)
    assert [h.epoch for h in result.history] == [1, 2, 3]
    assert result.history[-1].epsilon_upper >= result.epsilon.lower


def test_same_seed_same_model_and_resume_continues_the_run(digits, tmp_path):
    whole = tiny(digits, out=tmp_path / "whole", seed=5)
    cut = tiny(digits, out=tmp_path / "cut", seed=5)
    (tmp_path / "cut" / "checkpoints" / "epoch-0003.pt").unlink()   # as if stopped after epoch 2
    (tmp_path / "cut" / "metrics.json").unlink()
    resumed = tiny(digits, out=tmp_path / "cut", seed=5, resume=True)
    for a, b, c in zip(whole.model.parameters(), cut.model.parameters(), resumed.model.parameters()):
        assert torch.equal(a, b) and torch.equal(a, c)
    metrics = json.loads((tmp_path / "cut" / "metrics.json").read_text())
    assert metrics["test_accuracy"] == whole.test_accuracy
    for key in ("epsilon", "delta", "noise_multiplier", "sample_rate", "steps", "epochs", "wall_time_s"):
        assert key in metrics


def test_run_directory_is_never_overwritten(digits, tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        tiny(digits, out=tmp_path / "taken")
    assert (tmp_path / "taken" / "notes.txt").read_text() == "mine"
    with pytest.raises(FileNotFoundError, match="nothing to resume"):
        RunDirectory(tmp_path / "absent", resume=True)


def test_resume_refuses_a_different_configuration(digits, tmp_path):
    tiny(digits, out=tmp_path / "run", seed=1)
    with pytest.raises(ValueError, match="different configuration"):
        tiny(digits, out=tmp_path / "run", seed=2, resume=True)


@pytest.mark.parametrize("kwargs,error,match", [
    ({"config": "fast"}, TypeError, "config"),
    ({"config": DPConfig(batch_size=100000)}, ValueError, "batch_size"),
    ({"noise_multiplier": 1.0, "epsilon": 1.0}, ValueError, "exactly one"),
])
def test_bad_arguments(digits, kwargs, error, match):
    kwargs.setdefault("noise_multiplier", None)
    with pytest.raises(error, match=match):
        train_dpsgd(MLP(64, (8,)), digits, progress=False, **kwargs)


def test_config_checks_its_fields():
    with pytest.raises(ValueError, match="schedule"):
        DPConfig(schedule="step")
    with pytest.raises(ValueError, match="ema_decay"):
        DPConfig(ema_decay=1.5)
