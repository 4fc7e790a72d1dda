"""Verification of trained networks: bound propagation (IBP, CROWN, alpha-CROWN), exact MIP, ONNX/VNNLIB.

Torch-backed; see verify.bounds, verify.mip and verify.runner for the methods and their papers.
"""
from verify.attacks import CarliniWagnerResult, carlini_wagner_l2, margin_objective, pgd, smoothed_pgd
from verify.audit import (distinguishing_audit, epsilon_lower_bound, max_certifiable_epsilon, one_run_audit,
                          one_run_epsilon_lower_bound)
from verify.bounds import compute_bounds
from verify.certified_accuracy import (CertifiedAccuracyCurve, ResultsFile, accuracy_curve, average_certified_radius,
                                       certified_accuracy, plot_certified_accuracy)
from verify.layers import Normalize, Reshape
from verify.mip import DistortionResult, MipResult, minimum_distortion, mip_verify
from verify.membership import lira_offline, lira_online, logit_confidence, loss_threshold_scores, roc
from verify.onnx_io import OnnxError, load_onnx
from verify.pixeldp import PixelDPCertificate, Sensitivity, pixeldp_certify, pre_noise_sensitivity
from verify.runner import VerificationResult, verify_onnx, verify_property
from verify.smoothing import ABSTAIN, Certificate, certify, predict
from verify.specs import Conjunction, Property
from verify.vnnlib import VnnlibError, parse_vnnlib, parse_vnnlib_text

__all__ = [
    "compute_bounds", "mip_verify", "minimum_distortion", "MipResult", "DistortionResult", "verify_onnx",
    "verify_property", "VerificationResult", "load_onnx", "OnnxError", "parse_vnnlib", "parse_vnnlib_text",
    "VnnlibError", "Property", "Conjunction", "Normalize", "Reshape", "pgd", "margin_objective",
    "carlini_wagner_l2", "CarliniWagnerResult", "smoothed_pgd", "certify", "predict", "Certificate", "ABSTAIN",
    "pixeldp_certify", "pre_noise_sensitivity", "Sensitivity", "PixelDPCertificate", "certified_accuracy",
    "accuracy_curve", "average_certified_radius", "CertifiedAccuracyCurve", "ResultsFile", "plot_certified_accuracy",
    "loss_threshold_scores", "logit_confidence", "lira_online", "lira_offline", "roc", "epsilon_lower_bound",
    "max_certifiable_epsilon", "distinguishing_audit", "one_run_audit", "one_run_epsilon_lower_bound",
]
