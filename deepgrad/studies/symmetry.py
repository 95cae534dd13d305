"""symmetry — why weights must not all start equal.

A 2-8-2 tanh network is trained with full-batch gradient descent (float64, cross-entropy,
lr 0.5) on the two-moons data, once with every weight and bias set to one constant (0.5) and
once with the default random initialization.

With the constant start all hidden units compute the same function, so they receive the same
gradient, so they stay the same after every update: the rows of the first weight matrix (and
the first-layer biases, and the columns of the second weight matrix) remain equal to
round-off, and the network is no more expressive than one with a single hidden unit. The
random start breaks the symmetry. The figures show the trajectories of each hidden unit's
first weight and the two decision boundaries.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import make_moons
from deepgrad.nn import functional as F
from deepgrad.studies._common import (draw_boundary, evaluate, finish, loss_value,
                                      markdown_table)
from deepgrad.studies._figures import draw_panels
from deepgrad.tensor import Tensor

NAME = "symmetry"
HIDDEN = 8
CONSTANT = 0.5


def build(constant: bool, seed: int):
    model = nn.Sequential(nn.Linear(2, HIDDEN, generator=seed), nn.Tanh(),
                          nn.Linear(HIDDEN, 2, generator=seed + 1)).double()
    if constant:
        for p in model.parameters():
            nn.init.constant_(p, CONSTANT)
    return model


def spread(model) -> dict:
    """Largest difference between hidden units: rows of W1, entries of b1, columns of W2."""
    w1, b1, w2 = model[0].weight.data, model[0].bias.data, model[2].weight.data
    return {"w1": float(np.max(np.abs(w1 - w1[:1]))), "b1": float(np.max(np.abs(b1 - b1[0]))),
            "w2": float(np.max(np.abs(w2 - w2[:, :1])))}


def train(model, x, y, steps):
    optimizer = optim.SGD(model.parameters(), lr=0.5)
    xt, yt = Tensor(x), Tensor(y)
    trajectory = [model[0].weight.data[:, 0].copy()]
    for _ in range(steps):
        loss = F.cross_entropy(model(xt), yt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        trajectory.append(model[0].weight.data[:, 0].copy())
    return np.array(trajectory), loss_value(F.cross_entropy(model(xt), yt))


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 150 if quick else 1000
    x, y = make_moons(200, noise=0.1, generator=seed, dtype=np.float64)
    numbers, rows, panels = {}, [], []
    for label, constant in (("constant", True), ("random", False)):
        model = build(constant, seed)
        trajectory, loss = train(model, x, y, steps)
        _, accuracy = evaluate(model, x, y, F.cross_entropy)
        gaps = spread(model)
        numbers[label] = {"loss": loss, "accuracy": accuracy, **gaps}
        rows.append([label, loss, accuracy, gaps["w1"], gaps["b1"], gaps["w2"]])
        panels.append((f"{label} init: W1[:, 0] of each hidden unit",
                       _draw_trajectory(trajectory)))
        panels.append((f"{label} init: decision regions (accuracy {accuracy:.2f})",
                       _equal(draw_boundary(model, x, y))))
    figure = draw_panels(os.path.join(out_dir, "symmetry.png"), panels, ncols=2,
                         title=f"2-8-2 tanh network on two moons, {steps} steps of gradient "
                               "descent: constant vs random initialization")
    table = markdown_table(["init", "final loss", "train accuracy", "max W1 row gap",
                            "max b1 gap", "max W2 column gap"], rows)
    return finish(NAME, out_dir, quick, "Symmetry: constant initialization",
                  __doc__.split("\n\n", 1)[1], [(f"After {steps} steps", table)],
                  [figure], numbers)


def _draw_trajectory(trajectory):
    def draw(ax):
        ax.plot(trajectory, linewidth=1)
        ax.set_xlabel("gradient-descent step")
        ax.set_ylabel("W1[:, 0], one line per unit")
    return draw


def _equal(draw):
    def equal(ax):
        draw(ax)
        ax.set_aspect("equal")
    return equal
