"""Parser for the VNNLIB subset used by VNN-COMP: an input box and a disjunction of conjunctions over outputs.

Accepted: ``(declare-const X_i Real)`` / ``(declare-const Y_j Real)``; ``(assert A)`` where A is a comparison
``(<= a b)``, ``(>= a b)`` (``<``, ``>`` read as non-strict) between a variable and a number (inputs: bounds)
or between output variables and numbers, an ``(and ...)`` of those, or an ``(or (and ...) ...)`` of output
comparisons. The asserts together describe the *unsafe* set: the property holds when no input of the box
reaches it. Every error names the file line.
"""
from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np

from verify.specs import Conjunction, Property

_TOKEN = re.compile(r"\(|\)|[^\s()]+")
_VARIABLE = re.compile(r"^([XY])_(\d+)$")
_COMPARISONS = {"<=": 1, "<": 1, ">=": -1, ">": -1}


class VnnlibError(ValueError):
    """A malformed or unsupported VNNLIB file; the message starts with "line N:"."""


def _tokens(text: str):
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _TOKEN.finditer(line.split(";", 1)[0]):
            yield match.group(), number


def _expressions(text: str):
    """Top-level s-expressions as nested lists of (token, line) leaves; each list remembers its line."""
    stack, done = [], []
    for token, line in _tokens(text):
        if token == "(":
            stack.append(_Expr(line))
        elif token == ")":
            if not stack:
                raise VnnlibError(f"line {line}: unbalanced ')'")
            expr = stack.pop()
            (stack[-1] if stack else done).append(expr)
        elif stack:
            stack[-1].append((token, line))
        else:
            raise VnnlibError(f"line {line}: {token!r} outside parentheses")
    if stack:
        raise VnnlibError(f"line {stack[-1].line}: '(' is never closed")
    return done


class _Expr(list):
    def __init__(self, line):
        super().__init__()
        self.line = line

    def head(self) -> str:
        if not self or isinstance(self[0], _Expr):
            raise VnnlibError(f"line {self.line}: expected an operator after '('")
        return self[0][0]


