"""Auditing DP-SGD itself: correct and deliberately broken implementations at claimed ε = 1, 2, 4.

    PYTHONPATH=. python benchmarks/privacy_audit.py --out results/privacy-audit [--trials 1000] [--force]

training.audit_dpsgd plays Jagielski et al.'s distinguishing game on real DP-SGD runs (an MLP on 256 sklearn
digits plus one canary, full batch, T steps, σ calibrated so that the certified ε(δ) upper bound equals the
claim, δ = 1e-5). Variants: "correct"; "no clipping" (clip norm 1e6, the noise std unchanged); "noise /
sqrt(n)" (σ divided by √256). Each audit runs --trials trainings per world, chooses the threshold on half and
counts on the other half; ε_LB holds with probability 1 − α (α = 0.05). An audit of that size cannot show more
than its ceiling (every counted guess right), reported beside it. Writes audit.md and audit.json into --out.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

# run as a script, sys.path[0] is benchmarks/, whose training.py would shadow the training package
sys.path[0] = str(Path(__file__).resolve().parents[1])

from bounds.accountant import dpsgd_epsilon  # noqa: E402
from bounds.calibrate import calibrate_noise  # noqa: E402
from bounds.tables import to_markdown  # noqa: E402
from training.audit import audit_dpsgd  # noqa: E402
from training.data import load_dataset  # noqa: E402
from training.models import MLP  # noqa: E402

N, DELTA, LR = 256, 1e-5, 0.5
CLAIMS = (1.0, 2.0, 4.0)
CANARY = torch.full((1, 8, 8), 10.0)  # far outside the data: its clipped gradient stands out


def build():
    torch.manual_seed(0)
    return MLP(64, (), 10)


def variant(name: str, sigma: float) -> tuple[float, float]:
    """(noise multiplier, clip norm) of a variant; the added noise std is multiplier x clip norm."""
    return {"correct": (sigma, 1.0), "no clipping": (sigma / 1e6, 1e6), "noise / sqrt(n)": (sigma / math.sqrt(N), 1.0)}[name]


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
    digits = load_dataset("digits")
    x, y = torch.as_tensor(digits.x_train[:N]), torch.as_tensor(digits.y_train[:N])
    rows = []
    for claim in CLAIMS:
        sigma = calibrate_noise(claim, DELTA, 1.0, args.steps)
        accounted = dpsgd_epsilon(sigma, 1.0, args.steps, DELTA)
        for name in ("correct", "no clipping", "noise / sqrt(n)"):
            noise, clip = variant(name, sigma)
            start = time.perf_counter()
            result = audit_dpsgd(build, x, y, CANARY, 0, noise_multiplier=noise, clip_norm=clip, sample_rate=1.0,
                                 steps=args.steps, lr=LR, trials=args.trials, delta=DELTA)
            rows.append({"claimed eps": claim, "accounted upper": accounted.upper, "sigma": sigma, "variant": name,
                         "eps LB": result.epsilon, "audit ceiling": result.max_certifiable,
                         "violation shown": result.violates(claim), "seconds": time.perf_counter() - start})
            print(rows[-1], flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    header = (f"DP-SGD audit: digits, N = {N} + canary, full batch, T = {args.steps}, lr = {LR}, δ = {DELTA:g}, "
              f"{args.trials} trials per world (threshold on half), α = 0.05\n\n")
    targets[0].write_text(header + to_markdown(rows, float_format=".3f") + "\n", encoding="utf-8")
    targets[1].write_text(json.dumps({"trials": args.trials, "steps": args.steps, "rows": rows}, indent=1),
                          encoding="utf-8")
    print(header + to_markdown(rows, float_format=".3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
