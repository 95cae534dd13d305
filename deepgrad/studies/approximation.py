"""approximation — what one hidden layer of three tanh units can represent.

math-eng-dl-ch4-mlp.txt, "Example: Approximation Ability": 50 data points in [-1, 1], two
layers (1 hidden layer), linear output, 3 hidden units with tanh activation, for
f(x) = |x|, x^2, sin(x) and 1{x > 0}. The network y(x) = sum_k v_k tanh(w_k x + b_k) + c
(10 parameters) is fitted by full-batch Adam (lr 0.05, float64, mean squared error); the best
of three random restarts is kept. As an extra, sin(pi x) (a whole period, which sin(x) on
[-1, 1] is not: there it is nearly the line x) shows a harder target.

* |x| (a kink at 0) and x^2 (a smooth bowl): two or three bent tanh pieces;
* sin(x): almost linear on [-1, 1], so one unit in its linear range does most of the work;
* the step 1{x > 0}: one unit sharpens towards the jump; the error shrinks slowly as its
  weight grows.

Each panel draws the data, the fit, and the three terms v_k tanh(w_k x + b_k) together with the
output bias c as a flat line, so the dashed curves plus the dotted line add up to the fit.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, no_grad, optim
from deepgrad.nn import functional as F
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._slides import claim_table, slide_figure
from deepgrad.tensor import Tensor

NAME = "approximation"
HIDDEN = 3
TARGETS = {
    "abs": np.abs,
    "square": np.square,
    "sin": np.sin,
    "step": lambda x: (x > 0).astype(np.float64),
    "sin_pi": lambda x: np.sin(np.pi * x),
}
LABELS = {"abs": "f(x) = |x|", "square": "f(x) = $x^2$", "sin": "f(x) = sin(x)",
          "step": "f(x) = $1_{x>0}$", "sin_pi": "extra: f(x) = sin($\\pi$x)"}
NAMES = {"abs": "abs(x)", "square": "x^2", "sin": "sin(x)", "step": "step 1{x > 0}",
         "sin_pi": "sin(pi x) (extra)"}
RESTARTS = 3
SOURCE = "math-eng-dl-ch4-mlp.txt"


def build(seed: int):
    return nn.Sequential(nn.Linear(1, HIDDEN, generator=seed), nn.Tanh(),
                         nn.Linear(HIDDEN, 1, generator=seed + 1)).double()


def fit(x, y, steps: int, seed: int):
    """Best (by training MSE) of RESTARTS Adam fits; returns (model, rms error, max error)."""
    best = None
    xt, yt = Tensor(x), Tensor(y)
    for restart in range(RESTARTS):
        model = build(seed + 10 * restart)
        optimizer = optim.Adam(model.parameters(), lr=0.05)
        for _ in range(steps):
            loss = F.mse_loss(model(xt), yt)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with no_grad():
            error = model(xt).data - y
        rms, worst = float(np.sqrt(np.mean(error ** 2))), float(np.max(np.abs(error)))
        if best is None or rms < best[1]:
            best = (model, rms, worst)
    return best


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 1000 if quick else 5000
    x = np.linspace(-1.0, 1.0, 50).reshape(-1, 1)
    numbers, rows, fits = {}, [], []
    for name, target in TARGETS.items():
        y = target(x)
        model, rms, worst = fit(x, y, steps, seed)
        numbers[name] = {"rms_error": rms, "max_error": worst}
        rows.append([NAMES[name], rms, worst])
        fits.append((name, model, y, rms))
    path = os.path.join(out_dir, "approximation.png")
    with slide_figure(path, 2, 3, "50 points in [-1, 1] fitted by x -> 3 tanh units -> "
                      "linear output (10 parameters)", panel_size=(4.0, 3.3)) as axes:
        for ax, (name, model, y, rms) in zip(axes, fits):
            numbers[name]["decomposition_error"] = _draw_fit(
                ax, model, x, y, f"{LABELS[name]}: RMS error {rms:.2g}")
        handles, labels = axes[0].get_legend_handles_labels()
        axes[-1].axis("off")
        axes[-1].legend(handles, labels, loc="center", frameon=False)
    table = markdown_table(["target", "RMS error", "max abs error"], rows)
    smooth = max(numbers[k]["max_error"] for k in ("square", "sin", "sin_pi"))
    claims = [
        ("Example: Approximation Ability (|x|, x^2, sin(x), 1{x>0}; 3 tanh hidden units)",
         f"{SOURCE}, Example: Approximation Ability",
         "RMS error " + ", ".join(f"{NAMES[k]}: {numbers[k]['rms_error']:.2g}"
                                  for k in ("abs", "square", "sin", "step")),
         max(numbers[k]["rms_error"] for k in ("abs", "square", "sin")) < 0.05),
        ("A two-layer network with linear outputs can uniformly approximate any continuous "
         "function on a compact input domain", f"{SOURCE}, Universal approximators",
         f"with 3 units: largest error {smooth:.2g} on the smooth targets, "
         f"{numbers['abs']['max_error']:.2g} at the kink of |x|; the discontinuous step keeps "
         f"an error of {numbers['step']['max_error']:.2g} next to its jump",
         smooth < 0.05 and numbers["step"]["max_error"] > smooth),
    ]
    return finish(NAME, out_dir, quick, "Approximation with three tanh units",
                  __doc__.split("\n\n", 1)[1],
                  [("Claims", claim_table(claims)),
                   (f"Errors on the 50 points ({steps} Adam steps, best of {RESTARTS})", table)],
                  [path], numbers)


def _draw_fit(ax, model, x, y, title):
    grid = np.linspace(-1.0, 1.0, 400).reshape(-1, 1)
    with no_grad():
        fitted = model(Tensor(grid)).data
        hidden = model[1](model[0](Tensor(grid))).data * model[2].weight.data.reshape(1, -1)
    bias = float(model[2].bias.data.reshape(-1)[0])
    ax.plot(x, y, "k.", markersize=5, label="data (50 points)")
    ax.plot(grid, fitted, "r-", linewidth=2.2, label="network output")
    for k in range(hidden.shape[1]):
        ax.plot(grid, hidden[:, k], "--", linewidth=1.2,
                label=f"unit {k + 1}: $v_{k + 1}$ tanh($w_{k + 1}$x + $b_{k + 1}$)")
    ax.axhline(bias, color="0.4", linestyle=":", linewidth=1.5, label="output bias c")
    ax.set(xlabel="x", ylabel="y", title=title)
    return float(np.max(np.abs(hidden.sum(axis=1) + bias - fitted[:, 0])))
