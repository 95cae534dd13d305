"""batchnorm — batch normalization, the learning rate, and what each layer sees.

The notes' 6-layer fully connected network (dd2424-l4-k-layer-networks.txt, "Small example of
effect of BN on a 6-layer network to solve CIFAR-10"): hidden layers of 50, 10, 10, 10, 10
ReLU units and 10 outputs, He-initialized weights, zero biases, every input dimension
standardized, 45,000 training images, plain mini-batch gradient descent with batch 100, with
and without batch normalization (Linear -> BatchNorm1d -> ReLU), eta = 0.01 for 4,000 steps
and eta = 0.5. CIFAR-10 is not available offline: Fashion-MNIST stands in for it (784 inputs
instead of 3,072, 10 classes; 45,000 training images, 5,000 validation images from the rest of
its training set, the 10,000 test images).

The figures show, for hidden layers 1-5 (the same labels with and without batch norm), the
histograms of the activations (ReLU outputs) and of the gradients dL/dW at update steps 0,
1000, 2000 and 4000 (eta 0.01) and 0 and 1000 (eta 0.5), training and validation loss and
accuracy, and a learning-rate sweep (1,000 steps per rate) that finds the largest rate at which
each network still trains (final training loss below 1.0).

Quick mode: 3,000 training / 1,000 validation images, 150 steps (histograms at 0, 50, 100,
150; eta 0.5 gradients only), a sweep of 5 rates x 100 steps.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import Standardize, load_fashion_mnist
from deepgrad.nn import functional as F
from deepgrad.random import get_generator
from deepgrad.studies._common import evaluate, finish, loss_value, markdown_table
from deepgrad.studies._figures import histogram, legend_outside, slide, smooth
from deepgrad.tensor import Tensor

NAME = "batchnorm"
SIZES = [784, 50, 10, 10, 10, 10, 10]
LEARNING_RATES = (0.01, 0.5)
SWEEP = (0.01, 0.03, 0.1, 0.3, 0.5, 1.0, 3.0, 10.0)
QUICK_SWEEP = (0.03, 0.1, 0.3, 1.0, 3.0)
BATCH = 100
TRAINS = 1.0  # "trains at this rate": final training loss (mean of the last 10%) below this


def build(batch_norm: bool, generator=None):
    """The 6-layer network, He (kaiming_normal_) weights and zero biases."""
    rng = get_generator(generator)
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        linear = nn.Linear(fan_in, fan_out, generator=rng)
        nn.init.kaiming_normal_(linear.weight, nonlinearity="relu", generator=rng)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if i < len(SIZES) - 2:
            if batch_norm:
                layers.append(nn.BatchNorm1d(fan_out))
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def load_data(quick: bool, seed: int):
    """Standardized (train, validation, test) pairs: 45,000 / 5,000 / 10,000 images
    (quick: 3,000 / 1,000 / 1,000)."""
    x, y = load_fashion_mnist("train", flatten=True)
    x_test, y_test = load_fashion_mnist("test", flatten=True)
    order = np.random.default_rng(seed).permutation(len(x))
    n_train, n_val = (3000, 1000) if quick else (45000, 5000)
    train, val = order[:n_train], order[n_train:n_train + n_val]
    if quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    scaler = Standardize().fit(x[train])
    return ((scaler.transform(x[train]), y[train]), (scaler.transform(x[val]), y[val]),
            (scaler.transform(x_test), y_test))


def forward(model, x):
    """Logits and the hidden layers' ReLU outputs."""
    hidden, h = [], x
    for module in model:
        h = module(h)
        if isinstance(module, nn.ReLU):
            hidden.append(h)
    return h, hidden


