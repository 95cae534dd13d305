"""activations — the same network trained with eight activation functions.

A 2-50-50-3 network classifies 300 points of three interleaved spirals (noise 0.2). Every run
starts from the same weights (PyTorch's default uniform initialization, one seed) and is
trained with full-batch SGD with momentum 0.9 (lr 0.05) on cross-entropy; only the hidden
activation changes: sigmoid, tanh, ReLU, leaky ReLU (slope 0.01), ELU, SELU, GELU and Swish
(SiLU, x sigmoid(x)).

What to look for in the learning curves: the sigmoid network is the slowest — its outputs are
not zero-centred and its derivative is at most 1/4, so the gradient shrinks at every layer;
tanh is better; the ReLU family (and its smooth variants GELU, Swish, ELU, SELU) trains
fastest. The summary lists the loss after 10%, 50% and 100% of the steps and the training
accuracy.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, optim, registry
from deepgrad.data import make_spirals
from deepgrad.nn import functional as F
from deepgrad.studies._common import evaluate, finish, markdown_table, train_full_batch
from deepgrad.studies._figures import legend_outside, slide
from deepgrad.tensor import Tensor

NAME = "activations"
# registered activation names (deepgrad.registry); "swish" is Swish with beta = 1, i.e. SiLU
ACTIVATIONS = ("sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "swish")


def build(activation: str, seed: int):
    make = registry.lookup("activation", activation)
    return nn.Sequential(nn.Linear(2, 50, generator=seed), make(),
                         nn.Linear(50, 50, generator=seed + 1), make(),
                         nn.Linear(50, 3, generator=seed + 2))


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 150 if quick else 3000
    x, y = make_spirals(300, num_classes=3, noise=0.2, generator=seed)
    numbers, rows, curves = {}, [], {}
    for name in ACTIVATIONS:
        model = build(name, seed)
        optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        losses = train_full_batch(model, F.cross_entropy, optimizer, Tensor(x), Tensor(y),
                                  steps)
        final_loss, accuracy = evaluate(model, x, y, F.cross_entropy)
        marks = [losses[steps // 10], losses[steps // 2], final_loss]
        numbers[name] = {"loss_10pct": marks[0], "loss_50pct": marks[1],
                         "final_loss": final_loss, "train_accuracy": accuracy}
        rows.append([name] + marks + [accuracy])
        curves[name] = (np.arange(len(losses)), losses)
    figure = _plot(curves, os.path.join(out_dir, "activations_loss.png"))
    table = markdown_table(["activation", f"loss at step {steps // 10}",
                            f"loss at step {steps // 2}", f"final loss ({steps} steps)",
                            "train accuracy"], rows)
    return finish(NAME, out_dir, quick, "Activation functions", __doc__.split("\n\n", 1)[1],
                  [("Learning", table)], [figure], numbers)


def _plot(curves, path):
    title = "2-50-50-3 network on three spirals, full-batch SGD + momentum: eight activations"
    with slide(path, title=title) as axes:
        ax = axes[0][0]
        for k, (name, (steps, losses)) in enumerate(curves.items()):
            ax.semilogy(steps, losses, color=f"C{k}", label=name)
        ax.set_xlabel("full-batch step")
        ax.set_ylabel("training loss (log scale)")
        legend_outside(ax)
    return path
