"""The trade-off report on a tiny digits grid (2 privacy levels x 2 settings, seconds): files, resume, refusal,
and every reported number against a recomputation from the per-example records (brute force here)."""
import json
import math
import shutil

import numpy as np
import pytest

from training import tradeoff
from training.data import load_dataset
from training.evaluate import EvalConfig
from training.report import FILES, pareto
from training.tradeoff import Canaries, Preset, grid, run_tradeoff
from verify.audit import one_run_epsilon_lower_bound

TINY = Preset("tiny", "digits", (3.0, math.inf), (0.0, 0.5), epochs=2, nonprivate_epochs=2, canaries=40, guesses=10,
              evaluation=EvalConfig(certify_count=12, n0=20, n=100, pgd_count=10, pgd_steps=3, mia_count=100))


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("tradeoff") / "report"
    return out, run_tradeoff(out, TINY, progress=False, command=["test"])


def test_files_and_provenance_are_written(report):
    out, results = report
    assert results["complete"] and [c["key"] for c in results["cells"]] == [c.key for c in grid(TINY)]
    assert all((out / name).stat().st_size > 0 for name in FILES)
    assert all((out / "cells" / f"{c.key}.pt").is_file() for c in grid(TINY))
    on_disk = json.loads((out / "results.json").read_text())
    assert on_disk["complete"] and on_disk["runs"][0]["command"] == ["test"]
    assert {"torch", "numpy", "privrobust"} <= set(on_disk["versions"])
    assert on_disk["machine"]["cpu_count"] >= 1 and on_disk["config"]["seed"] == 0
    csv_lines = (out / "tradeoff.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(grid(TINY)) and "certified_renyi@0.5" in csv_lines[0]


def test_certified_accuracy_and_acr_match_brute_force(report):
    _, results = report
    for cell, row in zip(results["cells"], results["headline"]):
        cert = cell["certification"]
        assert cert["examples"] == TINY.evaluation.certify_count
        for route, summary in cert["routes"].items():
            for radius, reported in zip(cert["radii"], summary["accuracy"]):
                hits = sum(1 for p in cert["records"] if p["correct"] and p["radii"][route] >= radius)
                assert reported == pytest.approx(hits / len(cert["records"]), abs=1e-15)
            acr = sum(p["radii"][route] for p in cert["records"] if p["correct"]) / len(cert["records"])
            assert summary["acr"] == pytest.approx(acr, abs=1e-12)
        assert row["cert@0.5"] == cert["routes"]["gdp"]["accuracy"][cert["radii"].index(0.5)]


def test_route_radii_are_ordered_and_within_the_budget(report):
    _, results = report
    for cell in results["cells"]:
        ceiling = cell["certification"]["max_certifiable_radius"]
        for p in cell["certification"]["records"]:
            gdp = p["radii"]["gdp"]
            assert gdp <= ceiling + 1e-12  # all n draws agreeing is the best case
            assert all(r <= gdp + 1e-12 for r in p["radii"].values())  # gdp is the tight Gaussian route
            assert (p["prediction"] == -1) == (gdp == 0.0)


def test_membership_auc_and_tpr_match_pairwise_brute_force(report):
    _, results = report
    for cell in results["cells"]:
        m = cell["membership"]
        scores = np.array(m["scores"])
        members, others = scores[:m["members"]], scores[m["members"]:]
        pairs = (members[:, None] > others[None, :]).mean() + 0.5 * (members[:, None] == others[None, :]).mean()
        assert m["auc"] == pytest.approx(pairs, abs=1e-12)
        best = max((members >= t).mean() for t in np.r_[scores, np.inf] if (others >= t).mean() <= 0.01)
        assert m["tpr_at_1%_fpr"] == pytest.approx(best, abs=1e-12)


def test_audit_is_below_the_accounted_bound_and_matches_its_counts(report):
    _, results = report
    for cell in results["cells"]:
        a, t = cell["audit"], cell["training"]
        assert 0 <= a["correct"] <= a["guesses"] == TINY.guesses
        assert a["epsilon_lower_bound"] == one_run_epsilon_lower_bound(a["canaries"], a["guesses"], a["correct"],
                                                                       delta=a["delta"], beta=a["beta"])
        assert a["epsilon_lower_bound"] <= t["epsilon_upper"]
        if t["private"]:
            assert t["epsilon_lower"] <= t["epsilon_upper"] <= 3.0
        # the canaries really are trained on: each included with probability 1/2 (one_run_audit's draw)
        included = int((np.random.default_rng(0).random(TINY.canaries) < 0.5).sum())
        assert t["training_size"] == len(load_dataset("digits").y_train) - TINY.canaries + included


def test_canaries_are_mislabeled_and_disjoint_from_the_clean_set():
    data = load_dataset("digits")
    c = Canaries.draw(data, 50, seed=3)
    assert (c.labels != data.y_train[c.indices]).all() and ((0 <= c.labels) & (c.labels < 10)).all()
    assert sorted(np.r_[c.indices, c.clean].tolist()) == list(range(len(data.y_train)))
    include = np.arange(50) % 3 == 0
    subset = c.training_set(data, include)
    assert len(subset.y_train) == len(c.clean) + include.sum()
    assert (subset.y_train[len(c.clean):] == c.labels[include]).all()


def _interrupted_copy(out, tmp_path, key):
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / "cells" / f"{key}.json").unlink()
    (copy / "results.json").unlink()
    return copy


