"""How code and proofs point at each other: which proof modules back which functions, and which public
functions of a module are backed (shared by the per-issue proof tests)."""
import importlib
import inspect


def backs(proof_names) -> dict[str, set[str]]:
    """dotted function name -> the proof modules (among ``proof_names``) whose THEOREM backs it."""
    out: dict[str, set[str]] = {}
    for name in proof_names:
        for target in importlib.import_module(f"proofs.{name}").THEOREM.backs:
            out.setdefault(target, set()).add(name)
    return out


def resolve(target: str):
    """The object a dotted name refers to (module path, then attributes, e.g. a class's method)."""
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


def unnamed_proofs(backed: dict[str, set[str]]) -> list[str]:
    """Backed functions whose docstring names none of their proof files."""
    return [target for target, proofs in backed.items()
            if not any(f"proofs/{p}.py" in (inspect.getdoc(resolve(target)) or "") for p in proofs)]


def unbacked_public_functions(module_name: str, backed, exempt=frozenset()) -> list[str]:
    """Public functions defined in the module that no proof backs (``exempt``: dotted names of plumbing)."""
    module = importlib.import_module(module_name)
    public = [name for name, obj in vars(module).items()
              if inspect.isfunction(obj) and obj.__module__ == module_name and not name.startswith("_")]
    assert public, f"{module_name} has no public functions"
    return [name for name in public if f"{module_name}.{name}" not in set(backed) | set(exempt)]
