"""``privrobust calibrate``: the noise multiplier (or sample rate, or steps) for a target (ε, δ)."""
from __future__ import annotations

import json

NAME = "calibrate"
HELP = "noise multiplier (or sample rate, or steps) for a target (epsilon, delta)"


def add_arguments(parser) -> None:
    parser.add_argument("--epsilon", type=float, required=True, help="target ε > 0")
    parser.add_argument("--delta", type=float, required=True, help="target δ in (0, 1)")
    parser.add_argument("--sample-rate", type=float, help="Poisson sampling rate q in (0, 1]")
    parser.add_argument("--steps", type=int, help="number of steps T >= 1")
    parser.add_argument("--noise-multiplier", type=float,
                        help="given σ: solve for the sample rate or the steps, whichever is left out")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from bounds.accountant import dpsgd_epsilon
    from bounds.calibrate import calibrate_noise, calibrate_sample_rate, calibrate_steps

    given = {"noise_multiplier": args.noise_multiplier, "sample_rate": args.sample_rate, "steps": args.steps}
    missing = [name for name, value in given.items() if value is None]
    if len(missing) != 1:
        raise ValueError("give exactly two of --noise-multiplier, --sample-rate, --steps; "
                         f"the third is solved for (missing: {', '.join(missing) or 'none'})")
    solve = missing[0]
    if solve == "noise_multiplier":
        given[solve] = calibrate_noise(args.epsilon, args.delta, args.sample_rate, args.steps)
    elif solve == "sample_rate":
        given[solve] = calibrate_sample_rate(args.epsilon, args.delta, args.noise_multiplier, args.steps)
    else:
        given[solve] = calibrate_steps(args.epsilon, args.delta, args.noise_multiplier, args.sample_rate)
    bracket = dpsgd_epsilon(given["noise_multiplier"], given["sample_rate"], max(given["steps"], 1), args.delta)
    record = {**given, "solved_for": solve, "epsilon_target": args.epsilon, "delta": args.delta,
              "epsilon_lower": bracket.lower, "epsilon_upper": bracket.upper}
    if args.json:
        print(json.dumps(record))
        return 0
    print(f"{solve} = {given[solve]:.8g}  (σ = {given['noise_multiplier']:.8g}, q = {given['sample_rate']:.6g}, "
          f"T = {given['steps']})")
    print(f"certified ε in [{bracket.lower:.6f}, {bracket.upper:.6f}] <= target {args.epsilon:g} at δ = {args.delta:g}")
    return 0
