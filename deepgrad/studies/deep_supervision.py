"""deep-supervision — a side classifier sends a direct gradient to the first layer.

The notes' Caffe LeNet (cis680-improving-learning.txt, "Deep Supervision": conv1 20 5x5,
pool1, conv2 50 5x5, pool2, ip1 500 + ReLU, ip2 10, softmax loss; Xavier weights, zero
biases, `blobs_lr: 1` for weights and `blobs_lr: 2` for biases, batch 64) and its deeply
supervised version: a side classifier `ip1_side` (pool1 -> 10) with its own softmax loss `l1`.
The prototxt sets no `loss_weight` for l1, so Caffe's default 1.0 applies:
L = L_main + 1.0 L_side; a second run uses the weight 0.3. Training: SGD with momentum 0.9,
lr 0.01 for weights and 0.02 for biases. The plain and the supervised networks start from
identical shared weights and see the same mini-batches.

MNIST itself is not available offline: Fashion-MNIST (same 28x28 grey images, 10 classes,
60,000 / 10,000) stands in for it. The figure is the notes' Figure 3 (Lee et al.): the mean
absolute gradient of each layer's weights (a) and biases (b) during training, with and without
deep supervision. The summary has the test error of the main output over 3 seeds.

Quick mode: 2,000 training / 500 test images, 20 steps per run.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import optim
from deepgrad.data import load_fashion_mnist
from deepgrad.models import DeeplySupervisedLeNet, LeNet
from deepgrad.nn import functional as F
from deepgrad.studies._common import evaluate, finish, markdown_table
from deepgrad.studies._figures import legend_outside, slide, smooth
from deepgrad.tensor import Tensor
from deepgrad.training import DeepSupervisionLoss

NAME = "deep-supervision"
LAYERS = ("conv1", "conv2", "ip1", "ip2")
BATCH = 64
LR = 0.01
SEEDS = 3
MODELS = {"plain LeNet": None, "deeply supervised, side weight 1.0": 1.0,
          "deeply supervised, side weight 0.3": 0.3}


def make(alpha, seed):
    """(model, loss) for side weight alpha (None: plain LeNet). The shared layers of both
    come from the same generator, so they start identical."""
    if alpha is None:
        return LeNet(generator=seed), F.cross_entropy
    model = DeeplySupervisedLeNet(alpha=alpha, generator=seed)
    return model, DeepSupervisionLoss(F.cross_entropy, model.loss_weights)


def optimizer_for(model):
    """Caffe's blobs_lr 1 / 2: the biases get twice the weights' learning rate."""
    weights = [p for name, p in model.named_parameters() if not name.endswith("bias")]
    biases = [p for name, p in model.named_parameters() if name.endswith("bias")]
    return optim.SGD([{"params": weights, "lr": LR}, {"params": biases, "lr": 2 * LR}],
                     lr=LR, momentum=0.9)


def train(model, loss_fn, x, y, steps: int, seed: int) -> dict:
    """Returns {"weight"/"bias": {layer: mean |dL/dparam| per step}} for the shared layers."""
    optimizer = optimizer_for(model)
    rng = np.random.default_rng(seed)
    curves = {kind: {name: [] for name in LAYERS} for kind in ("weight", "bias")}
    model.train()
    for _ in range(steps):
        index = rng.choice(len(x), BATCH, replace=False)
        loss = loss_fn(model(Tensor(x[index])), Tensor(y[index]))
        optimizer.zero_grad()
        loss.backward()
        for name in LAYERS:
            layer = getattr(model, name)
            curves["weight"][name].append(float(np.mean(np.abs(layer.weight.grad.data))))
            curves["bias"][name].append(float(np.mean(np.abs(layer.bias.grad.data))))
        optimizer.step()
    return curves


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 20 if quick else 1500
    x, y = load_fashion_mnist("train")
    x_test, y_test = load_fashion_mnist("test")
    if quick:
        x, y, x_test, y_test = x[:2000], y[:2000], x_test[:500], y_test[:500]
    numbers = {label: {"test_error": [], "mean_abs_grad": [], "mean_abs_bias_grad": []}
               for label in MODELS}
    figure_curves = {}
    for run_seed in range(seed, seed + SEEDS):
        for label, alpha in MODELS.items():
            if alpha == 0.3 and run_seed != seed:  # the second weight: one seed
                continue
            model, loss_fn = make(alpha, run_seed)
            curves = train(model, loss_fn, x, y, steps, run_seed)
            _, accuracy = evaluate(model, x_test, y_test, F.cross_entropy, batch_size=500)
            entry = numbers[label]
            entry["test_error"].append(1.0 - accuracy)
            entry["mean_abs_grad"].append({n: float(np.mean(v))
                                           for n, v in curves["weight"].items()})
            entry["mean_abs_bias_grad"].append({n: float(np.mean(v))
                                                for n, v in curves["bias"].items()})
            if run_seed == seed:
                figure_curves[label] = curves
    plain, deep = numbers["plain LeNet"], numbers["deeply supervised, side weight 1.0"]
    numbers["conv1_ratio"] = [d["conv1"] / p["conv1"] for d, p in
                              zip(deep["mean_abs_grad"], plain["mean_abs_grad"])]
    numbers["conv1_bias_ratio"] = [d["conv1"] / p["conv1"] for d, p in
                                   zip(deep["mean_abs_bias_grad"], plain["mean_abs_bias_grad"])]
    rows = []
    for label, entry in numbers.items():
        if not isinstance(entry, dict):
            continue
        errors = np.array(entry["test_error"])
        weights = {n: np.mean([g[n] for g in entry["mean_abs_grad"]]) for n in LAYERS}
        rows.append([label, len(errors), float(errors.mean()), float(errors.std())]
                    + [weights[n] for n in LAYERS])
    figure = _plot(figure_curves, os.path.join(out_dir, "deep_supervision_grads.png"),
                   5 if quick else 50, quick)
    table = markdown_table(["model", "seeds", "test error (mean)", "test error (std)"]
                           + [f"mean abs dL/dW {n}" for n in LAYERS], rows)
    sections = [("The notes' claims", CLAIMS),
                (f"{steps} steps of batch {BATCH}, seeds {seed}..{seed + SEEDS - 1}", table),
                ("What deepgrad measured", _verdict(numbers))]
    return finish(NAME, out_dir, quick, "Deep supervision and gradient flow",
                  __doc__.split("\n\n", 1)[1], sections, [figure], numbers)


CLAIMS = """
cis680-improving-learning.txt, "Deep Supervision", with Figure 3 ("Average absolute value of
gradient matrices during the training on MNIST for (a) weights; (b) biases"): "Deep
supervision helps to reduce the vanishing gradient problem!" and "Deep supervision reduces
testing error without overfitting the training data."
"""


def _verdict(n):
    plain = np.array(n["plain LeNet"]["test_error"])
    deep = np.array(n["deeply supervised, side weight 1.0"]["test_error"])
    ratios, bias_ratios = n["conv1_ratio"], n["conv1_bias_ratio"]
    return "\n".join([
        f"* conv1's mean |dL/dW| with deep supervision / without: "
        f"{', '.join(f'{r:.3g}' for r in ratios)} (one per seed); biases: "
        f"{', '.join(f'{r:.3g}' for r in bias_ratios)} — the side loss gives the first layer "
        "a larger gradient: " + ("**holds**." if min(ratios) > 1 else "**does not hold**."),
        f"* test error of the main output: {deep.mean():.4f} +- {deep.std():.4f} with deep "
        f"supervision vs {plain.mean():.4f} +- {plain.std():.4f} without "
        f"({len(plain)} seeds) — " + _error_verdict(deep, plain),
    ])


def _error_verdict(deep, plain):
    difference = plain.mean() - deep.mean()
    if difference > max(deep.std(), plain.std()):
        return "lower with deep supervision: **holds**."
    if difference > 0:
        return (f"lower by {difference:.4f} on average, but within one std across seeds: the "
                "reduction is **not significant** here (Fashion-MNIST, 1,500 steps; the notes' "
                "MNIST result is for full training).")
    return "not lower here: **does not hold** at this training length."


def _plot(all_curves, path, window, quick):
    title = ("LeNet on Fashion-MNIST (stand-in for MNIST): mean |gradient| per layer, "
             "with and without deep supervision")
    styles = dict(zip(MODELS, ("--", "-", ":")))
    with slide(path, 1, 2, title=title, sharex=True) as axes:
        for col, kind in enumerate(("weight", "bias")):
            ax = axes[0][col]
            for k, name in enumerate(LAYERS):
                for label, curves in all_curves.items():
                    x, values = smooth(curves[kind][name], window)
                    short = "plain" if label.startswith("plain") else \
                        f"DSN {label.rsplit(' ', 1)[1]}"
                    ax.semilogy(x, values, styles[label], color=f"C{k}",
                                label=f"{name}, {short}")
            ax.set_title(f"({'ab'[col]}) {('weights', 'biases')[col]}: mean |dL/d{'W' if col == 0 else 'b'}|")
            ax.set_xlabel("update step")
            ax.set_ylabel(f"mean |dL/d{'W' if col == 0 else 'b'}| (moving average)")
        legend_outside(axes[0][1], ncol=1)
    return path
