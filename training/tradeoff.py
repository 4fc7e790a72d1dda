"""The privacy x robustness trade-off report (``privrobust tradeoff``): a grid of models, each trained,
audited and evaluated once, resumable cell by cell.

Grid: privacy levels ε in ``Preset.epsilons`` (math.inf = non-private) x robustness settings: no
augmentation, Gaussian noise augmentation at each σ of ``Preset.sigmas``, and optionally private
adversarial training (``adversarial``) and PixelDP noise-layer networks (``pixeldp``). Private cells are
``train_with_recipe`` runs (DP-SGD, σ_DP calibrated so the certified ε(δ) upper bound is <= ε); non-private
cells train the ε = 3 recipe network with the same views by plain SGD (``train_robust``) and report ε = ∞.

Audit (Steinke, Nasr & Jagielski 2023, "Privacy auditing with one (1) training run", Alg. 1 and Thm. 3.1 with
its δ > 0 extension; verify/audit.one_run_audit): every reported model is itself the audit run. m canaries
are training images given a wrong label (fixed by the seed); each is included independently with
probability 1/2, the clean remainder of the training set always. The auditor scores each canary by -loss
under the trained model, guesses "in" for the r/2 highest and "out" for the r/2 lowest scores, and the
number v of right guesses gives ε_LB, the smallest ε an (ε, δ)-DP mechanism could have without making v
right guesses a probability-<= β event. So with probability >= 1 - β, ε_LB <= the true ε of the training
algorithm <= the accounted upper bound. It is a lower bound from a black-box, final-model, one-run attack
and is typically far below the accounted ε: a small ε_LB does not show that a model is more private than
accounted, a large one would show a broken implementation. The canaries are part of the reported models'
training data (the privacy guarantee covers them like every other record); they cost a little accuracy.

Output folder: config.json; cells/KEY.json (every number of one cell, written atomically when the cell is
finished; a rerun skips cells whose file exists) and cells/KEY.pt (the model, privrobust.model/1);
results.json (rewritten after every cell; "complete" once all are); tradeoff.{md,tex,csv} and the plots
(training/report.py). A folder holding another configuration is refused, a complete report is kept,
unless ``force``.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from bounds.montecarlo import max_certifiable_radius
from mechanisms.validate import in_interval, integer, probability
from training.data import Dataset, load_dataset
from training.evaluate import EvalConfig, evaluate, per_example_losses
from training.pixeldp import PixelDPSpec, after_first_layer
from training.recipes import recipe, train_with_recipe
from training.report import FILES as REPORT_FILES, cell_line, headline, notes, write_atomic, write_report
from training.robust import RobustConfig, train_robust
from training.views import Adversarial, Views
from verify.audit import one_run_audit

FORMAT = "privrobust.tradeoff/1"
RESULTS = "results.json"
CONFIG = "config.json"
CELLS = "cells"
NONPRIVATE_LR = 0.05


@dataclass(frozen=True)
class Preset:
    """A grid and its budget.

    epsilons: privacy levels (math.inf: non-private); sigmas: noise-augmentation σ (0: none); delta: δ of
    every private cell; epochs: DP-SGD epochs (None: the recipe's); nonprivate_epochs: SGD epochs of the
    non-private cells; canaries m and guesses r of the one-run audit at level beta; evaluation: EvalConfig."""

    name: str
    dataset: str
    epsilons: tuple
    sigmas: tuple
    delta: float = 1e-5
    epochs: int | None = None
    nonprivate_epochs: int = 10
    canaries: int = 400
    guesses: int = 80
    beta: float = 0.05
    evaluation: EvalConfig = field(default_factory=EvalConfig)

    def __post_init__(self):
        epsilons = tuple(sorted({in_interval("epsilons", e, 0.0, math.inf, high_open=False) for e in self.epsilons}))
        sigmas = tuple(sorted({in_interval("sigmas", s, 0.0, math.inf, low_open=False) for s in self.sigmas}))
        if not epsilons or not sigmas:
            raise ValueError(f"epsilons and sigmas must not be empty, got {self.epsilons!r}, {self.sigmas!r}")
        object.__setattr__(self, "epsilons", epsilons)
        object.__setattr__(self, "sigmas", sigmas)
        probability("delta", self.delta, zero=False, one=False)
        if self.epochs is not None:
            integer("epochs", self.epochs, minimum=1)
        integer("nonprivate_epochs", self.nonprivate_epochs, minimum=1)
        m, r = integer("canaries", self.canaries, minimum=2), integer("guesses", self.guesses, minimum=2)
        if r > m or r % 2:
            raise ValueError(f"guesses must be an even number in [2, canaries] = [2, {m}], got {r}")
        probability("beta", self.beta, zero=False, one=False)
        if not isinstance(self.evaluation, EvalConfig):
            raise TypeError(f"evaluation must be a training.evaluate.EvalConfig, got {type(self.evaluation).__name__}")

    def certify_sigma(self) -> float:
        """The σ at which models trained without noise are certified: the smallest σ > 0 of the grid."""
        return min([s for s in self.sigmas if s > 0] or [0.25])

    def with_changes(self, **changes) -> "Preset":
        """This preset with fields of Preset or of its EvalConfig changed (None values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        evaluation_fields = {f.name for f in dataclasses.fields(EvalConfig)}
        own = {f.name for f in dataclasses.fields(Preset)}
        unknown = sorted(set(changes) - evaluation_fields - own)
        if unknown:
            raise ValueError(f"unknown preset field(s): {', '.join(unknown)}")
        evaluation = replace(self.evaluation, **{k: v for k, v in changes.items() if k in evaluation_fields})
        return replace(self, evaluation=evaluation, **{k: v for k, v in changes.items() if k in own})

    def to_json(self) -> dict:
        return json.loads(dumps(dataclasses.asdict(self)))


#: default: 12 models in about 5 minutes on 2 CPU cores (measured in README.md, "The trade-off report")
PRESETS = {
    "default": Preset("default", "mnist5k", (1.0, 3.0, 8.0, math.inf), (0.0, 0.25, 0.5), nonprivate_epochs=10),
    "quick": Preset("quick", "mnist5k", (3.0, math.inf), (0.0, 0.25), epochs=4, nonprivate_epochs=2,
                    canaries=200, guesses=40,
                    evaluation=EvalConfig(certify_count=40, n0=50, n=200, pgd_count=40, pgd_steps=5,
                                          mia_count=500)),
    "paper": Preset("paper", "mnist", (1.0, 3.0, 8.0, math.inf), (0.0, 0.25, 0.5), epochs=None,
                    nonprivate_epochs=10, canaries=1000, guesses=200,
                    evaluation=EvalConfig(certify_count=10_000, n0=100, n=100_000, batch_size=10_000,
                                          pgd_count=10_000, pgd_steps=50, mia_count=10_000)),
}


@dataclass(frozen=True)
class Cell:
    """One model of the grid: privacy level ``epsilon`` (inf: non-private) and robustness ``setting``
    ("none", "gauss-σ", "adv-NORM-EPS" or "pixeldp")."""

    epsilon: float
    setting: str
    noise_aug: float | None = None
    adversarial: Adversarial | None = None
    pixeldp: PixelDPSpec | None = None

    @property
    def key(self) -> str:
        return f"eps-{self.epsilon:g}_{self.setting}"

    @property
    def private(self) -> bool:
        return math.isfinite(self.epsilon)


def grid(preset: Preset, *, adversarial: str | None = None, pixeldp: str | None = None) -> list[Cell]:
    """The cells of ``preset`` (ε ascending, non-private last), optionally with an adversarial-training
    setting (``"linf:0.1"``) and a PixelDP setting (``"EPS:DELTA:L[:ROUTE]"``) per privacy level."""
    settings = [("none" if s == 0 else f"gauss-{s:g}", {"noise_aug": s or None}) for s in preset.sigmas]
    if adversarial is not None:
        adv = Adversarial.parse(adversarial)
        settings.append((f"adv-{adversarial.replace(':', '-')}", {"adversarial": adv}))
    if pixeldp is not None:
        settings.append(("pixeldp", {"pixeldp": PixelDPSpec.parse(pixeldp)}))
    return [Cell(eps, name, **kwargs) for eps in preset.epsilons for name, kwargs in settings]


@dataclass(frozen=True)
class Canaries:
    """m training images with wrong labels (``indices`` into x_train, ``labels``): the one-run audit's
    canaries. ``clean`` are the remaining training indices, always included."""

    indices: np.ndarray
    labels: np.ndarray
    clean: np.ndarray

    @staticmethod
    def draw(dataset: Dataset, m: int, seed: int) -> "Canaries":
        n = len(dataset.y_train)
        if m >= n:
            raise ValueError(f"canaries must be < the training set size {n}, got {m}")
        rng = np.random.default_rng([seed, 0xCA9A])
        order = rng.permutation(n)
        indices, clean = order[:m], np.sort(order[m:])
        shift = rng.integers(1, dataset.num_classes, size=m)  # a uniformly random wrong label
        return Canaries(indices, (dataset.y_train[indices] + shift) % dataset.num_classes, clean)

    def training_set(self, dataset: Dataset, include: np.ndarray) -> Dataset:
        """The clean images plus the included canaries (with their wrong labels)."""
        x = np.concatenate([dataset.x_train[self.clean], dataset.x_train[self.indices[include]]])
        y = np.concatenate([dataset.y_train[self.clean], self.labels[include]])
        return Dataset(dataset.name, x, y, dataset.x_test, dataset.y_test, dataset.num_classes)


def train_cell(cell: Cell, data: Dataset, preset: Preset, *, seed: int, device, progress: bool):
    """Train the model of ``cell`` on ``data``: (model, training record)."""
    if cell.private:
        overrides = {"epochs": preset.epochs} if preset.epochs is not None else None
        result = train_with_recipe(data, epsilon=cell.epsilon, delta=preset.delta, noise_aug=cell.noise_aug,
                                   adversarial=cell.adversarial, noise_layer=cell.pixeldp, overrides=overrides,
                                   seed=seed, device=device, progress=progress)
        eps = result.epsilon
        return result.model, {"private": True, "epsilon_lower": eps.lower, "epsilon_upper": eps.upper,
                              "epsilon_method": eps.method, "delta": result.delta,
                              "noise_multiplier": result.noise_multiplier, "sample_rate": result.sample_rate,
                              "steps": result.steps, "epochs": result.epochs, "training_size": len(data.y_train),
                              "pixeldp_sensitivity": result.pixeldp_sensitivity}
    base = recipe(data.name, None)
    views = base.config.views
    if cell.adversarial is not None:
        views = Views(adversarial=cell.adversarial)
    elif cell.noise_aug is not None:
        views = replace(views, noise_std=cell.noise_aug)
    torch.manual_seed(seed)
    model = base.build(data.input_shape[-1], data.num_classes)
    if cell.pixeldp is not None:
        model = after_first_layer(model, cell.pixeldp)
    config = RobustConfig(epochs=preset.nonprivate_epochs, lr=NONPRIVATE_LR, views=views)
    result = train_robust(model, data, config=config, pixeldp_route=cell.pixeldp.route if cell.pixeldp else None,
                          seed=seed, device=device, progress=progress)
    return result.model, {"private": False, "epsilon_lower": math.inf, "epsilon_upper": math.inf,
                          "epsilon_method": "non-private", "delta": None, "noise_multiplier": 0.0,
                          "sample_rate": None, "steps": config.epochs * -(-len(data.y_train) // config.batch_size),
                          "epochs": config.epochs, "training_size": len(data.y_train),
                          "pixeldp_sensitivity": result.sensitivity}


def run_cell(cell: Cell, dataset: Dataset, preset: Preset, *, seed: int, device="cpu", progress: bool = True):
    """Train (as the one-run audit's single run), audit and evaluate one cell: (model, JSON-ready record)."""
    canaries = Canaries.draw(dataset, preset.canaries, seed)
    trained = {}

    def run_once(include: np.ndarray, _seed: int) -> np.ndarray:
        start = time.perf_counter()
        data = canaries.training_set(dataset, include)
        trained["model"], trained["record"] = train_cell(cell, data, preset, seed=seed, device=device,
                                                         progress=progress)
        trained["record"]["wall_time_s"] = time.perf_counter() - start
        x = torch.as_tensor(dataset.x_train[canaries.indices], device=device)
        return -per_example_losses(trained["model"], x, torch.as_tensor(canaries.labels, device=device))

    audit = one_run_audit(run_once, preset.canaries, preset.guesses, delta=preset.delta, beta=preset.beta,
                          seed=seed)
    start = time.perf_counter()
    sigma = None if cell.pixeldp is not None else (cell.noise_aug or preset.certify_sigma())
    metrics = evaluate(trained["model"], dataset, sigma=sigma, members=canaries.clean, config=preset.evaluation,
                       seed=seed, device=device, progress=progress)
    certification = metrics["certification"]
    if sigma is not None:
        certification["max_certifiable_radius"] = max_certifiable_radius(sigma, preset.evaluation.n,
                                                                         preset.evaluation.alpha)
    record = {"key": cell.key, "epsilon": cell.epsilon, "setting": cell.setting,
              "trained_sigma": cell.noise_aug, "seed": seed, "training": trained["record"],
              "audit": {"method": "one-run (Steinke, Nasr & Jagielski 2023)", "epsilon_lower_bound": audit.epsilon,
                        "canaries": audit.canaries, "guesses": audit.guesses, "correct": audit.correct,
                        "delta": audit.delta, "beta": audit.beta, "canary": "mislabeled training image"},
              **metrics, "evaluation_wall_time_s": time.perf_counter() - start}
    return trained["model"], record


def dumps(record) -> str:
    """JSON with ∞ written as the string "inf" (strict JSON has no infinity)."""
    def clean(value):
        if isinstance(value, float) and not math.isfinite(value):
            return "inf" if value > 0 else ("-inf" if value < 0 else "nan")
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [clean(v) for v in value]
        return value
    return json.dumps(clean(record), indent=1)


def loads(text: str):
    """JSON as ``dumps`` writes it, with the strings "inf" and "-inf" read back as floats."""
    def restore(value):
        if value in ("inf", "-inf"):
            return float(value)
        if isinstance(value, dict):
            return {k: restore(v) for k, v in value.items()}
        if isinstance(value, list):
            return [restore(v) for v in value]
        return value
    return restore(json.loads(text))


def environment(device) -> dict:
    """Package versions and the machine, for results.json."""
    from importlib import metadata

    def version(name):
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None
    device = torch.device(device)
    return {"versions": {"python": platform.python_version(), "privrobust": version("privrobust"),
                         "torch": torch.__version__, "numpy": np.__version__, "scipy": version("scipy")},
            "machine": {"platform": platform.platform(), "processor": platform.processor(),
                        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                        "device": str(device),
                        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else None}}


class ReportFolder:
    """The --out folder: refuses another configuration and a complete report unless ``force`` (which clears
    the files a report consists of, nothing else)."""

    OWNED = (CONFIG, RESULTS, CELLS)

    def __init__(self, path, config: dict, *, force: bool):
        self.path = Path(path)
        self.cells = self.path / CELLS
        owned = [self.path / name for name in self.OWNED + REPORT_FILES]
        if force:
            for target in owned:
                if target.is_dir():
                    shutil.rmtree(target)
                elif target.exists():
                    target.unlink()
        config_path = self.path / CONFIG
        if config_path.exists():
            if json.loads(config_path.read_text(encoding="utf-8")) != config:
                raise ValueError(f"{self.path} holds a trade-off report of another configuration: choose another "
                                 "--out or pass --force to replace it")
            previous = self.previous()
            if previous.get("complete"):
                raise FileExistsError(f"{self.path} already holds a complete report: pass --force to recompute it")
        elif any(t.exists() for t in owned):
            raise FileExistsError(f"{self.path} holds report files without a {CONFIG}: choose another --out or "
                                  "pass --force")
        self.cells.mkdir(parents=True, exist_ok=True)
        if not config_path.exists():
            write_atomic(config_path, dumps(config))

    def previous(self) -> dict:
        path = self.path / RESULTS
        return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}

    def finished(self, cell: Cell) -> dict | None:
        path = self.cells / f"{cell.key}.json"
        return loads(path.read_text(encoding="utf-8")) if path.exists() else None

    def save(self, cell: Cell, model, record: dict) -> None:
        """The model (replacing one left by an interrupted run), then the record that marks the cell done."""
        from verify.model_io import save_model

        model_path = self.cells / f"{cell.key}.pt"
        if model_path.exists():
            model_path.unlink()
        meta = {"dataset": record.get("dataset"), "epsilon": cell.epsilon if cell.private else "inf"}
        if cell.noise_aug:
            meta.update(sigma=cell.noise_aug, noise="gaussian")
        save_model(model_path, model.cpu(), **meta)
        write_atomic(self.cells / f"{cell.key}.json", dumps(record))


def run_tradeoff(out, preset: Preset | str = "default", *, adversarial: str | None = None,
                 pixeldp: str | None = None, seed: int = 0, device="cpu", data_dir=None, force: bool = False,
                 progress: bool = True, command: list | None = None) -> dict:
    """Run (or resume) the trade-off report of ``preset`` into the folder ``out`` (module doc); returns
    results.json's content (∞ as float, "inf" in the file). ``command``: the command line to record
    (default sys.argv)."""
    from tqdm.auto import tqdm

    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        preset = PRESETS[preset]
    if not isinstance(preset, Preset):
        raise TypeError(f"preset must be a Preset or a preset name, got {type(preset).__name__}")
    seed = integer("seed", seed)
    cells = grid(preset, adversarial=adversarial, pixeldp=pixeldp)
    config = json.loads(dumps({"format": FORMAT, "preset": preset.to_json(), "adversarial": adversarial,
                               "pixeldp": pixeldp, "seed": seed}))
    folder = ReportFolder(out, config, force=force)
    dataset = load_dataset(preset.dataset, data_dir=data_dir)
    runs = folder.previous().get("runs", [])
    run = {"command": list(sys.argv if command is None else command), "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
           "device": str(device), "trained": [], "skipped": []}
    wall, cpu = time.perf_counter(), time.process_time()
    records = []
    bar = tqdm(cells, desc="tradeoff", disable=not progress)
    for cell in bar:
        bar.set_postfix(cell=cell.key)
        record = folder.finished(cell)
        if record is None:
            model, record = run_cell(cell, dataset, preset, seed=seed, device=device, progress=progress)
            record["dataset"] = dataset.name
            folder.save(cell, model, record)
            record = loads(dumps(record))
            run["trained"].append(cell.key)
            if progress:
                tqdm.write(cell_line(record))
        else:
            run["skipped"].append(cell.key)
        records.append(record)
        run.update(wall_time_s=time.perf_counter() - wall, cpu_time_s=time.process_time() - cpu)
        results = {"format": FORMAT, "complete": len(records) == len(cells), "config": config,
                   "cells": records, "runs": runs + [run], **environment(device),
                   "notes": notes(preset, config)}
        write_atomic(folder.path / RESULTS, dumps(results))
    results["headline"] = headline(records)
    results["files"] = [str(p) for p in write_report(folder.path, results)]
    write_atomic(folder.path / RESULTS, dumps(results))
    return results
