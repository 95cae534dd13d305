"""Evaluation traces: the primal, tangent and adjoint tables of automatic differentiation.

Following the presentation of Baydin et al., "Automatic Differentiation in Machine Learning:
a Survey" (JMLR 2018), the n inputs are named v_{1-n} .. v_0, each elementary operation gets
the next v_i, and

* the primal trace lists v_i = op(...) = value,
* the forward tangent trace lists v̇_i = Σ_j ∂v_i/∂v_j v̇_j for a chosen input direction,
* the reverse adjoint trace lists v̄_i = Σ_j v̄_j ∂v_j/∂v_i, from the output back to the inputs.

The tangents come from each primitive's jvp rule and the adjoints from its backward rule, so
the table shows exactly what deepgrad computes.
"""

from __future__ import annotations

import numpy as np

from deepgrad import _state
from deepgrad.engine import unbroadcast
from deepgrad.tensor import Tensor, as_tensor

_INFIX = {"+", "-", "*", "/", "@"}


class Tracer:
    """Collects (node, inputs, output, options) for every primitive applied while active."""

    def __init__(self):
        self.records = []

    def record(self, node, inputs, output, options):
        self.records.append((node, inputs, output, options))


def _fmt(value):
    value = np.asarray(value)
    if value.size == 1:
        return f"{float(value.reshape(-1)[0]):.4f}"
    return np.array2string(value, precision=4, separator=", ")


