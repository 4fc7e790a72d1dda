"""The MILP encoding of a ReLU network (Tjeng, Xiao, Tedrake 2019, eq. (6)): variables and rows.

Each ReLU h = max(z, 0) with pre-activation bounds l < 0 < u gets one binary a:

    h >= z,   h >= 0,   h <= z - l (1 - a),   h <= u a;

stable ReLUs need no binary (h = z when l >= 0, h = 0 when u <= 0); that these rows allow exactly
h = max(z, 0) is checked in proofs/verify_relu_relaxation.py. Fixing a = 1 (a = 0) leaves exactly the rows of
a stable active (inactive) ReLU, so bound tightening can stabilise a neuron in a built model by fixing its
binary (``ReluRows`` records where each unstable neuron's variables and rows are).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch
from scipy.optimize import Bounds, LinearConstraint

from verify.network import Network
from verify.specs import Conjunction


@dataclass(frozen=True)
class Block:
    """z = W h + b (W sparse [out, in]) followed by a ReLU when ``relu`` is the op index of that ReLU."""
    W: sp.csr_matrix
    b: np.ndarray
    relu: int | None


def network_blocks(net: Network) -> list:
    """The network as affine blocks separated by ReLUs (matrices from the ops applied to the identity)."""
    blocks, start = [], 0
    for stop in net.relu_indices + [len(net.ops)]:
        n_in = math.prod(net.shapes[start])
        device, dtype = device_dtype(net)
        with torch.no_grad():
            basis = torch.cat([torch.zeros(1, n_in, dtype=dtype, device=device),
                               torch.eye(n_in, dtype=dtype, device=device)]).reshape(n_in + 1, *net.shapes[start])
            for op in net.ops[start:stop]:
                basis = op.forward(basis)
        out = basis.reshape(n_in + 1, -1).cpu().numpy()
        W = sp.csr_matrix((out[1:] - out[0]).T)
        W.eliminate_zeros()
        blocks.append(Block(W, out[0].copy(), stop if stop < len(net.ops) else None))
        start = stop + 1
    return blocks


def device_dtype(net: Network):
    for op in net.ops:
        for value in vars(op).values():
            if torch.is_tensor(value):
                return value.device, value.dtype
    return torch.device("cpu"), torch.float64


class _Rows:
    """Sparse constraint rows lo <= A v <= hi, accumulated block by block."""

    def __init__(self):
        self.parts, self.lo, self.hi, self.count = [], [], [], 0

    def add(self, entries, lo, hi):
        """entries: (row indices within the block, column indices, values); lo/hi: arrays of the rows."""
        rows, cols, vals = entries
        self.parts.append((np.asarray(rows) + self.count, np.asarray(cols), np.asarray(vals, dtype=float)))
        self.lo.append(np.asarray(lo, dtype=float))
        self.hi.append(np.asarray(hi, dtype=float))
        self.count += len(lo)

    def constraint(self, n_vars: int) -> LinearConstraint:
        rows, cols, vals = (np.concatenate(p) for p in zip(*self.parts))
        A = sp.csr_matrix((vals, (rows, cols)), shape=(self.count, n_vars))
        return LinearConstraint(A, np.concatenate(self.lo), np.concatenate(self.hi))


def _affine_entries(W: sp.csr_matrix, neurons, h_cols, prev_cols, extra=None):
    """Rows h_i - W_i h_prev (+ extra coefficient * column) for the given neurons."""
    sub = W[neurons].tocoo()
    k = len(neurons)
    rows = [np.arange(k), sub.row]
    cols = [h_cols, prev_cols[sub.col]]
    vals = [np.ones(k), -sub.data]
    if extra is not None:
        coef, extra_cols = extra
        rows.append(np.arange(k))
        cols.append(extra_cols)
        vals.append(coef)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)


@dataclass(frozen=True)
class ReluRows:
    """Where one encoded ReLU layer lives: the columns of its input h_prev and output h, its unstable neurons
    with their binaries, and the rows h <= z - l (1 - a) (``low_rows``) and h <= u a (``up_rows``)."""
    block: Block
    in_cols: np.ndarray
    h_cols: np.ndarray
    unstable: np.ndarray
    a_cols: np.ndarray
    low_rows: np.ndarray
    up_rows: np.ndarray


class Encoding:
    """Variables and rows of "x in the input set, hidden layers exact": the part every MILP here shares."""

    def __init__(self, blocks, relu_bounds: dict, lower: np.ndarray, upper: np.ndarray, l1_ball=None):
        n0 = lower.size
        var_lo, var_hi, integral = [lower], [upper], [np.zeros(n0)]
        rows = _Rows()
        prev_cols, n_vars = np.arange(n0), n0
        self.layers = []
        for block in blocks:
            l, u = relu_bounds[block.relu]
            n = l.size
            h_cols = n_vars + np.arange(n)
            active, unstable = np.flatnonzero(l >= 0), np.flatnonzero((l < 0) & (u > 0))
            a_cols = n_vars + n + np.arange(unstable.size)
            n_vars += n + unstable.size
            var_lo += [np.maximum(l, 0.0), np.zeros(unstable.size)]
            var_hi += [np.maximum(u, 0.0), np.ones(unstable.size)]
            integral += [np.zeros(n), np.ones(unstable.size)]
            b = block.b
            if active.size:  # h = z
                rows.add(_affine_entries(block.W, active, h_cols[active], prev_cols), b[active], b[active])
            if unstable.size:  # h >= z, h <= z - l (1 - a), h <= u a
                lu, uu, bu = l[unstable], u[unstable], b[unstable]
                rows.add(_affine_entries(block.W, unstable, h_cols[unstable], prev_cols), bu,
                         np.full_like(bu, np.inf))
                k = unstable.size
                low_rows = rows.count + np.arange(k)
                rows.add(_affine_entries(block.W, unstable, h_cols[unstable], prev_cols, (-lu, a_cols)),
                         np.full_like(bu, -np.inf), bu - lu)
                up_rows = rows.count + np.arange(k)
                rows.add((np.r_[np.arange(k), np.arange(k)], np.r_[h_cols[unstable], a_cols],
                          np.r_[np.ones(k), -uu]), np.full(k, -np.inf), np.zeros(k))
            else:
                low_rows = up_rows = np.zeros(0, dtype=int)
            self.layers.append(ReluRows(block, prev_cols, h_cols, unstable, a_cols, low_rows, up_rows))
            prev_cols = h_cols
        if l1_ball is not None:  # x = centre + p - q, sum p + q <= eps
            center, eps = l1_ball
            p_cols, q_cols = n_vars + np.arange(n0), n_vars + n0 + np.arange(n0)
            var_lo += [np.zeros(2 * n0)]
            var_hi += [np.full(2 * n0, eps)]
            integral += [np.zeros(2 * n0)]
            n_vars += 2 * n0
            idx = np.arange(n0)
            rows.add((np.r_[idx, idx, idx], np.r_[idx, p_cols, q_cols],
                      np.r_[np.ones(n0), -np.ones(n0), np.ones(n0)]), center, center)
            rows.add((np.zeros(2 * n0, dtype=int), np.r_[p_cols, q_cols], np.ones(2 * n0)), [-np.inf], [eps])
        self.rows, self.prev_cols, self.n_vars = rows, prev_cols, n_vars
        self.integrality = np.concatenate(integral)
        self.bounds = Bounds(np.concatenate(var_lo), np.concatenate(var_hi))

    def add_violation(self, last: Block, conj: Conjunction) -> sp.csr_matrix:
        """Rows C (W h_last + b) <= d of the output block ``last``; returns C W (coefficients on h_last)."""
        G = (sp.csr_matrix(conj.C) @ last.W).tocoo()
        self.rows.add((G.row, self.prev_cols[G.col], G.data), np.full(conj.d.size, -np.inf),
                      conj.d - conj.C @ last.b)
        return G.tocsr()

    def linear_objective(self, W: sp.csr_matrix) -> np.ndarray:
        """Objective vector of sum_r (W h_last)_r, h_last the output of the last encoded block."""
        G = W.tocoo()
        objective = np.zeros(self.n_vars)
        np.add.at(objective, self.prev_cols[G.col], G.data)
        return objective


def encode(blocks, relu_bounds: dict, lower: np.ndarray, upper: np.ndarray, conj: Conjunction,
           l1_ball=None):
    """MILP (c, integrality, bounds, constraints) for "x in the input set and C f(x) <= d".

    lower/upper: the input box (flat); relu_bounds: op index -> flat (l, u) of that ReLU's input;
    l1_ball: optional (centre, eps) adding ||x - centre||_1 <= eps with x = centre + p - q, p, q >= 0.
    The objective minimises sum_r C_r f(x), steering the search towards the deepest violation.
    """
    enc = Encoding(blocks[:-1], relu_bounds, lower, upper, l1_ball)
    G = enc.add_violation(blocks[-1], conj)
    return enc.linear_objective(G), enc.integrality, enc.bounds, enc.rows.constraint(enc.n_vars)
