"""dropout — the train/test gap with and without dropout, and weight scaling vs averaging.

math-eng-dl-ch4-mlp.txt, "Regularization: Dropout" and "Why does this avoid overfitting?";
mit6036-ch7-neural-networks.txt, 7.8.2 "Dropout". During training each hidden unit is dropped
at random; at test time all units are used with the weights scaled, "Approximation 2: ... evaluate
the full neural network where the weight are multiplied by p. It has been empirically shown that
this is a good approximation of the average of all ensemble members."

(The notes' p is the probability of *keeping* a unit; here, as in PyTorch and deepgrad's
nn.Dropout, p is the probability of *dropping* one. deepgrad uses inverted dropout: kept units
are scaled by 1 / (1 - p) during training, so the test-time network is used as it is, which is
the same as the notes' weight scaling by the keep probability.)

Setup: scikit-learn's bundled handwritten digits (8 x 8 images, 10 classes, no download), a
small training set (300 images; 200 in quick mode) and the other ~1,500 as test set, an MLP
64 -> 256 -> 256 -> 10 with ReLU and Dropout(p) after each hidden layer, full-batch Adam
(lr 1e-3) until the training set is fitted, for p = 0, 0.2, 0.5 over several seeds. The gap is
test minus training cross-entropy (and accuracy) in eval mode.

Then, for the p = 0.5 network, the weight-scaled (eval-mode) prediction is compared with the
Monte Carlo average of the softmax outputs of K thinned networks (train-mode forward passes
with fresh masks) on the same test inputs, for K up to 1,000.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, no_grad, optim
from deepgrad.nn import functional as F
from deepgrad.studies._common import evaluate, finish, markdown_table
from deepgrad.studies._slides import claim_table, legend_outside, slide_figure
from deepgrad.tensor import Tensor

NAME = "dropout"
PROBABILITIES = (0.0, 0.2, 0.5)
SOURCE = "math-eng-dl-ch4-mlp.txt"


def load_digits_split(train_size: int, seed: int):
    """(x_train, y_train, x_test, y_test) from scikit-learn's bundled digits, pixels / 16."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as error:
        raise RuntimeError("the dropout study needs scikit-learn's bundled digits data: "
                           "install it with `make install` (the `studies` extra)") from error
    digits = load_digits()
    x, y = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[:train_size], order[train_size:]
    return x[train], y[train], x[test], y[test]


def build(p: float, width: int, seed: int):
    return nn.Sequential(nn.Linear(64, width, generator=seed), nn.ReLU(),
                         nn.Dropout(p, generator=seed + 2),
                         nn.Linear(width, width, generator=seed + 3), nn.ReLU(),
                         nn.Dropout(p, generator=seed + 4),
                         nn.Linear(width, 10, generator=seed + 5))


