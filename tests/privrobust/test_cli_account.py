"""``privrobust account`` and ``privrobust calibrate`` from the command line."""
import json

from privrobust.cli import main

ARGS = ["--noise-multiplier", "2.0", "--sample-rate", "0.1", "--steps", "1000", "--delta", "1e-5"]


def test_account_json(capsys):
    assert main(["account", *ARGS, "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["lower"] <= record["estimate"] <= record["upper"]
    assert record["lower"] <= 8.27929121228081 <= record["upper"] + 1e-3      # REFERENCES §1 upper
    assert record["rdp_epsilon"] > record["upper"] and record["method"] == "pld"


def test_account_text(capsys):
    assert main(["account", *ARGS]) == 0
    out = capsys.readouterr().out
    assert "ε in [8.27" in out and "RDP" in out


def test_calibrate_json(capsys):
    assert main(["calibrate", "--epsilon", "2", "--delta", "1e-5", "--noise-multiplier", "1.5",
                 "--sample-rate", "0.01", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["solved_for"] == "steps" and record["epsilon_upper"] <= 2.0 and record["steps"] > 100


def test_bad_input_is_a_clear_error(capsys):
    assert main(["account", "--noise-multiplier", "1", "--sample-rate", "1.5", "--steps", "10",
                 "--delta", "1e-5", "--json"]) == 2
    record = json.loads(capsys.readouterr().out)
    assert "sample_rate" in record["error"] and record["type"] == "ValueError"
    assert main(["calibrate", "--epsilon", "1", "--delta", "1e-5", "--steps", "10"]) == 2
    assert "exactly two" in capsys.readouterr().err
