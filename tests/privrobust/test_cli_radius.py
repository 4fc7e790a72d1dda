"""``privrobust radius`` and ``privrobust table`` through the real command-line entry point.

References: REFERENCES.md §2 (σ = 1: Cohen / Li / PixelDP-classic radii; analytic σ for (1, 1e-5)).
"""
import csv
import io
import json

import pytest

from privrobust import cli
from privrobust.commands import COMMANDS


@pytest.fixture(autouse=True)
def registered(monkeypatch):
    """Register the two commands when the registry does not list them yet."""
    for name in ("radius", "table"):
        if name not in COMMANDS:
            monkeypatch.setitem(COMMANDS, name, (name, f"{name} (test registration)"))


def run_json(capsys, *argv):
    code = cli.main(list(argv) + ["--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1, "--json prints exactly one line"
    return code, json.loads(out[0])


def test_radius_for_a_known_sigma_gives_every_route(capsys):
    code, result = run_json(capsys, "radius", "--sigma", "1", "--p-a", "0.9", "--calibration", "classic")
    assert code == 0 and result["noise"] == "gaussian"
    radii = result["radii"]
    assert set(radii) == {"gdp", "renyi", "tv", "pixeldp", "auto"}
    assert radii["gdp"] == pytest.approx(1.2816, abs=5e-5)
    assert radii["renyi"] == pytest.approx(1.0319, abs=5e-5)
    assert radii["pixeldp"] == pytest.approx(0.3903, abs=5e-5)
    assert radii["auto"] == radii["gdp"]


def test_radius_from_eps_delta_uses_the_analytic_sigma(capsys):
    code, result = run_json(capsys, "radius", "--eps", "1", "--delta", "1e-5", "--p-a", "0.9")
    assert code == 0
    assert result["scale"] == pytest.approx(3.730631634815942, rel=1e-12)
    assert result["radii"]["gdp"] == pytest.approx(3.730631634815942 * 1.2815515655446004, rel=1e-12)


def test_radius_laplace_and_infinite_values(capsys):
    code, result = run_json(capsys, "radius", "--eps", "1", "--delta", "0", "--norm", "1", "--p-a", "0.9")
    assert code == 0 and result["noise"] == "laplace" and set(result["radii"]) == {"pixeldp", "teng", "auto"}
    code, result = run_json(capsys, "radius", "--sigma", "1", "--p-a", "1")
    assert result["radii"]["gdp"] == "inf"


def test_radius_text_output(capsys):
    assert cli.main(["radius", "--sigma", "2", "--p-a", "0.8", "--p-b", "0.1"]) == 0
    out = capsys.readouterr().out
    assert "gdp" in out and "2.12317" in out  # 2 × 1.0616 (REFERENCES two-class value)


@pytest.mark.parametrize("argv, message", [
    (["radius", "--p-a", "0.9"], "--eps and --delta are required"),
    (["radius", "--p-a", "0.9", "--sigma", "1", "--eps", "1"], "either --sigma"),
    (["radius", "--p-a", "1.5", "--sigma", "1"], "p_a must be in"),
    (["radius", "--p-a", "0.9", "--eps", "1", "--delta", "1e-5", "--calibration", "classic"], "eps must be in"),
    (["radius", "--p-a", "0.9", "--eps", "1", "--delta", "1e-5", "--noise", "laplace"], "does not match"),
])
def test_radius_errors_are_one_json_object(capsys, argv, message):
    code, result = run_json(capsys, *argv)
    assert code == 2 and message in result["error"]


def test_table_writes_and_refuses_to_overwrite(tmp_path, capsys):
    out = tmp_path / "tables"
    code, result = run_json(capsys, "table", "--out", str(out), "--eps", "0.5", "2", "--p-a", "0.9")
    assert code == 0 and len(result["files"]) == 9
    assert (out / "radius_l2.md").read_text().startswith("| calibration | eps |")
    code, result = run_json(capsys, "table", "--out", str(out), "--eps", "0.5")
    assert code == 2 and result["type"] == "FileExistsError"
    code, result = run_json(capsys, "table", "--out", str(out), "--eps", "0.5", "--force", "--format", "csv")
    assert code == 0 and len(result["files"]) == 3
    rows = list(csv.DictReader(io.StringIO((out / "noise.csv").read_text())))
    assert [row["eps"] for row in rows] == ["0.5"]  # overwritten by the forced run
