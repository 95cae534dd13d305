"""deep-supervision — a side classifier sends a direct gradient to the first layer.

Caffe's LeNet and the deeply supervised LeNet (the same network plus a linear side classifier
on the pool1 output, trained with L = L_main + 0.3 L_aux; Lee et al., "Deeply-Supervised Nets",
2015) start from identical weights and see the same mini-batches of Fashion-MNIST (batch 64,
SGD with momentum 0.9, lr 0.01). After every step the mean absolute gradient of each shared
layer's weights (conv1, conv2, ip1, ip2) is recorded.

In the plain network conv1 only receives what is back-propagated through conv2, ip1 and ip2;
with deep supervision it also gets the side classifier's gradient, one layer away from a loss,
so its mean |gradient| is larger, and the first layer learns faster. The figure shows the
per-layer curves (moving average) of both networks; the summary the means over training and
the test accuracy of the main output.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import optim
from deepgrad.data import load_fashion_mnist
from deepgrad.diagnostics import plots
from deepgrad.models import DeeplySupervisedLeNet, LeNet
from deepgrad.nn import functional as F
from deepgrad.studies._common import evaluate, finish, markdown_table
from deepgrad.tensor import Tensor
from deepgrad.training import DeepSupervisionLoss

NAME = "deep-supervision"
LAYERS = ("conv1", "conv2", "ip1", "ip2")
BATCH = 64


def train(model, loss_fn, x, y, steps: int, seed: int) -> dict:
    """SGD with momentum; returns {layer: mean |dL/dW| per step} for the shared layers."""
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    rng = np.random.default_rng(seed)
    weights = {name: getattr(model, name).weight for name in LAYERS}
    curves = {name: [] for name in LAYERS}
    model.train()
    for _ in range(steps):
        index = rng.choice(len(x), BATCH, replace=False)
        loss = loss_fn(model(Tensor(x[index])), Tensor(y[index]))
        optimizer.zero_grad()
        loss.backward()
        for name, w in weights.items():
            curves[name].append(float(np.mean(np.abs(w.grad.data))))
        optimizer.step()
    return curves


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 30 if quick else 1500
    x, y = load_fashion_mnist("train")
    x_test, y_test = load_fashion_mnist("test")
    if quick:
        x, y, x_test, y_test = x[:2000], y[:2000], x_test[:500], y_test[:500]
    models = {"LeNet": (LeNet(generator=seed), F.cross_entropy)}
    deep = DeeplySupervisedLeNet(generator=seed)
    models["deeply supervised"] = (deep, DeepSupervisionLoss(F.cross_entropy, deep.loss_weights))
    numbers, rows, all_curves = {}, [], {}
    for label, (model, loss_fn) in models.items():
        curves = train(model, loss_fn, x, y, steps, seed)
        _, accuracy = evaluate(model, x_test, y_test, F.cross_entropy, batch_size=500)
        means = {name: float(np.mean(values)) for name, values in curves.items()}
        numbers[label] = {"mean_abs_grad": means, "test_accuracy": accuracy}
        rows.append([label] + [means[name] for name in LAYERS] + [accuracy])
        all_curves[label] = curves
    plain, deep_means = numbers["LeNet"]["mean_abs_grad"], \
        numbers["deeply supervised"]["mean_abs_grad"]
    numbers["conv1_ratio"] = deep_means["conv1"] / plain["conv1"]
    window = 5 if quick else 50
    panels = [(name, _draw_layer(all_curves, name, window)) for name in LAYERS]
    figure = plots.plot_panels(panels, os.path.join(out_dir, "deep_supervision_grads.png"),
                               ncols=4, title="mean |dL/dW| per layer during training")
    table = markdown_table(["model"] + [f"mean abs grad {n}" for n in LAYERS]
                           + ["test accuracy"], rows)
    ratio = f"conv1: deeply supervised / plain = {numbers['conv1_ratio']:.3g}"
    return finish(NAME, out_dir, quick, "Deep supervision and gradient flow",
                  __doc__.split("\n\n", 1)[1],
                  [(f"Means over {steps} steps of batch {BATCH}", table + "\n\n" + ratio)],
                  [figure], numbers)


def _draw_layer(all_curves, name, window):
    def draw(ax):
        for label, curves in all_curves.items():
            values = np.asarray(curves[name])
            if len(values) >= window:
                values = np.convolve(values, np.ones(window) / window, mode="valid")
            ax.plot(values, label=label, linewidth=1)
        ax.set_xlabel("step", fontsize=7)
        ax.legend(fontsize=6)
    return draw
