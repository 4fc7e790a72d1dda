"""Derivations the code relies on, one module per theorem, each checked symbolically or numerically.

A proof module defines
- ``THEOREM``: a ``Theorem`` (name, statement, source, and the functions it backs), and
- ``check() -> str``: performs the check (sympy identity or mpmath at >= 30 digits against the code) and
  returns a one-line summary of what was verified; it raises ``AssertionError`` when the check fails.
``python -m proofs`` runs every module and prints a table; the tests run it too.
"""
from __future__ import annotations

import importlib
import pkgutil
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Theorem:
    name: str
    statement: str
    source: str
    backs: tuple[str, ...]


@dataclass(frozen=True)
class Outcome:
    module: str
    theorem: Theorem
    ok: bool
    detail: str
    seconds: float


def proof_modules() -> list[str]:
    """Names of all proof modules in this package, sorted."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def run(name: str) -> Outcome:
    """Run one proof module's check."""
    module = importlib.import_module(f"proofs.{name}")
    start = time.perf_counter()
    try:
        detail, ok = module.check(), True
    except AssertionError as err:
        detail, ok = f"FAILED: {err}", False
    return Outcome(name, module.THEOREM, ok, detail, time.perf_counter() - start)


def run_all() -> list[Outcome]:
    return [run(name) for name in proof_modules()]
