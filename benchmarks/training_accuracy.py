"""Test accuracy of the default DP-SGD recipes (training/recipes.py) per dataset, ε and seed, at δ = 1e-5.

    PYTHONPATH=. python benchmarks/training_accuracy.py --out results/accuracy [--datasets mnist5k digits]
        [--epsilons 1 3] [--seeds 0 1 2] [--adversarial linf:0.1 | --noise-aug 0.25]

With ``--adversarial`` the models are also attacked with PGD-20 (ℓ∞ or ℓ2, the same radius, 2 restarts)
on the test set; with ``--noise-aug`` the models go straight to verify.smoothing.certify (Cohen et al.
2019; the σ the model records, n = 1000, α = 0.001) on the first 100 test images, and the certified
accuracy at ℓ2 radius 0 and 0.5 is reported.
Writes accuracy.json and accuracy.md into --out, which must not exist yet. One CPU thread by default.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

# This folder holds benchmarks/training.py, which would shadow the training package for a script run from
# here: put the repository root first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.data import load_dataset  # noqa: E402
from training.recipes import train_with_recipe  # noqa: E402
from training.views import Adversarial  # noqa: E402


def robust_accuracy(model, dataset, adversarial: Adversarial) -> float:
    """Accuracy under PGD-20 (2 restarts; verify.attacks.pgd) at the full training radius, whole test set."""
    x = torch.as_tensor(dataset.x_test)
    y = torch.as_tensor(dataset.y_test)
    model.eval()
    attack = Adversarial(adversarial.norm, adversarial.eps, steps=20, restarts=2)
    correct = 0
    for i in range(0, len(y), 500):
        adv = attack.attack(model, x[i:i + 500], y[i:i + 500], adversarial.eps, seed=i)
        with torch.inference_mode():
            correct += int((model(adv).argmax(1) == y[i:i + 500]).sum())
    return correct / len(y)


def certified_accuracy(model, dataset, sigma: float, count: int = 100) -> dict[str, float]:
    """Fraction of the first ``count`` test images certified correct by randomized smoothing at radius 0, 0.5."""
    from verify.smoothing import certify

    certificates = certify(model, torch.as_tensor(dataset.x_test[:count]), sigma=sigma, n0=100, n=1000,
                           alpha=0.001, seed=0)
    labels = dataset.y_test[:count]
    return {f"certified_l2_{r}": sum(c.prediction == int(y) and c.radius >= r for c, y in zip(certificates, labels))
            / count for r in (0.0, 0.5)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("--datasets", nargs="+", default=["mnist5k", "digits"])
    parser.add_argument("--epsilons", nargs="+", type=float, default=[1.0, 3.0])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    robust = parser.add_mutually_exclusive_group()
    robust.add_argument("--adversarial", help="e.g. linf:0.1")
    robust.add_argument("--noise-aug", type=float)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        print(f"--out {out} exists; choose a new folder", file=sys.stderr)
        return 2
    out.mkdir(parents=True)
    torch.set_num_threads(args.threads)
    adversarial = Adversarial.parse(args.adversarial) if args.adversarial else None
    rows = []
    for name in args.datasets:
        dataset = load_dataset(name)
        for eps in args.epsilons:
            for seed in args.seeds:
                result = train_with_recipe(dataset, epsilon=eps, seed=seed, noise_aug=args.noise_aug,
                                           adversarial=adversarial, progress=False)
                row = {"dataset": name, "target_epsilon": eps, "seed": seed, **result.metrics()}
                predictions = result.model(torch.as_tensor(dataset.x_test)).argmax(1)
                row["distinct_predictions"] = int(predictions.unique().numel())
                if adversarial is not None:
                    row["pgd20_accuracy"] = robust_accuracy(result.model, dataset, adversarial)
                if result.smoothing_sigma is not None:
                    row.update(certified_accuracy(result.model, dataset, result.smoothing_sigma))
                rows.append(row)
                print(json.dumps({k: row[k] for k in ("dataset", "target_epsilon", "seed", "test_accuracy",
                                                      "wall_time_s", "distinct_predictions", "pgd20_accuracy",
                                                      "certified_l2_0.0", "certified_l2_0.5") if k in row}),
                      flush=True)
                (out / "accuracy.json").write_text(json.dumps(rows, indent=2))
    lines = ["| dataset | ε | seeds | test accuracy (mean, min) | per seed |" + (" PGD-20 (mean, min) |" if adversarial else ""),
             "|---|---|---|---|---|" + ("---|" if adversarial else "")]
    for name in args.datasets:
        for eps in args.epsilons:
            group = [r for r in rows if r["dataset"] == name and r["target_epsilon"] == eps]
            accs = [r["test_accuracy"] for r in group]
            line = (f"| {name} | {eps:g} | {len(group)} | {statistics.mean(accs):.4f}, {min(accs):.4f} | "
                    f"{', '.join(f'{a:.4f}' for a in accs)} |")
            if adversarial:
                rob = [r["pgd20_accuracy"] for r in group]
                line += f" {statistics.mean(rob):.4f}, {min(rob):.4f} |"
            lines.append(line)
    (out / "accuracy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
