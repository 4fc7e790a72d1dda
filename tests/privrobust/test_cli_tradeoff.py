"""``privrobust tradeoff`` through the real entry point on a two-model digits grid: --json shape, the recorded
command line reproduces the run's options, a complete report or another configuration is refused."""
import json

from privrobust import cli
from privrobust.commands.tradeoff import command_line

GRID = ["--quick", "--dataset", "digits", "--epsilons", "3", "inf", "--sigmas", "0.5", "--epochs", "2",
        "--nonprivate-epochs", "2", "--certify-count", "8", "--n0", "20", "--n", "100", "--pgd-count", "8",
        "--mia-count", "100", "--canaries", "40", "--guesses", "10"]


def run_json(capsys, *argv):
    code = cli.main(["tradeoff", *argv, "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    return code, json.loads(lines[0])


def test_tradeoff_json_resume_refusal_and_recorded_command(tmp_path, capsys):
    out = tmp_path / "report"
    code, summary = run_json(capsys, "--out", str(out), *GRID)
    assert code == 0 and summary["complete"] and summary["results"] == str(out / "results.json")
    assert [(row["eps"], row["setting"]) for row in summary["headline"]] == [("3", "gauss-0.5"), ("inf", "gauss-0.5")]
    assert {"clean acc", "cert@0.5", "ACR renyi", "MIA AUC", "TPR@1%FPR", "eps audit LB"} <= set(summary["headline"][0])
    assert all(p.startswith(str(out)) for p in summary["files"]) and (out / "tradeoff.md").is_file()

    results = json.loads((out / "results.json").read_text())
    assert results["headline"] == summary["headline"]
    recorded = results["runs"][0]["command"]
    parsed = cli.build_parser("tradeoff").parse_args(recorded[1:])
    assert command_line(parsed) == recorded and parsed.epsilons == [3.0, float("inf")] and parsed.quick

    code, error = run_json(capsys, "--out", str(out), *GRID)  # complete: kept
    assert code == 2 and error["type"] == "FileExistsError" and "--force" in error["error"]
    code, error = run_json(capsys, "--out", str(out), *GRID, "--seed", "1")  # another configuration
    assert code == 2 and error["type"] == "ValueError" and "another configuration" in error["error"]
    code, error = run_json(capsys, "--out", str(tmp_path / "x"), *GRID, "--guesses", "9")
    assert code == 2 and "guesses" in error["error"]


def test_paper_preset_needs_the_idx_folder(tmp_path, capsys):
    code, error = run_json(capsys, "--out", str(tmp_path / "paper"), "--preset", "paper")
    assert code == 2 and error["type"] == "ValueError" and "data_dir" in error["error"]
