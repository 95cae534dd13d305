"""capacity — model size, initialization and L2 regularization on a 2-D toy problem.

The slides of dd2424-l4-k-layer-networks.txt, "Effect of the number of hidden nodes in a 2 layer
network", "Result depends on parameter initialization" and "Big Model + Regularize vs Small
Model". A 2-layer network (2 inputs -> m ReLU units -> 2 classes) is trained with full-batch
Adam (lr 0.02) on 200 points of the two-moons data with heavy noise (std 0.35, the classes
overlap), for m = 3, 20, 30 and 100, from several random initializations. Test accuracy is
measured on a fresh draw of 1,000 points.

The objective is the notes' J(D, lambda, Theta) = sum over D of l(x, y, Theta) + lambda R(Theta):
the cross-entropy is *summed* over the 200 training points (not averaged), and
R = sum of squared weights of both layers (biases are not penalized). So lambda = 0.1 here
equals 0.0005 on a mean loss. m = 100 is trained with lambda = 0, 0.001, 0.01, 0.1.

Finally the slides' advice, "Do not use size of neural network as a regularizer. Use stronger
regularization.", is tested over several seeds (a new data draw and initialization each): the
big network with lambda = 0.1 against small ones (m = 3 and m = 20) and against itself without
the penalty, counting how often it has the best test accuracy.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import make_moons
from deepgrad.nn import functional as F
from deepgrad.studies._common import evaluate, finish, grid_predictions, markdown_table
from deepgrad.studies._slides import boundary_panel, claim_table, legend_outside, slide_figure
from deepgrad.tensor import Tensor

NAME = "capacity"
HIDDEN_SIZES = (3, 20, 30, 100)
L2_STRENGTHS = (0.0, 0.001, 0.01, 0.1)
STRONG_L2 = 0.1
COMPARED = (("m = 3", 3, 0.0), ("m = 20", 20, 0.0), ("m = 100", 100, 0.0),
            (f"m = 100, lambda = {STRONG_L2}", 100, STRONG_L2))
SOURCE = "dd2424-l4-k-layer-networks.txt"


def build(hidden: int, seed: int):
    return nn.Sequential(nn.Linear(2, hidden, generator=seed), nn.ReLU(),
                         nn.Linear(hidden, 2, generator=seed + 1))


def train(model, x, y, steps: int, l2: float = 0.0) -> float:
    """Full-batch Adam on J = sum of cross-entropies + l2 * sum of squared weights; returns the
    final summed data loss."""
    optimizer = optim.Adam(model.parameters(), lr=0.02)
    xt, yt = Tensor(x), Tensor(y)
    weights = [model[0].weight, model[2].weight]
    data_loss = None
    for _ in range(steps):
        data_loss = F.cross_entropy(model(xt), yt, reduction="sum")
        loss = data_loss + l2 * F.l2_penalty(weights) if l2 else data_loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return float(data_loss.data)


def trained(hidden, init_seed, data, steps, l2=0.0):
    """(model, train accuracy, test accuracy, summed training loss)."""
    x, y, x_test, y_test = data
    model = build(hidden, init_seed)
    loss = train(model, x, y, steps, l2)
    return (model, evaluate(model, x, y, F.cross_entropy)[1],
            evaluate(model, x_test, y_test, F.cross_entropy)[1], loss)


def moons(seed):
    return (*make_moons(200, noise=0.35, generator=seed),
            *make_moons(1000, noise=0.35, generator=seed + 1000))


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 400 if quick else 3000
    inits = 2 if quick else 3
    seeds = 3 if quick else 10
    data = moons(seed)
    numbers = {"hidden": {}, "l2": {}, "seeds": []}
    size_rows, l2_rows, size_panels, l2_panels = [], [], [], []
    for init in range(inits):
        for hidden in HIDDEN_SIZES:
            model, train_acc, test_acc, loss = trained(hidden, seed + 100 * init, data, steps)
            numbers["hidden"][(hidden, init)] = {"train_loss": loss, "train_accuracy": train_acc,
                                                 "test_accuracy": test_acc,
                                                 "grid": grid_predictions(model, data[0])[2]}
            size_rows.append([hidden, init, loss, train_acc, test_acc])
            size_panels.append((model, f"m = {hidden}, init {init}\ntrain {train_acc:.2f}, "
                                       f"test {test_acc:.2f}"))
    for l2 in L2_STRENGTHS:
        model, train_acc, test_acc, loss = trained(100, seed, data, steps, l2)
        norm = float(np.sqrt(sum(np.sum(m.weight.data.astype(np.float64) ** 2)
                                 for m in (model[0], model[2]))))
        numbers["l2"][l2] = {"train_loss": loss, "train_accuracy": train_acc,
                             "test_accuracy": test_acc, "weight_norm": norm}
        l2_rows.append([l2, loss, train_acc, test_acc, norm])
        l2_panels.append((model, f"$\\lambda$ = {l2}\ntrain {train_acc:.2f}, "
                                 f"test {test_acc:.2f}"))
    for s in range(seeds):
        run_seed = seed + 1 + s
        accuracies = {label: trained(h, 7 * run_seed, moons(run_seed), steps, l2)[2]
                      for label, h, l2 in COMPARED}
        numbers["seeds"].append(accuracies)
    figures = _figures(out_dir, data, size_panels, l2_panels, numbers["seeds"], inits, steps)
    big_reg = COMPARED[-1][0]

    def wins(label):
        return sum(a[big_reg] >= a[label] for a in numbers["seeds"])

    counts = {label: wins(label) for label, _, _ in COMPARED[:-1]}
    numbers["wins"] = counts
    # how much of the plane changes class between initializations (vs init 0)
    changed = {h: float(np.mean([np.mean(numbers["hidden"][(h, i)].pop("grid") !=
                                         numbers["hidden"][(h, 0)]["grid"])
                                 for i in range(1, inits)])) for h in HIDDEN_SIZES}
    for h in HIDDEN_SIZES:
        numbers["hidden"][(h, 0)].pop("grid")
    numbers["init_disagreement"] = changed
    claims = [
        ("Effect of the number of hidden nodes (m = 3 .. 100, no regularization)",
         f"{SOURCE}, Effect of the number of hidden nodes in a 2 layer network",
         "train accuracy " + ", ".join(
             f"m = {h}: {numbers['hidden'][(h, 0)]['train_accuracy']:.3f}"
             for h in HIDDEN_SIZES),
         numbers["hidden"][(100, 0)]["train_accuracy"] > numbers["hidden"][(3, 0)][
             "train_accuracy"]),
        ("Result depends on parameter initialization", f"{SOURCE}, same heading",
         "share of the plotted plane classified differently than with init 0: " + ", ".join(
             f"m = {h}: {100 * c:.1f}%" for h, c in changed.items()),
         max(changed.values()) > 0.01),
        ("Do not use size of neural network as a regularizer. Use stronger regularization.",
         f"{SOURCE}, Big Model + Regularize vs Small Model",
         f"m = 100 with lambda = {STRONG_L2} has test accuracy >= " + ", ".join(
             f"{label} in {c}/{seeds} seeds" for label, c in counts.items()),
         all(c >= 0.7 * seeds for c in counts.values())),
    ]
    seed_rows = [[s] + [a[label] for label, _, _ in COMPARED]
                 for s, a in enumerate(numbers["seeds"])]
    sections = [
        ("Claims", claim_table(claims)),
        ("Hidden units and initialization (no regularization)",
         markdown_table(["hidden units m", "init", "summed train loss", "train accuracy",
                         "test accuracy"], size_rows)),
        ("L2 regularization (m = 100; J = summed cross-entropy + lambda R)",
         markdown_table(["lambda", "summed train loss", "train accuracy", "test accuracy",
                         "weight norm"], l2_rows)),
        (f"Big + regularized vs small, test accuracy over {seeds} seeds",
         markdown_table(["seed"] + [label for label, _, _ in COMPARED], seed_rows)),
    ]
    return finish(NAME, out_dir, quick, "Capacity, initialization and regularization",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, data, size_panels, l2_panels, seed_results, inits, steps):
    x, y = data[0], data[1]
    hidden = os.path.join(out_dir, "capacity_hidden.png")
    with slide_figure(hidden, inits, len(HIDDEN_SIZES), "2-layer ReLU network, 200 noisy "
                      f"two-moons points, no regularization, {steps} Adam steps; one row per "
                      "initialization", panel_size=(3.4, 3.8)) as axes:
        for ax, (model, title) in zip(axes, size_panels):
            boundary_panel(ax, model, x, y, title)
    l2 = os.path.join(out_dir, "capacity_l2.png")
    with slide_figure(l2, 1, len(L2_STRENGTHS), "m = 100 hidden units, J = sum of "
                      "cross-entropies + $\\lambda$ (sum of squared weights)",
                      panel_size=(3.4, 3.9)) as axes:
        for ax, (model, title) in zip(axes, l2_panels):
            boundary_panel(ax, model, x, y, title)
    compare = os.path.join(out_dir, "capacity_seeds.png")
    labels = [label for label, _, _ in COMPARED]
    with slide_figure(compare, 1, 1, "test accuracy on 1,000 fresh points, one line per seed",
                      panel_size=(7.0, 3.8)) as axes:
        ax = axes[0]
        for s, accuracies in enumerate(seed_results):
            ax.plot(range(len(labels)), [accuracies[label] for label in labels], "o-",
                    color="0.6", alpha=0.7)
        ax.plot(range(len(labels)), [np.mean([a[label] for a in seed_results])
                                     for label in labels], "s-", color="tab:red",
                linewidth=2.5, label="mean over seeds")
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels([label.replace("lambda", "$\\lambda$") for label in labels])
        ax.set(xlabel="model", ylabel="test accuracy")
        legend_outside(ax)
    return [hidden, l2, compare]
