"""Run directories: configuration, one checkpoint per epoch, final metrics; never overwritten.

A run directory is created fresh; an existing non-empty one is refused unless the caller resumes it (the
latest checkpoint is loaded and training continues); there is no force mode: a new run needs a new
folder. Checkpoints are written to a temporary name and renamed, so an interrupted
write never leaves a broken checkpoint behind.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

CONFIG = "config.json"
METRICS = "metrics.json"
CHECKPOINTS = "checkpoints"


class RunDirectory:
    """The folder of one training run."""

    def __init__(self, path: str | os.PathLike, *, resume: bool = False):
        self.path = Path(path)
        exists = self.path.exists() and (not self.path.is_dir() or any(self.path.iterdir()))
        if exists and not resume:
            raise FileExistsError(f"run directory {str(self.path)!r} exists and is not empty: choose a new "
                                  "--out, or pass resume to continue the run saved there")
        if resume and not exists:
            raise FileNotFoundError(f"nothing to resume in {str(self.path)!r}")
        (self.path / CHECKPOINTS).mkdir(parents=True, exist_ok=True)

    def write_json(self, name: str, record: dict) -> Path:
        """Write ``record`` as ``name``; a file written before is refused (configs and metrics are final)."""
        target = self.path / name
        if target.exists():
            raise FileExistsError(f"{target} exists; a run never overwrites its files")
        target.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n")
        return target

    def read_json(self, name: str) -> dict:
        return json.loads((self.path / name).read_text())

    def begin(self, record: dict, resume: bool) -> dict | None:
        """Start the run described by ``record`` (written as config.json), or, with ``resume``, check that the
        saved run has that configuration and return its latest checkpoint (None if it has none yet)."""
        if not resume:
            self.write_json(CONFIG, record)
            return None
        if self.read_json(CONFIG) != json_roundtrip(record):
            raise ValueError(f"resume: the run in {self.path} was started with a different configuration")
        return self.latest_checkpoint()

    def save_checkpoint(self, epoch: int, state: dict) -> Path:
        target = self.path / CHECKPOINTS / f"epoch-{epoch:04d}.pt"
        partial = target.with_suffix(".partial")
        torch.save(state, partial)
        partial.replace(target)
        return target

    def latest_checkpoint(self) -> dict | None:
        found = sorted((self.path / CHECKPOINTS).glob("epoch-*.pt"))
        return torch.load(found[-1], map_location="cpu", weights_only=False) if found else None


def json_roundtrip(record: dict) -> dict:
    """``record`` as it reads back from JSON (tuples become lists, objects strings)."""
    return json.loads(json.dumps(record, sort_keys=True, default=str))
