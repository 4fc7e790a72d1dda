"""``privrobust certify`` through the real entry point: results are written per example and resumed, another
configuration is refused, and the summary's numbers agree with the per-example file (certified accuracy
recomputed here by brute force)."""
import json

import pytest
import torch
from torch import nn

from mechanisms.noise_layers import NoiseLayer
from privrobust import cli
from privrobust.commands import COMMANDS
from verify.model_io import save_model


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    if "certify" not in COMMANDS:
        monkeypatch.setitem(COMMANDS, "certify", ("certify", "certify (test registration)"))


def digits_model(noise=False):
    torch.manual_seed(0)
    layers = [nn.Flatten(), nn.Linear(64, 32)] + ([NoiseLayer(0.5)] if noise else []) + [nn.ReLU(), nn.Linear(32, 10)]
    return nn.Sequential(*layers)


def run_json(capsys, *argv):
    code = cli.main(list(argv) + ["--json", "--no-progress"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return code, json.loads(lines[0])


def test_certify_writes_resumes_and_refuses_another_configuration(tmp_path, capsys):
    path = save_model(tmp_path / "m.pt", digits_model(), sigma=0.25, dataset="digits")
    out = tmp_path / "out"
    args = ["certify", str(path), "--n", "200", "--n0", "20", "--alpha", "0.01", "--count", "6", "--out", str(out)]
    code, summary = run_json(capsys, *args)
    assert code == 0 and summary["examples"] == 6
    records = [json.loads(line) for line in (out / "certify.jsonl").read_text().splitlines()[1:]]
    assert [r["index"] for r in records] == list(range(6))
    assert all(r["prediction"] == -1 or r["p_a_lower"] > 0.5 for r in records)
    brute = sum(r["correct"] and r["radius"] >= 0.1 for r in records) / 6
    radii, accs = summary["curve"]["radius"], summary["curve"]["accuracy"]
    step = next((a for r, a in zip(radii, accs) if r >= 0.1), 0.0)
    assert step == pytest.approx(brute)
    assert (out / "certified_accuracy.png").exists() and (out / "certified_accuracy.pdf").exists()
    # a second run with more examples resumes: the first six are not recomputed
    code, summary = run_json(capsys, *args[:-4], "--count", "8", "--out", str(out))
    lines = (out / "certify.jsonl").read_text().splitlines()[1:]
    assert code == 0 and summary["examples"] == 8 and len(lines) == 8
    assert [json.loads(line) for line in lines[:6]] == records
    code, error = run_json(capsys, *args[:-4], "--sigma", "0.5", "--count", "2", "--out", str(out))
    assert code == 2 and "another configuration" in error["error"]


def test_pixeldp_method_on_a_noise_layer_network(tmp_path, capsys):
    path = save_model(tmp_path / "m.pt", digits_model(noise=True), dataset="digits")
    code, summary = run_json(capsys, "certify", str(path), "--method", "pixeldp", "--n", "300", "--count", "3",
                             "--bound", "cp", "--scores", "votes", "--alpha", "0.05", "--out", str(tmp_path / "o"))
    assert code == 0 and summary["config"]["method"] == "pixeldp" and summary["examples"] == 3
    record = json.loads((tmp_path / "o" / "certify.jsonl").read_text().splitlines()[1])
    assert record["sensitivity"] > 0 and record["p_b_upper"] <= 1 - record["p_a_lower"] + 1e-12


def test_missing_sigma_is_an_error(tmp_path, capsys):
    path = save_model(tmp_path / "m.pt", digits_model(), dataset="digits")
    code, error = run_json(capsys, "certify", str(path), "--out", str(tmp_path / "o"))
    assert code == 2 and "--sigma" in error["error"]
