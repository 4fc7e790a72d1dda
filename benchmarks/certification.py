"""Throughput of verify.certify against the reference CERTIFY of Cohen et al. (locuslab/smoothing, code/core.py).

Same base model (a small CNN on MNIST-5k-shaped input [1, 28, 28], briefly trained with Gaussian noise
augmentation, or random with --train-epochs 0), same images, n0, n, α and batch size; the two run
interleaved image by image (alternating which goes first), and the result is images per second of each and
their ratio (ours / reference). The reference is imported from ``--smoothing-repo`` (a checkout of
locuslab/smoothing; nothing of it is copied here) with three shims for a current stack: SciPy's removed
``binom_test`` (as ``binomtest(k, n, p).pvalue``), statsmodels' ``proportion_confint(method="beta")`` when
statsmodels is absent (the same Clopper–Pearson bound, via scipy.stats.beta), and its hard-coded
``device='cuda'`` noise, redirected to the input's device when running on CPU. Ours runs as a user calls
it (on CPU a plain nn.Sequential is evaluated through a frozen, inference-optimised graph,
verify.smoothing.inference_model); --no-optimize measures the eager path.

    python benchmarks/certification.py --smoothing-repo ../peers/smoothing --out results/cert --n 10000
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
import types
from pathlib import Path

import numpy as np
import scipy.stats
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.data import load_dataset  # noqa: E402
from verify.smoothing import certify  # noqa: E402


def base_model() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 16, 4, stride=2, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 4, stride=2, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(32 * 7 * 7, 100), nn.ReLU(), nn.Linear(100, 10))


def train(model, data, sigma, epochs, seed, device):
    """Gaussian noise augmentation (Cohen et al. 2019, Sec. 4): SGD on x + N(0, σ²)."""
    gen = torch.Generator().manual_seed(seed)
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    for _ in range(epochs):
        for idx in torch.randperm(len(x), generator=gen).split(64):
            xb = (x[idx] + sigma * torch.randn(x[idx].shape, generator=gen)).to(device)
            loss = nn.functional.cross_entropy(model(xb), y[idx].to(device))
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    return model


class _NoiseOnInputDevice(types.ModuleType):
    """torch, except that randn_like ignores the reference's hard-coded device='cuda' (CPU runs only)."""

    def __init__(self):
        super().__init__("torch")

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def randn_like(t, device=None, **kwargs):
        return torch.randn_like(t, **kwargs)


def import_reference(repo: Path, device: torch.device):
    """locuslab/smoothing's core module with the shims of the module doc."""
    scipy.stats.binom_test = lambda k, n, p=0.5: scipy.stats.binomtest(int(k), int(n), p).pvalue
    try:
        import statsmodels.stats.proportion  # noqa: F401
    except ImportError:
        def proportion_confint(count, nobs, alpha=0.05, method="beta"):
            assert method == "beta"
            low = 0.0 if count == 0 else scipy.stats.beta.ppf(alpha / 2, count, nobs - count + 1)
            high = 1.0 if count == nobs else scipy.stats.beta.ppf(1 - alpha / 2, count + 1, nobs - count)
            return low, high
        parts = {name: types.ModuleType(name) for name in ("statsmodels", "statsmodels.stats",
                                                           "statsmodels.stats.proportion")}
        parts["statsmodels.stats.proportion"].proportion_confint = proportion_confint
        sys.modules.update(parts)
    sys.path.insert(0, str(repo / "code"))
    import core
    if device.type != "cuda":
        core.torch = _NoiseOnInputDevice()
    return core


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoothing-repo", type=Path, required=True, help="checkout of locuslab/smoothing")
    parser.add_argument("--out", type=Path, required=True, help="directory for results.json (never overwritten)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--n0", type=int, default=100)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--alpha", type=float, default=0.001)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--sigma", type=float, default=0.5)
    parser.add_argument("--train-epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-optimize", action="store_true", help="ours in eager mode (certify(optimize=False))")
    args = parser.parse_args(argv)
    target = args.out / "results.json"
    if target.exists():
        raise SystemExit(f"refusing to overwrite {target}")
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    core = import_reference(args.smoothing_repo, device)
    torch.manual_seed(args.seed)
    data = load_dataset("mnist5k")
    model = train(base_model(), data, args.sigma, args.train_epochs, args.seed, device="cpu").to(device)
    reference = core.Smooth(model, 10, args.sigma)
    images = torch.as_tensor(data.x_test[:args.images]).to(device)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    def ours(x):
        return tuple(certify(model, x[None], sigma=args.sigma, n0=args.n0, n=args.n, alpha=args.alpha,
                             batch_size=args.batch_size, device=device, seed=args.seed,
                             optimize=not args.no_optimize)[0])

    def theirs(x):
        return reference.certify(x, args.n0, args.n, args.alpha, args.batch_size)

    ours(images[0]), theirs(images[0])  # warm-up (kernels, allocator)
    times = {"ours": [], "reference": []}
    answers = {"ours": [], "reference": []}
    for i, x in enumerate(images):
        order = (("ours", ours), ("reference", theirs))
        for name, fn in (order if i % 2 == 0 else order[::-1]):
            sync()
            start = time.perf_counter()
            prediction, radius = fn(x)
            sync()
            times[name].append(time.perf_counter() - start)
            answers[name].append((int(prediction), float(radius)))
    rate = {k: len(v) / sum(v) for k, v in times.items()}
    result = {
        "images_per_second": rate, "ratio_ours_over_reference": rate["ours"] / rate["reference"],
        "median_seconds_per_image": {k: float(np.median(v)) for k, v in times.items()},
        "answers": answers, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor(),
        "threads": args.threads, "torch": torch.__version__,
        "config": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2))
    print(json.dumps({k: result[k] for k in ("images_per_second", "ratio_ours_over_reference", "device")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
