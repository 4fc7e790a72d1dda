"""Rendering the trade-off report (training/tradeoff.py): tables through bounds/tables.py (Markdown, LaTeX,
CSV) and matplotlib (Agg) plots -- certified accuracy against radius per ε, the accuracy-robustness frontier
per privacy level, and the ROC curves of the membership attack.

The headline table holds one row per model: target ε, the accounted ε(δ) bracket and the audited lower
bound, the robustness setting, clean accuracy, certified accuracy (route gdp, Cohen et al. 2019) at the
report radii, the average certified radius of every DP route, PGD accuracy, and the membership attack's
AUC and TPR at 1 % FPR. The CSV holds every number of every cell (each route at each radius).
"""
from __future__ import annotations

import math
import os
import time
from pathlib import Path

import numpy as np

from bounds.montecarlo import max_certifiable_radius
from bounds.tables import to_csv, to_latex, to_markdown
from verify.certified_accuracy import accuracy_curve

TABLES = ("tradeoff.md", "tradeoff.tex", "tradeoff.csv")
PLOTS = ("certified_accuracy.png", "frontier.png", "membership_roc.png")
FILES = TABLES + PLOTS
ROUTES = ("gdp", "renyi", "tv", "pixeldp")


def _eps(value: float) -> str:
    return "inf" if math.isinf(value) else f"{value:g}"


def _bracket(training: dict) -> str:
    if not training["private"]:
        return "inf (non-private)"
    return f"[{training['epsilon_lower']:.3f}, {training['epsilon_upper']:.3f}]"


def _cert_sigma(record: dict) -> str:
    c = record["certification"]
    return "PixelDP" if c["sigma"] is None else f"{c['sigma']:g}"


def headline(records: list[dict]) -> list[dict]:
    """The headline rows (module doc); certified accuracy by the gdp route (the exact Gaussian radius)."""
    rows = []
    for r in records:
        cert, routes = r["certification"], r["certification"]["routes"]
        row = {"eps": _eps(r["epsilon"]), "eps accounted": _bracket(r["training"]),
               "eps audit LB": r["audit"]["epsilon_lower_bound"], "setting": r["setting"],
               "cert sigma": _cert_sigma(r), "clean acc": r["clean_accuracy"]}
        row.update({f"cert@{radius:g}": acc for radius, acc in zip(cert["radii"], routes["gdp"]["accuracy"])})
        row.update({f"ACR {route}": routes[route]["acr"] for route in ROUTES})
        row.update({f"PGD l2@{r['pgd']['l2']['eps']:g}": r["pgd"]["l2"]["accuracy"],
                    f"PGD linf@{r['pgd']['linf']['eps']:g}": r["pgd"]["linf"]["accuracy"],
                    "MIA AUC": r["membership"]["auc"], "TPR@1%FPR": r["membership"]["tpr_at_1%_fpr"]})
        rows.append(row)
    return rows


def full_rows(records: list[dict]) -> list[dict]:
    """Every number of every cell, one row per cell, for the CSV."""
    rows = []
    for r in records:
        t, cert, m, a = r["training"], r["certification"], r["membership"], r["audit"]
        row = {"key": r["key"], "epsilon": r["epsilon"], "setting": r["setting"], "trained_sigma": r["trained_sigma"],
               "certify_method": cert["method"], "certify_sigma": cert["sigma"], "epsilon_lower": t["epsilon_lower"],
               "epsilon_upper": t["epsilon_upper"], "delta": t["delta"], "noise_multiplier": t["noise_multiplier"],
               "steps": t["steps"], "epochs": t["epochs"], "training_size": t["training_size"],
               "clean_accuracy": r["clean_accuracy"], "certified_examples": cert["examples"], "n0": cert["n0"],
               "n": cert["n"], "alpha": cert["alpha"], "max_certifiable_radius": cert.get("max_certifiable_radius")}
        for route in ROUTES:
            row.update({f"certified_{route}@{radius:g}": acc
                        for radius, acc in zip(cert["radii"], cert["routes"][route]["accuracy"])})
            row[f"acr_{route}"] = cert["routes"][route]["acr"]
        row.update({"pgd_examples": r["pgd"]["examples"], "pgd_l2_eps": r["pgd"]["l2"]["eps"],
                    "pgd_l2_accuracy": r["pgd"]["l2"]["accuracy"], "pgd_linf_eps": r["pgd"]["linf"]["eps"],
                    "pgd_linf_accuracy": r["pgd"]["linf"]["accuracy"], "mia_members": m["members"],
                    "mia_auc": m["auc"], "mia_tpr@1%fpr": m["tpr_at_1%_fpr"], "mia_tpr@0.1%fpr": m["tpr_at_0.1%_fpr"],
                    "audit_epsilon_lower_bound": a["epsilon_lower_bound"], "audit_canaries": a["canaries"],
                    "audit_guesses": a["guesses"], "audit_correct": a["correct"], "audit_beta": a["beta"],
                    "train_wall_time_s": t["wall_time_s"], "evaluation_wall_time_s": r["evaluation_wall_time_s"]})
        rows.append(row)
    return rows


