"""``privrobust radius``: the certified radius every route gives, for noise calibrated to (ε, δ) at a
sensitivity or for a known noise scale (bounds/radius.py)."""
from __future__ import annotations

import json
import math

from bounds.noise_calibration import CALIBRATIONS
from bounds.radius import DEFAULT_NOISE, ROUTES, calibrated_noise, radii_from_noise

NAME = "radius"
HELP = "certified robustness radius of every DP route (gdp, renyi, tv, pixeldp; Laplace routes for --norm 1)"
NORMS = {"1": 1, "2": 2, "inf": math.inf}


def add_arguments(parser) -> None:
    parser.add_argument("--p-a", type=float, required=True, help="lower bound on the top-class probability")
    parser.add_argument("--p-b", type=float, default=None, help="upper bound on the runner-up (default 1 - p_a)")
    parser.add_argument("--eps", type=float, help="the noise is (eps, delta)-DP at distance --sensitivity")
    parser.add_argument("--delta", type=float, help="delta of that guarantee (0 allowed for Laplace, --norm 1)")
    parser.add_argument("--sensitivity", type=float, default=1.0, help="distance the (eps, delta) holds at")
    parser.add_argument("--calibration", choices=CALIBRATIONS, default="analytic",
                        help="Gaussian noise calibration, also the (eps', delta') curve of the pixeldp route")
    parser.add_argument("--sigma", type=float, help="known noise scale instead of --eps/--delta "
                        "(Gaussian sigma, Laplace b or uniform half-width)")
    parser.add_argument("--noise", choices=tuple(ROUTES), help="noise family with --sigma "
                        "(default: gaussian for --norm 2, laplace for --norm 1)")
    parser.add_argument("--norm", choices=tuple(NORMS), default="2", help="norm of the certified ball")
    parser.add_argument("--dim", type=int, help="input dimension (to convert a radius to a larger norm)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def _number(value: float):
    return value if math.isfinite(value) else "inf"


def run(args) -> int:
    norm = NORMS[args.norm]
    if args.sigma is not None:
        if args.eps is not None or args.delta is not None:
            raise ValueError("give either --sigma or --eps and --delta, not both")
        noise, scale, source = args.noise, args.sigma, "given"
    else:
        if args.eps is None or args.delta is None:
            raise ValueError("--eps and --delta are required (or give the noise scale with --sigma)")
        noise, scale = calibrated_noise(args.eps, args.delta, args.sensitivity, norm=norm,
                                        calibration=args.calibration)
        if args.noise is not None and args.noise != noise:
            raise ValueError(f"--noise {args.noise} does not match --norm {args.norm} (calibrated {noise} noise)")
        source = f"{args.calibration} calibration"
    radii = radii_from_noise(scale, args.p_a, args.p_b, norm=norm, noise=noise, dim=args.dim,
                             calibration=args.calibration)
    noise = noise or DEFAULT_NOISE[norm]
    p_b = 1 - args.p_a if args.p_b is None else args.p_b
    if args.json:
        print(json.dumps({"noise": noise, "scale": scale, "scale_source": source, "eps": args.eps,
                          "delta": args.delta, "sensitivity": args.sensitivity, "calibration": args.calibration,
                          "p_a": args.p_a, "p_b": p_b, "norm": args.norm,
                          "radii": {route: _number(r) for route, r in radii.items()}}))
        return 0
    print(f"{noise} noise of scale {scale:.6g} ({source}); p_a = {args.p_a:g}, p_b = {p_b:g}")
    print(f"certified l{args.norm} radius by route:")
    for route, radius in radii.items():
        print(f"  {route:<8} {radius:.6g}")
    return 0
