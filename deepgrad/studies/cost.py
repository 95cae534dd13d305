"""cross-entropy — why a saturated sigmoid neuron learns slowly with the quadratic cost.

The notes' single neuron (cis680-improving-learning.txt, "How to Improve NN Learning? Loss /
Cost function"): a = sigma(z), z = w x + b, one input x = 1 with target y = 0, trained by
gradient descent (lr 0.15, 300 steps, float64) with

* the quadratic cost L = (a - y)^2 / 2:           dL/dw = (a - y) sigma'(z) x
* the cross-entropy L = -(y ln a + (1-y) ln(1-a)): dL/dw = (a - y) x

from a saturated start (w = b = 2: a = 0.98, sigma'(z) = 0.018, badly wrong) and from a
moderate start (w = 0.6, b = 0.9: a = 0.82). deepgrad's autodiff gradient is compared with
both formulas at every step. Measured: the steps until the output falls below 0.5 and 0.1 and
the sigma'(z) factor along the way.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import ops
from deepgrad.nn import Parameter
from deepgrad.nn import functional as F
from deepgrad.studies._common import finish, loss_value, markdown_table
from deepgrad.studies._figures import legend_outside, slide
from deepgrad.tensor import Tensor

NAME = "cross-entropy"
LR, STEPS = 0.15, 300
STARTS = {"saturated start (w = b = 2)": (2.0, 2.0),
          "moderate start (w = 0.6, b = 0.9)": (0.6, 0.9)}
COSTS = ("quadratic", "cross-entropy")


def cost(name, a, y):
    if name == "quadratic":
        return F.mse_loss(a, y) * 0.5
    return F.binary_cross_entropy(a, y)


def train(cost_name, w0, b0, x=1.0, y=0.0, steps=STEPS, lr=LR):
    """Gradient descent on one neuron; per step: output a, cost, dL/dw (autodiff), sigma'(z),
    and the largest difference between autodiff and the notes' formula for dL/dw."""
    w = Parameter(np.array([w0]))
    b = Parameter(np.array([b0]))
    xt, yt = Tensor(np.array([x])), Tensor(np.array([y]))
    out = {"a": [], "cost": [], "grad_w": [], "sigma_prime": [], "formula_error": 0.0}
    for _ in range(steps):
        w.grad = b.grad = None
        a = ops.sigmoid(w * xt + b)
        loss = cost(cost_name, a, yt)
        loss.backward()
        a_value = float(a.data[0])
        sigma_prime = a_value * (1 - a_value)
        formula = (a_value - y) * (sigma_prime if cost_name == "quadratic" else 1.0) * x
        grad = float(w.grad.data[0])
        out["formula_error"] = max(out["formula_error"], abs(grad - formula))
        out["a"].append(a_value)
        out["cost"].append(loss_value(loss))
        out["grad_w"].append(grad)
        out["sigma_prime"].append(sigma_prime)
        w.data -= lr * w.grad.data
        b.data -= lr * b.grad.data
    return out


def steps_below(values, level):
    """First step at which the value is below `level` (None if never)."""
    for step, value in enumerate(values):
        if value < level:
            return step
    return None


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    numbers, rows, runs = {}, [], {}
    for start, (w0, b0) in STARTS.items():
        for name in COSTS:
            out = train(name, w0, b0)
            runs[(start, name)] = out
            key = f"{start.split(' (')[0]}/{name}"
            numbers[key] = {"steps_below_0.5": steps_below(out["a"], 0.5),
                            "steps_below_0.1": steps_below(out["a"], 0.1),
                            "initial_grad_w": out["grad_w"][0],
                            "initial_sigma_prime": out["sigma_prime"][0],
                            "final_a": out["a"][-1], "formula_error": out["formula_error"]}
            rows.append([start, name, out["a"][0], out["grad_w"][0], out["sigma_prime"][0],
                         _fmt_steps(numbers[key]["steps_below_0.5"]),
                         _fmt_steps(numbers[key]["steps_below_0.1"]), out["a"][-1],
                         out["formula_error"]])
    sat_q, sat_ce = numbers["saturated start/quadratic"], numbers["saturated start/cross-entropy"]
    numbers["slowdown_0.5"] = _ratio(sat_q["steps_below_0.5"], sat_ce["steps_below_0.5"])
    mod_q, mod_ce = numbers["moderate start/quadratic"], numbers["moderate start/cross-entropy"]
    numbers["moderate_slowdown_0.5"] = _ratio(mod_q["steps_below_0.5"],
                                              mod_ce["steps_below_0.5"])
    figure = _plot(runs, os.path.join(out_dir, "cross_entropy_learning.png"))
    table = markdown_table(["start", "cost", "a at step 0", "dL/dw at step 0",
                            "sigma'(z) at step 0", "steps until a < 0.5", "steps until a < 0.1",
                            f"a after {STEPS} steps", "max |autodiff - formula|"], rows)
    sections = [("The notes' claims", CLAIMS), (f"{STEPS} steps of lr {LR}, x = 1, y = 0", table),
                ("What deepgrad measured", _verdict(numbers))]
    return finish(NAME, out_dir, quick, "Cross-entropy vs quadratic cost",
                  __doc__.split("\n\n", 1)[1], sections, [figure], numbers)


