"""capacity — model size and L2 regularization on a 2-D toy problem.

A 2-layer network (2 inputs -> H ReLU units -> 2 classes) is trained with full-batch Adam
(lr 0.02) on 200 points of the two-moons data with heavy noise (std 0.35, the classes
overlap), for H = 3, 20, 30 and 100. More hidden units carve more complicated decision regions:
3 units give a few straight cuts and underfit, 100 units bend around individual noisy points
(training accuracy up, accuracy on a fresh draw of 1,000 points not).

Then H = 100 is trained with an L2 penalty L = CE + lambda * sum(W^2) over the weight matrices,
for lambda = 0, 0.001, 0.01, 0.1: the weights shrink and the boundary becomes smoother — the
regularization strength, not the network size, is the better knob for controlling overfitting.
The figures show the decision regions with the training points.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import make_moons
from deepgrad.diagnostics import plots
from deepgrad.nn import functional as F
from deepgrad.studies._common import draw_boundary, evaluate, finish, markdown_table
from deepgrad.tensor import Tensor

NAME = "capacity"
HIDDEN_SIZES = (3, 20, 30, 100)
L2_STRENGTHS = (0.0, 0.001, 0.01, 0.1)


def build(hidden: int, seed: int):
    return nn.Sequential(nn.Linear(2, hidden, generator=seed), nn.ReLU(),
                         nn.Linear(hidden, 2, generator=seed + 1))


def train(model, x, y, steps: int, l2: float = 0.0) -> float:
    """Full-batch Adam on cross-entropy (+ l2 * sum of squared weights); returns the data loss."""
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    xt, yt = Tensor(x), Tensor(y)
    weights = [model[0].weight, model[2].weight]
    data_loss = None
    for _ in range(steps):
        data_loss = F.cross_entropy(model(xt), yt)
        loss = data_loss + l2 * F.l2_penalty(weights) if l2 else data_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(data_loss.data)


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 400 if quick else 3000
    x, y = make_moons(200, noise=0.35, generator=seed)
    x_test, y_test = make_moons(1000, noise=0.35, generator=seed + 1000)
    numbers = {"hidden": {}, "l2": {}}
    size_rows, l2_rows, size_panels, l2_panels = [], [], [], []
    for hidden in HIDDEN_SIZES:
        model = build(hidden, seed)
        loss = train(model, x, y, steps)
        _, train_acc = evaluate(model, x, y, F.cross_entropy)
        _, test_acc = evaluate(model, x_test, y_test, F.cross_entropy)
        numbers["hidden"][hidden] = {"train_loss": loss, "train_accuracy": train_acc,
                                     "test_accuracy": test_acc}
        size_rows.append([hidden, loss, train_acc, test_acc])
        size_panels.append((f"{hidden} hidden units (train acc {train_acc:.2f})",
                            draw_boundary(model, x, y)))
    for l2 in L2_STRENGTHS:
        model = build(100, seed)
        loss = train(model, x, y, steps, l2)
        _, train_acc = evaluate(model, x, y, F.cross_entropy)
        _, test_acc = evaluate(model, x_test, y_test, F.cross_entropy)
        norm = float(np.sqrt(sum(np.sum(m.weight.data.astype(np.float64) ** 2)
                                 for m in (model[0], model[2]))))
        numbers["l2"][l2] = {"train_loss": loss, "train_accuracy": train_acc,
                             "test_accuracy": test_acc, "weight_norm": norm}
        l2_rows.append([l2, loss, train_acc, test_acc, norm])
        l2_panels.append((f"lambda = {l2} (train acc {train_acc:.2f})",
                          draw_boundary(model, x, y)))
    figures = [plots.plot_panels(size_panels, os.path.join(out_dir, "capacity_hidden.png"),
                                 title="decision regions vs number of hidden units"),
               plots.plot_panels(l2_panels, os.path.join(out_dir, "capacity_l2.png"),
                                 title="100 hidden units, L2 strength lambda")]
    sections = [
        ("Hidden units", markdown_table(["hidden units", "train loss", "train accuracy",
                                         "test accuracy"], size_rows)),
        ("L2 regularization (100 hidden units)",
         markdown_table(["lambda", "train loss", "train accuracy", "test accuracy",
                         "weight norm"], l2_rows)),
    ]
    return finish(NAME, out_dir, quick, "Capacity and regularization",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)
