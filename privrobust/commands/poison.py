"""``privrobust poison``: certified bounds against training-set poisoning.

- ``poison steinhardt``: Steinhardt, Koh & Liang's upper bound U* on the loss a poisoning attacker causes a
  linear model behind the sphere + slab defense, with the candidate attack retrained (bounds/poisoning_steinhardt.py).
- ``poison aggregate``: certified accuracy against poisoning size of a DPA, finite-aggregation or bagging
  ensemble trained with torch (training/aggregation.py).
Datasets: digits17 is sklearn digits 1-vs-7 in the fixed split of training/data.py (289 train, 72 test);
mnist17 is MNIST-5k 1-vs-7 (800 train, 200 test).
"""
from __future__ import annotations

import json

from bounds.margin_loss import LOSSES
from bounds.tables import FORMATS, write_tables

NAME = "poison"
HELP = "certified poisoning bounds: Steinhardt et al. upper bound (steinhardt), aggregation ensembles (aggregate)"
BINARY = {"digits17": ("digits", 1, 7), "mnist17": ("mnist5k", 1, 7)}
METHODS = ("dpa", "fa", "bagging")


def add_arguments(parser) -> None:
    sub = parser.add_subparsers(dest="poison_command", metavar="{steinhardt,aggregate}", required=True)
    st = sub.add_parser("steinhardt", help="upper bound U* and candidate attack per epsilon (sphere + slab defense)")
    st.add_argument("--dataset", choices=tuple(BINARY), default="digits17", help="binary task (1-vs-7)")
    st.add_argument("--epsilons", type=float, nargs="+", default=[0.01, 0.05, 0.1, 0.3],
                    help="poison fractions (k = floor(eps n) points)")
    st.add_argument("--rho-sq", type=float, default=0.8, help="parameter set ||w||^2 + b^2 <= rho_sq")
    st.add_argument("--percentile", type=float, default=70.0, help="percentile of clean distances for the radii")
    st.add_argument("--loss", choices=LOSSES, default="hinge")
    st.add_argument("--iterations", type=int, default=3000, help="online-learning iterations per epsilon")
    st.add_argument("--data-dependent", action="store_true",
                    help="also bound the defense refitted on the poisoned data (certified SDP relaxation) and "
                         "retrain on its candidate attack")
    ag = sub.add_parser("aggregate", help="certified accuracy of an aggregation ensemble against poisoning size")
    ag.add_argument("--method", choices=METHODS, default="dpa")
    ag.add_argument("--dataset", choices=("mnist5k", "digits"), default="mnist5k")
    ag.add_argument("--partitions", type=int, default=50, help="DPA partitions (FA: k, with k*spread buckets)")
    ag.add_argument("--spread", type=int, default=2, help="FA: buckets per classifier (d)")
    ag.add_argument("--bags", type=int, default=100, help="bagging: number of bags")
    ag.add_argument("--bag-size", type=int, default=100, help="bagging: images per bag")
    ag.add_argument("--epochs", type=int, default=20, help="epochs per base classifier")
    ag.add_argument("--seed", type=int, default=0)
    ag.add_argument("--radii", type=int, nargs="+", default=[0, 1, 2, 5, 10, 20], help="poisoning sizes to report")
    for p in (st, ag):
        p.add_argument("--out", help="directory for Markdown/LaTeX/CSV tables (never overwritten without --force)")
        p.add_argument("--format", choices=FORMATS, nargs="+", default=list(FORMATS), dest="formats")
        p.add_argument("--force", action="store_true", help="overwrite existing table files")
        p.add_argument("--json", action="store_true", help="print one JSON object")


def _steinhardt(args) -> tuple[str, list[dict]]:
    from bounds.poisoning_data_dependent import data_dependent_upper_bounds
    from bounds.poisoning_steinhardt import evaluate_attack, steinhardt_report
    from bounds.sphere_slab import fit_sphere_slab
    from training.data import load_dataset

    name, negative, positive = BINARY[args.dataset]
    data = load_dataset(name).binary(negative, positive)
    report = steinhardt_report(data.x_train, data.y_train, data.x_test, data.y_test, args.epsilons, args.rho_sq,
                               percentile=args.percentile, loss=args.loss, iterations=args.iterations)
    rows = [{"epsilon": r.epsilon, "k": r.k, "upper_bound": r.upper_bound, "attack_loss": r.attack_loss,
             "attack_lower_bound": r.attack_lower_bound, "test_error": r.test_error} for r in report]
    if args.data_dependent:
        defense = fit_sphere_slab(data.x_train, data.y_train, args.percentile)
        moving = data_dependent_upper_bounds(data.x_train, data.y_train, defense, args.epsilons, args.rho_sq,
                                             args.loss, iterations=args.iterations)
        attacks = [evaluate_attack(data.x_train, data.y_train, b, data.x_test, data.y_test) for b in moving]
        rows = [row | {"upper_bound_data_dependent": b.upper_bound, "attack_loss_data_dependent": a.attack_loss,
                       "test_error_data_dependent": a.test_error} for row, b, a in zip(rows, moving, attacks)]
    return f"steinhardt_{args.dataset}", rows


def _aggregate(args) -> tuple[str, list[dict]]:
    from training.aggregation import train_ensemble
    from training.data import load_dataset

    data = load_dataset(args.dataset)
    result = train_ensemble(data.x_train, data.y_train, data.x_test, data.y_test, args.method,
                            partitions=args.partitions, spread=args.spread, bags=args.bags, bag_size=args.bag_size,
                            epochs=args.epochs, seed=args.seed, progress=not args.json)
    accuracy = result.certified_accuracy(args.radii)
    return (f"aggregate_{args.method}_{args.dataset}",
            [{"radius": r, "certified_accuracy": a} for r, a in zip(args.radii, accuracy)])


def run(args) -> int:
    name, rows = (_steinhardt if args.poison_command == "steinhardt" else _aggregate)(args)
    paths = write_tables({name: rows}, args.out, formats=tuple(args.formats), force=args.force) if args.out else []
    if args.json:
        print(json.dumps({"results": rows, "files": [str(p) for p in paths]}))
        return 0
    columns = list(rows[0])
    print(" ".join(f"{c:>14}" for c in columns))
    for row in rows:
        print(" ".join(f"{row[c]:>14.6g}" if isinstance(row[c], float) else f"{row[c]:>14}" for c in columns))
    print("\n".join(f"wrote {p}" for p in paths))
    return 0