def notes(preset, config: dict) -> list[str]:
    """What the numbers mean and the budget behind them, for results.json and tradeoff.md."""
    ev = preset.evaluation
    sigmas = sorted({s for s in preset.sigmas if s > 0} | {preset.certify_sigma()})
    ceilings = ", ".join(f"{max_certifiable_radius(s, ev.n, ev.alpha):.3f} at sigma = {s:g}" for s in sigmas)
    return [
        f"Certification: CERTIFY (Cohen et al. 2019) on the first {ev.certify_count} test images, n0 = {ev.n0}, "
        f"n = {ev.n}, alpha = {ev.alpha:g} per image. The largest radius n draws can certify is "
        f"sigma * Phi^-1(alpha^(1/n)) = {ceilings}; certified accuracy beyond it is 0 by budget, not by model.",
        f"Models trained without noise augmentation are certified at sigma = {preset.certify_sigma():g}; "
        "radii of the gdp, renyi, tv and pixeldp routes are computed from the same Clopper-Pearson p_A.",
        f"PGD ({ev.pgd_steps} steps, margin loss) attacks the base network f, not the smoothed classifier, on "
        f"the first {ev.pgd_count} test images.",
        f"Membership inference: loss threshold (Yeom et al. 2018), up to {ev.mia_count} training members "
        "(never canaries) against as many test images; AUC and TPR at 1% FPR from the exact empirical ROC.",
        f"Audit: one run (Steinke, Nasr & Jagielski 2023), m = {preset.canaries} mislabeled training images, each "
        f"included with probability 1/2, r = {preset.guesses} guesses by canary loss, beta = {preset.beta:g}, "
        f"delta = {preset.delta:g}. A valid but typically loose LOWER bound on epsilon (black box, final model "
        "only); the canaries are part of every reported model's training set.",
        f"Private cells: DP-SGD recipe of training/recipes.py, {preset.epochs or 'recipe'} epochs, sigma_DP "
        f"calibrated so the certified epsilon upper bound at delta = {preset.delta:g} is <= the target. "
        f"Non-private cells: the same network and views, SGD for {preset.nonprivate_epochs} epochs.",
    ]


def cell_line(record: dict) -> str:
    """A one-line summary of a finished cell for the progress log."""
    gdp = record["certification"]["routes"]["gdp"]
    return (f"{record['key']}: clean {record['clean_accuracy']:.3f}  ACR {gdp['acr']:.3f}  "
            f"PGD l2 {record['pgd']['l2']['accuracy']:.3f}  MIA AUC {record['membership']['auc']:.3f}  "
            f"eps audit LB {record['audit']['epsilon_lower_bound']:.2f} vs accounted "
            f"{_bracket(record['training'])}  ({record['training']['wall_time_s']:.0f} s train, "
            f"{record['evaluation_wall_time_s']:.0f} s eval)")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and a rename (never a half-written file)."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _markdown(results: dict, table: str) -> str:
    machine, run = results["machine"], results["runs"][-1]
    lines = [f"# Privacy x robustness trade-off ({results['config']['preset']['name']} preset, "
             f"{results['config']['preset']['dataset']})", "",
             f"Generated {time.strftime('%Y-%m-%d %H:%M')} by `{' '.join(run['command'])}` on {machine['platform']}, "
             f"{machine['cpu_count']} CPUs, device {machine['device']}; torch {results['versions']['torch']}.", "",
             table, "## Notes", ""]
    lines += [f"- {note}" for note in results["notes"]]
    lines += ["", "## Plots", ""] + [f"![{p}]({p})" for p in PLOTS]
    return "\n".join(lines) + "\n"


def _latex(table: str, preset: str) -> str:
    return ("\\begin{table}\n\\centering\n\\scriptsize\n" + table +
            f"\\caption{{Privacy x robustness trade-off ({preset} preset of privrobust tradeoff).}}\n\\end{{table}}\n")


