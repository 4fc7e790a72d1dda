"""The proofs behind privacy → robustness (issue 3): each check passes, and the code and the proofs point at
each other (every guarantee in the radius/calibration/Monte-Carlo modules is backed by a proof module whose
file its docstring names).

The checks themselves compare the code with sympy identities and mpmath at >= 30 digits (see each module).
"""
import pytest
from proof_links import backs, unbacked_public_functions, unnamed_proofs

from proofs import proof_modules, run

RADIUS_PROOFS = ("certified_accuracy_correction", "cohen_gdp", "cohen_neyman_pearson", "confidence_bounds",
                 "group_privacy", "laplace_radius", "noise_calibration", "norm_conversion", "pixeldp_condition",
                 "radius_ordering", "renyi_radius", "sample_size_ceiling", "tv_radius", "uniform_radius",
                 "poisoning_group_cost")
# the modules whose public functions are guarantees (tables.py, top_two.py and safe_rounding.py are plumbing)
GUARANTEE_MODULES = ("bounds.confidence", "bounds.gaussian_radius", "bounds.group_privacy", "bounds.l1_radius",
                     "bounds.montecarlo", "bounds.noise_calibration", "bounds.pixeldp_radius", "bounds.radius",
                     "bounds.renyi_radius")


def test_every_radius_proof_is_discovered():
    assert set(RADIUS_PROOFS) <= set(proof_modules())


@pytest.mark.parametrize("name", RADIUS_PROOFS)
def test_proof_check_passes(name):
    outcome = run(name)
    assert outcome.ok, outcome.detail
    assert outcome.theorem.statement and outcome.theorem.source and outcome.theorem.backs


def test_every_backed_function_exists_and_names_its_proof():
    assert not unnamed_proofs(backs(RADIUS_PROOFS))


@pytest.mark.parametrize("module_name", GUARANTEE_MODULES)
def test_every_public_guarantee_is_backed_by_a_proof(module_name):
    missing = unbacked_public_functions(module_name, backs(RADIUS_PROOFS))
    assert not missing, f"{module_name}: no proof module backs {missing}"
