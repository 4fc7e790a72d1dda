"""``privrobust certify MODEL``: certify a saved model on a test set by randomized smoothing (Cohen et al. 2019)
or, for a noise-layer network, by PixelDP (Lecuyer et al. 2019); per-example results as they come, then the
certified-accuracy curve, ACR, App. D bound and plots.

Model file: the "privrobust.model/1" format of verify/model_io.py (``privrobust train`` writes one as
``model.pt`` in its run directory); command-line options override the file's "meta" defaults.

Output directory: certify.jsonl (one line per example, appended as computed; a rerun with the same
configuration resumes it, another configuration is refused unless --force), summary.json and
certified_accuracy.{png,pdf} (derived from certify.jsonl and rewritten with it).
"""
from __future__ import annotations

import json
import math
import time
from pathlib import Path

NAME = "certify"
HELP = "certify a saved model on a test set: randomized smoothing (CERTIFY) or PixelDP, with plots"
DATASETS = ("mnist5k", "digits")


def add_arguments(parser) -> None:
    parser.add_argument("model", help="model file (privrobust.model/1, e.g. the model.pt of `privrobust train`)")
    parser.add_argument("--dataset", choices=DATASETS, help="test set (default: the model's meta)")
    parser.add_argument("--method", choices=("smoothing", "pixeldp"), default="smoothing")
    parser.add_argument("--sigma", type=float, help="smoothing noise scale (default: the model's meta)")
    parser.add_argument("--noise", choices=("gaussian", "laplace", "uniform"), help="smoothing noise")
    parser.add_argument("--n0", type=int, default=100, help="selection draws (smoothing)")
    parser.add_argument("--n", type=int, default=100_000, help="estimation draws")
    parser.add_argument("--alpha", type=float, default=0.001, help="failure probability per certificate")
    parser.add_argument("--bound", choices=("cp", "hoeffding", "bernstein"), default="hoeffding", help="pixeldp")
    parser.add_argument("--scores", choices=("softmax", "votes"), default="softmax", help="pixeldp")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--start", type=int, default=0, help="first test example")
    parser.add_argument("--count", type=int, default=100, help="number of test examples")
    parser.add_argument("--skip", type=int, default=1, help="certify every skip-th example")
    parser.add_argument("--rho", type=float, default=0.001, help="App. D: the curve's bound holds w.p. 1 - rho")
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--force", action="store_true", help="replace results of another configuration")
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")


def _number(value: float):
    return value if math.isfinite(value) else "inf"


def _certifier(args, model, meta):
    """(config, fn(x [1, *shape]) -> (prediction, radius, extra record fields))."""
    from verify.pixeldp import pixeldp_certify, pre_noise_sensitivity, split_at_noise
    from verify.smoothing import certify

    if args.method == "pixeldp":
        pre, layer, _ = split_at_noise(model)
        config = {"method": "pixeldp", "n": args.n, "alpha": args.alpha, "bound": args.bound,
                  "scores": args.scores, "noise": layer.distribution, "scale": layer.scale}

        norm = 2 if layer.distribution == "gaussian" else 1
        measured = {}  # the pre-noise sensitivity, measured once on the first input's shape

        def run(x, seed):
            if not measured:
                measured["value"] = pre_noise_sensitivity(pre, x.shape[1:], input_norm=norm, output_norm=norm,
                                                          device=args.device)
            c = pixeldp_certify(model, x, n=args.n, alpha=args.alpha, bound=args.bound, scores=args.scores,
                                sensitivity=measured["value"], batch_size=args.batch_size, device=args.device,
                                seed=seed)[0]
            return c.prediction, c.radius, {"p_a_lower": c.p_a_lower, "p_b_upper": c.p_b_upper,
                                            "sensitivity": c.sensitivity,
                                            "radii": {k: _number(v) for k, v in c.radii.items()}}
        return config, run
    sigma = args.sigma if args.sigma is not None else meta.get("sigma")
    if sigma is None:
        raise ValueError("--sigma is required (the model file's meta has no 'sigma')")
    noise = args.noise or meta.get("noise", "gaussian")
    config = {"method": "smoothing", "sigma": sigma, "noise": noise, "n0": args.n0, "n": args.n,
              "alpha": args.alpha}

    def run(x, seed):
        c = certify(model, x, sigma=sigma, n0=args.n0, n=args.n, alpha=args.alpha, batch_size=args.batch_size,
                    device=args.device, seed=seed, noise=noise)[0]
        return c.prediction, c.radius, {"p_a_lower": c.p_a_lower, "count": c.count,
                                        "radii": {k: _number(v) for k, v in c.radii.items()}}
    return config, run


def run(args) -> int:
    import numpy as np
    import torch
    from tqdm import tqdm

    from training.data import load_dataset
    from verify.certified_accuracy import (ResultsFile, accuracy_curve, certified_accuracy,
                                           plot_certified_accuracy)
    from verify.model_io import load_model

    model, meta = load_model(args.model)
    model.to(args.device)
    dataset = args.dataset or meta.get("dataset")
    if dataset not in DATASETS:
        raise ValueError(f"--dataset must be one of {', '.join(DATASETS)} (the model file names none)")
    for name in ("n", "count", "skip"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} must be >= 1, got {getattr(args, name)}")
    data = load_dataset(dataset)
    indices = list(range(args.start, min(len(data.y_test), args.start + args.count * args.skip), args.skip))
    config, certify_one = _certifier(args, model, meta)
    config.update({"model": str(Path(args.model).resolve()), "dataset": dataset, "seed": args.seed})
    out = Path(args.out)
    results = ResultsFile(out / "certify.jsonl", config, overwrite=args.force)
    todo = [i for i in indices if i not in results.done]
    for i in tqdm(todo, disable=args.no_progress or args.json, desc="certify"):
        x = torch.as_tensor(data.x_test[i:i + 1])
        t0 = time.perf_counter()
        prediction, radius, extra = certify_one(x, args.seed + i)
        label = int(data.y_test[i])
        results.append({"index": i, "label": label, "prediction": int(prediction), "radius": _number(radius),
                        "correct": int(prediction) == label, "seconds": time.perf_counter() - t0, **extra})
    records = [r for r in results.records if r["index"] in set(indices)]
    radii = np.array([math.inf if r["radius"] == "inf" else r["radius"] for r in records])
    correct = np.array([r["correct"] for r in records], dtype=bool)
    curve = accuracy_curve(radii, correct, alpha=args.alpha, rho=args.rho)
    summary = {"config": config, "examples": len(records), "clean_accuracy": float(correct.mean()),
               "average_certified_radius": curve.average_radius,
               "curve": {"radius": list(curve.radii), "accuracy": list(curve.accuracy),
                         "app_d_lower": list(curve.lower)}, "rho": args.rho,
               "seconds_per_example": float(np.mean([r["seconds"] for r in records]))}
    (out / "summary.json").write_text(json.dumps(summary, indent=1), encoding="utf-8")
    plots = plot_certified_accuracy({f"{config['method']}": curve}, out / "certified_accuracy", force=True,
                                    title=f"{dataset}, {config['method']}")
    summary["files"] = [str(out / "certify.jsonl"), str(out / "summary.json")] + [str(p) for p in plots]
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{len(records)} examples of {dataset}: clean accuracy {summary['clean_accuracy']:.3f}, "
              f"ACR {curve.average_radius:.4f}")
        grid = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
        for r, acc in zip(grid, certified_accuracy(radii, correct, grid)):
            print(f"  certified accuracy at r = {r:<4}: {acc:.3f}")
        print("written: " + ", ".join(summary["files"]))
    return 0