def train(model, x, y, steps: int):
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    xt, yt = Tensor(x), Tensor(y)
    model.train()
    for _ in range(steps):
        loss = F.cross_entropy(model(xt), yt)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def monte_carlo(model, x, counts):
    """Accuracy-ready mean softmax of K thinned networks for each K in `counts` (cumulative)."""
    model.train()
    total, out, xt = np.zeros((len(x), 10)), {}, Tensor(x)
    with no_grad():
        for k in range(1, max(counts) + 1):
            total += F.softmax(model(xt), dim=1).data
            if k in counts:
                out[k] = total / k
    model.eval()
    return out


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    seeds, width, steps, train_size = (3, 128, 200, 200) if quick else (5, 256, 1500, 300)
    results = {p: [] for p in PROBABILITIES}
    keep = None
    for s in range(seeds):
        x, y, x_test, y_test = load_digits_split(train_size, seed + s)
        for p in PROBABILITIES:
            model = build(p, width, 100 * (seed + s))
            train(model, x, y, steps)
            train_loss, train_acc = evaluate(model, x, y, F.cross_entropy)
            test_loss, test_acc = evaluate(model, x_test, y_test, F.cross_entropy)
            results[p].append({"train_loss": train_loss, "test_loss": test_loss,
                               "train_accuracy": train_acc, "test_accuracy": test_acc,
                               "loss_gap": test_loss - train_loss,
                               "accuracy_gap": train_acc - test_acc})
            if s == 0 and p == 0.5:
                keep = (model, x_test, y_test)
    model, x_test, y_test = keep
    counts = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] if not quick else [1, 2, 5, 10, 50, 200]
    model.eval()
    with no_grad():
        scaled = F.softmax(model(Tensor(x_test)), dim=1).data
    averaged = monte_carlo(model, x_test, counts)
    top = max(counts)
    scaled_acc = float(np.mean(np.argmax(scaled, 1) == y_test))
    mc_acc = {k: float(np.mean(np.argmax(v, 1) == y_test)) for k, v in averaged.items()}
    agreement = float(np.mean(np.argmax(scaled, 1) == np.argmax(averaged[top], 1)))
    prob_diff = float(np.mean(np.abs(scaled - averaged[top]).sum(axis=1)) / 2)
    mean = {p: {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}
            for p, runs in results.items()}
    numbers = {"per_seed": results, "mean": mean, "scaled_accuracy": scaled_acc,
               "mc_accuracy": mc_acc, "agreement": agreement,
               "total_variation": prob_diff, "seeds": seeds}
    figures = _figures(out_dir, results, mc_acc, scaled_acc, counts, scaled, averaged[top],
                       f"MLP 64-{width}-{width}-10 on {train_size} digit images", seeds)
    smaller = sum(results[0.5][s]["loss_gap"] < results[0.0][s]["loss_gap"]
                  for s in range(seeds))
    better = sum(results[0.5][s]["test_accuracy"] >= results[0.0][s]["test_accuracy"]
                 for s in range(seeds))
    claims = [
        ("Dropout: a simple way to prevent neural networks from overfitting",
         f"{SOURCE}, Regularization: Dropout; mit6036-ch7-neural-networks.txt, 7.8.2 Dropout",
         "test - train cross-entropy (mean over seeds): " + ", ".join(
             f"p = {p}: {mean[p]['loss_gap']:.3f}" for p in PROBABILITIES)
         + f"; smaller with p = 0.5 than without in {smaller}/{seeds} seeds, test accuracy "
           f"as good or better in {better}/{seeds}",
         smaller == seeds and mean[0.5]["loss_gap"] < mean[0.2]["loss_gap"]
         < mean[0.0]["loss_gap"]),
        ("at test time evaluate the full network with the weights multiplied by p: a good "
         "approximation of the average of all ensemble members",
         f"{SOURCE}, Why does this avoid overfitting?",
         f"weight scaling vs the mean of {top} thinned networks: same class for "
         f"{100 * agreement:.1f}% of the test images, mean total-variation distance of the "
         f"probabilities {prob_diff:.3f}; accuracy {scaled_acc:.4f} vs {mc_acc[top]:.4f}",
         agreement > 0.97 and abs(scaled_acc - mc_acc[top]) < 0.02),
    ]
    rows = [[p, mean[p]["train_loss"], mean[p]["test_loss"], mean[p]["loss_gap"],
             mean[p]["train_accuracy"], mean[p]["test_accuracy"], mean[p]["accuracy_gap"]]
            for p in PROBABILITIES]
    mc_rows = [[k, mc_acc[k]] for k in counts] + [["weight scaling (eval mode)", scaled_acc]]
    sections = [
        ("Claims", claim_table(claims)),
        (f"Train/test gap (mean of {seeds} seeds, {train_size} training images, {steps} Adam "
         "steps)", markdown_table(["p (drop)", "train loss", "test loss", "loss gap",
                                   "train accuracy", "test accuracy", "accuracy gap"], rows)),
        ("Monte Carlo averaging of K thinned networks (p = 0.5, seed 0)",
         markdown_table(["K", "test accuracy"], mc_rows)),
    ]
    return finish(NAME, out_dir, quick, "Dropout: train/test gap and weight scaling",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, results, mc_acc, scaled_acc, counts, scaled, averaged, setup, seeds):
    path = os.path.join(out_dir, "dropout.png")
    with slide_figure(path, 1, 3, f"{setup}: dropout probability p ({seeds} seeds)",
                      panel_size=(4.4, 3.9)) as axes:
        ax = axes[0]
        for k, p in enumerate(PROBABILITIES):
            for key, marker, name in (("train_loss", "o", "train"), ("test_loss", "s", "test")):
                values = [r[key] for r in results[p]]
                ax.plot([k] * len(values), values, marker, color="tab:blue" if name == "train"
                        else "tab:red", alpha=0.7,
                        label=f"{name} cross-entropy" if k == 0 else None)
        ax.set_xticks(range(len(PROBABILITIES)))
        ax.set_xticklabels([f"p = {p}" for p in PROBABILITIES])
        ax.set(xlabel="dropout probability", ylabel="cross-entropy (eval mode)",
               title="train vs test loss", yscale="log")
        legend_outside(ax, "below", ncol=2)
        ax = axes[1]
        ax.semilogx(counts, [mc_acc[k] for k in counts], "o-",
                    label="mean of K thinned networks")
        ax.axhline(scaled_acc, color="tab:red", linestyle="--", label="weight scaling")
        ax.set(xlabel="thinned networks averaged K", ylabel="test accuracy",
               title="p = 0.5: Monte Carlo vs weight scaling")
        legend_outside(ax, "below", ncol=1)
        ax = axes[2]
        ax.plot(averaged.max(axis=1), scaled.max(axis=1), ".", markersize=3, alpha=0.5)
        ax.plot([0, 1], [0, 1], "k--", linewidth=1)
        ax.set(xlabel=f"P(top class), mean of {max(counts)} thinned nets",
               ylabel="P(top class), weight scaling", aspect="equal",
               xlim=(0, 1.02), ylim=(0, 1.02), title="the same test images")
    return [path]
