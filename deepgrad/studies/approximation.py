"""approximation — what one hidden layer of three tanh units can represent.

The universal approximation theorem says one hidden layer suffices given enough units; this
study shows how far three go. A network x -> 3 tanh units -> linear output (10 parameters) is
fitted by full-batch Adam (lr 0.05, float64, mean squared error) to 50 equally spaced points
in [-1, 1] of

* |x| (a kink at 0) and x^2 (a smooth bowl): fitted by two or three bent tanh pieces;
* sin(pi x): one period, fitted closely;
* the step H(x) (0 for x < 0, 1 for x > 0): a single tanh unit sharpens towards the jump,
  so the error shrinks slowly as its weight grows.

The best of three random restarts is kept. The figure overlays each fit (and the three hidden
units' contributions) on the data; the summary reports the RMS and largest absolute errors.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, no_grad, optim
from deepgrad.diagnostics import plots
from deepgrad.nn import functional as F
from deepgrad.studies._common import finish, markdown_table
from deepgrad.tensor import Tensor

NAME = "approximation"
HIDDEN = 3
TARGETS = {
    "abs": np.abs,
    "square": np.square,
    "sin": lambda x: np.sin(np.pi * x),
    "step": lambda x: (x > 0).astype(np.float64),
}
RESTARTS = 3


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
    numbers, rows, panels = {}, [], []
    for name, target in TARGETS.items():
        y = target(x)
        model, rms, worst = fit(x, y, steps, seed)
        numbers[name] = {"rms_error": rms, "max_error": worst}
        rows.append([name, rms, worst])
        panels.append((f"{name}: rms {rms:.3g}", _draw_fit(model, x, y)))
    figure = plots.plot_panels(panels, os.path.join(out_dir, "approximation.png"), ncols=4,
                               title="x -> 3 tanh units -> linear output")
    table = markdown_table(["target", "RMS error", "max abs error"], rows)
    return finish(NAME, out_dir, quick, "Approximation with three tanh units",
                  __doc__.split("\n\n", 1)[1],
                  [(f"Errors on the 50 points ({steps} Adam steps, best of {RESTARTS})", table)],
                  [figure], numbers)


def _draw_fit(model, x, y):
    grid = np.linspace(-1.0, 1.0, 400).reshape(-1, 1)
    with no_grad():
        fitted = model(Tensor(grid)).data
        hidden = model[1](model[0](Tensor(grid))).data * model[2].weight.data.reshape(1, -1)

    def draw(ax):
        ax.plot(x, y, "k.", markersize=3, label="data")
        ax.plot(grid, fitted, "r-", linewidth=1.5, label="network")
        for k in range(hidden.shape[1]):
            ax.plot(grid, hidden[:, k], "--", linewidth=0.8, label=f"unit {k + 1}")
        ax.legend(fontsize=5)
    return draw
