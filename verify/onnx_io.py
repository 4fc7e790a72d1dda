"""ONNX networks that are chains of Gemm/MatMul/Add/Sub/Div/Relu/Conv/Flatten/Reshape, as torch models.

The graph is read with the ``onnx`` package; each node must take the previous node's output and constants
(initializers or Constant nodes). The torch model takes inputs of shape [N, *input shape without the batch
dimension] (an ONNX input of rank >= 2 whose first dimension is 1 or symbolic has a batch dimension; a
rank-1 input has none).
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from torch import nn

from verify.layers import Normalize, Reshape

SUPPORTED_OPS = ("Gemm", "MatMul", "Add", "Sub", "Div", "Relu", "Conv", "Flatten", "Reshape", "Constant")


class OnnxError(ValueError):
    """An ONNX graph outside the supported subset."""


def _onnx():
    """The onnx package, imported on first use so that ``import verify`` works without it."""
    try:
        import onnx
        import onnx.numpy_helper
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("reading ONNX networks needs the 'onnx' package (pip install onnx)") from err
    return onnx


def _attributes(node) -> dict:
    return {a.name: _onnx().helper.get_attribute_value(a) for a in node.attribute}


def _array(tensor) -> np.ndarray:
    return _onnx().numpy_helper.to_array(tensor).astype(np.float64)


def _input_shape(graph, constants) -> tuple:
    inputs = [i for i in graph.input if i.name not in constants]
    if len(inputs) != 1:
        raise OnnxError(f"the graph must have exactly one non-constant input, got {[i.name for i in inputs]}")
    dims = [d.dim_value if d.HasField("dim_value") else -1 for d in inputs[0].type.tensor_type.shape.dim]
    return inputs[0].name, tuple(dims)


class _Converter:
    """Walks the chain, keeping the per-example shape (no batch dimension) of the current tensor."""

    def __init__(self, shape, batched):
        self.shape, self.batched, self.layers = tuple(shape), batched, []

    def add(self, layer: nn.Module):
        self.layers.append(layer)
        with torch.no_grad():
            self.shape = tuple(layer(torch.zeros(1, *self.shape, dtype=torch.float64)).shape[1:])

    def constant_operand(self, value: np.ndarray, node) -> torch.Tensor:
        """A constant broadcast against one example: a leading batch dimension of 1 is dropped."""
        value = np.asarray(value, dtype=np.float64)
        if self.batched and value.ndim == len(self.shape) + 1:
            if value.shape[0] != 1:
                raise OnnxError(f"node {node.name or node.op_type}: constant varies along the batch dimension")
            value = value[0]
        return torch.as_tensor(value)

    def linear(self, weight: np.ndarray, bias, node):
        if len(self.shape) != 1 or weight.shape[1] != self.shape[0]:
            raise OnnxError(f"node {node.name or node.op_type}: weight {weight.shape} does not fit input "
                            f"shape {self.shape}")
        layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None, dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(weight))
            if bias is not None:
                layer.bias.copy_(torch.as_tensor(np.broadcast_to(bias, (weight.shape[0],)).copy()))
        self.add(layer)

    def gemm(self, node, consts):
        a = _attributes(node)
        if a.get("transA", 0):
            raise OnnxError(f"node {node.name or 'Gemm'}: transA=1 is not supported")
        B = consts[1] if a.get("transB", 0) else consts[1].T
        bias = None if len(consts) < 3 or consts[2] is None else a.get("beta", 1.0) * consts[2].reshape(-1)
        self.linear(a.get("alpha", 1.0) * B, bias, node)

    def matmul(self, node, consts, position):
        if position == 0:  # x @ B: y = B^T x
            self.linear(consts[1].T, None, node)
        elif len(self.shape) == 1 and not self.batched:  # B @ x for an unbatched vector x
            self.linear(consts[0], None, node)
        else:
            raise OnnxError(f"node {node.name or 'MatMul'}: constant @ batched input is not supported")

    def elementwise(self, node, consts, position):
        c = self.constant_operand(consts[1 - position], node)
        op = node.op_type
        if op == "Add":
            layer = Normalize(-c, 1.0)
        elif op == "Sub":  # x - c, or c - x = (x - c) / (-1)
            layer = Normalize(c, 1.0 if position == 0 else -1.0)
        elif position == 0:  # x / c
            layer = Normalize(0.0, c)
        else:
            raise OnnxError(f"node {node.name or 'Div'}: division by the input is not linear")
        self.add(layer)

    def conv(self, node, consts):
        a = _attributes(node)
        weight = consts[1]
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if len(weight.shape) != 4 or pads[:2] != pads[2:] or a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
            raise OnnxError(f"node {node.name or 'Conv'}: only 2-d convolutions with symmetric explicit pads")
        groups = a.get("group", 1)
        layer = nn.Conv2d(weight.shape[1] * groups, weight.shape[0], tuple(weight.shape[2:]),
                          stride=tuple(a.get("strides", [1, 1])), padding=tuple(pads[:2]),
                          dilation=tuple(a.get("dilations", [1, 1])), groups=groups, bias=len(consts) > 2,
                          dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.as_tensor(weight))
            if len(consts) > 2:
                layer.bias.copy_(torch.as_tensor(consts[2]))
        self.add(layer)

    def reshape(self, node, consts):
        target = [int(v) for v in consts[1]]
        if self.batched:
            if target[0] not in (1, -1, 0):
                raise OnnxError(f"node {node.name or 'Reshape'}: the batch dimension must be kept")
            target = target[1:]
        target = [self.shape[i] if v == 0 else v for i, v in enumerate(target)]  # ONNX 0: keep that dimension
        if target == [-1] or target == [math.prod(self.shape)]:
            self.add(nn.Flatten())
        else:
            self.add(Reshape(target))

    def flatten(self, node):
        if _attributes(node).get("axis", 1) != 1 or not self.batched:
            raise OnnxError(f"node {node.name or 'Flatten'}: only Flatten(axis=1) of a batched input")
        self.add(nn.Flatten())


def load_onnx(path) -> tuple:
    """(torch nn.Sequential in float64, per-example input shape) of an ONNX chain network."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"onnx_path {str(path)!r} is not a file")
    onnx = _onnx()
    try:
        model = onnx.load(str(path))
    except Exception as err:
        raise OnnxError(f"{path}: not a readable ONNX model ({err})") from err
    graph = model.graph
    consts = {i.name: _array(i) for i in graph.initializer}
    name, dims = _input_shape(graph, consts)
    batched = len(dims) >= 2
    shape = dims[1:] if batched else dims
    if any(d <= 0 for d in shape):
        raise OnnxError(f"input {name!r} must have a fixed shape apart from the batch dimension, got {dims}")
    conv = _Converter(shape, batched)
    current = name
    for node in graph.node:
        if node.op_type == "Constant":
            consts[node.output[0]] = _array(_attributes(node)["value"])
            continue
        if node.op_type not in SUPPORTED_OPS:
            raise OnnxError(f"node {node.name or node.op_type}: operator {node.op_type} is not supported; "
                            f"supported: {', '.join(SUPPORTED_OPS)}")
        operands = [consts.get(i) if i else None for i in node.input]
        positions = [k for k, i in enumerate(node.input) if i == current]
        if len(positions) != 1 or any(v is None for k, v in enumerate(operands) if k != positions[0] and
                                      node.input[k]):
            raise OnnxError(f"node {node.name or node.op_type}: must take the previous node's output and "
                            "constants (the network must be a chain)")
        _convert_node(conv, node, operands, positions[0])
        current = node.output[0]
    if current != graph.output[0].name:
        raise OnnxError(f"the chain ends at {current!r}, not at the graph output {graph.output[0].name!r}")
    return nn.Sequential(*conv.layers).double().eval(), tuple(shape)


def _convert_node(conv: _Converter, node, operands, position):
    op = node.op_type
    if op == "Gemm":
        conv.gemm(node, operands)
    elif op == "MatMul":
        conv.matmul(node, operands, position)
    elif op in ("Add", "Sub", "Div"):
        conv.elementwise(node, operands, position)
    elif op == "Relu":
        conv.add(nn.ReLU())
    elif op == "Conv":
        conv.conv(node, operands)
    elif op == "Flatten":
        conv.flatten(node)
    else:
        conv.reshape(node, operands)
