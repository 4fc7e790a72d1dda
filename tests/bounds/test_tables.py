"""Table writers (Markdown, LaTeX, CSV; never overwrite) and the trade-off tables' contents.

References: the CSV is parsed back with the csv module; table values are recomputed from the public
functions and REFERENCES.md §2's σ values.
"""
import csv
import io
import math

import pytest

from bounds.noise_calibration import analytic_sigma, extended_sigma
from bounds.radius import certified_radius
from bounds.tables import render, to_csv, to_latex, to_markdown, write_tables
from bounds.tradeoff_tables import (calibration_applies, l1_radius_table, l2_radius_table, noise_table,
                                    write_tradeoff_tables)

ROWS = [{"name": "a_b", "value": 0.123456789, "count": 3, "missing": None},
        {"name": "50%", "value": math.inf, "count": 4, "missing": 1e-7},
        {"name": "x|y", "value": -math.inf, "count": 5, "missing": -2.5}]


def test_markdown_layout_and_missing_values():
    lines = to_markdown(ROWS).splitlines()
    assert lines[0] == "| name | value | count | missing |"
    assert lines[1] == "|---|---:|---:|---:|"
    assert lines[2] == "| a_b | 0.1235 | 3 | — |"
    assert lines[3] == "| 50% | inf | 4 | 1e-07 |"
    assert lines[4] == r"| x\|y | -inf | 5 | -2.5 |"


def test_latex_escapes_and_uses_booktabs():
    text = to_latex(ROWS, columns=["name", "missing"])
    assert r"a\_b & --" in text and r"50\% & 1e-07" in text
    assert text.startswith(r"\begin{tabular}{ll}") and r"\toprule" in text and r"\bottomrule" in text


def test_csv_round_trips_at_full_precision():
    parsed = list(csv.DictReader(io.StringIO(to_csv(ROWS))))
    assert float(parsed[0]["value"]) == ROWS[0]["value"]
    assert parsed[0]["missing"] == "" and float(parsed[1]["value"]) == math.inf
    assert [row["name"] for row in parsed] == ["a_b", "50%", "x|y"]


def test_write_tables_never_overwrites_unless_forced(tmp_path):
    paths = write_tables({"t": ROWS, "u": ROWS[:1]}, tmp_path / "out")
    assert sorted(p.name for p in paths) == ["t.csv", "t.md", "t.tex", "u.csv", "u.md", "u.tex"]
    (tmp_path / "out" / "u.tex").write_text("mine")
    with pytest.raises(FileExistsError, match="u.tex"):
        write_tables({"t": ROWS, "u": ROWS}, tmp_path / "out")
    assert (tmp_path / "out" / "u.tex").read_text() == "mine"  # nothing touched
    write_tables({"u": ROWS}, tmp_path / "out", formats=("tex",), force=True)
    assert (tmp_path / "out" / "u.tex").read_text() == render(ROWS, "tex")


def test_table_bad_input(tmp_path):
    with pytest.raises(ValueError, match="at least one row"):
        to_markdown([])
    with pytest.raises(ValueError, match="missing 'value'"):
        to_csv([{"name": 1}], columns=["name", "value"])
    with pytest.raises(ValueError, match="formats"):
        write_tables({"t": ROWS}, tmp_path, formats=("html",))


def test_noise_table_values():
    (row,) = noise_table([1.0], [1e-5])
    assert row["sigma_analytic"] == pytest.approx(3.730631634815942, rel=1e-12)  # REFERENCES.md §2
    assert row["sigma_extended"] == pytest.approx(4.8542, abs=5e-5)
    assert row["sigma_classic"] is None  # ε >= 1: refused
    assert row["laplace_b"] == pytest.approx(1 / (1 - 2 * math.log1p(-1e-5)), rel=1e-14)
    (small,) = noise_table([0.5], [1e-5])
    assert small["sigma_classic"] == pytest.approx(9.6896, abs=5e-5)


def test_l2_radius_table_is_certified_radius_side_by_side():
    rows = l2_radius_table([0.5, 2.0], [1e-5], [0.9])
    assert len(rows) == 6  # 3 calibrations × 2 ε × 1 δ × 1 p_A
    for row in rows:
        if not calibration_applies(row["calibration"], row["eps"], row["delta"]):
            assert row["sigma"] is None and row["gdp"] is None
            continue
        for route in ("gdp", "renyi", "tv", "pixeldp"):
            assert row[route] == certified_radius(row["eps"], row["delta"], 1.0, row["p_a"], route=route,
                                                  calibration=row["calibration"])
        assert row["gdp"] >= max(row["renyi"], row["tv"], row["pixeldp"])
    extended = next(r for r in rows if r["calibration"] == "extended" and r["eps"] == 2.0)
    assert extended["sigma"] == extended_sigma(2.0, 1e-5)
    analytic = next(r for r in rows if r["calibration"] == "analytic" and r["eps"] == 0.5)
    assert analytic["sigma"] == analytic_sigma(0.5, 1e-5)


def test_l1_radius_table():
    (row,) = l1_radius_table([1.0], [0.0], [0.9])
    assert row["laplace_b"] == 1.0
    assert row["teng"] == pytest.approx(-math.log(0.2), rel=1e-12)
    assert row["pixeldp"] == pytest.approx(math.log(9) / 2, rel=1e-12)


def test_write_tradeoff_tables(tmp_path):
    paths = write_tradeoff_tables(tmp_path, [0.5], [1e-5], [0.8], formats=("md", "csv"))
    assert sorted(p.name for p in paths) == ["noise.csv", "noise.md", "radius_l1.csv", "radius_l1.md",
                                             "radius_l2.csv", "radius_l2.md"]
    with pytest.raises(FileExistsError):
        write_tradeoff_tables(tmp_path, [0.5], [1e-5], [0.8], formats=("md",))
    with pytest.raises(ValueError, match="eps_values must contain"):
        noise_table([], [1e-5])
