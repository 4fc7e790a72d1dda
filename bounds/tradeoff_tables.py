"""Privacy–robustness trade-off tables: for grids of ε, δ and p_A, the noise each calibration needs and
the radius every route certifies, side by side (write them with bounds/tables.py).

- ``noise_table``: σ per calibration (classic, extended, analytic) and the Laplace scale, per unit
  sensitivity times ``sensitivity``; "—" where a calibration does not apply (classic for ε >= 1).
- ``l2_radius_table``: Gaussian noise calibrated to (ε, δ) by each calibration, and its radius by every
  ℓ2 route (gdp, renyi, tv, pixeldp on the calibration's own curve).
- ``l1_radius_table``: Laplace noise for (ε, δ) and its ℓ1 radii (pixeldp, teng).
"""
from __future__ import annotations

from bounds.noise_calibration import CALIBRATIONS, EXTENDED_DELTA_MAX, calibrate_sigma, laplace_scale
from bounds.radius import ROUTES, radii_from_noise
from bounds.tables import write_tables

DEFAULT_EPS = (0.5, 1.0, 2.0, 4.0, 8.0)
DEFAULT_DELTA = (1e-5,)
DEFAULT_P_A = (0.6, 0.8, 0.9, 0.99)


def calibration_applies(calibration: str, eps: float, delta: float) -> bool:
    """False where a calibration is not a theorem: classic for ε >= 1, extended for δ >= √(2/π).
    Proof: proofs/noise_calibration.py."""
    return not ((calibration == "classic" and eps >= 1) or (calibration == "extended" and delta >= EXTENDED_DELTA_MAX))


def _grid(name: str, values) -> tuple:
    values = tuple(values)
    if not values:
        raise ValueError(f"{name} must contain at least one value")
    return values


def noise_table(eps_values=DEFAULT_EPS, delta_values=DEFAULT_DELTA, sensitivity=1.0) -> list[dict]:
    """One row per (ε, δ): sigma_<calibration> for each calibration and laplace_b."""
    rows = []
    for eps in _grid("eps_values", eps_values):
        for delta in _grid("delta_values", delta_values):
            row = {"eps": eps, "delta": delta}
            for calibration in CALIBRATIONS:
                row[f"sigma_{calibration}"] = (calibrate_sigma(eps, delta, sensitivity, calibration)
                                               if calibration_applies(calibration, eps, delta) else None)
            row["laplace_b"] = laplace_scale(eps, delta, sensitivity)
            rows.append(row)
    return rows


def l2_radius_table(eps_values=DEFAULT_EPS, delta_values=DEFAULT_DELTA, p_a_values=DEFAULT_P_A, *, p_b=None,
                    sensitivity=1.0, calibrations=CALIBRATIONS) -> list[dict]:
    """One row per (calibration, ε, δ, p_A): σ and the ℓ2 radius of every Gaussian route."""
    rows = []
    for calibration in _grid("calibrations", calibrations):
        for eps in _grid("eps_values", eps_values):
            for delta in _grid("delta_values", delta_values):
                applies = calibration_applies(calibration, eps, delta)
                sigma = calibrate_sigma(eps, delta, sensitivity, calibration) if applies else None
                for p_a in _grid("p_a_values", p_a_values):
                    row = {"calibration": calibration, "eps": eps, "delta": delta, "p_a": p_a,
                           "p_b": 1 - p_a if p_b is None else p_b, "sigma": sigma}
                    radii = (radii_from_noise(sigma, p_a, p_b, calibration=calibration) if applies
                             else dict.fromkeys(ROUTES["gaussian"]))
                    rows.append(row | {route: radii[route] for route in ROUTES["gaussian"]})
    return rows


def l1_radius_table(eps_values=DEFAULT_EPS, delta_values=DEFAULT_DELTA, p_a_values=DEFAULT_P_A, *, p_b=None,
                    sensitivity=1.0) -> list[dict]:
    """One row per (ε, δ, p_A): the Laplace scale b and the ℓ1 radius of every Laplace route."""
    rows = []
    for eps in _grid("eps_values", eps_values):
        for delta in _grid("delta_values", delta_values):
            scale = laplace_scale(eps, delta, sensitivity)
            for p_a in _grid("p_a_values", p_a_values):
                radii = radii_from_noise(scale, p_a, p_b, norm=1)
                rows.append({"eps": eps, "delta": delta, "p_a": p_a, "p_b": 1 - p_a if p_b is None else p_b,
                             "laplace_b": scale} | {route: radii[route] for route in ROUTES["laplace"]})
    return rows


def write_tradeoff_tables(directory, eps_values=DEFAULT_EPS, delta_values=DEFAULT_DELTA,
                          p_a_values=DEFAULT_P_A, *, p_b=None, sensitivity=1.0, force: bool = False,
                          formats=("md", "tex", "csv")) -> list:
    """Write noise, radius_l2 and radius_l1 tables to ``directory`` (never over existing files unless
    ``force``); returns the paths written."""
    tables = {
        "noise": noise_table(eps_values, delta_values, sensitivity),
        "radius_l2": l2_radius_table(eps_values, delta_values, p_a_values, p_b=p_b, sensitivity=sensitivity),
        "radius_l1": l1_radius_table(eps_values, delta_values, p_a_values, p_b=p_b, sensitivity=sensitivity),
    }
    return write_tables(tables, directory, formats=formats, force=force)
