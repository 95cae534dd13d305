"""optimizers — momentum, Nesterov, RMSprop and Adam against plain gradient descent.

Part 1, a ravine: f(w) = (w_1^2 + 25 w_2^2) / 2 (condition number 25) from w = (-4.5, 1.5),
100 steps, in two regimes.

* Zig-zag regime (the notes' picture): plain gradient descent with lr 0.076, so that
  lr x curvature = 1.9 across the ravine — each step overshoots the valley floor and the path
  zig-zags while it crawls along the flat direction. Momentum (0.8) and Nesterov take the same
  effective step, lr = 0.076 (1 - 0.8) = 0.0152 (MIT 6.036 7.7.2.2: eta = eta' (1 - gamma)),
  so the running average of the gradients cancels the alternating component.
  RMSprop (lr 0.1) and Adam (lr 0.3) rescale each coordinate by its gradient RMS.
* Smooth regime: lr 0.035 (lr x curvature = 0.875 < 1): plain gradient descent does not
  zig-zag at all, and momentum 0.9 at the same lr overshoots and oscillates — momentum does
  not straighten a path that is already straight.

Measured per path: the number of direction reversals across the valley (sign changes of the
w_2 step), the path length over the distance from start to end (1 = a straight line), and f
after 25, 50 and 100 steps. The figures draw the paths on the contour lines (equal axes) and
f per step.

Part 2, a 784-100-10 ReLU network on Fashion-MNIST (batch 64, each optimizer with its usual
learning rate: SGD 0.1, momentum/Nesterov 0.05 with 0.9, RMSprop and Adam 0.001): training
loss curves (moving average) and test accuracy (quick mode: 3,000 training images, 100 steps).
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import load_fashion_mnist
from deepgrad.nn import Parameter
from deepgrad.nn import functional as F
from deepgrad.studies._common import evaluate, finish, loss_value, markdown_table
from deepgrad.studies._figures import legend_outside, slide, smooth
from deepgrad.tensor import Tensor

NAME = "optimizers"
CURVATURE = np.array([1.0, 25.0])
START = (-4.5, 1.5)
ZIGZAG_LR, BETA = 0.076, 0.8
REGIMES = {
    "zig-zag regime (lr x curvature = 1.9)": {
        "SGD": lambda p: optim.SGD(p, lr=ZIGZAG_LR),
        "momentum": lambda p: optim.SGD(p, lr=ZIGZAG_LR * (1 - BETA), momentum=BETA),
        "Nesterov": lambda p: optim.SGD(p, lr=ZIGZAG_LR * (1 - BETA), momentum=BETA,
                                        nesterov=True),
        "RMSprop": lambda p: optim.RMSprop(p, lr=0.1),
        "Adam": lambda p: optim.Adam(p, lr=0.3),
    },
    "smooth regime (lr x curvature = 0.875)": {
        "SGD": lambda p: optim.SGD(p, lr=0.035),
        "momentum": lambda p: optim.SGD(p, lr=0.035, momentum=0.9),
    },
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


def path_shape(path):
    """(direction reversals across the valley, path length / net displacement)."""
    steps = np.diff(path, axis=0)
    across = np.sign(steps[:, 1])
    reversals = int(np.sum(across[1:] * across[:-1] < 0))
    length = float(np.sum(np.linalg.norm(steps, axis=1)))
    return reversals, length / float(np.linalg.norm(path[-1] - path[0]))


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 100
    numbers = {"quadratic": {}, "fashion_mnist": {}}
    paths, value_curves, quad_rows = {}, {}, []
    for regime, optimizers in REGIMES.items():
        short = regime.split(" (")[0]
        numbers["quadratic"][short] = {}
        for name, make in optimizers.items():
            path, values = descend(make, steps)
            paths[(regime, name)] = path
            value_curves[(regime, name)] = np.maximum(values, 1e-300)
            reversals, ratio = path_shape(path)
            numbers["quadratic"][short][name] = {
                "final_loss": values[-1], "loss_at_25": values[25], "loss_at_50": values[50],
                "reversals": reversals, "path_ratio": ratio}
            quad_rows.append([short, name, reversals, ratio, values[25], values[50],
                              values[-1]])
    figures = [_plot_paths(paths, os.path.join(out_dir, "optimizers_paths.png")),
               _plot_values(value_curves, os.path.join(out_dir, "optimizers_quadratic.png"))]
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
        curves[name] = smooth(losses, window)
    figures.append(_plot_network(curves, window, net_steps,
                                 os.path.join(out_dir, "optimizers_fashion.png")))
    sections = [
        ("The notes' claims", CLAIMS),
        ("Ravine f(w) = (w1^2 + 25 w2^2) / 2", markdown_table(
            ["regime", "optimizer", "reversals across the valley", "path length / distance",
             "f after 25 steps", "f after 50 steps", f"f after {steps} steps"], quad_rows)),
        (f"Fashion-MNIST ({net_steps} steps of batch 64)", markdown_table(
            ["optimizer", "training loss (last 10%)", "test accuracy"], net_rows)),
        ("What deepgrad measured", _verdict(numbers["quadratic"])),
    ]
    return finish(NAME, out_dir, quick, "Optimizers", __doc__.split("\n\n", 1)[1], sections,
                  figures, numbers)


CLAIMS = """
cis680-improving-learning.txt, "Momentum": "Makes it more difficult for the parameters to
fluctuate a lot, which makes learning more stable", "Momentum helps to achieve more direct path
towards local minimum", "Therefore, learning becomes faster." mit6036-ch7-neural-networks.txt,
7.7.2.2: momentum "average[s] recent gradient updates, so that if they have been bouncing back
and forth in some direction, we take out that component of the motion".
"""


def _verdict(quadratic):
    zig, smooth_regime = quadratic["zig-zag regime"], quadratic["smooth regime"]
    sgd, mom = zig["SGD"], zig["momentum"]
    direct = mom["reversals"] < sgd["reversals"] and mom["path_ratio"] < sgd["path_ratio"]
    faster = mom["final_loss"] < sgd["final_loss"]
    s_sgd, s_mom = smooth_regime["SGD"], smooth_regime["momentum"]
    return "\n".join([
        f"* Zig-zag regime: SGD reverses direction across the valley {sgd['reversals']} times "
        f"(path {sgd['path_ratio']:.3g}x the straight distance), momentum {mom['reversals']} "
        f"times ({mom['path_ratio']:.3g}x) — more direct path: "
        + ("**holds**." if direct else "**does not hold**."),
        f"* Zig-zag regime, f after 100 steps: SGD {sgd['final_loss']:.3g}, momentum "
        f"{mom['final_loss']:.3g} — learning becomes faster: "
        + ("**holds**." if faster else "**does not hold** at this step size."),
        f"* Smooth regime (lr x curvature < 1): SGD {s_sgd['reversals']} reversals, momentum "
        f"0.9 at the same lr {s_mom['reversals']} — momentum only helps where the path "
        "oscillates; on a path that is already straight it overshoots. The claim is about the "
        "first regime.",
    ])


def _plot_paths(paths, path):
    title = "Gradient descent in a ravine f(w) = (w1^2 + 25 w2^2) / 2 from (-4.5, 1.5)"
    regimes = list(REGIMES)
    with slide(path, 2, 1, title=title, sharex=True) as axes:
        grid_x, grid_y = np.meshgrid(np.linspace(-5, 1, 240), np.linspace(-1.7, 1.7, 120))
        f = 0.5 * (CURVATURE[0] * grid_x ** 2 + CURVATURE[1] * grid_y ** 2)
        for row, regime in enumerate(regimes):
            ax = axes[row][0]
            ax.contour(grid_x, grid_y, f, levels=np.geomspace(0.05, 60, 12), colors="0.75",
                       linewidths=0.8)
            for k, name in enumerate(REGIMES[regime]):
                points = paths[(regime, name)][:41]
                ax.plot(points[:, 0], points[:, 1], marker=".", markersize=4, color=f"C{k}",
                        label=name)
            ax.plot([0], [0], "k*", markersize=10)
            ax.set_aspect("equal")
            ax.set_xlim(-5, 1)
            ax.set_ylim(-1.7, 1.7)
            ax.set_title(f"{regime}: first 40 steps")
            ax.set_ylabel("w2 (steep)")
            legend_outside(ax)
        axes[1][0].set_xlabel("w1 (flat)")
    return path


def _plot_values(curves, path):
    title = "f(w) per step in the ravine (log scale)"
    with slide(path, 1, 2, title=title, sharey=True) as axes:
        for col, regime in enumerate(REGIMES):
            ax = axes[0][col]
            for k, name in enumerate(REGIMES[regime]):
                ax.semilogy(curves[(regime, name)], color=f"C{k}", label=name)
            ax.set_title(regime)
            ax.set_xlabel("step")
            if col == 0:
                ax.set_ylabel("f(w)")
            ax.legend(loc="lower left")
    return path


def _plot_network(curves, window, steps, path):
    title = f"784-100-10 ReLU network on Fashion-MNIST, batch 64, {steps} steps"
    with slide(path, title=title) as axes:
        ax = axes[0][0]
        for name, (x, values) in curves.items():
            ax.plot(x, values, label=name)
        ax.set_xlabel("update step")
        ax.set_ylabel(f"training loss (mean of {window} batches)")
        ax.set_yscale("log")
        legend_outside(ax)
    return path