class Trace:
    """The recorded evaluation of f. `str(trace)` prints the three tables.

    Attributes:
        primal_rows: list of dicts {var, expr, value} (inputs first).
        output: the value of f, a Tensor.
        gradient: the adjoints of the inputs (the gradient of a scalar f), a tuple of arrays.
    """

    def __init__(self, inputs, records, output):
        self._inputs = inputs
        self._records = records
        self.output = output
        n = len(inputs)
        self._names = {}
        for k, x in enumerate(inputs):
            self._names[id(x)] = f"v_{k + 1 - n}"
        for i, (_, _, out, _) in enumerate(records, start=1):
            self._names[id(out)] = f"v_{i}"

    # --- tables as data -------------------------------------------------------------------
    def _name(self, t):
        return self._names.get(id(t), _fmt(t.data))

    def _expr(self, node, inputs, options):
        symbol = type(node).symbol or type(node).__name__.lower()
        args = [self._name(t) for t in inputs]
        if symbol in _INFIX and len(args) == 2:
            return f"{args[0]} {symbol} {args[1]}"
        extra = [f"{k}={v}" for k, v in options.items() if v is not None]
        return f"{symbol}({', '.join(args + extra)})"

    @property
    def primal_rows(self):
        rows = [{"var": self._name(x), "expr": "input", "value": x.data.copy()}
                for x in self._inputs]
        for node, inputs, out, options in self._records:
            rows.append({"var": self._name(out), "expr": self._expr(node, inputs, options),
                         "value": out.data.copy()})
        return rows

    def tangent_rows(self, direction=None):
        """Rows {var, expr, value} of the forward tangent trace for input direction `direction`
        (one tangent per input; default: the first input's unit direction)."""
        if direction is None:
            direction = [np.ones_like(x.data) if k == 0 else np.zeros_like(x.data)
                         for k, x in enumerate(self._inputs)]
        dots = {id(x): np.asarray(d, dtype=x.dtype).reshape(x.shape)
                for x, d in zip(self._inputs, direction)}
        rows = [{"var": self._dot(x), "expr": "seed", "value": dots[id(x)]}
                for x in self._inputs]
        for node, inputs, out, _ in self._records:
            in_dots = [dots.get(id(t), np.zeros_like(t.data)) for t in inputs]
            dots[id(out)] = np.asarray(node.jvp(*in_dots), dtype=out.dtype).reshape(out.shape)
            terms = [f"∂{self._name(out)}/∂{self._name(t)}·{self._dot(t)}" for t in inputs
                     if id(t) in self._names]
            rows.append({"var": self._dot(out), "expr": " + ".join(terms) or "0",
                         "value": dots[id(out)]})
        return rows

    def _dot(self, t):
        return "v̇" + self._name(t)[1:]

    def _bar(self, t):
        return "v̄" + self._name(t)[1:]

    def adjoint_rows(self):
        """Rows {var, expr, value} of the reverse adjoint trace, output first."""
        bars = {id(self.output): np.ones_like(self.output.data)}
        contributions = {}
        for node, inputs, out, _ in reversed(self._records):
            bar = bars.get(id(out))
            if bar is None:
                continue
            node.needs_input_grad = tuple(id(t) in self._names for t in inputs)
            parts = node.backward(bar)
            parts = parts if isinstance(parts, tuple) else (parts,)
            for t, part in zip(inputs, parts):
                if part is None or id(t) not in self._names:
                    continue
                part = unbroadcast(np.asarray(part), t.shape)
                bars[id(t)] = bars[id(t)] + part if id(t) in bars else part
                contributions.setdefault(id(t), []).append(out)
        rows = [{"var": self._bar(self.output), "expr": "seed", "value": bars[id(self.output)]}]
        for _, _, out, _ in reversed(self._records[:-1]):
            rows.append(self._adjoint_row(out, bars, contributions))
        for x in reversed(self._inputs):
            rows.append(self._adjoint_row(x, bars, contributions))
        self._bars = bars
        return rows

    def _adjoint_row(self, t, bars, contributions):
        terms = [f"{self._bar(j)}·∂{self._name(j)}/∂{self._name(t)}"
                 for j in contributions.get(id(t), [])]
        return {"var": self._bar(t), "expr": " + ".join(terms) or "0",
                "value": bars.get(id(t), np.zeros_like(t.data))}

    @property
    def gradient(self):
        self.adjoint_rows()
        return tuple(self._bars.get(id(x), np.zeros_like(x.data)) for x in self._inputs)

    # --- printing ----------------------------------------------------------------------------
    @staticmethod
    def _table(title, rows):
        width = max(len(r["var"]) for r in rows)
        expr_width = max(len(r["expr"]) for r in rows)
        lines = [title]
        for r in rows:
            lines.append(f"  {r['var']:<{width}} = {r['expr']:<{expr_width}} = "
                         f"{_fmt(r['value'])}")
        return "\n".join(lines)

    def __str__(self):
        return "\n\n".join([
            self._table("Forward primal trace", self.primal_rows),
            self._table("Forward tangent trace (direction: first input)", self.tangent_rows()),
            self._table("Reverse adjoint trace", self.adjoint_rows()),
        ])

    __repr__ = __str__

    def _repr_html_(self):  # notebooks: the three tables as HTML tables
        from deepgrad.display import html_table, styled

        def table(title, rows):
            return html_table(["variable", "expression", "value"],
                              [[r["var"], r["expr"], _fmt(r["value"])] for r in rows], title)

        return styled(table("Forward primal trace", self.primal_rows),
                      table("Forward tangent trace (direction: first input)",
                            self.tangent_rows()),
                      table("Reverse adjoint trace", self.adjoint_rows()))


def trace(f, *inputs):
    """Run f on `inputs` recording every elementary operation; returns a Trace.

    Example (Baydin et al. 2018): for f(x1, x2) = ln(x1) + x1*x2 - sin(x2) at (2, 5),
    `trace(f, 2.0, 5.0)` shows y = 11.652, ∂y/∂x1 = 5.5 and ∂y/∂x2 = 1.716.
    """
    leaves = []
    for x in inputs:
        # numbers trace in float64, converted directly (not through float32: 0.3 stays 0.3)
        t = as_tensor(np.asarray(x, dtype=np.float64) if isinstance(x, (int, float)) else x)
        if t.dtype.kind != "f":
            t = Tensor._wrap(np.asarray(t.data, dtype=np.float64))
        leaves.append(t.detach().requires_grad_(True))
    tracer = Tracer()
    previous, _state.tracer = _state.tracer, tracer
    try:
        with _state.enable_grad():
            output = f(*leaves)
    finally:
        _state.tracer = previous
    if not isinstance(output, Tensor):
        raise TypeError(f"trace: f must return a Tensor, got {type(output).__name__}")
    if not tracer.records or tracer.records[-1][2] is not output:
        raise ValueError("trace: the output of f is not the result of its last operation")
    return Trace(leaves, tracer.records, output)
