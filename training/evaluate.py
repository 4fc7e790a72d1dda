"""Evaluating one trained model for the privacy x robustness report (training/tradeoff.py).

Every number is computed by verify/ and bounds/; this module picks the test subsets, runs them and returns
JSON-ready records:

- clean accuracy on the whole test set (one noise draw for a PixelDP network);
- certification of the first ``certify_count`` test images: randomized smoothing (CERTIFY, Cohen et al.
  2019, Alg. 1: n0 selection draws, n estimation draws, level α) or, for a noise-layer network, PixelDP
  (Lecuyer et al. 2019, Prop. 1); one record per image with the radius of every DP route
  (``Certificate.radii``: gdp, renyi, tv, pixeldp) for the same counts; from them the certified accuracy at
  each radius r, acc(r) = (1/N) Σ_i 1[correct_i and R_i >= r], and the average certified radius
  ACR = (1/N) Σ_i R_i 1[correct_i] (Zhai et al. 2020, eq. (9)), per route;
- PGD accuracy (Madry et al. 2018) of the base network f -- not of the smoothed classifier g -- in an ℓ2 and an
  ℓ∞ ball, on the first ``pgd_count`` test images: an empirical upper bound on f's robust accuracy;
- membership inference by the loss threshold (Yeom et al. 2018, Sec. 3.2; score = -loss) on
  ``mia_count`` training members against as many held-out test images: ROC, AUC, TPR at 1 % and 0.1 % FPR.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from mechanisms.validate import integer, positive, probability
from verify.attacks import margin_objective, pgd
from verify.certified_accuracy import average_certified_radius, certified_accuracy
from verify.membership import loss_threshold_scores, roc

#: the radii at which the report tabulates certified accuracy
REPORT_RADII = (0.0, 0.25, 0.5, 0.75, 1.0)


@dataclass(frozen=True)
class EvalConfig:
    """How much of the test set each evaluation uses, and its parameters.

    certify_count images certified with n0 selection and n estimation draws at level alpha (smoothing;
    PixelDP uses n draws and alpha with the Hoeffding bound); pgd_count images attacked by PGD with
    ``pgd_steps`` steps in the ℓ2 ball of radius pgd_l2 and the ℓ∞ ball of radius pgd_linf; mia_count
    members and as many non-members for the loss-threshold attack; radii: where certified accuracy is
    tabulated."""

    certify_count: int = 200
    n0: int = 100
    n: int = 1000
    alpha: float = 0.001
    batch_size: int = 1100
    pgd_count: int = 200
    pgd_l2: float = 0.5
    pgd_linf: float = 0.1
    pgd_steps: int = 20
    mia_count: int = 1000
    radii: tuple = REPORT_RADII

    def __post_init__(self):
        for name in ("certify_count", "n0", "n", "batch_size", "pgd_count", "pgd_steps", "mia_count"):
            integer(name, getattr(self, name), minimum=1)
        probability("alpha", self.alpha, zero=False, one=False)
        positive("pgd_l2", self.pgd_l2)
        positive("pgd_linf", self.pgd_linf)
        radii = tuple(float(r) for r in self.radii)
        if not radii or any(r < 0 or not math.isfinite(r) for r in radii):
            raise ValueError(f"radii must be finite and >= 0, got {self.radii!r}")
        object.__setattr__(self, "radii", radii)


@torch.inference_mode()
def per_example_losses(model, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> np.ndarray:
    """Cross-entropy loss of each (x_i, y_i) under ``model`` in eval mode (one draw for a randomized model)."""
    was_training = model.training
    model.eval()
    losses = [F.cross_entropy(model(x[i:i + batch]), y[i:i + batch], reduction="none")
              for i in range(0, len(x), batch)]
    model.train(was_training)
    return torch.cat(losses).double().cpu().numpy()


def certification_records(model, x: torch.Tensor, y: torch.Tensor, *, sigma: float | None, config: EvalConfig,
                          seed: int, device="cpu", progress: bool = True) -> list[dict]:
    """One record per image: label, prediction (-1 = abstain), correct, p_A lower bound and the radius of
    every route. ``sigma`` None: the model is a PixelDP network certified by verify.pixeldp; else Gaussian
    smoothing at ``sigma``. Image i uses noise seed ``seed + i`` (a resumed or partial run draws the same)."""
    from tqdm.auto import tqdm

    from verify.pixeldp import pixeldp_certify
    from verify.smoothing import certify

    records = []
    for i in tqdm(range(len(x)), desc="certify", leave=False, disable=not progress):
        xi = x[i:i + 1].to(device)
        if sigma is None:
            c = pixeldp_certify(model, xi, n=config.n, alpha=config.alpha, batch_size=config.batch_size,
                                device=device, seed=seed + i)[0]
        else:
            c = certify(model, xi, sigma=sigma, n0=config.n0, n=config.n, alpha=config.alpha,
                        batch_size=config.batch_size, device=device, seed=seed + i)[0]
        label = int(y[i])
        radii = {route: float(r) for route, r in c.radii.items()}
        records.append({"index": i, "label": label, "prediction": int(c.prediction),
                        "correct": int(c.prediction) == label, "p_a_lower": float(c.p_a_lower), "radii": radii})
    return records


def certified_summary(records: list[dict], radii) -> dict:
    """{route: {"accuracy": [acc(r) for r in radii], "acr": ACR}} from per-image records (module doc)."""
    correct = np.array([r["correct"] for r in records], dtype=bool)
    routes = records[0]["radii"].keys()
    summary = {}
    for route in routes:
        values = np.array([r["radii"][route] for r in records], dtype=float)
        summary[route] = {"accuracy": certified_accuracy(values, correct, radii).tolist(),
                          "acr": average_certified_radius(values, correct)}
    return summary


def pgd_accuracy(model, x: torch.Tensor, y: torch.Tensor, *, norm: float, eps: float, steps: int,
                 seed: int) -> float:
    """Fraction of x whose label stays the argmax of ``model`` at the best PGD point of the ball (margin
    objective, one restart from x, inputs clipped to [0, 1])."""
    was_training = model.training
    model.eval()
    adversarial = pgd(model, x, eps=eps, objective=margin_objective(y), norm=norm, steps=steps, x_min=0.0,
                      x_max=1.0, seed=seed)
    with torch.inference_mode():
        robust = float((model(adversarial).argmax(1) == y).double().mean())
    model.train(was_training)
    return robust


def membership(model, members: tuple, non_members: tuple) -> dict:
    """Loss-threshold attack (score = -loss) on (x, y) members against (x, y) non-members: AUC, TPR at 1 %
    and 0.1 % FPR, and the ROC points."""
    scores = loss_threshold_scores(np.concatenate([per_example_losses(model, *members),
                                                   per_example_losses(model, *non_members)]))
    is_member = np.r_[np.ones(len(members[1]), bool), np.zeros(len(non_members[1]), bool)]
    curve = roc(scores, is_member)
    return {"attack": "loss-threshold", "members": int(len(members[1])), "non_members": int(len(non_members[1])),
            "auc": curve.auc, "tpr_at_1%_fpr": curve.tpr_at(0.01), "tpr_at_0.1%_fpr": curve.tpr_at(0.001),
            "roc": {"fpr": curve.fpr.tolist(), "tpr": curve.tpr.tolist()},
            "scores": scores.tolist()}


def evaluate(model, dataset, *, sigma: float | None, members: np.ndarray, config: EvalConfig, seed: int,
             device="cpu", progress: bool = True) -> dict:
    """All the metrics of one model (module doc). ``sigma``: the smoothing σ (None: a PixelDP network);
    ``members``: indices into dataset.x_train of training points the model saw (the first mia_count are
    used)."""
    from training.loop import accuracy

    def tensors(x, y, count=None):
        return (torch.as_tensor(x[:count], device=device), torch.as_tensor(y[:count], device=device))

    model = model.to(device)
    x_test, y_test = tensors(dataset.x_test, dataset.y_test)
    x_cert, y_cert = tensors(dataset.x_test, dataset.y_test, config.certify_count)
    records = certification_records(model, x_cert, y_cert, sigma=sigma, config=config, seed=seed, device=device,
                                    progress=progress)
    x_pgd, y_pgd = tensors(dataset.x_test, dataset.y_test, config.pgd_count)
    count = min(config.mia_count, len(members), len(dataset.y_test))
    chosen = members[:count]
    return {
        "clean_accuracy": accuracy(model, x_test, y_test),
        "certification": {"method": "pixeldp" if sigma is None else "smoothing", "sigma": sigma,
                          "examples": len(records), "n0": config.n0, "n": config.n, "alpha": config.alpha,
                          "radii": list(config.radii), "routes": certified_summary(records, config.radii),
                          "records": records},
        "pgd": {"examples": len(y_pgd), "steps": config.pgd_steps, "target": "base network f",
                "l2": {"eps": config.pgd_l2, "accuracy": pgd_accuracy(model, x_pgd, y_pgd, norm=2.0,
                                                                      eps=config.pgd_l2, steps=config.pgd_steps,
                                                                      seed=seed)},
                "linf": {"eps": config.pgd_linf, "accuracy": pgd_accuracy(model, x_pgd, y_pgd, norm=math.inf,
                                                                          eps=config.pgd_linf,
                                                                          steps=config.pgd_steps, seed=seed)}},
        "membership": membership(model, tensors(dataset.x_train[chosen], dataset.y_train[chosen]),
                                 tensors(dataset.x_test, dataset.y_test, count)),
    }
