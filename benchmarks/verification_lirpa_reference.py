"""Reference bounds from auto-LiRPA 0.3, run by benchmarks/verification.py in a separate interpreter.

Usage (inside the reference venv, which has torch 1.13 and auto_LiRPA 0.3 but not privrobust):
    python benchmarks/verification_lirpa_reference.py JOB.json
JOB.json: {"layers": [["linear", in, out] | ["conv", cin, cout, k, stride, pad] | ["relu"] | ["flatten"]],
"state_dict": path, "inputs": path.npy, "C": path.npy, "eps": float, "norm": "inf" | "2",
"x_min": float | null, "x_max": float | null, "methods": ["IBP", "CROWN", ...], "repeats": int, "threads": int, "out": path.npz}.
Writes out.npz with <method>_lower, <method>_upper ([N, m], float64) and <method>_seconds (best of repeats).
"""
import json
import sys
import time

import numpy as np
import torch
from torch import nn

from auto_LiRPA import BoundedModule, BoundedTensor, PerturbationLpNorm


def build(layers):
    make = {"linear": lambda a, b: nn.Linear(a, b), "relu": nn.ReLU, "flatten": nn.Flatten,
            "conv": lambda ci, co, k, s, p: nn.Conv2d(ci, co, k, stride=s, padding=p)}
    return nn.Sequential(*[make[kind](*args) for kind, *args in layers])


def main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(job.get("threads", 1))
    net = build(job["layers"]).double()
    net.load_state_dict({k: v.double() for k, v in torch.load(job["state_dict"]).items()})
    net.eval()
    x = torch.from_numpy(np.load(job["inputs"])).double()
    C = torch.from_numpy(np.load(job["C"])).double()
    norm = float(job["norm"])
    x_L = None if job["x_min"] is None else (x - job["eps"]).clamp(min=job["x_min"])
    x_U = None if job["x_max"] is None else (x + job["eps"]).clamp(max=job["x_max"])
    bounded = BoundedModule(net, torch.empty_like(x), device="cpu")
    result = {}
    for method in job["methods"]:
        best = float("inf")
        for _ in range(job["repeats"]):
            ptb = PerturbationLpNorm(norm=norm, eps=job["eps"], x_L=x_L, x_U=x_U)
            start = time.perf_counter()
            lower, upper = bounded.compute_bounds(x=(BoundedTensor(x, ptb),), method=method, C=C)
            best = min(best, time.perf_counter() - start)
        result[f"{method}_lower"] = lower.detach().numpy()
        result[f"{method}_upper"] = upper.detach().numpy()
        result[f"{method}_seconds"] = best
    np.savez(job["out"], **result)


if __name__ == "__main__":
    main(sys.argv[1])
