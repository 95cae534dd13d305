"""optimizers — SGD, momentum, Nesterov, RMSprop and Adam on a valley and on Fashion-MNIST.

Part 1, an ill-conditioned quadratic: f(w) = (w_1^2 + 25 w_2^2) / 2 (condition number 25),
from w = (-4.5, 1.5), 100 steps. Plain gradient descent must keep lr below 2/25 for the steep
direction (lr 0.035 here), so it crawls along the flat one. Momentum (0.9) accumulates the
consistent flat-direction gradient and cancels the oscillation across the valley; Nesterov
evaluates the gradient at the look-ahead point and damps the overshoot further; RMSprop
(lr 0.1) and Adam (lr 0.3) divide each coordinate by a running RMS of its gradients, which
equalizes the two directions. The figure shows the paths on the contour lines and f per step.

Part 2, a 784-100-10 ReLU network on Fashion-MNIST (batch 64, each optimizer with its usual
learning rate: SGD 0.1, momentum/Nesterov 0.05 with 0.9, RMSprop and Adam 0.001): training
loss curves (moving average) and test accuracy (quick mode: 3,000 training images, 100 steps).
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import load_fashion_mnist
from deepgrad.diagnostics import plots
from deepgrad.nn import functional as F
from deepgrad.nn import Parameter
from deepgrad.studies._common import evaluate, finish, loss_value, markdown_table
from deepgrad.tensor import Tensor

NAME = "optimizers"
CURVATURE = np.array([1.0, 25.0])
START = (-4.5, 1.5)
QUADRATIC = {
    "SGD": lambda p: optim.SGD(p, lr=0.035),
    "momentum": lambda p: optim.SGD(p, lr=0.035, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.035, momentum=0.9, nesterov=True),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.1),
    "Adam": lambda p: optim.Adam(p, lr=0.3),
}
NETWORK = {
    "SGD": lambda p: optim.SGD(p, lr=0.1),
    "momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
    "Nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.001),
    "Adam": lambda p: optim.Adam(p, lr=0.001),
}


def quadratic(w):
    """f(w) = sum(c_i w_i^2) / 2 with c = (1, 25)."""
    return (w * w * Tensor(CURVATURE)).sum() * 0.5


def descend(make_optimizer, steps: int):
    """The path (steps + 1, 2) and the values f(w_t), t = 0..steps."""
    w = Parameter(np.array(START, dtype=np.float64))
    optimizer = make_optimizer([w])
    path, values = [w.data.copy()], []
    for _ in range(steps):
        loss = quadratic(w)
        values.append(loss_value(loss))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append(w.data.copy())
    values.append(loss_value(quadratic(w)))
    return np.array(path), values


def train_network(make_optimizer, data, steps: int, seed: int):
    x, y, x_test, y_test = data
    model = nn.Sequential(nn.Linear(784, 100, generator=seed), nn.ReLU(),
                          nn.Linear(100, 10, generator=seed + 1))
    optimizer = make_optimizer(model.parameters())
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(steps):
        index = rng.choice(len(x), 64, replace=False)
        loss = F.cross_entropy(model(Tensor(x[index])), Tensor(y[index]))
        losses.append(loss_value(loss))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    _, accuracy = evaluate(model, x_test, y_test, F.cross_entropy)
    return losses, accuracy


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 100
    numbers = {"quadratic": {}, "fashion_mnist": {}}
    paths, value_curves, quad_rows = {}, {}, []
    for name, make in QUADRATIC.items():
        path, values = descend(make, steps)
        paths[name] = path
        value_curves[name] = (np.arange(len(values)), np.maximum(values, 1e-300))
        numbers["quadratic"][name] = {"final_loss": values[-1], "loss_at_25": values[25]}
        quad_rows.append([name, values[25], values[50], values[-1]])
    figures = [plots.plot_panels([("paths on f(w) = (w1^2 + 25 w2^2) / 2", _draw_paths(paths))],
                                 os.path.join(out_dir, "optimizers_paths.png"),
                                 panel_size=(6.0, 3.6)),
               plots.plot_curves(value_curves, os.path.join(out_dir, "optimizers_quadratic.png"),
                                 ylabel="f(w)", logy=True, title="ill-conditioned quadratic")]
    net_steps = 100 if quick else 3000
    x, y = load_fashion_mnist("train", flatten=True)
    x_test, y_test = load_fashion_mnist("test", flatten=True)
    if quick:
        x, y, x_test, y_test = x[:3000], y[:3000], x_test[:1000], y_test[:1000]
    curves, net_rows = {}, []
    window = 10 if quick else 100
    for name, make in NETWORK.items():
        losses, accuracy = train_network(make, (x, y, x_test, y_test), net_steps, seed)
        tail = float(np.mean(losses[-max(1, net_steps // 10):]))
        numbers["fashion_mnist"][name] = {"final_loss": tail, "test_accuracy": accuracy}
        net_rows.append([name, tail, accuracy])
        smoothed = np.convolve(losses, np.ones(window) / window, mode="valid")
        curves[name] = (np.arange(len(smoothed)) + window // 2, smoothed)
    figures.append(plots.plot_curves(curves, os.path.join(out_dir, "optimizers_fashion.png"),
                                     ylabel=f"training loss (mean of {window} batches)",
                                     title="784-100-10 ReLU on Fashion-MNIST"))
    sections = [
        ("Ill-conditioned quadratic", markdown_table(
            ["optimizer", "f after 25 steps", "f after 50 steps", f"f after {steps} steps"],
            quad_rows)),
        (f"Fashion-MNIST ({net_steps} steps of batch 64)", markdown_table(
            ["optimizer", "training loss (last 10%)", "test accuracy"], net_rows)),
    ]
    return finish(NAME, out_dir, quick, "Optimizers", __doc__.split("\n\n", 1)[1], sections,
                  figures, numbers)


def _draw_paths(paths):
    def draw(ax):
        grid_x, grid_y = np.meshgrid(np.linspace(-5, 5, 200), np.linspace(-2, 2, 120))
        f = 0.5 * (CURVATURE[0] * grid_x ** 2 + CURVATURE[1] * grid_y ** 2)
        ax.contour(grid_x, grid_y, f, levels=np.geomspace(0.05, 60, 12), colors="0.75",
                   linewidths=0.6)
        for name, path in paths.items():
            ax.plot(path[:, 0], path[:, 1], marker=".", markersize=2, linewidth=0.8,
                    label=name)
        ax.plot([0], [0], "k*", markersize=6)
        ax.legend(fontsize=6)
    return draw
