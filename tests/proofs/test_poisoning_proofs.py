"""The proofs behind the poisoning bounds (issue 7): each check passes, every guarantee of the poisoning modules is
backed by a proof module, and each backed function's docstring names its proof file."""
import importlib
import inspect

import pytest

from proofs import proof_modules, run

POISONING_PROOFS = ("poisoning_bagging", "poisoning_centroid_shift", "poisoning_dpa", "poisoning_finite_aggregation",
                    "poisoning_group_cost", "poisoning_inner_max", "poisoning_svm_dual", "poisoning_upper_bound")
GUARANTEE_MODULES = ("bounds.aggregation", "bounds.poisoning_steinhardt", "bounds.poisoning_tradeoff")
PLUMBING = {"bounds.aggregation.certified_accuracy"}  # counts certified test points; no theorem of its own


def _backs() -> dict[str, set[str]]:
    backs: dict[str, set[str]] = {}
    for name in POISONING_PROOFS + ("group_privacy",):
        for target in importlib.import_module(f"proofs.{name}").THEOREM.backs:
            backs.setdefault(target, set()).add(name)
    return backs


def _function(target):
    parts = target.split(".")
    for split in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:split]))
        except ModuleNotFoundError:
            continue
        for attr in parts[split:]:
            obj = getattr(obj, attr)
        return obj
    raise AssertionError(f"cannot import {target}")


def test_every_poisoning_proof_is_discovered():
    assert set(POISONING_PROOFS) <= set(proof_modules())


@pytest.mark.parametrize("name", POISONING_PROOFS)
def test_proof_check_passes(name):
    outcome = run(name)
    assert outcome.ok, outcome.detail
    assert outcome.theorem.statement and outcome.theorem.source and outcome.theorem.backs


def test_every_backed_function_names_its_proof():
    for target, proofs in _backs().items():
        doc = inspect.getdoc(_function(target)) or ""
        assert any(f"proofs/{p}.py" in doc for p in proofs), f"{target}'s docstring names none of {sorted(proofs)}"


@pytest.mark.parametrize("module_name", GUARANTEE_MODULES + ("bounds.group_privacy",))
def test_every_public_guarantee_is_backed(module_name):
    module = importlib.import_module(module_name)
    public = [name for name, obj in vars(module).items()
              if inspect.isfunction(obj) and obj.__module__ == module_name and not name.startswith("_")]
    missing = [name for name in public if f"{module_name}.{name}" not in set(_backs()) | PLUMBING]
    assert not missing, f"{module_name}: no proof module backs {missing}"
