"""init — weight initialization and the scale of activations and gradients across depth.

A stack of 10 fully connected layers of 500 units (Linear(500, 500) + activation, biases 0)
receives a batch of N(0, 1) inputs of dimension 500. The weights are drawn from N(0, s^2) with

* s = 0.01 (too small): each tanh layer multiplies the std by about 0.01 * sqrt(500) = 0.22,
  so the activations (and the back-propagated gradients) vanish geometrically;
* s = 1 (too large): tanh units saturate at +-1, ReLU activations explode;
* Xavier, s = 1/sqrt(n_in): Var(w^T x) = n_in s^2 Var(x) = Var(x) — tanh keeps a healthy scale;
* He, s = sqrt(2/n_in): compensates the half of the units a ReLU zeroes — ReLU keeps its scale.

One forward pass is recorded with an ActivationRecorder, then L = sum(a_10 * r) with a fixed
r ~ N(0, 1) is back-propagated (so dL/da_10 = r). The figures show one histogram per layer
(columns) for each initialization (rows), for activations and for gradients dL/da_l, and the
per-layer std on a log scale (quick mode: a batch of 100 and no gradient figures); the summary
has the per-layer std tables.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import nn
from deepgrad.diagnostics import ActivationRecorder, plots
from deepgrad.random import get_generator
from deepgrad.studies._common import finish, markdown_table
from deepgrad.tensor import Tensor

NAME = "init"
DEPTH, WIDTH = 10, 500
ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU}
SCHEMES = {
    "std 0.01": lambda fan_in: 0.01,
    "std 1": lambda fan_in: 1.0,
    "Xavier": lambda fan_in: 1.0 / math.sqrt(fan_in),
    "He": lambda fan_in: math.sqrt(2.0 / fan_in),
}


def build(activation: str, scheme: str, depth: int = DEPTH, width: int = WIDTH, generator=None):
    """Sequential of `depth` x (Linear(width, width) with N(0, s^2) weights and zero biases,
    activation), s given by `scheme` (a key of SCHEMES)."""
    rng = get_generator(generator)
    layers = []
    for _ in range(depth):
        linear = nn.Linear(width, width, generator=rng)
        nn.init.normal_(linear.weight, 0.0, SCHEMES[scheme](width), generator=rng)
        nn.init.zeros_(linear.bias)
        layers += [linear, ACTIVATIONS[activation]()]
    return nn.Sequential(*layers)


def measure(activation: str, scheme: str, batch: int, seed: int = 0) -> ActivationRecorder:
    """One recorded forward/backward pass; returns the recorder (record of step 0)."""
    rng = np.random.default_rng(seed)
    model = build(activation, scheme, generator=rng)
    x = rng.standard_normal((batch, WIDTH)).astype(np.float32)
    r = rng.standard_normal((batch, WIDTH)).astype(np.float32)
    recorder = ActivationRecorder(model, bins=40, record_params=False)
    with recorder.capture(step=0):
        out = model(Tensor(x))
        (out * Tensor(r)).sum().backward()
    recorder.close()
    return recorder


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    batch = 100 if quick else 1000
    numbers, figures, std_rows, grad_rows = {}, [], [], []
    curves = {}
    for activation in ACTIVATIONS:
        act_rows, grad_panels = [], []
        for scheme in SCHEMES:
            rec = measure(activation, scheme, batch, seed)
            stds = list(rec.layer_stat("std", "activation").values())
            grads = list(rec.layer_stat("std", "grad").values())
            key = f"{activation}/{scheme}"
            numbers[key] = {"activation_std": stds, "grad_std": grads,
                            "std_ratio": stds[-1] / stds[0],
                            "grad_ratio": grads[0] / grads[-1],
                            "saturated_first": rec.record()["layers"]["1"]["activation"]
                            ["frac_saturated"]}
            std_rows.append([activation, scheme] + stds)
            grad_rows.append([activation, scheme] + grads)
            curves[key] = stds
            act_rows.append((scheme, _relabel(rec.panels("activation"))))
            grad_panels.append((scheme, _relabel(rec.panels("grad"))))
        figures.append(plots.plot_histogram_grid(
            act_rows, os.path.join(out_dir, f"init_{activation}_activations.png"),
            f"{activation}: activations per layer (rows: weight initialization)",
            panel_size=(1.6, 1.5)))
        if quick:  # the gradient grids are drawn in full mode only (figures dominate the time)
            continue
        figures.append(plots.plot_histogram_grid(
            grad_panels, os.path.join(out_dir, f"init_{activation}_gradients.png"),
            f"{activation}: gradients dL/da per layer (rows: weight initialization)",
            panel_size=(1.6, 1.5)))
    figures.append(_plot_stds(curves, os.path.join(out_dir, "init_std_per_layer.png")))
    headers = ["activation", "init"] + [f"layer {k}" for k in range(1, DEPTH + 1)]
    description = __doc__.split("\n\n", 1)[1]
    sections = [("Activation std per layer", markdown_table(headers, std_rows)),
                ("Gradient std per layer (dL/da)", markdown_table(headers, grad_rows))]
    return finish(NAME, out_dir, quick, "Initialization: signal scale across depth",
                  description, sections, figures, numbers)


def _relabel(panels):
    for k, panel in enumerate(panels, start=1):
        panel["name"] = f"layer {k}"
    return panels


def _plot_stds(curves, path):
    def draw_for(activation):
        def draw(ax):
            for key, stds in curves.items():
                if key.startswith(activation + "/"):
                    ax.semilogy(range(1, len(stds) + 1), stds, marker="o", markersize=3,
                                label=key.split("/", 1)[1])
            ax.set_xlabel("layer", fontsize=7)
            ax.set_ylabel("activation std", fontsize=7)
            ax.legend(fontsize=6)
            ax.grid(alpha=0.3)
        return draw
    return plots.plot_panels([(a, draw_for(a)) for a in ACTIVATIONS], path,
                             panel_size=(4.0, 3.0), title="activation std per layer")
