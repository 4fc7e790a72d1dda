"""Independent references for the verify tests: a numpy CROWN for MLPs and exact answers by enumeration.

Written separately from verify/ (explicit weight matrices, lower and upper bounds computed by two separate
passes, no specification stacking), so that agreement is evidence rather than a tautology.
"""
import itertools
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linprog

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "benchmarks" / "verify"


def mlp_weights(model):
    """[(W, b)] of an nn.Sequential of Linear and ReLU layers, as float64 numpy."""
    return [(m.weight.detach().double().numpy(), m.bias.detach().double().numpy())
            for m in model if isinstance(m, torch.nn.Linear)]


def _concretize(A, c, x0, lo, hi, eps, norm, sign):
    """sign=-1: min of A x + c over the set; sign=+1: max. Box for inf; ball (no box) otherwise."""
    if norm == np.inf:
        mid, rad = (hi + lo) / 2, (hi - lo) / 2
        return A @ mid + c + sign * np.abs(A) @ rad
    q = {2.0: 2, 1.0: np.inf}[norm]
    return A @ x0 + c + sign * eps * np.linalg.norm(A, ord=q, axis=1)


def numpy_crown(layers, x0, eps, norm, x_min=None, x_max=None):
    """CROWN bounds of an MLP for one input (auto-LiRPA 0.3 rules: interval-stable neurons keep the
    interval step from the previous layer's bounds, the others get back-substituted bounds)."""
    lo = x0 - eps if x_min is None else np.maximum(x0 - eps, x_min)
    hi = x0 + eps if x_max is None else np.minimum(x0 + eps, x_max)
    pre = []  # (l, u) of each hidden pre-activation

    def backsub(A, c, depth, sign):
        # bound of A z_depth + c, where z_depth is the pre-activation of layer `depth`
        for k in range(depth, 0, -1):
            W, b = layers[k]
            c = c + A @ b
            A = A @ W
            l, u = pre[k - 1]
            slope_u = np.where(u <= 0, 0.0, np.where(l >= 0, 1.0, u / np.maximum(u - l, 1e-300)))
            icpt_u = np.where((l < 0) & (u > 0), -l * slope_u, 0.0)
            slope_l = np.where(u <= 0, 0.0, np.where(l >= 0, 1.0, (u > -l).astype(float)))
            # lower bound: positive coefficients take the lower line, negative ones the upper line
            low_side = A >= 0 if sign < 0 else A < 0
            c = c + np.where(low_side, 0.0, A * icpt_u).sum(1)
            A = A * np.where(low_side, slope_l, slope_u)
        W, b = layers[0]
        return _concretize(A @ W, c + A @ b, x0, lo, hi, eps, norm, sign)

    for k in range(len(layers) - 1):
        n = layers[k][0].shape[0]
        eye = np.eye(n)
        if k == 0:
            l, u = backsub(eye, np.zeros(n), 0, -1), backsub(eye, np.zeros(n), 0, +1)
        else:
            W, b = layers[k]
            pl, pu = np.maximum(pre[-1][0], 0), np.maximum(pre[-1][1], 0)
            mid, rad = (pu + pl) / 2, (pu - pl) / 2
            rl, ru = W @ mid + b - np.abs(W) @ rad, W @ mid + b + np.abs(W) @ rad
            cl, cu = backsub(eye, np.zeros(n), k, -1), backsub(eye, np.zeros(n), k, +1)
            unstable = (rl < 0) & (ru > 0)
            l, u = np.where(unstable, cl, rl), np.where(unstable, cu, ru)
        pre.append((l, u))
    m = layers[-1][0].shape[0]
    depth = len(layers) - 1
    return backsub(np.eye(m), np.zeros(m), depth, -1), backsub(np.eye(m), np.zeros(m), depth, +1)


def exact_min_margin(layers, x0, eps, label, target, x_min=0.0, x_max=1.0):
    """min over the l-inf ball ∩ box of y_label - y_target for a one-hidden-layer MLP, by solving one LP
    per activation pattern of the hidden neurons that can change sign (brute force, scipy linprog)."""
    (W1, b1), (W2, b2) = layers
    lo, hi = np.maximum(x0 - eps, x_min), np.minimum(x0 + eps, x_max)
    z_lo = W1.clip(min=0) @ lo + W1.clip(max=0) @ hi + b1
    z_hi = W1.clip(min=0) @ hi + W1.clip(max=0) @ lo + b1
    free = np.flatnonzero((z_lo < 0) & (z_hi > 0))
    assert free.size <= 12, "too many unstable neurons for enumeration"
    w_out = W2[label] - W2[target]
    best = np.inf
    for pattern in itertools.product((0, 1), repeat=free.size):
        active = (z_lo >= 0).astype(float)
        active[free] = pattern
        # margin = w_out . (active * (W1 x + b1)) + b2[label] - b2[target]
        cost = (w_out * active) @ W1
        const = (w_out * active) @ b1 + b2[label] - b2[target]
        # sign constraints of the free neurons: active -> z >= 0, inactive -> z <= 0
        sgn = np.where(np.asarray(pattern) == 1, -1.0, 1.0)
        A_ub = sgn[:, None] * W1[free] if free.size else None
        b_ub = -sgn * b1[free] if free.size else None
        res = linprog(cost, A_ub=A_ub, b_ub=b_ub, bounds=np.c_[lo, hi], method="highs")
        if res.status == 0:
            best = min(best, res.fun + const)
    return best


def load_wk17a():
    """MIPVerify's WK17a CNN (l-inf 0.1 adversarially trained) and the ERAN MNIST test inputs and labels."""
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 16, 4, stride=2, padding=1), torch.nn.ReLU(),
                                torch.nn.Conv2d(16, 32, 4, stride=2, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                                torch.nn.Linear(1568, 100), torch.nn.ReLU(), torch.nn.Linear(100, 10))
    model.load_state_dict(torch.load(SHARED / "mipverify" / "wk17a_linf0.1.pth", map_location="cpu"))
    X, Y = np.load(SHARED / "eran" / "X_eran.npy"), np.load(SHARED / "eran" / "y_eran.npy")
    return model.eval(), X, Y
