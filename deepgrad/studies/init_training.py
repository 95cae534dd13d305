"""init-training — the initialization decides whether a deep network trains at all.

The notes' table (backprop-tensor-derivatives-and-init.txt, "Initialization take home points",
from Mishkin & Matas, "All you need is a good init") gives test accuracies per initialization
(rows) and activation (columns), with "n/c" where training did not converge. deepgrad builds
the same table for a deep fully connected network on Fashion-MNIST: 784 -> 10 hidden layers of
100 units -> 10, zero biases, trained with SGD + momentum 0.9 (lr 0.01, batch 128, 1,000 steps
on 10,000 training images; test accuracy on 2,000 test images), under six initializations:

* small random N(0, 0.01^2) and large random N(0, 1);
* Xavier (Glorot) N(0, 2 / (n_in + n_out)) and He N(0, 2 / n_in);
* orthogonal (OrthoNorm) and LSUV (orthogonal, then each layer rescaled in forward order
  until its output variance on one batch is 1; `nn.init.lsuv_`),

and four activations: sigmoid, tanh, ReLU and leaky ReLU (slope 0.01, the notes' VLReLU is
slope 1/3; 0.01 is the common default). A cell is "n/c" when the final training loss (mean of
the last 10% of steps) is not below 0.9 ln 10 = 2.07 (chance level is ln 10) or not finite.

"A factor of two": the same network 30 hidden layers deep with ReLU, weights N(0, 1/n_in)
(Xavier/LeCun) vs N(0, 2/n_in) (He) — the variances differ by a factor of two.

Quick mode: 2,000 training / 500 test images, 6 hidden layers of 32 units, 60 steps of
batch 64; the factor-of-two networks 30 layers of 32 units, 100 steps.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import Standardize, load_fashion_mnist
from deepgrad.nn import functional as F
from deepgrad.studies._common import evaluate, finish, loss_value, markdown_table
from deepgrad.studies._figures import legend_outside, slide, smooth
from deepgrad.tensor import Tensor

NAME = "init-training"
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "ReLU": nn.ReLU,
               "leaky ReLU": nn.LeakyReLU}
SCHEMES = ("small N(0, 0.01^2)", "large N(0, 1)", "Xavier", "He", "orthogonal", "LSUV")
NOT_CONVERGED = 0.9 * math.log(10)


def build(activation, scheme, depth, width, rng, batch):
    """784 -> depth x (Linear(width) + activation) -> 10, initialized by `scheme`."""
    layers, fan_in = [], 784
    for _ in range(depth):
        layers += [nn.Linear(fan_in, width, generator=rng), ACTIVATIONS[activation]()]
        fan_in = width
    layers.append(nn.Linear(fan_in, 10, generator=rng))
    model = nn.Sequential(*layers)
    linears = [m for m in model if isinstance(m, nn.Linear)]
    for linear in linears:
        nn.init.zeros_(linear.bias)
        weight, n_out, n_in = linear.weight, *linear.weight.shape
        if scheme == "small N(0, 0.01^2)":
            nn.init.normal_(weight, 0.0, 0.01, generator=rng)
        elif scheme == "large N(0, 1)":
            nn.init.normal_(weight, 0.0, 1.0, generator=rng)
        elif scheme in ("Xavier", "LeCun N(0, 1/n_in)"):
            std = math.sqrt(2.0 / (n_in + n_out)) if scheme == "Xavier" else 1 / math.sqrt(n_in)
            nn.init.normal_(weight, 0.0, std, generator=rng)
        elif scheme == "He":
            nn.init.normal_(weight, 0.0, math.sqrt(2.0 / n_in), generator=rng)
        elif scheme == "orthogonal":
            nn.init.orthogonal_(weight, generator=rng)
    if scheme == "LSUV":
        nn.init.lsuv_(model, Tensor(batch), generator=rng)
    return model


def train(model, data, steps, batch_size, seed):
    """SGD + momentum; returns (training losses, final loss, test accuracy or None)."""
    (x, y), (x_test, y_test) = data
    rng = np.random.default_rng(seed)
    optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    losses = []
    with np.errstate(over="ignore", invalid="ignore"):  # large weights may overflow
        for _ in range(steps):
            index = rng.choice(len(x), batch_size, replace=False)
            loss = F.cross_entropy(model(Tensor(x[index])), Tensor(y[index]))
            value = loss_value(loss)
            losses.append(value)
            if not math.isfinite(value):
                break
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    tail = losses[-max(1, len(losses) // 10):]
    final = float(np.mean(tail)) if all(map(math.isfinite, tail)) else math.inf
    converged = final < NOT_CONVERGED
    accuracy = evaluate(model, x_test, y_test, F.cross_entropy)[1] if converged else None
    return losses, final, accuracy


def load(quick, seed):
    x, y = load_fashion_mnist("train", flatten=True)
    x_test, y_test = load_fashion_mnist("test", flatten=True)
    pick = np.random.default_rng(seed).permutation(len(x))[:2000 if quick else 10000]
    x, y = x[pick], y[pick]
    x_test, y_test = x_test[:500 if quick else 2000], y_test[:500 if quick else 2000]
    scaler = Standardize().fit(x)
    return (scaler.transform(x), y), (scaler.transform(x_test), y_test)


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    depth, width, steps, batch_size = (6, 32, 60, 64) if quick else (10, 100, 1000, 128)
    data = load(quick, seed)
    lsuv_batch = data[0][0][:batch_size]
    numbers = {"table": {}, "factor_two": {}}
    for scheme in SCHEMES:
        for activation in ACTIVATIONS:
            rng = np.random.default_rng(seed)
            model = build(activation, scheme, depth, width, rng, lsuv_batch)
            _, final, accuracy = train(model, data, steps, batch_size, seed)
            numbers["table"][f"{scheme}/{activation}"] = {"final_loss": final,
                                                         "test_accuracy": accuracy}
    deep_steps = 100 if quick else 1000
    curves = {}
    for scheme in ("LeCun N(0, 1/n_in)", "He"):
        rng = np.random.default_rng(seed)
        model = build("ReLU", scheme, 30, width, rng, lsuv_batch)
        losses, final, accuracy = train(model, data, deep_steps, batch_size, seed)
        numbers["factor_two"][scheme] = {"final_loss": final, "test_accuracy": accuracy,
                                         "loss_at_start": losses[0]}
        curves[scheme] = losses
    rows = [[scheme] + [_cell(numbers["table"][f"{scheme}/{a}"]) for a in ACTIVATIONS]
            for scheme in SCHEMES]
    two_rows = [[scheme, entry["loss_at_start"], entry["final_loss"], _cell(entry)]
                for scheme, entry in numbers["factor_two"].items()]
    figures = [_plot_table(numbers["table"], os.path.join(out_dir, "init_training_table.png"),
                           depth, width, steps),
               _plot_factor_two(curves, os.path.join(out_dir, "init_training_factor_two.png"),
                                width)]
    sections = [
        ("The notes' claims", CLAIMS),
        (f"Test accuracy (%), {depth} hidden layers of {width} units, {steps} steps",
         markdown_table(["init method"] + list(ACTIVATIONS), rows)),
        ("The notes' table (Mishkin & Matas, CIFAR-10)", NOTES_TABLE),
        (f"A factor of two: 30 hidden ReLU layers of {width} units, {deep_steps} steps",
         markdown_table(["weights", "loss at step 0", "final training loss",
                         "test accuracy (%)"], two_rows)),
        ("What deepgrad measured", _verdict(numbers)),
    ]
    return finish(NAME, out_dir, quick, "Which initialization trains",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


CLAIMS = """
backprop-tensor-derivatives-and-init.txt, "Initialization take home points": "Initialization
is a **very** important aspect of training neural networks"; "A factor of two in the
initialization can be the difference between the network learning well or not learning at
all"; the table of Mishkin & Matas below, where sigmoid networks do not converge (n/c) under
any initialization and LSUV, OrthoNorm and Xavier train maxout/ReLU/VLReLU/tanh networks.
"""

NOTES_TABLE = """
| Init method | maxout | ReLU | VLReLU | tanh | Sigmoid |
|---|---|---|---|---|---|
| LSUV | 93.94 | 92.11 | 92.97 | 89.28 | n/c |
| OrthoNorm | 93.78 | 91.74 | 92.40 | 89.48 | n/c |
| OrthoNorm-MSRA scaled | — | 91.93 | 93.09 | — | n/c |
| Xavier | 91.75 | 90.63 | 92.27 | 89.82 | n/c |
"""


def _cell(entry):
    return "n/c" if entry["test_accuracy"] is None else f"{100 * entry['test_accuracy']:.2f}"


def _verdict(n):
    table = n["table"]
    trained = lambda key: table[key]["test_accuracy"] is not None  # noqa: E731
    sigmoid_nc = [s for s in SCHEMES if not trained(f"{s}/sigmoid")]
    good = [f"{s}/{a}" for s in ("Xavier", "orthogonal", "LSUV")
            for a in ("tanh", "ReLU", "leaky ReLU")]
    bad = [f"{s}/{a}" for s in ("small N(0, 0.01^2)", "large N(0, 1)")
           for a in ("ReLU", "leaky ReLU")]
    two = n["factor_two"]
    lecun, he = two["LeCun N(0, 1/n_in)"], two["He"]
    return "\n".join([
        f"* Sigmoid: n/c under {len(sigmoid_nc)} of {len(SCHEMES)} initializations "
        f"({', '.join(sigmoid_nc) or 'none'}) — the notes' n/c column "
        + ("**holds**." if len(sigmoid_nc) >= len(SCHEMES) - 2 else "**does not hold**."),
        f"* Xavier, orthogonal and LSUV train tanh, ReLU and leaky ReLU networks in "
        f"{sum(map(trained, good))} of {len(good)} cells; small or large random weights train "
        f"ReLU/leaky ReLU networks in {sum(map(trained, bad))} of {len(bad)} cells — the "
        "initialization decides: " + ("**holds**." if sum(map(trained, good)) == len(good)
                                      and sum(map(trained, bad)) == 0 else
                                      "**holds** only in part (see the table)."),
        f"* Factor of two, 30 ReLU layers: N(0, 1/n_in) ends at training loss "
        f"{lecun['final_loss']:.3g} ({_cell(lecun)}), N(0, 2/n_in) at {he['final_loss']:.3g} "
        f"({_cell(he)}) — " + _factor_two_verdict(lecun, he),
    ])


def _factor_two_verdict(lecun, he):
    if lecun["test_accuracy"] is None and he["test_accuracy"] is not None:
        return "learning well or not at all: **holds**."
    if he["test_accuracy"] is not None and lecun["test_accuracy"] is not None \
            and he["test_accuracy"] > lecun["test_accuracy"] + 0.1:
        gap = 100 * (he["test_accuracy"] - lecun["test_accuracy"])
        return (f"both learn here, the factor of two costs {gap:.0f} points: **holds** as "
                "\"learning well or poorly\" (not \"not at all\" at this depth and length).")
    return "**does not hold** here."


def _plot_table(table, path, depth, width, steps):
    title = (f"Test accuracy after {steps} steps, {depth} hidden layers of {width} units on "
             "Fashion-MNIST (grey: did not converge)")
    with slide(path, title=title) as axes:
        ax = axes[0][0]
        values = np.array([[np.nan if table[f"{s}/{a}"]["test_accuracy"] is None
                            else 100 * table[f"{s}/{a}"]["test_accuracy"]
                            for a in ACTIVATIONS] for s in SCHEMES])
        image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", vmin=10, vmax=90,
                          aspect="auto")
        ax.set_facecolor("0.8")
        for i in range(len(SCHEMES)):
            for j in range(len(ACTIVATIONS)):
                text = "n/c" if np.isnan(values[i, j]) else f"{values[i, j]:.1f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=12,
                        color="black" if np.isnan(values[i, j]) or values[i, j] > 60
                        else "white")
        ax.set_xticks(range(len(ACTIVATIONS)), list(ACTIVATIONS))
        ax.set_yticks(range(len(SCHEMES)), list(SCHEMES))
        ax.set_xlabel("activation")
        ax.set_ylabel("initialization")
        ax.grid(False)
        ax.figure.colorbar(image, ax=ax, label="test accuracy (%)")
    return path


def _plot_factor_two(curves, path, width):
    title = f"30 hidden ReLU layers of {width} units: weight variance 1/n_in vs 2/n_in"
    with slide(path, title=title) as axes:
        ax = axes[0][0]
        for k, (scheme, losses) in enumerate(curves.items()):
            x, values = smooth(losses, 10)
            label = "N(0, 1/n_in)" if scheme.startswith("LeCun") else "He N(0, 2/n_in)"
            ax.plot(x, values, color=f"C{k}", label=label)
        ax.axhline(math.log(10), color="0.5", linestyle=":", label="ln 10 (chance)")
        ax.set_xlabel("update step")
        ax.set_ylabel("training loss (mean of 10 batches)")
        legend_outside(ax)
    return path