def test_resume_trains_only_the_unfinished_cell(report, tmp_path, monkeypatch):
    out, results = report
    trained = []
    original = tradeoff.train_cell
    monkeypatch.setattr(tradeoff, "train_cell", lambda cell, *a, **k: trained.append(cell.key) or original(cell, *a, **k))
    key = results["cells"][1]["key"]
    resumed = run_tradeoff(_interrupted_copy(out, tmp_path, key), TINY, progress=False, command=["test"])
    assert trained == [key]
    assert resumed["complete"] and resumed["runs"][-1]["trained"] == [key]
    assert len(resumed["runs"][-1]["skipped"]) == len(grid(TINY)) - 1
    for old, new in zip(results["cells"], resumed["cells"]):
        if old["key"] != key:
            assert old == new


class Stop(Exception):
    pass


def test_complete_report_and_other_configuration_need_force(report, tmp_path, monkeypatch):
    out, _ = report
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    with pytest.raises(FileExistsError, match="--force"):
        run_tradeoff(copy, TINY, progress=False)
    with pytest.raises(ValueError, match="another configuration"):
        run_tradeoff(copy, TINY.with_changes(n=101), progress=False)
    with pytest.raises(ValueError, match="another configuration"):
        run_tradeoff(copy, TINY, seed=1, progress=False)

    def stop(*args, **kwargs):
        raise Stop
    monkeypatch.setattr(tradeoff, "train_cell", stop)
    with pytest.raises(Stop):  # --force: the old report is cleared and the first cell starts training
        run_tradeoff(copy, TINY.with_changes(n=101), force=True, progress=False)
    assert not (copy / "results.json").exists() and not list((copy / "cells").iterdir())


def test_a_foreign_folder_is_refused(tmp_path):
    (tmp_path / "results.json").write_text("{}")
    with pytest.raises(FileExistsError, match="without a config.json"):
        run_tradeoff(tmp_path, TINY, progress=False)


def test_bad_presets_are_refused():
    with pytest.raises(ValueError, match="guesses"):
        TINY.with_changes(guesses=11)
    with pytest.raises(ValueError, match="sigmas"):
        TINY.with_changes(sigmas=(-0.5,))
    with pytest.raises(ValueError, match="epsilons"):
        TINY.with_changes(epsilons=(0.0,))
    with pytest.raises(ValueError, match="unknown preset field"):
        TINY.with_changes(sigma=0.5)
    with pytest.raises(ValueError, match="preset must be one of"):
        run_tradeoff("unused", "huge")
    with pytest.raises(ValueError, match="canaries must be <"):
        Canaries.draw(load_dataset("digits"), 5000, seed=0)


def test_grid_settings_and_pareto():
    cells = grid(TINY, adversarial="linf:0.1", pixeldp="1:0.05:0.3")
    assert [c.setting for c in cells[:4]] == ["none", "gauss-0.5", "adv-linf-0.1", "pixeldp"]
    assert len(cells) == 8 and not cells[-1].private and cells[0].epsilon == 3.0
    points = [(0.9, 0.1), (0.8, 0.3), (0.85, 0.05), (0.7, 0.3), (0.9, 0.1)]  # 2 and 3 are dominated
    assert pareto(points) == [1, 0, 4]
