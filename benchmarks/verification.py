"""Verification benchmarks of issue 4, run by hand (not CI): published verdicts, MIP times, auto-LiRPA.

    python benchmarks/verification.py vnncomp [--timeout 120] [--only prop_7_0.03]
    python benchmarks/verification.py mip [--timeout 600]
    python benchmarks/verification.py lirpa --lirpa-python /path/to/reference-venv/bin/python [--n 100] [--alpha]

vnncomp: the VNN-COMP 2021 test networks and the 30 mnistfc instances (mnist-net_256x2) against the verdicts
in ../shared/benchmarks/verify/mnistfc/expected_verdicts.csv; a disagreement is a bug and exits with status 1.
mip: MIPVerify's WK17a cases (samples 1, 2 robust at l-inf 0.1, sample 248 misclassified, sample 9's minimum
distortion 0.0940014207).
lirpa: bounds and times of verify.compute_bounds against auto-LiRPA 0.3 (a separate venv with torch 1.13, see
issue 4) on the ERAN 6x100 MLP and the WK17a CNN, margin specification C (true class minus each other class),
l-inf (inputs clipped to [0, 1]) and l2 (no box: auto-LiRPA 0.3 ignores x_L/x_U for l2). Every section prints a Markdown table; --out DIR also writes it (and a CSV) there, never over an
existing file.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from verify import compute_bounds, minimum_distortion, mip_verify, verify_onnx  # noqa: E402

DATA = ROOT.parent / "shared" / "benchmarks" / "verify"
LIRPA_SCRIPT = Path(__file__).resolve().parent / "verification_lirpa_reference.py"


def markdown(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def write(out, name, header, rows, extra=""):
    table = markdown(header, rows) + ("\n\n" + extra if extra else "")
    print(table, flush=True)
    if out is None:
        return
    out.mkdir(parents=True, exist_ok=True)
    for path in (out / f"{name}.md", out / f"{name}.csv"):
        if path.exists():
            raise FileExistsError(f"{path} exists; choose another --out")
    (out / f"{name}.md").write_text(table + "\n")
    with open(out / f"{name}.csv", "w", newline="") as f:
        csv.writer(f).writerows([header, *rows])


# ---------------------------------------------------------------- VNN-COMP
def vnncomp_instances():
    test = DATA / "vnncomp_test"
    expected = {"test_nano": "holds", "test_tiny": "holds", "test_small": "holds", "test_sat": "violated",
                "test_unsat": "holds"}
    for line in (test / "test_instances.csv").read_text().split():
        net, prop, _ = line.split(",")
        yield test / net, test / prop, expected[net.removesuffix(".onnx")]
    with open(DATA / "mnistfc" / "expected_verdicts.csv") as f:
        for row in csv.DictReader(f):
            yield DATA / "mnistfc" / row["network"], DATA / "mnistfc" / row["property"], row["expected"]


def run_vnncomp(args) -> int:
    rows, wrong, decided, total = [], 0, 0, 0
    for net, prop, expected in vnncomp_instances():
        if args.only and not any(o in prop.name or o in net.name for o in args.only):
            continue
        result = verify_onnx(net, prop, timeout=args.timeout)
        agree = result.status == "unknown" or result.status == expected
        wrong += not agree
        total += 1
        decided += result.status != "unknown"
        rows.append((net.name, prop.name, expected, result.status, result.decided_by or "-",
                     f"{result.seconds:.2f}", "yes" if agree else "**NO**"))
        print(*rows[-1], sep="\t", flush=True)
    summary = f"{decided} of {total} decided within {args.timeout:g} s each, {wrong} wrong verdicts"
    write(args.out, "vnncomp", ("network", "property", "published", "privrobust", "decided by", "seconds",
                                "agrees"), rows, summary)
    return 1 if wrong else 0


# ---------------------------------------------------------------- MIP
def wk17a_model():
    model = nn.Sequential(nn.Conv2d(1, 16, 4, stride=2, padding=1), nn.ReLU(),
                          nn.Conv2d(16, 32, 4, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                          nn.Linear(1568, 100), nn.ReLU(), nn.Linear(100, 10))
    model.load_state_dict(torch.load(DATA / "mipverify" / "wk17a_linf0.1.pth", map_location="cpu"))
    return model.double().eval()


def eran_6x100_model():
    state = torch.load(DATA / "eran" / "mnist_6_100_nat.pth", map_location="cpu")["state_dict"][0]
    layers = [nn.Flatten()]
    for k in range(6):
        layers += [nn.Linear(784 if k == 0 else 100, 100 if k < 5 else 10), nn.ReLU()]
    model = nn.Sequential(*layers[:-1])
    model.load_state_dict(state)
    return model.double().eval()


def mnist_data():
    X = np.load(DATA / "eran" / "X_eran.npy").astype(np.float64).reshape(-1, 1, 28, 28)
    return torch.from_numpy(X), np.load(DATA / "eran" / "y_eran.npy").astype(int)


def run_mip(args) -> int:
    model, (X, Y) = wk17a_model(), mnist_data()
    rows, bad = [], 0
    for sample, expected in ((1, "robust"), (2, "robust"), (248, "not robust")):
        x = X[sample - 1:sample]
        r = mip_verify(model, x, int(Y[sample - 1]), eps=0.1, timeout=args.timeout, x_min=0.0, x_max=1.0)
        solved = sum(1 for v in r.classes.values() if not isinstance(v, str))
        bad += r.status != expected
        rows.append((f"WK17a sample {sample}, l-inf 0.1", expected, r.status,
                     f"{solved} MILPs, gap {r.gap:g}", f"{r.seconds:.2f}"))
        print(*rows[-1], sep="\t", flush=True)
    x = X[8:9]
    r = minimum_distortion(model, x, int(Y[8]), tol=2e-4, timeout=args.timeout, x_min=0.0, x_max=1.0)
    # the published figure is a solver incumbent (tolerances ~1e-6): the exact minimum may lie a hair below it
    inside = r.lower <= 0.0940014207 <= r.upper + 1e-6 and r.upper - r.lower <= 2e-4
    bad += not inside
    rows.append(("WK17a sample 9, minimum l-inf distortion", "0.0940014207",
                 f"[{r.lower:.10f}, {r.upper:.10f}] ({r.status})", f"{len(r.steps)} bisection steps",
                 f"{r.seconds:.2f}"))
    write(args.out, "mip", ("case", "published", "privrobust", "work", "seconds"), rows)
    return 1 if bad else 0


# ---------------------------------------------------------------- auto-LiRPA
def lirpa_layers(model):
    """The layer list verification_lirpa_reference.py rebuilds (state dict keys by position) and the state dict."""
    layers = []
    for m in model:
        if isinstance(m, nn.Linear):
            layers.append(["linear", m.in_features, m.out_features])
        elif isinstance(m, nn.Conv2d):
            layers.append(["conv", m.in_channels, m.out_channels, m.kernel_size[0], m.stride[0], m.padding[0]])
        elif isinstance(m, nn.ReLU):
            layers.append(["relu"])
        else:
            layers.append(["flatten"])
    return layers


def margin_C(labels, n_classes=10):
    C = np.zeros((len(labels), n_classes - 1, n_classes))
    for n, y in enumerate(labels):
        others = [j for j in range(n_classes) if j != y]
        C[n, np.arange(n_classes - 1), y] = 1.0
        C[n, np.arange(n_classes - 1), others] = -1.0
    return C


def best_time(fn, repeats):
    best, out = math.inf, None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def run_lirpa(args) -> int:
    X, Y = mnist_data()
    X, Y = X[:args.n], Y[:args.n]
    cases = [("ERAN 6x100", eran_6x100_model(), ((math.inf, 0.026), (2.0, 0.5))),
             ("WK17a CNN", wk17a_model(), ((math.inf, 0.1), (2.0, 1.0)))]
    rows, worst = [], 0.0
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for name, model, settings in cases:
            torch.save(model.state_dict(), tmp / "state.pt")
            x = X
            np.save(tmp / "x.npy", x.numpy())
            C = margin_C(Y)
            np.save(tmp / "C.npy", C)
            for norm, eps in settings:
                # auto-LiRPA 0.3 ignores x_L/x_U for l2 balls: the box is only used with l-inf.
                box = (0.0, 1.0) if norm == math.inf else (None, None)
                job = {"layers": lirpa_layers(model), "state_dict": str(tmp / "state.pt"),
                       "inputs": str(tmp / "x.npy"), "C": str(tmp / "C.npy"), "eps": eps,
                       "norm": "inf" if norm == math.inf else "2", "x_min": box[0], "x_max": box[1],
                       "methods": ["IBP", "CROWN"], "repeats": args.repeats, "out": str(tmp / "ref.npz"),
                       "threads": args.threads}
                (tmp / "job.json").write_text(json.dumps(job))
                subprocess.run([args.lirpa_python, str(LIRPA_SCRIPT), str(tmp / "job.json")], check=True)
                ref = np.load(tmp / "ref.npz")
                Ct = torch.from_numpy(C)
                # "crown (batch rule)": auto-LiRPA 0.3's batch-wide choice of the neurons CROWN refines.
                methods = (("ibp", "IBP", False), ("crown", "CROWN", False), ("crown", "CROWN", True)) + \
                    ((("alpha-crown", None, False),) if args.alpha else ())
                for method, ref_name, batch_rule in methods:
                    seconds, (lo, up) = best_time(lambda: compute_bounds(
                        model, x, eps=eps, norm=norm, method=method, C=Ct, x_min=box[0], x_max=box[1],
                        batch_stability=batch_rule), args.repeats if ref_name else 1)
                    method += " (batch rule)" if batch_rule else ""
                    if ref_name:
                        rl, ru = ref[f"{ref_name}_lower"], ref[f"{ref_name}_upper"]
                        diff = max(np.abs(lo.numpy() - rl).max(), np.abs(up.numpy() - ru).max())
                        rel = diff / max(np.abs(rl).max(), np.abs(ru).max())
                        worst = max(worst, rel if "CNN" in name else diff)
                        rows.append((name, f"l{'inf' if norm == math.inf else 2} {eps:g}", method,
                                     f"{float(lo.mean()):.6f}", f"{float(rl.mean()):.6f}", f"{diff:.1e}",
                                     f"{rel:.1e}", f"{seconds:.3f}", f"{float(ref[f'{ref_name}_seconds']):.3f}"))
                    else:
                        rows.append((name, f"l{'inf' if norm == math.inf else 2} {eps:g}", method,
                                     f"{float(lo.mean()):.6f}", "-", "-", "-", f"{seconds:.3f}", "-"))
                    print(*rows[-1], sep="\t", flush=True)
    write(args.out, "lirpa", ("network", "ball", "method", "mean lower (privrobust)", "mean lower (auto-LiRPA)",
                              "max abs diff", "max rel diff", "seconds (privrobust)", "seconds (auto-LiRPA)"), rows,
          f"{args.n} MNIST test inputs, margin specification (9 rows), float64, CPU, {args.threads} threads, "
          f"best of {args.repeats}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="section", required=True)
    p = sub.add_parser("vnncomp")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--only", nargs="*", default=None, help="substrings of property or network names")
    p = sub.add_parser("mip")
    p.add_argument("--timeout", type=float, default=600.0)
    p = sub.add_parser("lirpa")
    p.add_argument("--lirpa-python", required=True, help="python of the auto-LiRPA 0.3 reference venv")
    p.add_argument("--n", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--alpha", action="store_true", help="also time alpha-CROWN (no auto-LiRPA reference)")
    for p in sub.choices.values():
        p.add_argument("--out", type=Path, default=None, help="directory for the table (Markdown and CSV)")
    args = parser.parse_args(argv)
    return {"vnncomp": run_vnncomp, "mip": run_mip, "lirpa": run_lirpa}[args.section](args)


if __name__ == "__main__":
    sys.exit(main())
