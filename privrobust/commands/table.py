"""``privrobust table``: write the privacy–robustness trade-off tables (noise per calibration, radius per
route) as Markdown, LaTeX and CSV (bounds/tradeoff_tables.py)."""
from __future__ import annotations

import json

from bounds.tables import FORMATS
from bounds.tradeoff_tables import DEFAULT_DELTA, DEFAULT_EPS, DEFAULT_P_A, write_tradeoff_tables

NAME = "table"
HELP = "write trade-off tables (noise per calibration, certified radius per route) as Markdown, LaTeX, CSV"


def add_arguments(parser) -> None:
    parser.add_argument("--out", required=True, help="directory to write into (created if missing)")
    parser.add_argument("--eps", type=float, nargs="+", default=list(DEFAULT_EPS), help="grid of epsilon")
    parser.add_argument("--delta", type=float, nargs="+", default=list(DEFAULT_DELTA), help="grid of delta")
    parser.add_argument("--p-a", type=float, nargs="+", default=list(DEFAULT_P_A), help="grid of p_a")
    parser.add_argument("--p-b", type=float, default=None, help="runner-up bound (default 1 - p_a)")
    parser.add_argument("--sensitivity", type=float, default=1.0, help="distance the (eps, delta) holds at")
    parser.add_argument("--format", choices=FORMATS, nargs="+", default=list(FORMATS), dest="formats",
                        help="file formats to write")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    paths = write_tradeoff_tables(args.out, args.eps, args.delta, args.p_a, p_b=args.p_b,
                                  sensitivity=args.sensitivity, force=args.force, formats=tuple(args.formats))
    if args.json:
        print(json.dumps({"files": [str(p) for p in paths]}))
    else:
        print("\n".join(f"wrote {p}" for p in paths))
    return 0
