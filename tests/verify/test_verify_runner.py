"""verify_onnx / verify_property against the published VNN-COMP verdicts, with every counterexample re-checked
by onnxruntime on the original ONNX file; random properties against brute-force sampling; the command line."""
import argparse
import csv
import importlib.util
import json

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn
from verify_reference import SHARED

from privrobust.commands import verify as verify_command
from verify import parse_vnnlib, verify_onnx, verify_property
from verify.specs import Conjunction, Property

needs_shared = pytest.mark.skipif(not SHARED.is_dir() or importlib.util.find_spec("onnx") is None,
                                  reason=f"needs the benchmark data at {SHARED} and the onnx package")
TOY = [("test_nano.onnx", "test_nano.vnnlib", "holds"), ("test_tiny.onnx", "test_tiny.vnnlib", "holds"),
       ("test_small.onnx", "test_small.vnnlib", "holds"), ("test_sat.onnx", "test_prop.vnnlib", "violated"),
       ("test_unsat.onnx", "test_prop.vnnlib", "holds")]


def published_mnistfc():
    if not SHARED.is_dir():
        return []
    with open(SHARED / "mnistfc" / "expected_verdicts.csv") as f:
        return [(row["property"], row["expected"]) for row in csv.DictReader(f)]


def check_counterexample(onnx_path, vnnlib_path, counterexample):
    """The witness is in the input box and onnxruntime's output (float32) lies in the unsafe set."""
    ort = pytest.importorskip("onnxruntime")
    prop = parse_vnnlib(vnnlib_path)
    x, y = counterexample
    assert (x >= prop.lower).all() and (x <= prop.upper).all()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    meta = session.get_inputs()[0]
    shape = [d if isinstance(d, int) else 1 for d in meta.shape]
    y_ref = session.run(None, {meta.name: x.astype(np.float32).reshape(shape)})[0].reshape(-1)
    np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=1e-4)
    assert any(c.violation(y_ref) <= 1e-4 for c in prop.disjuncts)


@needs_shared
@pytest.mark.parametrize("net, prop, expected", TOY)
def test_vnncomp_test_networks(net, prop, expected):
    d = SHARED / "vnncomp_test"
    result = verify_onnx(d / net, d / prop, timeout=60)
    assert result.status == expected
    if expected == "violated":
        check_counterexample(d / net, d / prop, result.counterexample)


@needs_shared
@pytest.mark.parametrize("prop, expected", [("prop_2_0.05.vnnlib", "holds"), ("prop_7_0.03.vnnlib", "violated"),
                                            ("prop_0_0.03.vnnlib", "holds")])
def test_mnistfc_instances_decided_by_bounds_attack_and_mip(prop, expected):
    d = SHARED / "mnistfc"
    assert dict(published_mnistfc())[prop] == expected
    result = verify_onnx(d / "mnist-net_256x2.onnx", d / prop, timeout=120)
    assert result.status == expected
    if expected == "violated":
        check_counterexample(d / "mnist-net_256x2.onnx", d / prop, result.counterexample)


@needs_shared
@pytest.mark.slow
@pytest.mark.parametrize("prop, expected", published_mnistfc())
def test_all_mnistfc_verdicts(prop, expected):
    d = SHARED / "mnistfc"
    result = verify_onnx(d / "mnist-net_256x2.onnx", d / prop, timeout=120)
    assert result.status in (expected, "unknown")  # a wrong verdict is a bug; unknown is a time out
    if result.status == "violated":
        check_counterexample(d / "mnist-net_256x2.onnx", d / prop, result.counterexample)


