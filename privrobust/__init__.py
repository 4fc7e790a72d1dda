"""privrobust: private and robust machine learning from one mathematics (public facade).

Importing this package never loads torch; the names below come from mechanisms/ and bounds/, and the
torch-backed entry points (verify_onnx) import their package when called.
"""
from __future__ import annotations

from bounds.accountant import EpsilonBracket, dpsgd_epsilon, epsilon_bracket
from bounds.calibrate import calibrate_noise, calibrate_sample_rate, calibrate_steps
from bounds.gdp import clt_epsilon
from bounds.radius import certified_radius, radii_from_noise, radius_from_noise
from bounds.rdp import rdp_epsilon
from bounds.trajectory import epsilon_trajectory

__version__ = "0.1.0"


def epsilon(noise_multiplier: float, sample_rate: float, steps: int, delta: float) -> EpsilonBracket:
    """Certified ε(δ) bracket of DP-SGD (Poisson sampling at rate q, Gaussian noise multiplier σ, Δ = 1,
    add/remove adjacency, ``steps`` steps): attributes ``lower <= estimate <= upper`` and ``method``."""
    return dpsgd_epsilon(noise_multiplier, sample_rate, steps, delta)


def verify_onnx(onnx_path, vnnlib_path, *, method: str = "auto", timeout: float = 120.0):
    """Decide a VNN-COMP instance (ONNX network, VNNLIB property): a ``verify.VerificationResult`` with status
    "holds", "violated" (with a counterexample re-checked on the network) or "unknown" (see verify.runner)."""
    from verify.runner import verify_onnx as run

    return run(onnx_path, vnnlib_path, method=method, timeout=timeout)


__all__ = ["EpsilonBracket", "calibrate_noise", "calibrate_sample_rate", "calibrate_steps", "clt_epsilon",
           "certified_radius", "epsilon", "epsilon_bracket", "epsilon_trajectory", "radii_from_noise",
           "radius_from_noise", "rdp_epsilon", "verify_onnx", "__version__"]
