"""exploding-gradients — large weights make the gradient explode; two cures.

A deep tanh network (1 -> 8 hidden layers of 32 units -> 1) whose weights are drawn three
times too large, W ~ N(0, (3 / sqrt(n_in))^2), zero biases, fits y = sin(3x) on 128 points in
[-1, 1] with the mean squared error and full-batch gradient descent, 300 steps:

* lr 0.05, no cure: each layer multiplies the back-propagated gradient by W (entries > 1 in
  size), the gradient norm spikes, one huge update throws the weights far away and the loss
  becomes infinite (the notes' "number overflow ... NaN's");
* cure 1, a smaller learning rate: lr 0.005;
* cure 2, clipping the gradient before each update at lr 0.05: by its global norm
  (clip_grad_norm_, max_norm 1) or by value (clip_grad_value_, 0.1).

The figure shows the loss and the gradient norm (before clipping) per step; the summary has
the final loss, the largest gradient norm and the step of divergence, over 3 seeds.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.nn import functional as F
from deepgrad.nn.utils import clip_grad_norm_, clip_grad_value_
from deepgrad.studies._common import finish, loss_value, markdown_table
from deepgrad.studies._figures import legend_outside, slide
from deepgrad.tensor import Tensor

NAME = "exploding-gradients"
DEPTH, WIDTH, GAIN, SEEDS = 8, 32, 3.0, 3
RUNS = {
    "lr 0.05, no cure": (0.05, None),
    "lr 0.005 (smaller rate)": (0.005, None),
    "lr 0.05, clip norm 1": (0.05, "norm"),
    "lr 0.05, clip value 0.1": (0.05, "value"),
}


def build(seed):
    """1 -> DEPTH x WIDTH tanh -> 1 with weights N(0, (GAIN / sqrt(n_in))^2), zero biases."""
    rng = np.random.default_rng(seed)
    layers, fan_in = [], 1
    for _ in range(DEPTH):
        layers += [_linear(fan_in, WIDTH, rng), nn.Tanh()]
        fan_in = WIDTH
    layers.append(_linear(fan_in, 1, rng))
    return nn.Sequential(*layers)


def _linear(fan_in, fan_out, rng):
    linear = nn.Linear(fan_in, fan_out, generator=rng)
    nn.init.normal_(linear.weight, 0.0, GAIN / math.sqrt(fan_in), generator=rng)
    nn.init.zeros_(linear.bias)
    return linear


def train(seed, lr, clip, steps):
    """Returns the losses and the gradient norms (before clipping) per step, stopping at the
    first non-finite loss."""
    model = build(seed)
    x = np.linspace(-1, 1, 128, dtype=np.float32)[:, None]
    y = np.sin(3 * x)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    losses, norms = [], []
    with np.errstate(over="ignore", invalid="ignore"):  # the uncured run overflows on purpose
        for _ in range(steps):
            loss = F.mse_loss(model(Tensor(x)), Tensor(y))
            value = loss_value(loss)
            losses.append(value)
            if not math.isfinite(value):
                break
            optimizer.zero_grad()
            loss.backward()
            norm = math.sqrt(sum(float(np.sum(np.square(p.grad.data, dtype=np.float64)))
                                 for p in model.parameters()))
            norms.append(norm)
            if not math.isfinite(norm):
                losses.append(math.inf)
                break
            if clip == "norm":
                clip_grad_norm_(model.parameters(), 1.0)
            elif clip == "value":
                clip_grad_value_(model.parameters(), 0.1)
            optimizer.step()
    return losses, norms


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 150 if quick else 300
    numbers, rows, curves = {}, [], {}
    for label, (lr, clip) in RUNS.items():
        entries = []
        for s in range(seed, seed + SEEDS):
            losses, norms = train(s, lr, clip, steps)
            diverged = not math.isfinite(losses[-1])
            entries.append({"initial_loss": losses[0], "final_loss": losses[-1],
                            "max_grad_norm": max(norms),
                            "median_grad_norm": float(np.median(norms)),
                            "diverged_at": len(losses) - 1 if diverged else None})
            if s == seed:
                curves[label] = (losses, norms)
            rows.append([label, s, "step " + str(len(losses) - 1) if diverged else "no",
                         losses[-1], max(norms), float(np.median(norms))])
        numbers[label] = entries
    figure = _plot(curves, os.path.join(out_dir, "exploding_gradients.png"), steps)
    table = markdown_table(["run", "seed", "diverged", f"loss after {steps} steps",
                            "largest gradient norm", "median gradient norm"], rows, digits=3)
    sections = [("The notes' claims", CLAIMS), (f"{steps} steps, 3 seeds", table),
                ("What deepgrad measured", _verdict(numbers))]
    return finish(NAME, out_dir, quick, "Exploding gradients, a smaller rate and clipping",
                  __doc__.split("\n\n", 1)[1], sections, [figure], numbers)


CLAIMS = """
cis680-improving-learning.txt, "Exploding Gradients": "Due to large jumps parameter update
becomes extremely unstable. Solution #1: reduce the learning rate. Solution #2: clip the
gradients." math-eng-dl-ch4-mlp.txt, "Exploding gradients": "Might result in oscillating around
the minima or even overshooting the optimum again and again and the model will never learn!";
"huge values of the gradients may cause number overflow resulting in incorrect computations or
introductions of NaN's."
"""


def _verdict(n):
    plain = n["lr 0.05, no cure"]
    cured = {label: entries for label, entries in n.items() if label != "lr 0.05, no cure"}
    all_diverged = all(e["diverged_at"] is not None for e in plain)
    cures_work = all(e["diverged_at"] is None and e["final_loss"] < 0.1
                     for entries in cured.values() for e in entries)
    worst = max(max(e["final_loss"] for e in entries) for entries in cured.values())
    return "\n".join([
        f"* Without a cure the loss overflows in every seed (at steps "
        f"{', '.join(str(e['diverged_at']) for e in plain)}); the gradient norm before that "
        f"reaches {min(e['max_grad_norm'] for e in plain):.3g} or more — "
        + ("**holds**." if all_diverged else "**does not hold** for every seed."),
        f"* A 10x smaller rate, clipping by norm and clipping by value all train (worst final "
        f"loss {worst:.3g}, from {plain[0]['initial_loss']:.3g} at the start) — both solutions "
        "work: " + ("**holds**." if cures_work else "**does not hold**."),
    ])


def _plot(curves, path, steps):
    title = (f"8 tanh layers, weights 3x too large, fitting sin(3x): loss and gradient norm "
             f"(seed 0)")
    with slide(path, 1, 2, title=title, sharex=True) as axes:
        for k, (label, (losses, norms)) in enumerate(curves.items()):
            values = np.asarray(losses, dtype=np.float64)
            finite = np.isfinite(values)
            axes[0][0].semilogy(np.arange(len(values))[finite], values[finite], color=f"C{k}",
                                label=label)
            if not finite[-1]:
                axes[0][0].axvline(len(values) - 1, color=f"C{k}", linestyle=":")
            axes[0][1].semilogy(norms, color=f"C{k}", label=label)
        axes[0][0].set_ylabel("training loss (MSE)")
        axes[0][0].set_title("loss (dotted line: overflow)")
        axes[0][1].set_ylabel("gradient norm before clipping")
        axes[0][1].set_title("global gradient norm")
        for ax in axes[0]:
            ax.set_xlabel("gradient-descent step")
            ax.set_xlim(0, steps)
        legend_outside(axes[0][1])
    return path
