"""VNNLIB parser: the published VNN-COMP files, a round trip of generated properties, line-numbered errors."""
import re

import numpy as np
import pytest
from hypothesis import given, strategies as st
from verify_reference import SHARED

from verify import VnnlibError, parse_vnnlib, parse_vnnlib_text

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"benchmark data not found at {SHARED}")


@needs_shared
def test_acas_property_3_of_the_vnncomp_test_set():
    prop = parse_vnnlib(SHARED / "vnncomp_test" / "test_prop.vnnlib")
    # numbers copied from the file's asserts
    np.testing.assert_array_equal(prop.lower, [-0.30353115613746867, -0.009549296585513092, 0.4933803235848431,
                                               0.3, 0.3])
    np.testing.assert_array_equal(prop.upper, [-0.29855281193475053, 0.009549296585513092, 0.49999999998567607,
                                               0.5, 0.5])
    # unsafe: Y_0 <= Y_j for j = 1..4, all at once (one conjunction of four rows)
    assert len(prop.disjuncts) == 1
    conj = prop.disjuncts[0]
    expected = np.zeros((4, 5))
    expected[:, 0] = 1.0
    expected[np.arange(4), np.arange(1, 5)] = -1.0
    np.testing.assert_array_equal(conj.C, expected)
    np.testing.assert_array_equal(conj.d, np.zeros(4))


@needs_shared
@pytest.mark.parametrize("image", [0, 7, 14])
@pytest.mark.parametrize("eps", ["0.03", "0.05"])
def test_mnistfc_properties_are_label_robustness_in_a_clipped_box(image, eps):
    path = SHARED / "mnistfc" / f"prop_{image}_{eps}.vnnlib"
    label = int(re.search(r"label: (\d+)", path.read_text()).group(1))  # the file's own comment
    prop = parse_vnnlib(path)
    assert prop.lower.shape == (784,) and prop.n_outputs == 10
    assert (prop.lower >= 0).all() and (prop.upper <= 1).all()
    width = prop.upper - prop.lower
    interior = (prop.lower > 0) & (prop.upper < 1)
    np.testing.assert_allclose(width[interior], 2 * float(eps), atol=1e-6)
    assert (width <= 2 * float(eps) + 1e-6).all()
    rows = sorted((tuple(c.C[0]), float(c.d[0])) for c in prop.disjuncts)
    expected = []
    for j in range(10):
        if j != label:
            row = np.zeros(10)
            row[label], row[j] = 1.0, -1.0  # Y_j >= Y_label  <=>  Y_label - Y_j <= 0
            expected.append((tuple(row), 0.0))
    assert rows == sorted(expected)


def write_vnnlib(lower, upper, dnf, n_out):
    """VNNLIB text of a box and an (or (and ...)) of rows (coefficient of Y_a, Y_b, threshold)."""
    lines = [f"(declare-const X_{i} Real)" for i in range(len(lower))]
    lines += [f"(declare-const Y_{j} Real)" for j in range(n_out)]
    for i, (lo, hi) in enumerate(zip(lower, upper)):
        lines += [f"(assert (>= X_{i} {float(lo)!r}))", f"(assert (<= X_{i} {float(hi)!r}))"]
    conjs = []
    for conj in dnf:
        parts = []
        for a, b, t in conj:
            parts.append(f"(<= Y_{a} Y_{b})" if t is None else f"(>= Y_{a} {t!r})")
        conjs.append("(and " + " ".join(parts) + ")")
    lines.append("(assert (or " + "\n  ".join(conjs) + "))")
    return "\n".join(lines)


row = st.tuples(st.integers(0, 3), st.integers(0, 3), st.none() | st.floats(-5, 5, allow_nan=False))


@given(box=st.lists(st.tuples(st.floats(-3, 3), st.floats(0, 2)), min_size=1, max_size=6),
       dnf=st.lists(st.lists(row, min_size=1, max_size=3), min_size=1, max_size=4))
def test_round_trip_of_generated_properties(box, dnf):
    lower = np.array([lo for lo, _ in box])
    upper = lower + np.array([w for _, w in box])
    prop = parse_vnnlib_text(write_vnnlib(lower, upper, dnf, 4))
    np.testing.assert_array_equal(prop.lower, lower)
    np.testing.assert_array_equal(prop.upper, upper)
    assert len(prop.disjuncts) == len(dnf)
    for conj, rows in zip(prop.disjuncts, dnf):
        for r, (a, b, t) in enumerate(rows):
            y = np.random.default_rng(r).normal(size=4)
            value = conj.C[r] @ y - conj.d[r]  # <= 0 exactly when the row holds
            truth = y[a] - y[b] if t is None else t - y[a]
            assert abs(value - truth) < 1e-12


def test_several_output_asserts_are_a_conjunction_of_disjunctions():
    text = "\n".join(["(declare-const X_0 Real)", "(declare-const Y_0 Real)", "(declare-const Y_1 Real)",
                      "(assert (<= X_0 1))", "(assert (>= X_0 0))",
                      "(assert (or (<= Y_0 1) (>= Y_0 2)))", "(assert (<= Y_1 0))"])
    prop = parse_vnnlib_text(text)
    # (Y0 <= 1 or Y0 >= 2) and Y1 <= 0  =  (Y0 <= 1 and Y1 <= 0) or (-Y0 <= -2 and Y1 <= 0)
    got = sorted((c.C.tolist(), c.d.tolist()) for c in prop.disjuncts)
    assert got == sorted([([[1.0, 0.0], [0.0, 1.0]], [1.0, 0.0]), ([[-1.0, 0.0], [0.0, 1.0]], [-2.0, 0.0])])


HEADER = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n"


@pytest.mark.parametrize("body, line, message", [
    ("(assert (<= X_0 1)\n(assert (>= X_0 0))\n", 3, r"'\(' is never closed"),
    ("(assert (<= X_0 1)))\n", 3, r"unbalanced '\)'"),
    ("(assert (<= X_1 1))\n", 3, "X_1 is used before its declare-const"),
    ("(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= X_0 Y_0))\n", 5, "inputs only or outputs only"),
    ("(assert (<= X_0 1))\n(check-sat)\n", 4, "unsupported command 'check-sat'"),
    ("(assert (<= X_0 1))\n(assert (<= Y_0 2))\n", 1, "X_0 needs both a lower and an upper bound"),
    ("(assert (<= X_0 1))\n(assert (>= X_0 2))\n(assert (<= Y_0 2))\n", 1, "input box is empty at X_0"),
    ("(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= Y_0 abc))\n", 5, "expected a variable or a number"),
    ("(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (or (<= X_0 0.5) (<= Y_0 1)))\n", 5,
     "disjunctions over inputs are not supported"),
    ("(assert (<= X_0 1))\n(assert (>= X_0 0))\n", 4, "no output constraint"),
    ("(declare-const Z Real)\n", 3, "must be named X_<i>"),
])
def test_malformed_files_name_the_line(body, line, message):
    with pytest.raises(VnnlibError, match=rf"^line {line}: .*{message}"):
        parse_vnnlib_text(HEADER + body)


def test_vnnlib_error_is_a_value_error():
    assert issubclass(VnnlibError, ValueError)