class _Parser:
    def __init__(self):
        self.declared = {"X": set(), "Y": set()}
        self.lines = {}  # (kind, index) -> line of its declaration
        self.input_bounds = []  # (index, sense, value, line)
        self.output_dnfs = []  # each: list of conjunctions, each a list of (coeffs dict, rhs)

    def declare(self, expr):
        if len(expr) != 3 or any(isinstance(e, _Expr) for e in expr[1:]) or expr[2][0] != "Real":
            raise VnnlibError(f"line {expr.line}: expected (declare-const NAME Real)")
        kind, index = self.variable(expr[1][0], expr.line, declaring=True)
        if index in self.declared[kind]:
            raise VnnlibError(f"line {expr.line}: {kind}_{index} is declared twice")
        self.declared[kind].add(index)
        self.lines[kind, index] = expr.line

    def variable(self, name, line, declaring=False):
        match = _VARIABLE.match(name)
        if not match:
            raise VnnlibError(f"line {line}: variable {name!r} must be named X_<i> (input) or Y_<j> (output)")
        kind, index = match.group(1), int(match.group(2))
        if not declaring and index not in self.declared[kind]:
            raise VnnlibError(f"line {line}: {name} is used before its declare-const")
        return kind, index

    def term(self, leaf):
        token, line = leaf
        if _VARIABLE.match(token):
            return self.variable(token, line)
        try:
            return float(token)
        except ValueError:
            raise VnnlibError(f"line {line}: expected a variable or a number, got {token!r}") from None

    def comparison(self, expr):
        """(coeffs {('X'|'Y', i): c}, rhs): sum c v <= rhs."""
        op = expr.head()
        if op not in _COMPARISONS or len(expr) != 3 or any(isinstance(e, _Expr) for e in expr[1:]):
            raise VnnlibError(f"line {expr.line}: expected (<= a b) or (>= a b) with a variable or a number "
                              f"on each side")
        sign = _COMPARISONS[op]
        coeffs, rhs = {}, 0.0
        for side, term in ((sign, self.term(expr[1])), (-sign, self.term(expr[2]))):
            if isinstance(term, float):
                rhs -= side * term
            else:
                coeffs[term] = coeffs.get(term, 0.0) + side
        kinds = {k for k, _ in coeffs}
        if not coeffs or kinds == {"X", "Y"}:
            raise VnnlibError(f"line {expr.line}: a comparison must involve inputs only or outputs only")
        return coeffs, rhs

    def conjunction(self, expr):
        """A comparison or an (and ...) of comparisons, as a list of comparisons."""
        if expr.head() == "and":
            return [c for e in expr[1:] for c in self.conjunction(self.subexpr(e, expr.line))]
        return [self.comparison(expr)]

    @staticmethod
    def subexpr(e, line):
        if not isinstance(e, _Expr):
            raise VnnlibError(f"line {line}: expected '(' before {e[0]!r}")
        return e

    def assertion(self, expr):
        if len(expr) != 2:
            raise VnnlibError(f"line {expr.line}: assert takes exactly one expression")
        body = self.subexpr(expr[1], expr.line)
        dnf = ([self.conjunction(self.subexpr(e, body.line)) for e in body[1:]] if body.head() == "or"
               else [self.conjunction(body)])
        if not dnf:
            raise VnnlibError(f"line {body.line}: empty (or)")
        def is_input(comparison):
            return next(iter(comparison[0]))[0] == "X"
        if len(dnf) == 1:  # a conjunction: its input comparisons bound the box
            for coeffs, rhs in filter(is_input, dnf[0]):
                self.input_bound(coeffs, rhs, body.line)
            dnf = [[c for c in dnf[0] if not is_input(c)]]
            if not dnf[0]:
                return
        elif any(is_input(c) for conj in dnf for c in conj):
            raise VnnlibError(f"line {body.line}: disjunctions over inputs are not supported")
        self.output_dnfs.append(dnf)

    def input_bound(self, coeffs, rhs, line):
        if len(coeffs) != 1:
            raise VnnlibError(f"line {line}: an input constraint must bound one variable by a number")
        ((_, index), coef), = coeffs.items()
        self.input_bounds.append((index, coef, rhs / coef))

    def property(self, last_line: int) -> Property:
        n_in, n_out = len(self.declared["X"]), len(self.declared["Y"])
        if self.declared["X"] != set(range(n_in)) or self.declared["Y"] != set(range(n_out)) or not n_in \
                or not n_out:
            raise VnnlibError(f"line {last_line}: inputs must be declared as X_0..X_(n-1) and outputs as "
                              "Y_0..Y_(m-1)")
        lower, upper = np.full(n_in, -np.inf), np.full(n_in, np.inf)
        for index, coef, value in self.input_bounds:
            if coef > 0:
                upper[index] = min(upper[index], value)
            else:
                lower[index] = max(lower[index], value)
        missing = np.flatnonzero(~np.isfinite(lower) | ~np.isfinite(upper))
        if missing.size:
            i = missing[0]
            raise VnnlibError(f"line {self.lines['X', i]}: input X_{i} needs both a lower and an upper bound")
        if (lower > upper).any():
            i = np.flatnonzero(lower > upper)[0]
            raise VnnlibError(f"line {self.lines['X', i]}: the input box is empty at X_{i}")
        if not self.output_dnfs:
            raise VnnlibError(f"line {last_line}: no output constraint")
        disjuncts = []
        for combination in itertools.product(*self.output_dnfs):
            rows = [c for conj in combination for c in conj]
            C = np.zeros((len(rows), n_out))
            for r, (coeffs, _) in enumerate(rows):
                for (_, j), value in coeffs.items():
                    C[r, j] += value
            disjuncts.append(Conjunction(C, np.array([rhs for _, rhs in rows])))
        return Property(lower, upper, tuple(disjuncts))


def parse_vnnlib(path) -> Property:
    """Property of a VNNLIB file."""
    return parse_vnnlib_text(Path(path).read_text())


def parse_vnnlib_text(text: str) -> Property:
    """Property of VNNLIB text."""
    parser = _Parser()
    last_line = max(1, len(text.splitlines()))
    for expr in _expressions(text):
        head = expr.head()
        if head == "declare-const":
            parser.declare(expr)
        elif head == "assert":
            parser.assertion(expr)
        else:
            raise VnnlibError(f"line {expr.line}: unsupported command {head!r} (declare-const and assert only)")
    return parser.property(last_line)
