"""``privrobust tradeoff``: the end-to-end privacy x robustness report (training/tradeoff.py).

    privrobust tradeoff --out DIR                      # 12 models on MNIST-5k, about 5 min on 2 CPU cores
    privrobust tradeoff --out DIR --quick              # 2 models in about 20 s (smoke test)
    privrobust tradeoff --out DIR --preset paper --data-dir MNIST_IDX --device cuda   # full MNIST, n = 100,000

A rerun with the same options resumes (finished cells are skipped); another configuration in the same
folder, or a complete report, is refused unless --force. The grid and budget options override the preset.
"""
from __future__ import annotations

import json
import math

NAME = "tradeoff"
HELP = "privacy x robustness report: DP-SGD grid, certified accuracy per DP route, PGD, membership, audit"


def _epsilon(text: str) -> float:
    return math.inf if text.lower() in ("inf", "none") else float(text)


def command_line(args) -> list[str]:
    """The options of ``args`` as one canonical ``privrobust tradeoff`` command line (for results.json)."""
    words = ["privrobust", NAME]
    for key, value in sorted(vars(args).items()):
        if key == "command" or value is None or value is False or (key == "preset" and args.quick):
            continue
        words.append("--" + key.replace("_", "-"))
        if isinstance(value, list):
            words += [str(v) for v in value]
        elif value is not True:
            words.append(str(value))
    return words


def add_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="report folder (created; resumed when it holds this run)")
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument("--preset", choices=("default", "paper"), default="default",
                        help="default: MNIST-5k on CPU; paper: full MNIST from --data-dir, n = 100,000, for a GPU")
    preset.add_argument("--quick", action="store_true", help="reduced grid and budget (2 models, about 20 s)")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files (--preset paper)")
    parser.add_argument("--adversarial", metavar="NORM:EPS", help="add private adversarial training, e.g. linf:0.1")
    parser.add_argument("--pixeldp", metavar="EPS:DELTA:L[:ROUTE]", help="add PixelDP networks, e.g. 1:0.05:0.3")
    grid = parser.add_argument_group("grid and budget (override the preset)")
    grid.add_argument("--dataset", choices=("mnist5k", "digits", "mnist", "fashion-mnist"))
    grid.add_argument("--epsilons", type=_epsilon, nargs="+", help="privacy levels; inf = non-private")
    grid.add_argument("--sigmas", type=float, nargs="+", help="noise-augmentation sigmas; 0 = none")
    grid.add_argument("--epochs", type=int, help="DP-SGD epochs")
    grid.add_argument("--nonprivate-epochs", type=int, help="SGD epochs of the non-private models")
    grid.add_argument("--certify-count", type=int, help="test images certified")
    grid.add_argument("--n0", type=int, help="selection draws per image")
    grid.add_argument("--n", type=int, help="estimation draws per image")
    grid.add_argument("--alpha", type=float, help="failure probability per certificate")
    grid.add_argument("--pgd-count", type=int, help="test images attacked by PGD")
    grid.add_argument("--mia-count", type=int, help="members (and non-members) of the membership attack")
    grid.add_argument("--canaries", type=int, help="canaries of the one-run audit")
    grid.add_argument("--guesses", type=int, help="guesses of the one-run audit (even, <= canaries)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu", help="cpu or cuda[:N] (default cpu)")
    parser.add_argument("--force", action="store_true", help="replace a complete report or another configuration")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print the results path and headline table as JSON")


def run(args) -> int:
    from pathlib import Path

    from training.tradeoff import PRESETS, RESULTS, run_tradeoff

    preset = PRESETS["quick" if args.quick else args.preset].with_changes(
        dataset=args.dataset, epsilons=args.epsilons and tuple(args.epsilons),
        sigmas=args.sigmas and tuple(args.sigmas), epochs=args.epochs, nonprivate_epochs=args.nonprivate_epochs,
        certify_count=args.certify_count, n0=args.n0, n=args.n, alpha=args.alpha, pgd_count=args.pgd_count,
        mia_count=args.mia_count, canaries=args.canaries, guesses=args.guesses)
    results = run_tradeoff(args.out, preset, adversarial=args.adversarial, pixeldp=args.pixeldp, seed=args.seed,
                           device=args.device, data_dir=args.data_dir, force=args.force,
                           progress=not (args.no_progress or args.json), command=command_line(args))
    path = Path(args.out) / RESULTS
    if args.json:
        print(json.dumps({"results": str(path), "complete": results["complete"], "headline": results["headline"],
                          "files": results["files"]}))
        return 0
    from bounds.tables import to_markdown

    print(to_markdown(results["headline"], float_format=".3f"))
    print("written: " + ", ".join(results["files"]))
    return 0