CLAIMS = """
cis680-improving-learning.txt, "How to Improve NN Learning? Loss / Cost function": with
L = (sigma(z) - y)^2 / 2, "why is the learning slow initially?" — dL/dw = (sigma(z) - y)
sigma'(z) x; "We need a learning objective that wouldn't have a sigmoid derivative in the
gradient"; for the cross-entropy, dL/dw = x (a - y): "no sigmoid derivatives in the gradient
equation", "Therefore, learning shouldn't be slowed down."
"""


def _verdict(n):
    sat_q, sat_ce = n["saturated start/quadratic"], n["saturated start/cross-entropy"]
    errors = max(entry["formula_error"] for entry in n.values() if isinstance(entry, dict))
    return "\n".join([
        f"* Saturated start: dL/dw at step 0 is {sat_q['initial_grad_w']:.3g} with the "
        f"quadratic cost (sigma'(z) = {sat_q['initial_sigma_prime']:.3g}) and "
        f"{sat_ce['initial_grad_w']:.3g} with the cross-entropy; the output falls below 0.5 "
        f"after {_fmt_steps(sat_q['steps_below_0.5'])} vs "
        f"{_fmt_steps(sat_ce['steps_below_0.5'])} steps (quadratic / cross-entropy = "
        f"{n['slowdown_0.5']:.3g}) — the quadratic cost learns slowly at first, the "
        "cross-entropy does not: **holds**.",
        f"* Moderate start: {_fmt_steps(n['moderate start/quadratic']['steps_below_0.5'])} vs "
        f"{_fmt_steps(n['moderate start/cross-entropy']['steps_below_0.5'])} steps (ratio "
        f"{n['moderate_slowdown_0.5']:.3g}): less saturated, sigma'(z) is larger and the "
        "quadratic cost's slowdown smaller.",
        f"* deepgrad's autodiff gradient matches (a - y) sigma'(z) x and (a - y) x at every step "
        f"(largest difference {errors:.2g}): **holds**.",
    ])


def _fmt_steps(steps):
    return f"{steps}" if steps is not None else f"> {STEPS}"


def _ratio(a, b):
    a = STEPS if a is None else a
    return a / max(b, 1) if b is not None else math.nan


def _plot(runs, path):
    title = "One sigmoid neuron, x = 1, y = 0, lr 0.15: quadratic cost vs cross-entropy"
    with slide(path, 1, 3, title=title) as axes:
        for (start, name), out in runs.items():
            color = "C3" if name == "quadratic" else "C0"
            style = "-" if start.startswith("saturated") else "--"
            label = f"{name}, {start.split(' (')[0]}"
            axes[0][0].plot(out["a"], style, color=color, label=label)
            axes[0][1].semilogy(np.abs(out["grad_w"]), style, color=color, label=label)
            if name == "quadratic":
                axes[0][2].plot(out["sigma_prime"], style, color="C2",
                                label=f"sigma'(z), {start.split(' (')[0]}")
        axes[0][0].set_title("output a = sigma(wx + b)")
        axes[0][0].set_ylabel("output a (target 0)")
        axes[0][1].set_title("|dL/dw| (log scale)")
        axes[0][1].set_ylabel("|dL/dw|")
        axes[0][2].set_title("sigma'(z), quadratic runs")
        axes[0][2].set_ylabel("sigma'(z) = a (1 - a)")
        for ax in axes[0]:
            ax.set_xlabel("gradient-descent step")
        handles, labels = axes[0][0].get_legend_handles_labels()
        more, more_labels = axes[0][2].get_legend_handles_labels()
        legend_outside(axes[0][2], handles=handles + more, labels=labels + more_labels)
    return path

