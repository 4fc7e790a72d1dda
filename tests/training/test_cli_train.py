"""``privrobust train --json``: one JSON object with the final metrics; the run directory is kept."""
import argparse
import json

import pytest

from privrobust.commands import train as command


def run(argv):
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    return command.run(parser.parse_args(argv))


def test_train_json_prints_the_metrics(tmp_path, capsys):
    out = tmp_path / "run"
    assert run(["--dataset", "digits", "--noise-multiplier", "1.0", "--epochs", "1", "--batch-size", "400",
                "--out", str(out), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    for key in ("test_accuracy", "delta", "noise_multiplier", "sample_rate", "steps", "epochs", "wall_time_s"):
        assert key in metrics
    assert set(metrics["epsilon"]) >= {"lower", "estimate", "upper"}
    assert metrics["epochs"] == 1 and metrics["noise_multiplier"] == 1.0 and metrics["delta"] == 1e-5
    assert metrics["steps"] == round(1437 / 400)
    assert (out / "metrics.json").is_file() and (out / "config.json").is_file()
    with pytest.raises(FileExistsError):
        run(["--dataset", "digits", "--noise-multiplier", "1.0", "--epochs", "1", "--out", str(out)])


def test_bad_adversarial_spec_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="linf:EPS"):
        run(["--dataset", "digits", "--noise-multiplier", "1.0", "--adversarial", "linf", "--out",
             str(tmp_path / "x")])


def test_noise_layer_run_reports_its_sensitivity(tmp_path, capsys):
    assert run(["--dataset", "digits", "--noise-multiplier", "1.0", "--epochs", "1", "--noise-layer",
                "1:0.05:0.3:l1-l2", "--out", str(tmp_path / "pixeldp"), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["pixeldp_sensitivity"] > 0
    with pytest.raises(ValueError, match="EPS:DELTA:L"):
        run(["--dataset", "digits", "--noise-multiplier", "1.0", "--noise-layer", "1:0.05",
             "--out", str(tmp_path / "bad")])


def test_trained_model_goes_straight_to_certify(tmp_path, capsys):
    from privrobust import cli

    out = tmp_path / "run"
    assert run(["--dataset", "digits", "--noise-multiplier", "1.0", "--epochs", "1", "--noise-aug", "0.25",
                "--out", str(out), "--json"]) == 0
    capsys.readouterr()
    certified = tmp_path / "certified"
    assert cli.main(["certify", str(out / command.MODEL_FILE), "--n", "100", "--n0", "10", "--count", "3",
                     "--out", str(certified), "--json", "--no-progress"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    header = json.loads((certified / "certify.jsonl").read_text().splitlines()[0])
    assert summary["examples"] == 3
    assert header["config"]["sigma"] == 0.25 and header["config"]["dataset"] == "digits"
