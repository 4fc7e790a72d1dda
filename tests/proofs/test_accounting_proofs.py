"""The proofs behind the accountant (issue 2): each check passes, ``python -m proofs`` discovers them, and
every function a proof backs exists."""
import importlib
import subprocess
import sys

import pytest
from proof_links import resolve

from proofs import proof_modules, run

ACCOUNTING_PROOFS = ("analytic_gaussian", "connect_the_dots", "gaussian_rdp", "rdp_composition",
                     "rdp_conversion", "rounded_test", "subsampled_profile", "subsampled_rdp")


@pytest.mark.parametrize("name", ACCOUNTING_PROOFS)
def test_proof_check_passes(name):
    outcome = run(name)
    assert outcome.ok, outcome.detail
    for target in outcome.theorem.backs:
        obj = resolve(target)                  # raises if the backed function was renamed or removed
        assert callable(obj) or isinstance(obj, property)


def test_every_accounting_proof_is_discovered():
    assert set(ACCOUNTING_PROOFS) <= set(proof_modules())


def test_failing_check_is_reported(monkeypatch):
    module = importlib.import_module("proofs.gaussian_rdp")

    def broken():
        raise AssertionError("deliberately broken")
    monkeypatch.setattr(module, "check", broken)
    outcome = run("gaussian_rdp")
    assert not outcome.ok and "deliberately broken" in outcome.detail


def test_importing_mechanisms_and_bounds_does_not_load_torch():
    code = ("import sys, mechanisms, bounds, bounds.accountant, bounds.calibrate, privrobust; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
