"""``privrobust poison steinhardt`` and ``privrobust poison aggregate`` through the real command-line entry point.

References: REFERENCES.md §3 (digits 1-vs-7 U* = 0.1925 / 0.2177 / 0.2429 / 0.3326; DPA size formula)."""
import json

import pytest

from privrobust import cli
from privrobust.commands import COMMANDS


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    if "poison" not in COMMANDS:
        monkeypatch.setitem(COMMANDS, "poison", ("poison", "poison (test registration)"))


def run_json(capsys, *argv):
    code = cli.main(list(argv) + ["--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, "--json prints exactly one line"
    return code, json.loads(out[0])


def test_steinhardt_json_matches_the_reference(capsys):
    code, result = run_json(capsys, "poison", "steinhardt", "--dataset", "digits17", "--epsilons", "0.05", "0.3")
    assert code == 0
    rows = result["results"]
    assert [r["epsilon"] for r in rows] == [0.05, 0.3]
    for row, reference in zip(rows, (0.2177, 0.3326)):
        assert {"epsilon", "upper_bound", "attack_loss", "test_error"} <= set(row)
        assert row["upper_bound"] == pytest.approx(reference, abs=0.012)
        assert row["attack_loss"] <= row["upper_bound"] and 0.0 <= row["test_error"] <= 1.0
    assert rows[0]["k"] == 14  # ⌊0.05 × 289⌋


def test_steinhardt_writes_tables_and_refuses_to_overwrite(capsys, tmp_path):
    argv = ["poison", "steinhardt", "--epsilons", "0.1", "--iterations", "300", "--out", str(tmp_path),
            "--format", "csv"]
    code, result = run_json(capsys, *argv)
    assert code == 0 and result["files"] == [str(tmp_path / "steinhardt_digits17.csv")]
    header = (tmp_path / "steinhardt_digits17.csv").read_text().splitlines()[0]
    assert header == "epsilon,k,upper_bound,attack_loss,attack_lower_bound,test_error"
    code, result = run_json(capsys, *argv)
    assert code == 2 and result["type"] == "FileExistsError"
    code, _ = run_json(capsys, *argv, "--force")
    assert code == 0


def test_aggregate_dpa_on_digits(capsys):
    code, result = run_json(capsys, "poison", "aggregate", "--method", "dpa", "--dataset", "digits", "--partitions",
                            "5", "--epochs", "3", "--radii", "0", "1", "2", "3")
    assert code == 0
    accuracy = [r["certified_accuracy"] for r in result["results"]]
    assert accuracy == sorted(accuracy, reverse=True) and accuracy[-1] == 0.0  # 5 votes: size <= ⌊5/2⌋ = 2


def test_bad_epsilon_is_reported(capsys):
    code, result = run_json(capsys, "poison", "steinhardt", "--epsilons", "-0.1")
    assert code == 2 and "epsilon must be >= 0" in result["error"]


def test_steinhardt_data_dependent_columns(capsys):
    code, result = run_json(capsys, "poison", "steinhardt", "--epsilons", "0.01", "0.05", "--iterations", "300",
                            "--data-dependent")
    assert code == 0
    for row in result["results"]:
        assert row["attack_loss_data_dependent"] <= row["upper_bound_data_dependent"]
        assert 0.0 <= row["test_error_data_dependent"] <= 1.0
    bounds = [row["upper_bound_data_dependent"] for row in result["results"]]
    assert bounds == sorted(bounds)
