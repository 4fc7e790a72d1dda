"""ONNX -> torch conversion checked against onnxruntime (the peer implementation) on the published networks and
on hand-built graphs using every supported operator; unsupported graphs are refused with the node named."""
import numpy as np
import pytest
import torch
from verify_reference import SHARED

from verify import OnnxError, load_onnx

onnx = pytest.importorskip("onnx", reason="the onnx package is an optional dependency of verify")
ort = pytest.importorskip("onnxruntime", reason="onnxruntime (test extra) checks the conversion")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"benchmark data not found at {SHARED}")


def onnxruntime_outputs(path_or_bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(path_or_bytes, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return session.run(None, {name: x})[0]


def torch_outputs(model, in_shape, x: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return model(torch.as_tensor(x, dtype=torch.float64).reshape(-1, *in_shape)).reshape(len(x), -1).numpy()


@needs_shared
@pytest.mark.parametrize("name, onnx_shape", [
    ("vnncomp_test/test_nano.onnx", (1,)), ("vnncomp_test/test_tiny.onnx", (1,)),
    ("vnncomp_test/test_small.onnx", (1,)), ("vnncomp_test/test_sat.onnx", (1, 1, 1, 5)),
    ("vnncomp_test/test_unsat.onnx", (1, 1, 1, 5)), ("mnistfc/mnist-net_256x2.onnx", (1, 784, 1))])
def test_published_networks_match_onnxruntime(name, onnx_shape):
    path = str(SHARED / name)
    model, in_shape = load_onnx(path)
    rng = np.random.default_rng(0)
    worst = 0.0
    for _ in range(20):
        x = rng.uniform(-1, 1, size=onnx_shape).astype(np.float32)
        ref = onnxruntime_outputs(path, x).reshape(1, -1)
        got = torch_outputs(model, in_shape, x.reshape(1, -1))
        worst = max(worst, float(np.abs(got - ref).max() / max(1.0, np.abs(ref).max())))
    assert worst < 1e-5  # float32 onnxruntime against the float64 conversion


def const(name, value):
    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def chain_model(rng):
    """x [1,1,6,6] -> Sub -> Div -> Conv(stride 2, pad 1) -> Relu -> Reshape -> Gemm(transB) -> Relu -> MatMul
    -> Add -> Flatten -> Sub (constant - x) -> y [1, 3]."""
    inits = [const("mean", [[[[0.3]]]]), const("std", [[[[0.2]]]]),
             const("w", rng.normal(size=(2, 1, 3, 3))), const("b", rng.normal(size=2)),
             const("shape", np.array([1, -1])), const("g", rng.normal(size=(5, 18))), const("gb", rng.normal(size=5)),
             const("m", rng.normal(size=(5, 3))), const("a", rng.normal(size=(1, 3))),
             const("c", rng.normal(size=(1, 3)))]
    inits[4] = numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape")
    nodes = [helper.make_node("Sub", ["x", "mean"], ["t0"]), helper.make_node("Div", ["t0", "std"], ["t1"]),
             helper.make_node("Conv", ["t1", "w", "b"], ["t2"], strides=[2, 2], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["t2"], ["t3"]), helper.make_node("Reshape", ["t3", "shape"], ["t4"]),
             helper.make_node("Gemm", ["t4", "g", "gb"], ["t5"], transB=1, alpha=0.5, beta=2.0),
             helper.make_node("Relu", ["t5"], ["t6"]), helper.make_node("MatMul", ["t6", "m"], ["t7"]),
             helper.make_node("Add", ["a", "t7"], ["t8"]), helper.make_node("Flatten", ["t8"], ["t9"], axis=1),
             helper.make_node("Sub", ["c", "t9"], ["y"])]
    graph = helper.make_graph(nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def test_every_supported_operator_matches_onnxruntime(tmp_path):
    rng = np.random.default_rng(1)
    path = tmp_path / "chain.onnx"
    onnx.save(chain_model(rng), path)
    model, in_shape = load_onnx(path)
    assert in_shape == (1, 6, 6)
    x = rng.uniform(0, 1, size=(1, 1, 6, 6)).astype(np.float32)
    np.testing.assert_allclose(torch_outputs(model, in_shape, x), onnxruntime_outputs(str(path), x),
                               rtol=1e-5, atol=1e-5)


def test_converted_network_is_verifiable(tmp_path):
    from verify import compute_bounds

    rng = np.random.default_rng(2)
    path = tmp_path / "chain.onnx"
    onnx.save(chain_model(rng), path)
    model, in_shape = load_onnx(path)
    x = torch.rand(1, *in_shape, dtype=torch.float64)
    lower, upper = compute_bounds(model, x, eps=0.05, method="crown")
    pts = (x + 0.05 * (2 * torch.rand(300, *in_shape, dtype=torch.float64) - 1)).numpy().astype(np.float32)
    ref = np.concatenate([onnxruntime_outputs(str(path), p[None]) for p in pts])
    assert (ref >= lower.numpy() - 1e-4).all() and (ref <= upper.numpy() + 1e-4).all()


def save_graph(tmp_path, nodes, inputs, inits=()):
    graph = helper.make_graph(nodes, "g", inputs, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              list(inits))
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def test_unsupported_operator_is_named(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    path = save_graph(tmp_path, [helper.make_node("Sigmoid", ["x"], ["y"], name="act1")], [x])
    with pytest.raises(OnnxError, match="node act1: operator Sigmoid is not supported; supported: Gemm"):
        load_onnx(path)


def test_non_chain_graph_is_refused(tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    path = save_graph(tmp_path, [helper.make_node("Add", ["x", "x"], ["y"], name="twice")], [x])
    with pytest.raises(OnnxError, match="node twice: must take the previous node's output and constants"):
        load_onnx(path)


def test_two_inputs_are_refused(tmp_path):
    inputs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, 4]) for n in ("x", "z")]
    path = save_graph(tmp_path, [helper.make_node("Add", ["x", "z"], ["y"])], inputs)
    with pytest.raises(OnnxError, match="exactly one non-constant input"):
        load_onnx(path)


def test_missing_or_corrupt_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="onnx_path"):
        load_onnx(tmp_path / "nothing.onnx")
    (tmp_path / "junk.onnx").write_bytes(b"not a protobuf at all \x00\xff")
    with pytest.raises(OnnxError, match="not a readable ONNX model"):
        load_onnx(tmp_path / "junk.onnx")