def random_property(seed, n_in, n_out, n_disjuncts, model=None):
    """A random box and unsafe set; with a model, thresholds near the outputs' range over the box, so that
    bounds alone often cannot decide."""
    rng = np.random.default_rng(seed)
    lower = rng.uniform(-1, 1, n_in)
    upper = lower + rng.uniform(0.01, 0.6, n_in)
    disjuncts = []
    for rows in rng.integers(1, 3, n_disjuncts):
        C = rng.normal(size=(rows, n_out))
        if model is None:
            d = rng.normal(scale=0.3, size=rows)
        else:
            with torch.no_grad():
                z = model(torch.as_tensor(rng.uniform(lower, upper, (200, n_in)))).numpy() @ C.T
            d = z.min(0) - rng.uniform(-0.1, 0.4) * (z.max(0) - z.min(0))
        disjuncts.append(Conjunction(C, d))
    return Property(lower, upper, tuple(disjuncts))


@settings(max_examples=25)
@given(seed=st.integers(0, 10_000), method=st.sampled_from(["auto", "mip", "crown", "ibp", "alpha-crown"]))
def test_verdicts_agree_with_sampling(seed, method):
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(3, 10), nn.ReLU(), nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, 2)).double()
    prop = random_property(seed, 3, 2, 2, model)
    result = verify_property(model, prop, (3,), method=method, timeout=30)
    rng = np.random.default_rng(seed + 1)
    pts = rng.uniform(prop.lower, prop.upper, size=(4000, 3))
    pts[:8] = np.array(np.meshgrid(*zip(prop.lower, prop.upper))).reshape(3, -1).T  # corners
    with torch.no_grad():
        ys = model(torch.as_tensor(pts)).numpy()
    reached = any(c.violation(y) <= 0 for y in ys for c in prop.disjuncts)
    if result.status == "holds":
        assert not reached
    elif result.status == "violated":
        x, y = result.counterexample
        assert (x >= prop.lower).all() and (x <= prop.upper).all()
        with torch.no_grad():
            y_true = model(torch.as_tensor(x).reshape(1, 3))[0].numpy()
        assert any(c.violation(y_true) <= 1e-8 for c in prop.disjuncts)
    if method in ("auto", "mip"):  # complete methods decide small networks
        assert result.status != "unknown"
        if reached:
            assert result.status == "violated"


def test_bad_arguments_are_named():
    model = nn.Sequential(nn.Linear(3, 2)).double()
    prop = random_property(0, 3, 2, 1)
    with pytest.raises(ValueError, match="method must be one of"):
        verify_property(model, prop, (3,), method="smt")
    with pytest.raises(ValueError, match=r"timeout must be > 0"):
        verify_property(model, prop, (3,), timeout=-1)
    with pytest.raises(ValueError, match="the property has 4 inputs and 2 outputs, the network 3 and 2"):
        verify_property(model, random_property(0, 4, 2, 1), (3,))


def parse_cli(argv):
    parser = argparse.ArgumentParser()
    verify_command.add_arguments(parser)
    return parser.parse_args(argv)


@needs_shared
def test_command_line_prints_the_vnncomp_result(capsys):
    d = SHARED / "vnncomp_test"
    assert verify_command.run(parse_cli([str(d / "test_unsat.onnx"), str(d / "test_prop.vnnlib")])) == 0
    assert capsys.readouterr().out.strip() == "holds"
    args = parse_cli([str(d / "test_sat.onnx"), str(d / "test_prop.vnnlib"), "--timeout", "60", "--json"])
    assert verify_command.run(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "violated" and len(out["counterexample"]["input"]) == 5
    check_counterexample(d / "test_sat.onnx", d / "test_prop.vnnlib",
                         (np.array(out["counterexample"]["input"]), np.array(out["counterexample"]["output"])))


@needs_shared
def test_command_line_witness_lines(capsys):
    d = SHARED / "vnncomp_test"
    verify_command.run(parse_cli([str(d / "test_sat.onnx"), str(d / "test_prop.vnnlib")]))
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "violated"
    # VNN-COMP witness: ((X_0 v) ... (Y_4 v)), every value a float
    pairs = " ".join(lines[1:]).strip("()").replace(")", "").split("(")
    names = [p.split()[0] for p in pairs if p.strip()]
    assert names == [f"X_{i}" for i in range(5)] + [f"Y_{j}" for j in range(5)]
    assert all(np.isfinite(float(p.split()[1])) for p in pairs if p.strip())
