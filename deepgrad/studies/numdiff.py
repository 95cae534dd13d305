"""numerical-differentiation — finite differences, expression swell, and AD in both modes.

The notes' three ways to compute derivatives (math-eng-dl-ch4-mlp.txt, "How to compute
derivatives ?"), measured on the notes' own exercise y(x0, x1) = 1 / (1 + e^(x0 x1 + sin x0))
at (x0, x1) = (1, 2):

1. Numerical differentiation: the forward difference (f(x + h) - f(x)) / h and the central
   difference (f(x + h) - f(x - h)) / (2h) of dy/dx0 in float64 for h = 1e-16 .. 1, against
   deepgrad's reverse-mode value. The error is truncation (~h for forward, ~h^2 for central)
   plus rounding (~eps / h): a V on log-log axes, best near h = sqrt(eps) = 1.5e-8 (forward)
   and eps^(1/3) = 6e-6 (central), and never zero.
2. Symbolic differentiation: the logistic map l_1 = x, l_(n+1) = 4 l_n (1 - l_n) written as an
   expression tree and differentiated by the sum and product rules (constants folded, no
   expansion), as a computer-algebra system without simplification would; the number of
   operations of l_n and of dl_n/dx against the operations deepgrad's forward (tangent) trace
   needs: "expression swell".
3. Automatic differentiation: the exercise traced by `deepgrad.autograd.trace` — the primal
   trace, the tangent trace for each seed (forward mode, one pass per input) and the adjoint
   trace (reverse mode, both derivatives in one pass) — checked against the closed form: y is
   the logistic sigmoid of -(x0 x1 + sin x0), so dy/dx0 = -y (1 - y)(x1 + cos x0) and
   dy/dx1 = -y (1 - y) x0.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import no_grad, ops
from deepgrad.autograd import trace
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._figures import legend_outside, slide
from deepgrad.tensor import Tensor

NAME = "numerical-differentiation"
POINT = (1.0, 2.0)
STEPS = np.logspace(-16, 0, 161)
EPS = float(np.finfo(np.float64).eps)


def exercise(x0, x1):
    """y = 1 / (1 + exp(x0 x1 + sin x0)), one elementary operation per line."""
    v1 = x0 * x1
    v2 = ops.sin(x0)
    v3 = v1 + v2
    v4 = ops.exp(v3)
    v5 = v4 + 1.0
    return 1.0 / v5


def finite_differences(steps=STEPS):
    """(forward errors, central errors, the AD value) of dy/dx0 at POINT for each h."""
    t = trace(exercise, *POINT)
    exact = float(t.gradient[0])

    def f(x0):
        with no_grad():
            return float(exercise(Tensor(np.float64(x0)), Tensor(np.float64(POINT[1]))).data)

    x0, y0 = POINT[0], f(POINT[0])
    forward = np.array([abs((f(x0 + h) - y0) / h - exact) for h in steps])
    central = np.array([abs((f(x0 + h) - f(x0 - h)) / (2 * h) - exact) for h in steps])
    return forward, central, exact


def slope(steps, errors, low, high):
    """Least-squares slope of log10(error) against log10(h) for low <= h <= high."""
    keep = (steps >= low) & (steps <= high) & (errors > 0)
    return float(np.polyfit(np.log10(steps[keep]), np.log10(errors[keep]), 1)[0])


# -- a minimal symbolic differentiator: expressions are nested tuples ------------------------

X = ("x",)


def const(value):
    return ("c", float(value))


def add(a, b):
    if a == const(0):
        return b
    return a if b == const(0) else ("+", a, b)


def sub(a, b):
    return a if b == const(0) else ("-", a, b)


def mul(a, b):
    if const(0) in (a, b):
        return const(0)
    if a == const(1):
        return b
    return a if b == const(1) else ("*", a, b)


def diff(e):
    """d e / dx by the sum, difference and product rules."""
    kind = e[0]
    if kind == "x":
        return const(1)
    if kind == "c":
        return const(0)
    a, b = e[1], e[2]
    if kind == "+":
        return add(diff(a), diff(b))
    if kind == "-":
        return sub(diff(a), diff(b))
    return add(mul(diff(a), b), mul(a, diff(b)))


def operations(e):
    """Number of +, -, * nodes in the expression tree (as written out, without sharing)."""
    return 0 if e[0] in ("x", "c") else 1 + operations(e[1]) + operations(e[2])


def evaluate(e, x):
    kind = e[0]
    if kind == "x":
        return x
    if kind == "c":
        return e[1]
    a, b = evaluate(e[1], x), evaluate(e[2], x)
    return a + b if kind == "+" else a - b if kind == "-" else a * b


def text(e):
    kind = e[0]
    if kind == "x":
        return "x"
    if kind == "c":
        return f"{e[1]:g}"
    return f"({text(e[1])} {kind} {text(e[2])})"


def logistic_map(n):
    """The expression l_n of the logistic map (l_1 = x)."""
    e = X
    for _ in range(n - 1):
        e = mul(mul(const(4), e), sub(const(1), e))
    return e


def logistic_program(n):
    def program(x):
        value = x
        for _ in range(n - 1):
            value = (value * 4.0) * (1.0 - value)
        return value
    return program


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    forward, central, exact = finite_differences()
    best_f, best_c = int(np.argmin(forward)), int(np.argmin(central))
    numbers = {"v_curve": {
        "forward_best_h": float(STEPS[best_f]), "forward_best_error": float(forward[best_f]),
        "central_best_h": float(STEPS[best_c]), "central_best_error": float(central[best_c]),
        "forward_truncation_slope": slope(STEPS, forward, 1e-5, 1e-2),
        "central_truncation_slope": slope(STEPS, central, 1e-3, 1e-1),
        "forward_rounding_slope": slope(STEPS, forward, 1e-15, 1e-10),
        "central_rounding_slope": slope(STEPS, central, 1e-15, 1e-8)}}
    swell_rows, swell = [], {"n": [], "symbolic": [], "derivative": [], "ad": []}
    x = 0.3
    for n in range(1, 7 if quick else 9):
        expression = logistic_map(n)
        derivative = diff(expression)
        t = trace(logistic_program(n), x) if n > 1 else None
        ad_ops = len(t.primal_rows) - 1 if t else 0
        ad_value = float(t.gradient[0]) if t else 1.0
        symbolic_value = evaluate(derivative, x)
        swell["n"].append(n)
        swell["symbolic"].append(operations(expression))
        swell["derivative"].append(operations(derivative))
        swell["ad"].append(2 * ad_ops)
        swell_rows.append([n, operations(expression), operations(derivative), ad_ops, 2 * ad_ops,
                           abs(symbolic_value - ad_value)])
    numbers["swell"] = swell
    numbers["swell_agreement"] = max(row[-1] for row in swell_rows)
    t = trace(exercise, *POINT)
    y = float(t.output.data)
    closed = (-y * (1 - y) * (POINT[1] + math.cos(POINT[0])), -y * (1 - y) * POINT[0])
    tangents = [t.tangent_rows([np.ones(()), np.zeros(())]),
                t.tangent_rows([np.zeros(()), np.ones(())])]
    numbers["exercise"] = {
        "y": y, "reverse": [float(g) for g in t.gradient], "closed_form": list(closed),
        "forward": [float(np.asarray(rows[-1]["value"])) for rows in tangents],
        "sigmoid": 1 / (1 + math.exp(POINT[0] * POINT[1] + math.sin(POINT[0])))}
    figure = _plot(forward, central, swell, os.path.join(out_dir, "numerical_differentiation.png"))
    headers = ["variable", "expression", "value"]
    examples = [[n, text(logistic_map(n)), text(diff(logistic_map(n)))] for n in (1, 2, 3)]
    v = numbers["v_curve"]
    sections = [
        ("The notes' claims", CLAIMS),
        ("1. Finite differences of dy/dx0 at (1, 2)", markdown_table(
            ["difference", "best h", "smallest error", "slope for large h (truncation)",
             "slope for small h (rounding)"],
            [["forward", v["forward_best_h"], v["forward_best_error"],
              v["forward_truncation_slope"], v["forward_rounding_slope"]],
             ["central", v["central_best_h"], v["central_best_error"],
              v["central_truncation_slope"], v["central_rounding_slope"]]], digits=3)),
        ("2. Expression swell: the logistic map", markdown_table(
            ["n", "operations in l_n", "operations in dl_n/dx (symbolic)",
             "operations of the program", "operations of program + tangent (forward AD)",
             "|symbolic - AD| at x = 0.3"], swell_rows, digits=3)),
        ("The first symbolic derivatives (unsimplified)", markdown_table(
            ["n", "l_n", "dl_n/dx"], examples)),
        ("3. The exercise: forward primal trace", markdown_table(
            headers, _rows(t.primal_rows), digits=6)),
        ("Forward tangent trace (seed x0' = 1, x1' = 0)", markdown_table(
            headers, _rows(tangents[0]), digits=6)),
        ("Forward tangent trace (seed x0' = 0, x1' = 1)", markdown_table(
            headers, _rows(tangents[1]), digits=6)),
        ("Reverse adjoint trace", markdown_table(headers, _rows(t.adjoint_rows()), digits=6)),
        ("Result", markdown_table(
            ["", "y", "dy/dx0", "dy/dx1"],
            [["reverse mode", y] + numbers["exercise"]["reverse"],
             ["forward mode", y] + numbers["exercise"]["forward"],
             ["closed form (sigmoid)", numbers["exercise"]["sigmoid"]] + list(closed)],
            digits=10)),
        ("What deepgrad measured", _verdict(numbers)),
    ]
    return finish(NAME, out_dir, quick, "How to compute derivatives",
                  __doc__.split("\n\n", 1)[1], sections, [figure], numbers)


CLAIMS = """
math-eng-dl-ch4-mlp.txt, "How to compute derivatives ?": symbolic derivatives — "Main issue:
expression swell" (the table of l_n and d l_n/dx for the logistic map); numerical
differentiation — "need to choose a small h and face to approximation errors", "Can do better
with higher-order finite differences ... But increase in complexity and never eliminate the
error"; "Want to play ?": y(x0, x1) = (1 + e^(x0 x1 + sin(x0)))^(-1), "Do you recognize a known
function ?", "compute dy/dx0 and dy/dx1", "Use the two modes of AD".
"""


def _rows(rows):
    return [[r["var"], r["expr"], float(np.asarray(r["value"]).reshape(-1)[0])] for r in rows]


def _verdict(n):
    v, swell, ex = n["v_curve"], n["swell"], n["exercise"]
    ad_error = max(abs(a - b) for a, b in zip(ex["reverse"], ex["closed_form"]))
    mode_error = max(abs(a - b) for a, b in zip(ex["reverse"], ex["forward"]))
    return "\n".join([
        f"* Forward difference: smallest error {v['forward_best_error']:.2g} at h = "
        f"{v['forward_best_h']:.2g}; central: {v['central_best_error']:.2g} at h = "
        f"{v['central_best_h']:.2g}. The slopes are {v['forward_truncation_slope']:.2f} / "
        f"{v['central_truncation_slope']:.2f} for large h (truncation, order 1 and 2) and "
        f"{v['forward_rounding_slope']:.2f} / {v['central_rounding_slope']:.2f} for small h "
        "(rounding, ~eps/h) — the central difference does better, and neither reaches zero "
        "error: **holds**.",
        f"* Logistic map, n = {swell['n'][-1]}: l_n has {swell['symbolic'][-1]} operations "
        f"written out, its symbolic derivative {swell['derivative'][-1]}, while forward AD "
        f"computes value and derivative in {swell['ad'][-1]} operations; the symbolic and AD "
        f"derivatives agree to {n['swell_agreement']:.2g} — expression swell: **holds**.",
        f"* The exercise is the sigmoid of -(x0 x1 + sin x0): y = {ex['y']:.10f}; reverse mode "
        f"gives dy/dx0 = {ex['reverse'][0]:.10f}, dy/dx1 = {ex['reverse'][1]:.10f} in one "
        f"pass, forward mode the same in two passes (difference {mode_error:.2g}), matching the "
        f"closed form to {ad_error:.2g}: **holds**.",
    ])


def _plot(forward, central, swell, path):
    title = "Computing derivatives: finite-difference error (V curve) and expression swell"
    with slide(path, 1, 2, title=title) as axes:
        ax = axes[0][0]
        ax.loglog(STEPS, np.maximum(forward, 1e-18), color="C0", label="forward difference")
        ax.loglog(STEPS, np.maximum(central, 1e-18), color="C1", label="central difference")
        ax.axvline(math.sqrt(EPS), color="C0", linestyle=":", label="h = sqrt(eps)")
        ax.axvline(EPS ** (1 / 3), color="C1", linestyle=":", label="h = eps^(1/3)")
        ax.set_xlabel("step h")
        ax.set_ylabel("|finite difference - AD|")
        ax.set_title("(a) dy/dx0 of the exercise at (1, 2)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
        ax = axes[0][1]
        n = swell["n"][1:]  # l_1 = x has no operation
        ax.semilogy(n, swell["symbolic"][1:], "o-", label="l_n written out")
        ax.semilogy(n, swell["derivative"][1:], "s-", label="dl_n/dx, symbolic")
        ax.semilogy(n, swell["ad"][1:], "^-", label="value + derivative, forward AD")
        ax.set_xlabel("n (logistic map l_n)")
        ax.set_ylabel("number of operations")
        ax.set_title("(b) expression swell")
        legend_outside(ax)
    return path
