"""Certified radius of every route against REFERENCES.md §2, and the time each route takes per call.

    PYTHONPATH=. python benchmarks/radius_routes.py

Prints a Markdown table (σ = 1, p_B = 1 - p_A unless given) with the reference values beside the code's, and
the median wall time per call of each route. No torch, single core.
"""
from __future__ import annotations

import statistics
import time

from bounds.gaussian_radius import gdp_radius, tv_radius
from bounds.montecarlo import max_certifiable_radius
from bounds.noise_calibration import analytic_sigma, classical_sigma, extended_sigma
from bounds.pixeldp_radius import pixeldp_radius
from bounds.renyi_radius import renyi_radius

# REFERENCES.md §2: (p_A, p_B) -> Cohen / Li / PixelDP (classical calibration) at σ = 1
REFERENCE = {(0.6, None): (0.2533, 0.2022, 0.0592), (0.8, None): (0.8416, 0.6742, 0.2352),
             (0.9, None): (1.2816, 1.0319, 0.3903), (0.99, None): (2.3263, 1.9080, 0.5549),
             (0.8, 0.1): (1.0616, 0.9125, 0.3615)}


def _median_seconds(call, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    print("| p_A | p_B | gdp (ref) | renyi (ref) | pixeldp classic (ref) | tv | pixeldp analytic |")
    print("|---:|---:|---|---|---|---:|---:|")
    for (p_a, p_b), (cohen, li, pixel) in REFERENCE.items():
        shown_b = 1 - p_a if p_b is None else p_b
        print(f"| {p_a} | {shown_b:.2f} | {gdp_radius(1.0, p_a, p_b):.6f} ({cohen}) | "
              f"{renyi_radius(1.0, p_a, p_b):.6f} ({li}) | "
              f"{pixeldp_radius(1.0, p_a, p_b, calibration='classic'):.6f} ({pixel}) | "
              f"{tv_radius(1.0, p_a, p_b):.6f} | {pixeldp_radius(1.0, p_a, p_b):.6f} |")
    print(f"\nPixelDP classical supremum (p_A = 1): {pixeldp_radius(1.0, 1.0, calibration='classic'):.10f} "
          "(REFERENCES 0.5704690830)")
    print("ceiling sigma*Phi^-1(alpha^(1/n)), alpha = 0.001: "
          + ", ".join(f"n={n}: {max_certifiable_radius(1.0, n, 0.001):.4f}" for n in (100, 1000, 10 ** 4, 10 ** 5)))
    print("\n| call | median time per call |")
    print("|---|---:|")
    calls = {
        "gdp_radius": (lambda: gdp_radius(1.0, 0.9), 2000),
        "tv_radius": (lambda: tv_radius(1.0, 0.9), 2000),
        "renyi_radius": (lambda: renyi_radius(1.0, 0.9), 50),
        "pixeldp_radius analytic": (lambda: pixeldp_radius(1.0, 0.9), 30),
        "pixeldp_radius classic": (lambda: pixeldp_radius(1.0, 0.9, calibration="classic"), 30),
        "pixeldp_radius extended": (lambda: pixeldp_radius(1.0, 0.9, calibration="extended"), 30),
        "analytic_sigma(1, 1e-5)": (lambda: analytic_sigma(1.0, 1e-5), 200),
        "classical_sigma(0.5, 1e-5)": (lambda: classical_sigma(0.5, 1e-5), 200),
        "extended_sigma(1, 1e-5)": (lambda: extended_sigma(1.0, 1e-5), 200),
    }
    for name, (call, repeat) in calls.items():
        seconds = _median_seconds(call, repeat)
        print(f"| {name} | {seconds * 1e6:.1f} µs |" if seconds < 1e-3 else f"| {name} | {seconds * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
