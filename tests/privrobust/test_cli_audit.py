"""``privrobust audit`` through the real entry point, against REFERENCES §4 (500 trials per world: ceiling 4.91;
broken mechanisms caught at claimed ε 4), the one-run closed-form ceiling, and sklearn's AUC."""
import json
import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from privrobust import cli
from privrobust.commands import COMMANDS


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    if "audit" not in COMMANDS:
        monkeypatch.setitem(COMMANDS, "audit", ("audit", "audit (test registration)"))


def run_json(capsys, *argv):
    code = cli.main(list(argv) + ["--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return code, json.loads(lines[0])


def test_ceiling_and_counts(capsys):
    code, result = run_json(capsys, "audit", "ceiling", "--trials", "500")
    assert code == 0 and result["max_certifiable"] == pytest.approx(4.91, abs=5e-3)
    code, result = run_json(capsys, "audit", "counts", "--tp", "500", "--positives", "500", "--fp", "0",
                            "--negatives", "500")
    assert result["epsilon_lower_bound"] == pytest.approx(4.91, abs=5e-3)


def test_one_run_ceiling(capsys):
    code, result = run_json(capsys, "audit", "one-run", "--canaries", "1000", "--guesses", "100", "--correct", "100")
    q = 0.05 ** (1 / 100)
    assert code == 0 and result["epsilon_lower_bound"] == pytest.approx(math.log(q / (1 - q)), abs=2e-3)


def test_mechanism_audit_catches_the_broken_variant(capsys):
    code, result = run_json(capsys, "audit", "mechanism", "--variant", "noise-over-sqrt-n", "--eps", "4",
                            "--delta", "1e-5")
    assert code == 0 and result["violation"] and result["epsilon_lower_bound"] > 4
    code, result = run_json(capsys, "audit", "mechanism", "--variant", "correct", "--eps", "4", "--delta", "1e-5")
    assert not result["violation"] and result["epsilon_lower_bound"] <= 4


def test_mia_metrics_from_a_scores_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    is_member = rng.random(400) < 0.5
    losses = rng.exponential(1.0, 400) * np.where(is_member, 0.5, 1.0)
    np.savez(tmp_path / "s.npz", losses=losses, is_member=is_member)
    code, result = run_json(capsys, "audit", "mia", str(tmp_path / "s.npz"))
    assert code == 0 and result["attack"] == "loss-threshold"
    assert result["auc"] == pytest.approx(roc_auc_score(is_member, -losses), abs=1e-12)
    code, error = run_json(capsys, "audit", "mia", str(tmp_path / "s.npz"), "--lira", "online")
    assert code == 2 and "target" in error["error"]


def test_dpsgd_audit_catches_missing_clipping(capsys):
    code, result = run_json(capsys, "audit", "dpsgd", "--variant", "no-clipping", "--eps", "1", "--trials", "100")
    assert code == 0 and result["violation"] and result["epsilon_lower_bound"] > result["accounted_epsilon_upper"]
    assert result["accounted_epsilon_upper"] <= 1.0 and result["counted_trials"] == 50
