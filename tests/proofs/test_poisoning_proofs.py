"""The proofs behind the poisoning bounds (issue 7): each check passes, every guarantee of the poisoning modules is
backed by a proof module, and each backed function's docstring names its proof file."""
import pytest
from proof_links import backs, unbacked_public_functions, unnamed_proofs

from proofs import proof_modules, run

POISONING_PROOFS = ("poisoning_bagging", "poisoning_centroid_shift", "poisoning_data_dependent", "poisoning_dpa",
                    "poisoning_finite_aggregation", "poisoning_group_cost", "poisoning_inner_max", "poisoning_svm_dual",
                    "poisoning_upper_bound")
GUARANTEE_MODULES = ("bounds.aggregation", "bounds.poisoning_data_dependent", "bounds.poisoning_steinhardt",
                     "bounds.poisoning_tradeoff")
PLUMBING = {"bounds.aggregation.certified_accuracy",  # counts certified test points; no theorem of its own
            "bounds.poisoning_data_dependent.candidate_attack"}  # an attack, checked by retraining, not a bound


def test_every_poisoning_proof_is_discovered():
    assert set(POISONING_PROOFS) <= set(proof_modules())


@pytest.mark.parametrize("name", POISONING_PROOFS)
def test_proof_check_passes(name):
    outcome = run(name)
    assert outcome.ok, outcome.detail
    assert outcome.theorem.statement and outcome.theorem.source and outcome.theorem.backs


def test_every_backed_function_names_its_proof():
    assert not unnamed_proofs(backs(POISONING_PROOFS + ("group_privacy",)))


@pytest.mark.parametrize("module_name", GUARANTEE_MODULES + ("bounds.group_privacy",))
def test_every_public_guarantee_is_backed(module_name):
    missing = unbacked_public_functions(module_name, backs(POISONING_PROOFS + ("group_privacy",)), PLUMBING)
    assert not missing, f"{module_name}: no proof module backs {missing}"
