"""DP-SGD throughput side by side with Opacus: samples per CPU-second of a full private step.

One step = forward, per-example gradients, clipping, noise, optimizer update, on a fixed batch (same model,
same initial weights, same batch) for privrobust's DPSGD (training/dpsgd.py, engine "auto") and every
Opacus mode (hooks, functorch, ew, ghost). The modes run interleaved round by round in one process so that
load from other work on the machine hits them alike; the median over rounds is reported, and the ratio
privrobust / best Opacus mode, which is what to compare across machines. Models: Opacus' MNIST
SampleConvNet, a 5x5 LeNet-style CNN (28x28) and an MLP on 8x8 digits.

    PYTHONPATH=. python benchmarks/training.py --out results/training-throughput [--threads 1] [--device cpu]

Writes throughput.json and throughput.md into --out, which must not exist yet. On CUDA the time measured is
wall-clock after synchronising (samples per second), not CPU time.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from pathlib import Path

import torch
from torch import nn

# This folder holds benchmarks/training.py, which would shadow the training package for a script run from
# here: put the repository root first.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.dpsgd import DPSGD  # noqa: E402
from training.models import LeNet, MLP, SampleConvNet  # noqa: E402

MODELS = {"SampleConvNet": (SampleConvNet, (1, 28, 28)), "LeNet5x5": (LeNet, (1, 28, 28)),
          "MLP-digits": (MLP, (1, 8, 8))}
OPACUS_MODES = ("hooks", "functorch", "ew", "ghost")


def _clock(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        return time.perf_counter()
    return time.process_time()


def privrobust_step(model, x, y, device):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    engine = DPSGD(model, optimizer, noise_multiplier=1.0, clip_norm=1.0, expected_batch_size=x.shape[0],
                   noise_generator=torch.Generator(device).manual_seed(0))
    views = torch.Generator(device).manual_seed(1)
    return lambda: engine.step(x, y, views)


def opacus_step(mode, model, x, y, device):
    from opacus import PrivacyEngine
    from torch.utils.data import DataLoader, TensorDataset

    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loader = DataLoader(TensorDataset(x, y), batch_size=x.shape[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        made = PrivacyEngine(accountant="rdp").make_private(
            module=model, optimizer=optimizer, data_loader=loader, noise_multiplier=1.0, max_grad_norm=1.0,
            poisson_sampling=False, grad_sample_mode=mode, criterion=nn.CrossEntropyLoss())
    private, optimizer = made[0], made[1]
    criterion = made[2] if mode == "ghost" else nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad(set_to_none=True)
        criterion(private(x), y).backward()
        optimizer.step()
    return step


def measure(model_name, batch, rounds, steps, device):
    factory, shape = MODELS[model_name]
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, *shape, generator=gen).to(device)
    y = torch.randint(0, 10, (batch,), generator=gen).to(device)
    runners = {}
    for name in ("privrobust",) + OPACUS_MODES:
        torch.manual_seed(0)
        model = factory().to(device)
        try:
            runners[name] = (privrobust_step(model, x, y, device) if name == "privrobust"
                             else opacus_step(name, model, x, y, device))
            runners[name]()                                  # warm-up (and check that the mode runs)
        except Exception as err:                             # a mode Opacus does not support here
            print(f"  {model_name}: opacus {name} skipped: {type(err).__name__}: {err}", file=sys.stderr)
            runners.pop(name, None)
    rates = {name: [] for name in runners}
    for _ in range(rounds):
        for name, step in runners.items():
            start = _clock(device)
            for _ in range(steps):
                step()
            rates[name].append(batch * steps / (_clock(device) - start))
    medians = {name: statistics.median(r) for name, r in rates.items()}
    best = max((m for m in OPACUS_MODES if m in medians), key=medians.get)
    return {"model": model_name, "batch": batch, "samples_per_second": medians, "best_opacus": best,
            "ratio_vs_best_opacus": medians["privrobust"] / medians[best]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder (must not exist)")
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=5, help="steps per round and mode")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if out.exists():
        print(f"--out {out} exists; choose a new folder", file=sys.stderr)
        return 2
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    results = []
    for name in args.models:
        result = measure(name, args.batch, args.rounds, args.steps, device)
        results.append(result)
        rates = ", ".join(f"{k} {v:,.0f}" for k, v in result["samples_per_second"].items())
        print(f"{name} (batch {args.batch}): {rates}  -> ratio vs opacus {result['best_opacus']}: "
              f"{result['ratio_vs_best_opacus']:.2f}")
    out.mkdir(parents=True)
    meta = {"device": str(device), "threads": args.threads, "torch": torch.__version__,
            "unit": "samples per CPU-second" if device.type == "cpu" else "samples per second"}
    (out / "throughput.json").write_text(json.dumps({"meta": meta, "results": results}, indent=2))
    modes = ("privrobust",) + OPACUS_MODES
    lines = [f"| model | {' | '.join(modes)} | ratio vs best Opacus |", "|---" * (len(modes) + 2) + "|"]
    for r in results:
        cells = [f"{r['samples_per_second'][m]:,.0f}" if m in r["samples_per_second"] else "n/a" for m in modes]
        lines.append(f"| {r['model']} | {' | '.join(cells)} | {r['ratio_vs_best_opacus']:.2f} ({r['best_opacus']}) |")
    (out / "throughput.md").write_text(f"{meta['unit']}, {args.threads} thread(s), {device}\n\n" + "\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
