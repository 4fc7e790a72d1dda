"""Auditing DP-SGD itself: correct and deliberately broken implementations at claimed ε = 1, 2, 4.

    PYTHONPATH=. python benchmarks/privacy_audit.py --out results/privacy-audit [--trials 1000] [--force]

training.audit.digits_dpsgd_audit: Jagielski et al.'s distinguishing game on real DP-SGD runs (softmax
regression on 256 sklearn digits plus one canary, full batch, T steps, σ calibrated so that the certified
ε(δ) upper bound equals the claim, δ = 1e-5). Variants: correct; no clipping (clip norm 1e6, the noise std
unchanged); noise / sqrt(n) (σ divided by √256). Each audit runs --trials trainings per world, chooses the
threshold on half and counts on the other half; ε_LB holds with probability 1 − α (α = 0.05). An audit of that
size cannot show more than its ceiling (every counted guess right), reported beside it. Writes audit.md and
audit.json into --out.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

# run as a script, sys.path[0] is benchmarks/, whose training.py would shadow the training package
sys.path[0] = str(Path(__file__).resolve().parents[1])

from bounds.tables import to_markdown  # noqa: E402
from training.audit import VARIANTS, digits_dpsgd_audit  # noqa: E402

CLAIMS = (1.0, 2.0, 4.0)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--trials", type=int, default=1000, help="trainings per world (default 1000)")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--force", action="store_true", help="overwrite audit.md / audit.json in --out")
    args = parser.parse_args(argv)
    targets = [args.out / "audit.md", args.out / "audit.json"]
    if any(t.exists() for t in targets) and not args.force:
        raise SystemExit(f"{args.out} already holds results: pass --force to overwrite")
    torch.set_num_threads(1)
    rows = []
    for claim in CLAIMS:
        for variant in VARIANTS:
            start = time.perf_counter()
            result, accounted = digits_dpsgd_audit(claim, variant=variant, trials=args.trials, steps=args.steps)
            rows.append({"claimed eps": claim, "accounted upper": accounted.upper, "variant": variant,
                         "eps LB": result.epsilon, "audit ceiling": result.max_certifiable,
                         "violation shown": result.violates(claim), "seconds": time.perf_counter() - start})
            print(rows[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    header = (f"DP-SGD audit: digits, 256 + canary, full batch, T = {args.steps}, lr = 0.5, δ = 1e-5, "
              f"{args.trials} trials per world (threshold on half), α = 0.05\n\n")
    targets[0].write_text(header + to_markdown(rows, float_format=".3f") + "\n", encoding="utf-8")
    targets[1].write_text(json.dumps({"trials": args.trials, "steps": args.steps, "rows": rows}, indent=1),
                          encoding="utf-8")
    print(header + to_markdown(rows, float_format=".3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