def write_report(folder, results: dict) -> list[Path]:
    """Write tradeoff.{md,tex,csv} and the plots into ``folder`` (they are derived from results.json and
    rewritten with it); returns the paths."""
    folder = Path(folder)
    records, rows = results["cells"], results["headline"]
    texts = {"tradeoff.md": _markdown(results, to_markdown(rows, float_format=".3f")),
             "tradeoff.tex": _latex(to_latex(rows, float_format=".3f"), results["config"]["preset"]["name"]),
             "tradeoff.csv": to_csv(full_rows(records))}
    for name, text in texts.items():
        write_atomic(folder / name, text)
    plot_certified(records, folder / "certified_accuracy.png")
    plot_frontier(records, folder / "frontier.png")
    plot_roc(records, folder / "membership_roc.png")
    return [folder / name for name in FILES]


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _by_epsilon(records):
    levels = sorted({r["epsilon"] for r in records})
    return [(eps, [r for r in records if r["epsilon"] == eps]) for eps in levels]


def _curve(record):
    per = record["certification"]["records"]
    radii = np.array([p["radii"]["gdp"] for p in per], dtype=float)
    return accuracy_curve(radii, np.array([p["correct"] for p in per], dtype=bool))


def plot_certified(records: list[dict], path: Path) -> None:
    """Certified accuracy (gdp route) against ℓ2 radius, one panel per ε, one line per setting."""
    plt = _pyplot()
    groups = _by_epsilon(records)
    fig, axes = plt.subplots(1, len(groups), figsize=(3.2 * len(groups), 3), sharey=True, squeeze=False)
    for ax, (eps, cells) in zip(axes[0], groups):
        for r in cells:
            curve = _curve(r)
            # accuracy[i] holds on (radii[i-1], radii[i]] and 0 beyond the last radius: a "pre" step
            ax.step(curve.radii + (curve.radii[-1] + 0.05,), curve.accuracy + (0.0,), where="pre",
                    label=f"{r['setting']} (sigma {_cert_sigma(r)})")
        ax.set_title(f"eps = {_eps(eps)}")
        ax.set_xlabel("l2 radius")
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 1)
    axes[0][0].set_ylabel("certified accuracy")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def pareto(points) -> list[int]:
    """Indices of the points (x, y) that no other point dominates (>= in both, > in one), by x ascending."""
    points = [tuple(p) for p in points]
    keep = [i for i, p in enumerate(points)
            if not any(q[0] >= p[0] and q[1] >= p[1] and q != p for q in points)]
    return sorted(keep, key=lambda i: points[i][0])


def plot_frontier(records: list[dict], path: Path) -> None:
    """Clean accuracy against average certified radius (gdp) for every model, coloured by ε, with the
    non-dominated models of each privacy level joined: the privacy-robustness-accuracy frontier."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.6))
    markers = "osD^vP*X"
    settings = sorted({r["setting"] for r in records})
    for k, (eps, cells) in enumerate(_by_epsilon(records)):
        color = plt.cm.viridis(k / max(1, len(_by_epsilon(records)) - 1))
        points = [(r["clean_accuracy"], r["certification"]["routes"]["gdp"]["acr"]) for r in cells]
        for r, (x, y) in zip(cells, points):
            ax.scatter(x, y, color=color, marker=markers[settings.index(r["setting"]) % len(markers)], zorder=3)
        front = pareto(points)
        ax.plot([points[i][0] for i in front], [points[i][1] for i in front], color=color,
                label=f"eps = {_eps(eps)}")
    for i, setting in enumerate(settings):
        ax.scatter([], [], color="grey", marker=markers[i % len(markers)], label=setting)
    ax.set_xlabel("clean accuracy")
    ax.set_ylabel("average certified radius (l2)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot_roc(records: list[dict], path: Path) -> None:
    """ROC of the loss-threshold membership attack on log-log axes (Carlini et al. 2022), one panel per
    setting, one line per ε."""
    plt = _pyplot()
    settings = sorted({r["setting"] for r in records})
    fig, axes = plt.subplots(1, len(settings), figsize=(3.2 * len(settings), 3), sharey=True, squeeze=False)
    for ax, setting in zip(axes[0], settings):
        for r in sorted((r for r in records if r["setting"] == setting), key=lambda r: r["epsilon"]):
            roc = r["membership"]["roc"]
            ax.plot(roc["fpr"], roc["tpr"], label=f"eps = {_eps(r['epsilon'])} (AUC {r['membership']['auc']:.3f})")
        ax.plot([1e-3, 1], [1e-3, 1], color="grey", linestyle=":")
        ax.set(xscale="log", yscale="log", xlim=(1e-3, 1), ylim=(1e-3, 1), title=setting, xlabel="FPR")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=6)
    axes[0][0].set_ylabel("TPR")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
