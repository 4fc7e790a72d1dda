"""The derivations verify/ relies on (proofs/verify_relu_relaxation.py) check out."""
from proofs import proof_modules, run


def test_relu_relaxation_big_m_and_dual_norm_proof():
    assert "verify_relu_relaxation" in proof_modules()
    outcome = run("verify_relu_relaxation")
    assert outcome.ok, outcome.detail
