"""perceptron — Rosenblatt's perceptron and Widrow-Hoff's ADALINE on linearly separable data.

The data: 100 points (quick: 60) uniform in [-3, 3]^2, labelled y = sign(x_1 + 2 x_2 - 1.5),
with the points closer than 0.1 to that line removed, so a margin exists. Both learners use
the augmented input x~ = (x, 1) and the weights w = 0 at the start, and visit the samples one
at a time (a fixed shuffled order per epoch).

* Rosenblatt (1958): on a mistake, y w.x~ <= 0, update w <- w + y x~. By Novikoff's theorem
  it stops after at most (R / gamma)^2 updates, R = max ||x~||, gamma the margin of any
  separating unit vector: here it reaches zero training errors.
* ADALINE / LMS (Widrow and Hoff, 1960): after every sample, w <- w + eta (y - w.x~) x~ with
  eta = 0.01: stochastic gradient descent on the squared error of the linear output. It
  converges to (near) the least-squares solution, which separates well but optimizes squared
  error, not the number of mistakes.

The figure shows both decision lines and the training errors per epoch.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._figures import draw_panels, legend_outside
from deepgrad.tensor import Tensor

NAME = "perceptron"
TRUE_W = np.array([1.0, 2.0, -1.5])
MARGIN = 0.1


def make_separable(n: int, seed: int):
    """n points with labels +-1 separated by the line x_1 + 2 x_2 = 1.5 with a gap."""
    rng = np.random.default_rng(seed)
    points = []
    while sum(len(p) for p in points) < n:
        x = rng.uniform(-3, 3, size=(2 * n, 2))
        distance = (x @ TRUE_W[:2] + TRUE_W[2]) / np.linalg.norm(TRUE_W[:2])
        points.append(x[np.abs(distance) > MARGIN])
    x = np.concatenate(points)[:n]
    y = np.sign(x @ TRUE_W[:2] + TRUE_W[2])
    return x, y


def augment(x):
    return np.concatenate([x, np.ones((len(x), 1))], axis=1)


def errors(w, x_aug, y) -> int:
    return int(np.sum(np.sign(x_aug @ w) != y))


def rosenblatt(x_aug, y, max_epochs: int, seed: int):
    """Rosenblatt's rule; returns (w, training errors after each epoch, number of updates)."""
    rng = np.random.default_rng(seed)
    w = Tensor(np.zeros(x_aug.shape[1]))
    history, updates = [], 0
    for _ in range(max_epochs):
        for i in rng.permutation(len(y)):
            xi = Tensor(x_aug[i])
            if y[i] * float((w * xi).sum()) <= 0:  # a mistake (or on the line)
                w = w + xi * float(y[i])
                updates += 1
        history.append(errors(w.data, x_aug, y))
        if history[-1] == 0:
            break
    return w.data, history, updates


def adaline(x_aug, y, epochs: int, seed: int, lr: float = 0.01):
    """Widrow-Hoff LMS rule; returns (w, training errors after each epoch, final MSE)."""
    rng = np.random.default_rng(seed)
    w = Tensor(np.zeros(x_aug.shape[1]))
    history = []
    for _ in range(epochs):
        for i in rng.permutation(len(y)):
            xi = Tensor(x_aug[i])
            residual = float(y[i]) - float((w * xi).sum())
            w = w + xi * (lr * residual)
        history.append(errors(w.data, x_aug, y))
    mse = float(np.mean((y - x_aug @ w.data) ** 2))
    return w.data, history, mse


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    n = 60 if quick else 100
    epochs = 20 if quick else 100
    x, y = make_separable(n, seed)
    x_aug = augment(x)
    w_p, hist_p, updates = rosenblatt(x_aug, y, max_epochs=100, seed=seed)
    w_a, hist_a, mse = adaline(x_aug, y, epochs, seed)
    radius = float(np.max(np.linalg.norm(x_aug, axis=1)))
    unit = TRUE_W / np.linalg.norm(TRUE_W)
    gamma = float(np.min(y * (x_aug @ unit)))
    bound = (radius / gamma) ** 2
    numbers = {"perceptron": {"errors": hist_p[-1], "epochs": len(hist_p), "updates": updates,
                              "novikoff_bound": bound, "weights": w_p.tolist()},
               "adaline": {"errors": hist_a[-1], "epochs": len(hist_a), "mse": mse,
                           "weights": w_a.tolist()}}
    rows = [["perceptron (Rosenblatt)", len(hist_p), hist_p[-1], updates, bound],
            ["ADALINE (Widrow-Hoff)", len(hist_a), hist_a[-1], "-", "-"]]
    figure = draw_panels(
        os.path.join(out_dir, "perceptron.png"),
        [("decision lines (equal axes)", _draw_lines(x, y, {"perceptron": w_p,
                                                            "ADALINE": w_a})),
         ("training errors per epoch", _draw_errors({"perceptron": hist_p,
                                                    "ADALINE": hist_a}))],
        title=f"Perceptron and ADALINE on {n} linearly separable points")
    table = markdown_table(["rule", "epochs", "training errors", "updates",
                            "Novikoff bound (R/gamma)^2"], rows)
    return finish(NAME, out_dir, quick, "Perceptron and ADALINE", __doc__.split("\n\n", 1)[1],
                  [(f"{n} separable points", table + f"\n\nADALINE mean squared error: "
                    f"{mse:.4g}")], [figure], numbers)


def _draw_lines(x, y, weights):
    def draw(ax):
        ax.scatter(x[:, 0], x[:, 1], c=y, cmap="coolwarm", s=8)
        grid = np.linspace(-3, 3, 10)
        for name, w in weights.items():
            if abs(w[1]) > 1e-12:
                ax.plot(grid, -(w[0] * grid + w[2]) / w[1], label=name)
        ax.set_xlim(-3, 3)
        ax.set_ylim(-3, 3)
        ax.set_aspect("equal")
        ax.set_xlabel("x1")
        ax.set_ylabel("x2")
        legend_outside(ax)
    return draw


def _draw_errors(histories):
    def draw(ax):
        for name, history in histories.items():
            ax.plot(np.arange(1, len(history) + 1), history, marker=".", label=name)
        ax.set_xlabel("epoch")
        ax.set_ylabel("training errors")
        ax.legend(loc="upper right")
    return draw