def train_run(batch_norm, lr, data, steps, hist_steps=(), eval_every=0, seed=0):
    """`steps` updates of plain mini-batch gradient descent; returns a dict of per-step
    training losses and accuracies, validation curves, the histogram snapshots
    {step: (activations, dL/dW)} and the test loss and accuracy. Stops at the first
    non-finite loss."""
    (x, y), (x_val, y_val), (x_test, y_test) = data
    rng = np.random.default_rng(seed)
    model = build(batch_norm, generator=rng)
    linears = [m for m in model if isinstance(m, nn.Linear)][:-1]
    optimizer = optim.SGD(model.parameters(), lr=lr)
    out = {"loss": [], "accuracy": [], "val_step": [], "val_loss": [], "val_accuracy": [],
           "snapshots": {}}
    order, position = rng.permutation(len(x)), 0
    for step in range(steps + 1):
        if eval_every and step % eval_every == 0:
            val_loss, val_acc = evaluate(model, x_val, y_val, F.cross_entropy)
            out["val_step"].append(step)
            out["val_loss"].append(val_loss)
            out["val_accuracy"].append(val_acc)
        if step == steps and step not in hist_steps:
            break
        if position + BATCH > len(order):
            order, position = rng.permutation(len(x)), 0
        index = order[position:position + BATCH]
        position += BATCH
        logits, hidden = forward(model, Tensor(x[index]))
        loss = F.cross_entropy(logits, Tensor(y[index]))
        value = loss_value(loss)
        if not math.isfinite(value):
            out["loss"].append(math.inf)
            break
        optimizer.zero_grad()
        loss.backward()
        if step in hist_steps:
            out["snapshots"][step] = ([h.data.copy() for h in hidden],
                                      [m.weight.grad.data.copy() for m in linears])
        if step == steps:
            break
        out["loss"].append(value)
        out["accuracy"].append(float(np.mean(np.argmax(logits.data, axis=1) == y[index])))
        optimizer.step()
    losses = out["loss"]
    tail = losses[-max(1, len(losses) // 10):]
    out["final_loss"] = float(np.mean(tail)) if tail and all(map(math.isfinite, tail)) \
        and len(losses) == steps else math.inf
    finite = math.isfinite(out["final_loss"])
    out["test_loss"], out["test_accuracy"] = evaluate(model, x_test, y_test, F.cross_entropy) \
        if finite else (math.inf, float("nan"))
    return out


def largest_stable(results):
    """The largest swept rate whose final training loss is below TRAINS (0 if none)."""
    stable = [lr for lr, loss in results.items() if loss < TRAINS]
    return max(stable) if stable else 0.0


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 150 if quick else 4000
    hist = {0.01: (0, 50, 100, 150) if quick else (0, 1000, 2000, 4000),
            0.5: (0, 50) if quick else (0, 1000)}
    data = load_data(quick, seed)
    numbers, rows, runs, figures = {}, [], {}, []
    for lr in LEARNING_RATES:
        for batch_norm in (False, True):
            result = train_run(batch_norm, lr, data, steps, hist[lr],
                               eval_every=25 if quick else 100, seed=seed)
            key = f"lr={lr}/{'bn' if batch_norm else 'plain'}"
            runs[key] = result
            snap = result["snapshots"]
            numbers[key] = {
                "final_loss": result["final_loss"], "test_loss": result["test_loss"],
                "test_accuracy": result["test_accuracy"], "steps_run": len(result["loss"]),
                "val_accuracy": result["val_accuracy"][-1],
                "hidden_std": {s: [float(np.std(a)) for a in acts]
                               for s, (acts, _) in snap.items()},
                "grad_std": {s: [float(np.std(g)) for g in grads]
                             for s, (_, grads) in snap.items()},
                "dead_fraction": {s: [float(np.mean(np.all(a == 0, axis=0))) for a in acts]
                                  for s, (acts, _) in snap.items()},
            }
            rows.append([lr, "yes" if batch_norm else "no", result["final_loss"],
                         result["val_accuracy"][-1], result["test_loss"],
                         result["test_accuracy"], len(result["loss"])])
            if not quick or lr == 0.5:
                figures += _histogram_figures(out_dir, lr, batch_norm, snap,
                                              ("gradients",) if quick else None)
    sweep_steps = 100 if quick else 1000
    sweep = {"plain": {}, "bn": {}}
    for lr in (QUICK_SWEEP if quick else SWEEP):
        for label, batch_norm in (("plain", False), ("bn", True)):
            with np.errstate(over="ignore", invalid="ignore"):  # large rates may diverge
                sweep[label][lr] = train_run(batch_norm, lr, data, sweep_steps, seed=seed)[
                    "final_loss"]
    numbers["sweep"] = {label: dict(values) for label, values in sweep.items()}
    numbers["largest_stable"] = {label: largest_stable(values) for label, values in
                                 sweep.items()}
    figures.insert(0, _plot_curves(runs, os.path.join(out_dir, "batchnorm_curves.png"), quick))
    figures.insert(1, _plot_sweep(sweep, sweep_steps, os.path.join(out_dir,
                                                                   "batchnorm_lr_sweep.png")))
    table = markdown_table(["eta", "batch norm", "final training loss (last 10%)",
                            "validation accuracy", "test loss", "test accuracy", "steps run"],
                           rows)
    sweep_rows = [[lr, sweep["plain"][lr], sweep["bn"][lr]] for lr in sweep["plain"]]
    sweep_table = markdown_table(["eta", "final training loss, plain",
                                  "final training loss, batch norm"], sweep_rows)
    std_rows = [[key, step] + stds for key, entry in numbers.items() if key.startswith("lr=")
                for step, stds in entry["hidden_std"].items()]
    std_table = markdown_table(["run", "step"] + [f"hidden layer {k}" for k in range(1, 6)],
                               std_rows, digits=3)
    sections = [("The notes' claims", CLAIMS),
                (f"{steps} steps of batch {BATCH}", table),
                (f"Learning-rate sweep ({sweep_steps} steps per rate)", sweep_table),
                ("Std of the hidden activations", std_table),
                ("What deepgrad measured", _verdict(numbers))]
    return finish(NAME, out_dir, quick, "Batch normalization and the learning rate",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


CLAIMS = """
dd2424-l4-k-layer-networks.txt, "Benefits of Batch Normalization": "Makes deep networks
**much** easier to train!", "Improves gradient flow through the network", "Allows higher
learning rates => faster convergence". cis680-improving-learning.txt, "Batch Normalization":
"Batch normalization makes training much faster!"
"""


def _verdict(n):
    small_bn, small_plain = n["lr=0.01/bn"]["final_loss"], n["lr=0.01/plain"]["final_loss"]
    big_bn, big_plain = n["lr=0.5/bn"]["final_loss"], n["lr=0.5/plain"]["final_loss"]
    stable = n["largest_stable"]
    faster = small_bn < small_plain
    return "\n".join([
        f"* eta 0.01: final training loss {small_bn:.3g} with batch norm vs {small_plain:.3g} "
        "without — " + ("batch norm is faster here: **holds**." if faster else
                        "batch norm is **not** faster at this small rate: **does not hold** "
                        "here. At eta 0.01 the plain He-initialized network is already well "
                        "scaled, and batch norm's gain is the larger usable rate, not speed at "
                        "a fixed small rate."),
        f"* eta 0.5: {big_bn:.3g} with batch norm vs "
        f"{'diverged' if not math.isfinite(big_plain) else f'{big_plain:.3g}'} without "
        "— the large rate trains only with batch norm: **holds**.",
        f"* Largest rate that still trains (final loss < {TRAINS}): {stable['plain']:g} plain, "
        f"{stable['bn']:g} with batch norm — \"allows higher learning rates\" **holds**.",
    ])


def _histogram_figures(out_dir, lr, batch_norm, snapshots, only=None):
    label = "with batch norm" if batch_norm else "without batch norm"
    tag = f"lr{lr:g}_{'bn' if batch_norm else 'plain'}".replace(".", "")
    steps = sorted(snapshots)
    paths = []
    for index, (what, xlabel, log) in enumerate((("activations", "ReLU output", False),
                                                 ("gradients dL/dW", "dL/dW entry", True))):
        if only and what.split()[0] not in only:
            continue
        path = os.path.join(out_dir, f"batchnorm_{tag}_{what.split()[0]}.png")
        size = (10.0, 1.6 + 1.5 * len(steps))
        title = f"6-layer network, eta = {lr:g}, {label}: {what} of hidden layers 1-5"
        with slide(path, len(steps), 5, title=title, size=size) as axes:
            for row, step in enumerate(steps):
                for k, values in enumerate(snapshots[step][index]):
                    ax = axes[row][k]
                    histogram(ax, values, bins=30, log_count=log, color="C1" if log else "C0")
                    if row == 0:
                        ax.set_title(f"hidden layer {k + 1}")
                    if k == 0:
                        ax.set_ylabel(f"step {step}\ncount" + (" (log)" if log else ""))
                    if row == len(steps) - 1:
                        ax.set_xlabel(xlabel)
        paths.append(path)
    return paths


def _plot_curves(runs, path, quick):
    window = 10 if quick else 50
    title = "6-layer network on Fashion-MNIST, batch 100: with and without batch norm"
    with slide(path, 2, 2, title=title, sharex=True) as axes:
        for key, result in runs.items():
            lr, kind = key[3:].split("/")
            label = f"eta {lr}, {'batch norm' if kind == 'bn' else 'plain'}"
            style = "-" if kind == "bn" else "--"
            color = "C0" if lr == "0.01" else "C3"
            losses = np.asarray(result["loss"], dtype=np.float64)
            x, v = smooth(np.where(np.isfinite(losses), losses, np.nan), window)
            axes[0][0].plot(x, v, style, color=color, label=label)
            x, v = smooth(result["accuracy"], window)
            axes[1][0].plot(x, v, style, color=color, label=label)
            axes[0][1].plot(result["val_step"], result["val_loss"], style, color=color,
                            label=label)
            axes[1][1].plot(result["val_step"], result["val_accuracy"], style, color=color,
                            label=label)
        axes[0][0].set_ylabel(f"training loss\n(mean of {window} batches)")
        axes[1][0].set_ylabel("training accuracy")
        axes[0][1].set_ylabel("validation loss")
        axes[1][1].set_ylabel("validation accuracy")
        for ax in axes[0]:
            ax.set_yscale("log")
        for ax in axes[1]:
            ax.set_xlabel("update step")
        legend_outside(axes[0][1])
    return path


def _plot_sweep(sweep, steps, path):
    title = f"6-layer network: final training loss after {steps} steps vs learning rate"
    with slide(path, title=title) as axes:
        ax = axes[0][0]
        for label, name in (("plain", "without batch norm"), ("bn", "with batch norm")):
            rates = list(sweep[label])
            losses = [sweep[label][r] if math.isfinite(sweep[label][r]) else np.nan
                      for r in rates]
            ax.semilogx(rates, losses, marker="o", label=name)
            diverged = [r for r in rates if not math.isfinite(sweep[label][r])]
            if diverged:
                ax.plot(diverged, [math.log(10)] * len(diverged), "x", markersize=10,
                        color="C0" if label == "plain" else "C1", label=f"{name}: diverged")
        ax.axhline(math.log(10), color="0.5", linestyle=":", label="ln 10 (chance)")
        ax.axhline(TRAINS, color="0.3", linestyle="--", label=f"trains: loss < {TRAINS}")
        ax.set_xlabel("learning rate eta (log scale)")
        ax.set_ylabel("final training loss (mean of last 10%)")
        legend_outside(ax)
    return path

