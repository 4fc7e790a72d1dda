"""Verification of trained networks: bound propagation (IBP, CROWN, alpha-CROWN), exact MIP, ONNX/VNNLIB.

Torch-backed; see verify.bounds, verify.mip and verify.runner for the methods and their papers.
"""
from verify.attacks import margin_objective, pgd
from verify.bounds import compute_bounds
from verify.layers import Normalize, Reshape
from verify.mip import DistortionResult, MipResult, minimum_distortion, mip_verify
from verify.onnx_io import OnnxError, load_onnx
from verify.runner import VerificationResult, verify_onnx, verify_property
from verify.specs import Conjunction, Property
from verify.vnnlib import VnnlibError, parse_vnnlib, parse_vnnlib_text

__all__ = [
    "compute_bounds", "mip_verify", "minimum_distortion", "MipResult", "DistortionResult", "verify_onnx",
    "verify_property", "VerificationResult", "load_onnx", "OnnxError", "parse_vnnlib", "parse_vnnlib_text",
    "VnnlibError", "Property", "Conjunction", "Normalize", "Reshape", "pgd", "margin_objective",
]
