"""autodiff — forward and reverse evaluation traces of the classic example.

f(x1, x2) = ln(x1) + x1 x2 - sin(x2) at (x1, x2) = (2, 5) (Baydin et al., "Automatic
Differentiation in Machine Learning: a Survey", JMLR 2018). `deepgrad.autograd.trace` records
every elementary operation deepgrad runs, and prints

* the primal trace: v_{-1} = x1, v_0 = x2, v_1 = ln v_{-1}, v_2 = v_{-1} v_0, v_3 = sin v_0,
  v_4 = v_1 + v_2, v_5 = v_4 - v_3 = y = 11.652;
* the forward tangent trace for the seed x1' = 1, x2' = 0 (each primitive's jvp rule):
  y' = dy/dx1 = 1/x1 + x2 = 5.5 — forward mode needs one pass per input;
* the reverse adjoint trace from y-bar = 1 (each primitive's backward rule): one pass gives
  both dy/dx1 = 5.5 and dy/dx2 = x1 - cos(x2) = 1.716.

The figure draws the computational graph with the primal values and the adjoints.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import ops
from deepgrad.autograd import trace
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._figures import draw_panels

NAME = "autodiff"


def f(x1, x2):
    """f(x1, x2) = ln(x1) + x1 x2 - sin(x2), evaluated in the survey's order of v_1..v_5."""
    v1 = ops.log(x1)
    v2 = x1 * x2
    v3 = ops.sin(x2)
    v4 = v1 + v2
    return v4 - v3


def _rows(rows):
    return [[r["var"], r["expr"], float(np.asarray(r["value"]).reshape(-1)[0])] for r in rows]


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    t = trace(f, 2.0, 5.0)
    gradient = [float(g) for g in t.gradient]
    tangent_x1 = t.tangent_rows([np.ones(()), np.zeros(())])
    tangent_x2 = t.tangent_rows([np.zeros(()), np.ones(())])
    numbers = {"y": float(t.output.data), "dy_dx1": gradient[0], "dy_dx2": gradient[1],
               "forward_dy_dx1": float(tangent_x1[-1]["value"]),
               "forward_dy_dx2": float(tangent_x2[-1]["value"])}
    headers = ["variable", "expression", "value"]
    sections = [
        ("Forward primal trace", markdown_table(headers, _rows(t.primal_rows), digits=6)),
        ("Forward tangent trace (seed x1' = 1, x2' = 0)",
         markdown_table(headers, _rows(tangent_x1), digits=6)),
        ("Forward tangent trace (seed x1' = 0, x2' = 1)",
         markdown_table(headers, _rows(tangent_x2), digits=6)),
        ("Reverse adjoint trace", markdown_table(headers, _rows(t.adjoint_rows()), digits=6)),
        ("Result", markdown_table(["y", "dy/dx1", "dy/dx2"],
                                  [[numbers["y"], gradient[0], gradient[1]]], digits=6)),
        ("As printed by `print(deepgrad.autograd.trace(f, 2.0, 5.0))`",
         "```\n" + str(t) + "\n```"),
    ]
    adjoints = {r["var"].replace("v̄", "v"): float(np.asarray(r["value"]).reshape(-1)[0])
                for r in t.adjoint_rows()}
    primals = {r["var"]: float(np.asarray(r["value"]).reshape(-1)[0]) for r in t.primal_rows}
    figure = draw_panels(os.path.join(out_dir, "autodiff_graph.png"),
                         [("each node: name, operation, value / adjoint",
                           _draw_graph(primals, adjoints))],
                         title="Computational graph of ln(x1) + x1 x2 - sin(x2) at (2, 5)")
    return finish(NAME, out_dir, quick, "Automatic differentiation: evaluation traces",
                  __doc__.split("\n\n", 1)[1], sections, [figure], numbers)


# positions of the nodes of the example's graph (inputs left, output right)
_LAYOUT = {"v_-1": (0, 1), "v_0": (0, -1), "v_1": (1, 1.5), "v_2": (1, 0), "v_3": (1, -1.5),
           "v_4": (2, 0.75), "v_5": (3, 0)}
_EDGES = [("v_-1", "v_1"), ("v_-1", "v_2"), ("v_0", "v_2"), ("v_0", "v_3"), ("v_1", "v_4"),
          ("v_2", "v_4"), ("v_4", "v_5"), ("v_3", "v_5")]
_LABELS = {"v_-1": "x1", "v_0": "x2", "v_1": "ln", "v_2": "×", "v_3": "sin", "v_4": "+",
           "v_5": "− (y)"}


def _draw_graph(primals, adjoints):
    def draw(ax):
        for a, b in _EDGES:
            (x0, y0), (x1, y1) = _LAYOUT[a], _LAYOUT[b]
            ax.annotate("", xy=(x1 - 0.12, y1), xytext=(x0 + 0.12, y0),
                        arrowprops={"arrowstyle": "->", "color": "0.5"})
        for name, (x, y) in _LAYOUT.items():
            text = (f"{name} {_LABELS[name]}\n{primals.get(name, float('nan')):.4g} / "
                    f"{adjoints.get(name, float('nan')):.4g}")
            ax.text(x, y, text, ha="center", va="center", fontsize=11,
                    bbox={"boxstyle": "round", "facecolor": "#e8f0ff", "edgecolor": "0.4"})
        ax.set_xlim(-0.5, 3.5)
        ax.set_ylim(-2.2, 2.2)
        ax.axis("off")
    return draw
