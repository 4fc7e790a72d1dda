"""``privrobust account``: certified ε(δ) bracket of DP-SGD, with the RDP bound beside it."""
from __future__ import annotations

import json
import time

NAME = "account"
HELP = "epsilon of DP-SGD (Poisson-subsampled Gaussian): certified bracket and RDP"


def add_arguments(parser) -> None:
    parser.add_argument("--noise-multiplier", type=float, required=True, help="Gaussian noise multiplier σ > 0")
    parser.add_argument("--sample-rate", type=float, required=True, help="Poisson sampling rate q in (0, 1]")
    parser.add_argument("--steps", type=int, required=True, help="number of steps T >= 1")
    parser.add_argument("--delta", type=float, required=True, help="target δ in (0, 1)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from bounds.accountant import dpsgd_epsilon
    from bounds.rdp import rdp_epsilon
    from mechanisms import dpsgd

    start = time.perf_counter()
    bracket = dpsgd_epsilon(args.noise_multiplier, args.sample_rate, args.steps, args.delta)
    seconds = time.perf_counter() - start
    rdp = rdp_epsilon(dpsgd(args.noise_multiplier, args.sample_rate, args.steps), args.delta)
    record = {"noise_multiplier": args.noise_multiplier, "sample_rate": args.sample_rate,
              "steps": args.steps, "delta": args.delta, "lower": bracket.lower,
              "estimate": bracket.estimate, "upper": bracket.upper, "method": bracket.method,
              "rdp_epsilon": rdp.epsilon, "rdp_alpha": rdp.alpha, "seconds": seconds}
    if args.json:
        print(json.dumps(record))
        return 0
    print(f"DP-SGD  σ = {args.noise_multiplier:g}, q = {args.sample_rate:.6g}, T = {args.steps}, "
          f"δ = {args.delta:g}")
    print(f"ε in [{bracket.lower:.6f}, {bracket.upper:.6f}]   estimate {bracket.estimate:.6f}   "
          f"({bracket.method}, certified, {seconds:.2f} s)")
    print(f"RDP (improved conversion, α = {rdp.alpha:.3f}): ε <= {rdp.epsilon:.6f}")
    return 0
