"""activation-pathologies — sigmoid's all-positive outputs zig-zag; ReLUs die.

Part A, non-zero-centred inputs (dd2424-l4-k-layer-networks.txt, sigmoid "Problems" 2): a unit
s = w^T h of the next layer, with two weights, learns targets y = w*^T h, w* = (1, -1), from
w = (-1, 1) by stochastic gradient descent (one example per step, lr 0.5, 200 steps,
L = (s - y)^2 / 2). Its gradient is dL/dw = (s - y) h: when h is a sigmoid output (all
entries positive) both entries of every update have the same sign, so the path to w* (which
needs w_1 up and w_2 down) can only move along (1, 1) or (-1, -1) and zig-zags. With
zero-centred inputs (tanh outputs of the same pre-activations) the updates point anywhere.
Measured: the fraction of updates whose two entries have the same sign, and the steps until
|w - w*| < 0.05.

Part B, dead ReLUs (same file, ReLU "Problems" 3: "If for all x have s_i < 0 then have a dead
neuron and w_i is not updated", "typically happens when b_i has large negative value"): a
2 -> 100 ReLU -> 2 classifier on 500 standardized two-moons points, He weights,
full-batch gradient descent for 300 steps. A hidden unit is dead when its pre-activation is
<= 0 on every training point. (1) Initial hidden biases 0.1, 0, -1, -3, -5 at lr 0.1: the dead
fraction at initialization and after training, and the gradient their weights receive.
(2) Biases 0 and learning rates 0.01 .. 10 (the notes' "be careful with your learning
rates"): the fraction of hidden units negative on every point after training and the gradient
such units still receive, for ReLU and for leaky ReLU, over 3 seeds.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import Standardize, make_moons
from deepgrad.nn import Parameter
from deepgrad.nn import functional as F
from deepgrad.studies._common import finish, loss_value, markdown_table
from deepgrad.studies._figures import legend_outside, slide
from deepgrad.tensor import Tensor

NAME = "activation-pathologies"
W_STAR, W_START = np.array([1.0, -1.0]), np.array([-1.0, 1.0])
BIASES = (0.1, 0.0, -1.0, -3.0, -5.0)
RATES = (0.01, 0.1, 1.0, 3.0, 10.0)
SEEDS, HIDDEN = 3, 100


def zigzag(inputs, steps=200, lr=0.5, seed=0):
    """SGD on one linear unit fed by `inputs` (n, 2); returns the path and the updates."""
    rng = np.random.default_rng(seed)
    targets = inputs @ W_STAR
    w = Parameter(W_START.copy())
    optimizer = optim.SGD([w], lr=lr)
    path = [w.data.copy()]
    for _ in range(steps):
        i = int(rng.integers(len(inputs)))
        s = (w * Tensor(inputs[i])).sum()
        loss = (s - float(targets[i])) ** 2 * 0.5
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append(w.data.copy())
    path = np.array(path)
    return path, np.diff(path, axis=0)


def same_sign_fraction(updates):
    moving = updates[np.all(updates != 0, axis=1)]
    return float(np.mean(np.sign(moving[:, 0]) == np.sign(moving[:, 1])))


def moons(seed):
    x, y = make_moons(500, noise=0.1, generator=seed, dtype=np.float32)
    return Standardize().fit(x).transform(x), y


def classifier(seed, bias, leaky=False):
    rng = np.random.default_rng(seed)
    hidden = nn.Linear(2, HIDDEN, generator=rng)
    nn.init.kaiming_normal_(hidden.weight, nonlinearity="relu", generator=rng)
    nn.init.constant_(hidden.bias, bias)
    return nn.Sequential(hidden, nn.LeakyReLU(0.01) if leaky else nn.ReLU(),
                         nn.Linear(HIDDEN, 2, generator=rng))


def dead_fraction(model, x):
    """Fraction of hidden units whose pre-activation is <= 0 on every point."""
    pre = model[0](Tensor(x)).data
    return float(np.mean(np.all(pre <= 0, axis=0)))


def negative_units_gradient(model, x, y):
    """The smallest gradient (largest |dL/dW| entry of the unit's row) that a unit with a
    non-positive pre-activation on every point receives: 0 for a dead ReLU, > 0 for a leaky
    ReLU (slope 0.01). NaN when there is no such unit, or when no unit gets any gradient
    (a saturated softmax output)."""
    negative = np.all(model[0](Tensor(x)).data <= 0, axis=0)
    if not negative.any():
        return math.nan
    model.zero_grad()
    F.cross_entropy(model(Tensor(x)), Tensor(y)).backward()
    grad = model[0].weight.grad.data
    if not np.any(grad):
        return math.nan  # the saturated softmax sends no gradient at all: nothing to compare
    return float(np.abs(grad[negative]).max(axis=1).min())


def train_dead(seed, bias, lr, leaky=False, steps=300):
    """Full-batch gradient descent; returns dead fractions at start and end (NaN if the run
    diverged), the largest |dL/dW| row of a unit dead at the start, and the final loss."""
    x, y = moons(seed)
    model = classifier(seed, bias, leaky)
    start = dead_fraction(model, x)
    dead_at_start = np.all(model[0](Tensor(x)).data <= 0, axis=0)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    dead_grad, value = 0.0, math.nan
    with np.errstate(over="ignore", invalid="ignore"):  # the largest rates may overflow
        for step in range(steps):
            loss = F.cross_entropy(model(Tensor(x)), Tensor(y))
            value = loss_value(loss)
            if not math.isfinite(value):
                break
            optimizer.zero_grad()
            loss.backward()
            if step == 0 and dead_at_start.any():
                dead_grad = float(np.abs(model[0].weight.grad.data[dead_at_start]).max())
            optimizer.step()
        finite = math.isfinite(value)
        end = dead_fraction(model, x) if finite else math.nan
        gradient = negative_units_gradient(model, x, y) if finite else math.nan
    return {"dead_start": start, "dead_end": end, "negative_units_gradient": gradient,
            "dead_unit_grad": dead_grad, "final_loss": value}


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    u = rng.normal(0.0, 2.0, (500, 2))
    numbers = {"zigzag": {}, "bias": {}, "rate": {"ReLU": {}, "leaky ReLU": {}}}
    paths = {}
    for label, inputs in (("sigmoid outputs (all positive)", 1 / (1 + np.exp(-u))),
                          ("tanh outputs (zero-centred)", np.tanh(u))):
        path, updates = zigzag(inputs, seed=seed)
        paths[label] = path
        distance = np.linalg.norm(path - W_STAR, axis=1)
        close = np.nonzero(distance < 0.05)[0]
        numbers["zigzag"][label] = {"same_sign": same_sign_fraction(updates),
                                    "steps_to_0.05": int(close[0]) if len(close) else None}
    steps = 150 if quick else 300
    for bias in BIASES:
        numbers["bias"][bias] = train_dead(seed, bias, 0.1, steps=steps)
    for label, leaky in (("ReLU", False), ("leaky ReLU", True)):
        for lr in RATES:
            runs = [train_dead(s, 0.0, lr, leaky, steps) for s in range(seed, seed + SEEDS)]
            numbers["rate"][label][lr] = {
                "negative": [r["dead_end"] for r in runs],
                "gradient": [r["negative_units_gradient"] for r in runs]}
    zig_rows = [[label, e["same_sign"], e["steps_to_0.05"]]
                for label, e in numbers["zigzag"].items()]
    bias_rows = [[b, e["dead_start"], e["dead_end"], e["dead_unit_grad"], e["final_loss"]]
                 for b, e in numbers["bias"].items()]
    rate_rows = [[lr] + [_rate_cell(numbers["rate"][a][lr]) for a in ("ReLU", "leaky ReLU")]
                 for lr in RATES]
    figure = _plot(paths, numbers, os.path.join(out_dir, "activation_pathologies.png"))
    sections = [
        ("The notes' claims", CLAIMS),
        ("Part A: updates of a unit fed by sigmoid vs tanh outputs (200 SGD steps)",
         markdown_table(["inputs", "updates with both entries of one sign",
                         "steps until |w - w*| < 0.05"], zig_rows)),
        (f"Part B1: initial hidden bias (lr 0.1, {steps} steps)",
         markdown_table(["initial bias", "dead units at start", "dead units at end",
                         "largest |dL/dW| of a dead unit", "final loss"], bias_rows)),
        (f"Part B2: learning rate (bias 0, {steps} steps, seeds {seed}..{seed + SEEDS - 1})",
         markdown_table(["lr", "ReLU: units negative everywhere (their gradient)",
                         "leaky ReLU: units negative everywhere (their gradient)"],
                        rate_rows)),
        ("What deepgrad measured", _verdict(numbers)),
    ]
    return finish(NAME, out_dir, quick, "Activation pathologies: zig-zags and dead ReLUs",
                  __doc__.split("\n\n", 1)[1], sections, [figure], numbers)


CLAIMS = """
dd2424-l4-k-layer-networks.txt, "Problems" of the sigmoid: "What happens to dJ/dw_i when all
entries in x are positive? => entries of dJ/dw_i are either all positive or all negative =>
inefficient zig-zag update paths to find optimal w_i". Of the ReLU: "If for all x have s_i < 0
then have a "dead neuron" and w_i is not up-dated", "typically happens when b_i has large
negative value"; "In practice: Use ReLU. Be careful with your learning rates. Initialize bias
vectors to be slightly positive."; leaky ReLU: "Activations do not die."
"""


def _verdict(n):
    zig = n["zigzag"]
    positive, centred = zig["sigmoid outputs (all positive)"], zig["tanh outputs (zero-centred)"]
    b = n["bias"]
    relu, leaky = n["rate"]["ReLU"], n["rate"]["leaky ReLU"]
    big = max(RATES)
    leaky_grads = [g for lr in RATES for g in leaky[lr]["gradient"] if math.isfinite(g)]
    relu_grads = [g for lr in RATES for g in relu[lr]["gradient"] if math.isfinite(g)]
    dies = np.nanmean(relu[big]["negative"]) > np.nanmean(relu[0.01]["negative"]) + 0.1
    lives = bool(leaky_grads) and min(leaky_grads) > 0 and max(relu_grads, default=0) == 0
    return "\n".join([
        f"* All-positive inputs: {positive['same_sign']:.0%} of the updates have entries of one "
        f"sign (zero-centred: {centred['same_sign']:.0%}); w gets within 0.05 of w* after "
        f"{positive['steps_to_0.05']} vs {centred['steps_to_0.05']} steps — "
        + ("**holds**." if positive["same_sign"] == 1.0 and centred["same_sign"] < 0.8
           else "**does not hold**."),
        f"* Bias -5: {b[-5.0]['dead_start']:.0%} of the units dead at initialization, "
        f"{b[-5.0]['dead_end']:.0%} after training; a dead unit's weights get gradient "
        f"{b[-5.0]['dead_unit_grad']:.3g} (exactly zero); bias 0.1: {b[0.1]['dead_start']:.0%} "
        "dead — a large negative bias kills units for good: **holds**.",
        f"* Learning rate {big:g}: {np.nanmean(relu[big]['negative']):.0%} of the ReLU units "
        f"are negative on every point after training (lr 0.01: "
        f"{np.nanmean(relu[0.01]['negative']):.0%}) and get exactly zero gradient; leaky ReLU "
        f"units in the same state still get gradient (smallest {min(leaky_grads, default=0):.2g})"
        " — too large a step kills ReLUs, leaky ReLUs do not die: "
        + ("**holds**." if dies and lives else "**does not hold** here."),
    ])


def _rate_cell(entry):
    cells = []
    for negative, gradient in zip(entry["negative"], entry["gradient"]):
        if not math.isfinite(negative):
            cells.append("diverged")
        elif math.isnan(gradient):
            cells.append(f"{negative:.2f}")
        else:
            cells.append(f"{negative:.2f} ({gradient:.2g})")
    return ", ".join(cells)


def _plot(paths, numbers, path):
    title = "Activation pathologies: zig-zag updates from positive inputs; dead ReLU units"
    with slide(path, 1, 3, title=title) as axes:
        ax = axes[0][0]
        for k, (label, points) in enumerate(paths.items()):
            ax.plot(points[:60, 0], points[:60, 1], "o-", markersize=3, color=f"C{k}",
                    label=label.split(" (")[0])
        ax.plot(*W_STAR, "k*", markersize=12, label="target w*")
        ax.set_aspect("equal")
        ax.set_xlabel("w1")
        ax.set_ylabel("w2")
        ax.set_title("(a) first 60 SGD steps (equal axes)")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2))
        ax = axes[0][1]
        biases = list(numbers["bias"])
        ax.plot(biases, [numbers["bias"][b]["dead_start"] for b in biases], "o-",
                label="at initialization")
        ax.plot(biases, [numbers["bias"][b]["dead_end"] for b in biases], "s--",
                label="after training")
        ax.set_xlabel("initial hidden bias")
        ax.set_ylabel("fraction of dead units")
        ax.set_title("(b) dead units vs bias")
        ax.legend(loc="upper right")
        ax = axes[0][2]
        for k, label in enumerate(("ReLU", "leaky ReLU")):
            values = numbers["rate"][label]
            ax.semilogx(RATES, [np.nanmean(values[r]["negative"]) for r in RATES], "o-",
                        color=f"C{k + 2}", label=label)
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("units negative on all points (mean)")
        ax.set_title("(c) dead units vs step size")
        legend_outside(ax)
    return path
