"""Certified accuracy, ACR and the App. D bound against brute force and scipy's binomial quantile; the results
file resumes, refuses another configuration, survives a truncated line; plots are written and never
overwritten unless asked."""
import json

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy import stats

from verify.certified_accuracy import (ResultsFile, accuracy_curve, average_certified_radius, certified_accuracy,
                                       plot_certified_accuracy)


@settings(max_examples=50)
@given(st.lists(st.tuples(st.floats(0, 3), st.booleans()), min_size=1, max_size=40), st.floats(0, 3.5))
def test_curve_equals_brute_force_at_every_radius(examples, r):
    radii = np.array([e[0] for e in examples])
    correct = np.array([e[1] for e in examples])
    brute = sum(1 for rad, ok in examples if ok and rad >= r) / len(examples)
    assert certified_accuracy(radii, correct, [r])[0] == pytest.approx(brute)
    curve = accuracy_curve(radii, correct)
    j = np.searchsorted(curve.radii, r, side="left")  # the step holding r: (radii[j-1], radii[j]]
    assert (curve.accuracy[j] if j < len(curve.radii) else 0.0) == pytest.approx(brute)
    assert curve.average_radius == pytest.approx(sum(rad for rad, ok in examples if ok) / len(examples))


def test_acr_and_app_d_bound():
    radii, correct = np.array([0.0, 0.5, 1.0, 2.0]), np.array([False, True, True, True])
    assert average_certified_radius(radii, correct) == pytest.approx(3.5 / 4)
    curve = accuracy_curve(radii, correct, alpha=0.001, rho=0.001)
    assert curve.radii == (0.0, 0.5, 1.0, 2.0) and curve.accuracy == (0.75, 0.75, 0.5, 0.25)
    n, alpha, rho = 4, 0.001, 0.001
    quantile = stats.binom.ppf(1 - rho, n, alpha)  # wrong certificates beyond this: probability <= rho
    assert all(lo <= acc - quantile / n for lo, acc in zip(curve.lower, curve.accuracy))


def test_inputs_are_checked():
    with pytest.raises(TypeError, match="correct"):
        certified_accuracy([1.0], [1], [0.0])
    with pytest.raises(ValueError, match="radii"):
        certified_accuracy([-1.0], [True], [0.0])


def test_results_file_resumes_and_refuses_another_configuration(tmp_path):
    path = tmp_path / "out" / "certify.jsonl"
    results = ResultsFile(path, {"sigma": 0.5, "n": 100})
    results.append({"index": 0, "radius": 0.3})
    results.append({"index": 4, "radius": 0.0})
    with path.open("a") as handle:
        handle.write('{"index": 7, "rad')  # a run killed mid-write
    resumed = ResultsFile(path, {"sigma": 0.5, "n": 100})
    assert resumed.done == {0, 4}
    resumed.append({"index": 7, "radius": 1.0})
    lines = path.read_text().splitlines()
    assert [json.loads(line).get("index") for line in lines[1:]] == [0, 4, 7]
    with pytest.raises(ValueError, match="another configuration"):
        ResultsFile(path, {"sigma": 0.25, "n": 100})
    assert ResultsFile(path, {"sigma": 0.25, "n": 100}, overwrite=True).done == set()
    with pytest.raises(ValueError, match="index"):
        resumed.append({"radius": 1.0})


def test_plots_are_written_and_not_overwritten(tmp_path):
    curve = accuracy_curve(np.array([0.2, 0.9, 0.0]), np.array([True, True, False]), alpha=0.001)
    files = plot_certified_accuracy({"sigma 0.5": curve}, tmp_path / "acc")
    assert [f.suffix for f in files] == [".png", ".pdf"] and all(f.stat().st_size > 1000 for f in files)
    with pytest.raises(FileExistsError):
        plot_certified_accuracy({"sigma 0.5": curve}, tmp_path / "acc")
    assert plot_certified_accuracy({"sigma 0.5": curve}, tmp_path / "acc", force=True) == files
