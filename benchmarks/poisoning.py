"""Poisoning bounds reproduced: Steinhardt et al.'s U* on digits and MNIST 1-vs-7 (fixed and refitted defense, each
with its retrained candidate attack), the spread of U* over splits,
DP-SGD's certified poisoning sizes, and the certified accuracy of aggregation ensembles on MNIST-5k.

    PYTHONPATH=. python benchmarks/poisoning.py --out results/poisoning [--force] [--splits 20]

Writes Markdown/LaTeX/CSV tables and PNG plots into --out (refuses to overwrite unless --force) and prints the
Markdown tables. digits17 is training/data.py's fixed split (289 train / 72 test); the published values use a
288-point split that cannot be recovered, so the script also reports U* over random stratified 288/73
re-splits (sklearn's train_test_split, test_size=0.2) of the same 361 images.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

# run as a script, sys.path[0] is benchmarks/, whose training.py would shadow the training package
sys.path[0] = str(Path(__file__).resolve().parents[1])

from bounds.poisoning_data_dependent import data_dependent_upper_bounds  # noqa: E402
from bounds.poisoning_steinhardt import evaluate_attack, steinhardt_report, steinhardt_upper_bounds  # noqa: E402
from bounds.poisoning_tradeoff import dpsgd_poisoning_table  # noqa: E402
from bounds.sphere_slab import fit_sphere_slab  # noqa: E402
from bounds.tables import FORMATS, to_markdown, write_tables  # noqa: E402
from training.aggregation import train_ensemble  # noqa: E402
from training.data import load_dataset  # noqa: E402

EPSILONS = (0.01, 0.05, 0.1, 0.3)
REFERENCE = {0.01: 0.1925, 0.05: 0.2177, 0.1: 0.2429, 0.3: 0.3326}  # REFERENCES.md §3
RHO_SQ = 0.8
RADII = (0, 1, 2, 5, 10, 15, 20, 25)
PLOTS = ("steinhardt.png", "aggregation.png")


def steinhardt_rows(data, with_reference: bool) -> list[dict]:
    report = steinhardt_report(data.x_train, data.y_train, data.x_test, data.y_test, EPSILONS, RHO_SQ)
    moving = data_dependent_upper_bounds(data.x_train, data.y_train, fit_sphere_slab(data.x_train, data.y_train),
                                         EPSILONS, RHO_SQ)
    rows = []
    for r, dd in zip(report, moving):
        dd_attack = evaluate_attack(data.x_train, data.y_train, dd, data.x_test, data.y_test)
        row = {"epsilon": r.epsilon, "k": r.k}
        if with_reference:
            row["reference"] = REFERENCE[r.epsilon]
        rows.append(row | {"upper_bound": r.upper_bound, "attack_loss": r.attack_loss,
                           "attack_lower_bound": r.attack_lower_bound, "test_error": r.test_error,
                           "upper_bound_data_dependent": dd.upper_bound, "outer_set_bound": dd.outer_bound,
                           "attack_loss_data_dependent": dd_attack.attack_loss,
                           "test_error_data_dependent": dd_attack.test_error})
    return rows


def split_spread(data, splits: int) -> list[dict]:
    from sklearn.model_selection import train_test_split

    x = np.concatenate([data.x_train, data.x_test]).reshape(-1, 64)
    y = np.concatenate([data.y_train, data.y_test])
    values = []
    for seed in range(splits):
        x_tr, _, y_tr, _ = train_test_split(x, y, test_size=0.2, random_state=seed, stratify=y)
        bounds = steinhardt_upper_bounds(x_tr, y_tr, fit_sphere_slab(x_tr, y_tr), EPSILONS, RHO_SQ)
        values.append([b.upper_bound for b in bounds])
    values = np.array(values)
    return [{"epsilon": e, "reference": REFERENCE[e], "min": float(values[:, i].min()),
             "mean": float(values[:, i].mean()), "max": float(values[:, i].max()),
             "reference_inside": bool(values[:, i].min() <= REFERENCE[e] <= values[:, i].max())}
            for i, e in enumerate(EPSILONS)]


def aggregation_rows() -> list[dict]:
    data = load_dataset("mnist5k")
    rows = []
    for method in ("dpa", "fa", "bagging"):
        result = train_ensemble(data.x_train, data.y_train, data.x_test, data.y_test, method, partitions=50, spread=2,
                                bags=100, bag_size=100, epochs=20, progress=True)
        rows.append({"method": method, "members": result.members}
                    | {f"r={r}": a for r, a in zip(RADII, result.certified_accuracy(RADII))})
    return rows


def plot(tables: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5))
    for ax, name in zip(axes, ("steinhardt_digits17", "steinhardt_mnist17")):
        rows = tables[name]
        eps = [r["epsilon"] for r in rows]
        ax.plot(eps, [r["upper_bound"] for r in rows], "o-", label="upper bound U*")
        ax.plot(eps, [r["attack_loss"] for r in rows], "s--", label="candidate attack")
        ax.plot(eps, [r["upper_bound_data_dependent"] for r in rows], "o-", label="U*, refitted defense")
        ax.plot(eps, [r["attack_loss_data_dependent"] for r in rows], "s--", label="its attack")
        if "reference" in rows[0]:
            ax.plot(eps, [r["reference"] for r in rows], "k^", label="published U*")
        ax.set(title=name.split("_")[1], xlabel="poison fraction ε", ylabel="hinge loss")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out / PLOTS[0])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for row in tables["aggregation_mnist5k"]:
        ax.plot(RADII, [row[f"r={r}"] for r in RADII], "o-", label=row["method"])
    ax.set(xlabel="poisoning size", ylabel="certified accuracy", title="MNIST-5k ensembles")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / PLOTS[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="directory for tables and plots")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument("--splits", type=int, default=20, help="random 288/73 digits splits for the spread table")
    args = parser.parse_args()
    out = Path(args.out)
    names = ("steinhardt_digits17", "steinhardt_digits17_splits", "steinhardt_mnist17", "dpsgd_poisoning",
             "aggregation_mnist5k")
    existing = [str(out / f"{n}.{f}") for n in names for f in FORMATS if (out / f"{n}.{f}").exists()]
    existing += [str(out / p) for p in PLOTS if (out / p).exists()]
    if existing and not args.force:
        raise SystemExit(f"refusing to overwrite {', '.join(existing)} (use --force)")
    digits = load_dataset("digits").binary(1, 7)
    tables = {"steinhardt_digits17": steinhardt_rows(digits, True),
              "steinhardt_digits17_splits": split_spread(digits, args.splits),
              "steinhardt_mnist17": steinhardt_rows(load_dataset("mnist5k").binary(1, 7), False),
              "dpsgd_poisoning": dpsgd_poisoning_table(),
              "aggregation_mnist5k": aggregation_rows()}
    write_tables(tables, out, force=args.force)
    plot(tables, out)
    for name, rows in tables.items():
        print(f"## {name}\n\n{to_markdown(rows)}")


if __name__ == "__main__":
    main()
