"""batchnorm — batch normalization lets plain gradient descent use a large learning rate.

The notes' 6-layer fully connected network (hidden layers of 50, 10, 10, 10, 10 ReLU units and
10 outputs, He-initialized weights, zero biases, inputs standardized per dimension) is trained
with plain mini-batch gradient descent (batch 100) at learning rates 0.01 and 0.5, with and
without batch normalization (Linear -> BatchNorm1d -> ReLU). The notes used CIFAR-10, which is
not available offline; this study uses Fashion-MNIST (784 inputs, 10 classes).

Expected: at lr 0.01 both train, batch norm faster; at lr 0.5 the plain network's activations
blow up or die (the loss diverges or stalls near ln 10 = 2.30) while the normalized one keeps
every layer's pre-activations at zero mean and unit variance and trains fine. The figures show
the loss and accuracy curves and, for each run, the histograms of the five hidden layers'
activations at steps 0, 1000, 2000 and 4000 (quick mode: 0, 40, 80, 150 on a 3,000-image
slice, and histograms for the lr 0.5 runs only).
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import nn, optim
from deepgrad.data import Standardize, load_fashion_mnist
from deepgrad.diagnostics import ActivationRecorder, plots
from deepgrad.nn import functional as F
from deepgrad.random import get_generator
from deepgrad.studies._common import evaluate, finish, loss_value, markdown_table
from deepgrad.tensor import Tensor

NAME = "batchnorm"
SIZES = [784, 50, 10, 10, 10, 10, 10]
LEARNING_RATES = (0.01, 0.5)
BATCH = 100


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
    """Standardized (x_train, y_train, x_test, y_test); quick: 3,000 / 2,000 images."""
    x_train, y_train = load_fashion_mnist("train", flatten=True)
    x_test, y_test = load_fashion_mnist("test", flatten=True)
    if quick:
        pick = np.random.default_rng(seed).permutation(len(x_train))[:3000]
        x_train, y_train = x_train[pick], y_train[pick]
        x_test, y_test = x_test[:2000], y_test[:2000]
    scaler = Standardize().fit(x_train)
    return scaler.transform(x_train), y_train, scaler.transform(x_test), y_test


def train_run(batch_norm, lr, data, steps, hist_steps, seed):
    """Train one configuration; returns (per-step losses, per-step accuracies, recorder,
    test loss, test accuracy). Stops at the first non-finite loss (marked diverged)."""
    x_train, y_train, x_test, y_test = data
    rng = np.random.default_rng(seed)
    model = build(batch_norm, generator=rng)
    optimizer = optim.SGD(model.parameters(), lr=lr)
    recorder = ActivationRecorder(model, steps=hist_steps, bins=40)
    losses, accuracies = [], []
    order = rng.permutation(len(x_train))
    position = 0
    recorder.on_train_begin()
    for step in range(steps):
        if position + BATCH > len(order):
            order, position = rng.permutation(len(x_train)), 0
        index = order[position:position + BATCH]
        position += BATCH
        out = model(Tensor(x_train[index]))
        loss = F.cross_entropy(out, Tensor(y_train[index]))
        value = loss_value(loss)
        losses.append(value)
        accuracies.append(float(np.mean(np.argmax(out.data, axis=1) == y_train[index])))
        if not math.isfinite(value):
            break
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        recorder.on_batch_end(step)
    recorder.on_train_end()
    recorder.close()
    diverged = not math.isfinite(losses[-1])
    test_loss, test_accuracy = (math.inf, 0.1) if diverged else \
        evaluate(model, x_test, y_test, F.cross_entropy)
    return losses, accuracies, recorder, test_loss, test_accuracy


def smooth(values, window):
    values = np.asarray(values, dtype=np.float64)
    if len(values) < window:
        return values
    kernel = np.ones(window) / window
    return np.convolve(values, kernel, mode="valid")


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps = 150 if quick else 4000
    hist_steps = [0, 40, 80, 150] if quick else [0, 1000, 2000, 4000]
    hist_steps = [min(s, steps - 1) for s in hist_steps]
    data = load_data(quick, seed)
    window = 10 if quick else 50
    numbers, rows, figures = {}, [], []
    loss_curves, acc_curves = {}, {}
    for lr in LEARNING_RATES:
        for batch_norm in (False, True):
            label = f"lr {lr}, {'batch norm' if batch_norm else 'plain'}"
            losses, accs, rec, test_loss, test_acc = train_run(batch_norm, lr, data, steps,
                                                               hist_steps, seed)
            tail = losses[-max(1, len(losses) // 10):]
            final = float(np.mean(tail)) if all(map(math.isfinite, tail)) else math.inf
            key = f"lr={lr}/{'bn' if batch_norm else 'plain'}"
            numbers[key] = {"final_loss": final, "test_loss": test_loss,
                            "test_accuracy": test_acc, "steps_run": len(losses),
                            "hidden_std": {r["step"]: list(_std_by_layer(r)) for r in rec.history}}
            rows.append([lr, "yes" if batch_norm else "no", final, test_loss, test_acc,
                         len(losses)])
            smoothed = smooth(losses, window)
            loss_curves[label] = (np.arange(len(smoothed)) + window // 2, smoothed)
            acc_smoothed = smooth(accs, window)
            acc_curves[label] = (np.arange(len(acc_smoothed)) + window // 2, acc_smoothed)
            recorded = [r["step"] for r in rec.history]
            if recorded and (not quick or lr == max(LEARNING_RATES)):
                figures.append(rec.plot_histograms(
                    os.path.join(out_dir, f"batchnorm_hist_{key.replace('/', '_')}.png"),
                    steps=recorded, title=f"hidden activations, {label}",
                    panel_size=(1.8, 1.4)))
    figures.insert(0, plots.plot_curves(loss_curves, os.path.join(out_dir, "batchnorm_loss.png"),
                                        ylabel=f"training loss (mean of {window} batches)",
                                        logy=True))
    figures.insert(1, plots.plot_curves(acc_curves,
                                        os.path.join(out_dir, "batchnorm_accuracy.png"),
                                        ylabel=f"training accuracy (mean of {window} batches)"))
    table = markdown_table(["lr", "batch norm", "final training loss (last 10%)", "test loss",
                            "test accuracy", "steps run"], rows)
    std_rows = [[key, step] + stds for key, entry in numbers.items()
                for step, stds in entry["hidden_std"].items()]
    std_table = markdown_table(["run", "step"] + [f"hidden {k}" for k in range(1, 6)], std_rows)
    return finish(NAME, out_dir, quick, "Batch normalization and the learning rate",
                  __doc__.split("\n\n", 1)[1],
                  [(f"{steps} steps of batch {BATCH}", table),
                   ("Std of the hidden activations", std_table)], figures, numbers)


def _std_by_layer(record):
    return (entry["activation"]["std"] for entry in record["layers"].values())
