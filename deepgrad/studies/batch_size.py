"""batch-size — batch, mini-batch and stochastic gradient descent; running averages.

Part 1 (mit6036-ch7-neural-networks.txt, 7.7.1 "Batches"): logistic regression
p = sigmoid(w^T x + b) on 1,000 points of two overlapping Gaussian classes (centres -+(1, 1),
std 1.5 per dimension), the mean binary cross-entropy over each batch, trained for 20 epochs
(every method sees the same number of examples) with

* batch gradient descent (K = n = 1,000: one update per epoch), lr 1;
* mini-batch gradient descent (K = 32), lr 1;
* stochastic gradient descent (K = 1), lr 1 and lr 0.1 (the notes' "very small eta").

Mini-batches are drawn as the notes' MINI-BATCH-SGD: shuffle, then ceil(n/K) consecutive
slices. Measured: the training loss on all points after the first epoch and at the end, and
its fluctuation over the last epoch. deepgrad's trajectories are checked against the update
rule written out in NumPy: K = n gives exactly batch gradient descent and K = 1 exactly SGD.

Part 2 (7.7.2.1 "Running averages", 7.7.2.2 "Momentum"): for a noisy sequence a_t,
A_t = gamma_t A_(t-1) + (1 - gamma_t) a_t with gamma_t = (t - 1)/t is the plain average, with
a constant gamma it is sum_t gamma^(T-t) (1 - gamma) a_t; and momentum
V_t = gamma V_(t-1) + eta grad, W_t = W_(t-1) - V_t with eta = eta' (1 - gamma) equals steps of
eta' along the moving average M_t of the gradients — deepgrad's SGD(momentum=gamma) against
the M form in NumPy.

Quick mode: 400 points, 5 epochs.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import nn, no_grad, optim
from deepgrad.nn import functional as F
from deepgrad.studies._common import finish, loss_value, markdown_table
from deepgrad.studies._figures import legend_outside, slide
from deepgrad.tensor import Tensor

NAME = "batch-size"
METHODS = {"batch (K = n), lr 1": (None, 1.0), "mini-batch (K = 32), lr 1": (32, 1.0),
           "SGD (K = 1), lr 1": (1, 1.0), "SGD (K = 1), lr 0.1": (1, 0.1)}


def make_data(n, seed):
    rng = np.random.default_rng(seed)
    y = (np.arange(n) % 2).astype(np.float64)
    x = rng.normal(0.0, 1.5, (n, 2)) + np.where(y[:, None] > 0, 1.0, -1.0)
    return x, y


def train(x, y, batch_size, lr, epochs, seed, record=True):
    """Mini-batch gradient descent (shuffle, then consecutive slices) on logistic regression;
    returns the per-update full training loss and the parameter trajectory."""
    rng = np.random.default_rng(seed)
    model = nn.Linear(2, 1, generator=rng)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    model.double()
    optimizer = optim.SGD(model.parameters(), lr=lr)
    n, k = len(x), batch_size or len(x)
    xt, yt = Tensor(x), Tensor(y[:, None])
    losses, trajectory = [_full_loss(model, xt, yt)], [_params(model)]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, k):
            index = order[start:start + k]
            loss = F.binary_cross_entropy_with_logits(model(Tensor(x[index])),
                                                      Tensor(y[index, None]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            trajectory.append(_params(model))
            if record:
                losses.append(_full_loss(model, xt, yt))
    return np.array(losses), np.array(trajectory)


def reference(x, y, batch_size, lr, epochs, seed):
    """The same updates written out in NumPy: w <- w - lr X_B^T (sigmoid(X_B w + b) - y_B)/K."""
    rng = np.random.default_rng(seed)
    nn.Linear(2, 1, generator=rng)  # consume the same random draws as `train`
    w, b = np.zeros(2), 0.0
    n, k = len(x), batch_size or len(x)
    trajectory = [np.r_[w, b]]
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, k):
            index = order[start:start + k]
            error = 1 / (1 + np.exp(-(x[index] @ w + b))) - y[index]
            w = w - lr * x[index].T @ error / len(index)
            b = b - lr * float(np.mean(error))
            trajectory.append(np.r_[w, b])
    return np.array(trajectory)


def _params(model):
    return np.r_[model.weight.data.reshape(-1), model.bias.data.reshape(-1)].astype(np.float64)


def _full_loss(model, xt, yt):
    with no_grad():
        return loss_value(F.binary_cross_entropy_with_logits(model(xt), yt))


def running_averages(values, gamma):
    """(A_t with gamma_t = (t-1)/t, A_t with constant gamma), A_0 = 0."""
    mean, moving = [], []
    a_mean = a_moving = 0.0
    for t, a in enumerate(values, start=1):
        a_mean = (t - 1) / t * a_mean + a / t
        a_moving = gamma * a_moving + (1 - gamma) * a
        mean.append(a_mean)
        moving.append(a_moving)
    return np.array(mean), np.array(moving)


def momentum_equivalence(x, y, gamma=0.9, lr_prime=1.0, steps=100):
    """Largest |W| difference between deepgrad's SGD(lr = lr' (1 - gamma), momentum = gamma)
    and the M form M_t = gamma M + (1 - gamma) grad, W -= lr' M (full batch)."""
    model = nn.Linear(2, 1)
    nn.init.zeros_(model.weight)
    nn.init.zeros_(model.bias)
    model.double()
    optimizer = optim.SGD(model.parameters(), lr=lr_prime * (1 - gamma), momentum=gamma)
    w, m = np.zeros(3), np.zeros(3)
    xb = np.c_[x, np.ones(len(x))]
    largest = 0.0
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(model(Tensor(x)), Tensor(y[:, None]))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        grad = xb.T @ (1 / (1 + np.exp(-(xb @ w))) - y) / len(x)
        m = gamma * m + (1 - gamma) * grad
        w = w - lr_prime * m
        largest = max(largest, float(np.max(np.abs(_params(model) - w))))
    return largest


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    n, epochs = (400, 5) if quick else (1000, 20)
    x, y = make_data(n, seed)
    numbers, rows, curves = {"methods": {}}, [], {}
    for label, (k, lr) in METHODS.items():
        losses, _ = train(x, y, k, lr, epochs, seed)
        per_epoch = math.ceil(n / (k or n))
        last = losses[-per_epoch:]
        seen = np.minimum(np.arange(len(losses)) * (k or n), np.arange(len(losses)) * n)
        tenth = int(np.nonzero(seen <= n // 10)[0][-1])  # the last update within n/10 examples
        entry = {"updates": len(losses) - 1, "loss_after_tenth": float(losses[tenth]),
                 "loss_after_1_epoch": float(losses[per_epoch]),
                 "final_loss": float(losses[-1]), "last_epoch_std": float(np.std(last)),
                 "last_epoch_range": float(np.ptp(last))}
        numbers["methods"][label] = entry
        rows.append([label, entry["updates"], entry["loss_after_tenth"],
                     entry["loss_after_1_epoch"], entry["final_loss"], entry["last_epoch_range"]])
        curves[label] = (np.arange(len(losses)) / per_epoch, losses)
    checks = {}
    for label, k in (("K = n vs batch GD", None), ("K = 1 vs SGD", 1), ("K = 32", 32)):
        _, trajectory = train(x, y, k, 0.5, 2, seed, record=False)
        checks[label] = float(np.max(np.abs(trajectory - reference(x, y, k, 0.5, 2, seed))))
    numbers["update_rule_error"] = checks
    rng = np.random.default_rng(seed)
    sequence = 1.0 + rng.normal(0.0, 0.5, 200)
    mean, moving = running_averages(sequence, 0.9)
    t = np.arange(1, len(sequence) + 1)
    closed = np.array([np.sum(0.9 ** (T - t[:T]) * 0.1 * sequence[:T]) for T in t])
    numbers["running_average"] = {
        "mean_error": float(np.max(np.abs(mean - np.cumsum(sequence) / t))),
        "moving_error": float(np.max(np.abs(moving - closed))),
        "moving_bias_at_5": float(moving[4] / (1 - 0.9 ** 5) - moving[4])}
    numbers["momentum_equivalence_error"] = momentum_equivalence(x, y)
    figure = _plot(curves, sequence, mean, moving,
                   os.path.join(out_dir, "batch_size.png"), n, epochs)
    identity_rows = [[label, err] for label, err in checks.items()] + [
        ["A_t with gamma_t = (t-1)/t vs the plain mean", numbers["running_average"]["mean_error"]],
        ["A_t with gamma = 0.9 vs sum gamma^(T-t) (1-gamma) a_t",
         numbers["running_average"]["moving_error"]],
        ["SGD(lr = eta'(1-gamma), momentum = gamma) vs the M form",
         numbers["momentum_equivalence_error"]]]
    sections = [("The notes' claims", CLAIMS),
                (f"Logistic regression, n = {n}, {epochs} epochs", markdown_table(
                    ["method", "updates", "loss after n/10 examples", "loss after 1 epoch",
                     "final loss",
                     "loss range over the last epoch"], rows)),
                ("Identities (largest absolute difference)", markdown_table(
                    ["identity", "max |difference|"], identity_rows, digits=3)),
                ("What deepgrad measured", _verdict(numbers))]
    return finish(NAME, out_dir, quick, "Batch, mini-batch and stochastic gradient descent",
                  __doc__.split("\n\n", 1)[1], sections, [figure], numbers)


CLAIMS = """
mit6036-ch7-neural-networks.txt, 7.7.1 "Batches": "The batch method takes steps in the exact
gradient direction but requires a lot of computation before even a single step can be taken
... The stochastic method begins moving right away, and can sometimes make very good progress
before looking at even a substantial fraction of the whole data set, but if there is a lot of
variability in the data, it might require a very small eta to effectively average over the
individual steps"; mini-batches "average" between the two; "For what value of K is mini-batch
gradient descent equivalent to stochastic gradient descent? To batch gradient descent?"
7.7.2.1: "If, instead, we set gamma_t = (t - 1)/t, then we get the actual average." 7.7.2.2:
with eta = eta'(1 - gamma) momentum "looks exactly like doing an update with step size eta' on
a moving average of the gradients".
"""


def _verdict(n):
    m = n["methods"]
    batch, mini = m["batch (K = n), lr 1"], m["mini-batch (K = 32), lr 1"]
    sgd, small = m["SGD (K = 1), lr 1"], m["SGD (K = 1), lr 0.1"]
    errors = list(n["update_rule_error"].values()) + [
        n["running_average"]["mean_error"], n["running_average"]["moving_error"],
        n["momentum_equivalence_error"]]
    early = max(small["loss_after_tenth"], mini["loss_after_tenth"]) < batch["loss_after_tenth"]
    noisy = sgd["last_epoch_range"] > small["last_epoch_range"] > batch["last_epoch_range"]
    return "\n".join([
        f"* After a tenth of an epoch of examples batch gradient descent has not taken a step "
        f"(loss {batch['loss_after_tenth']:.3f} = ln 2), mini-batches are at "
        f"{mini['loss_after_tenth']:.3f} and SGD at {sgd['loss_after_tenth']:.3f} (lr 1) / "
        f"{small['loss_after_tenth']:.3f} (lr 0.1) — with a small enough eta the stochastic "
        "methods move right away: "
        + ("**holds**." if early else "**does not hold**."),
        f"* Over the last epoch SGD's loss wanders over a range of {sgd['last_epoch_range']:.3g}"
        f" at lr 1, {small['last_epoch_range']:.3g} at lr 0.1 and "
        f"{mini['last_epoch_range']:.3g} with mini-batches (batch: "
        f"{batch['last_epoch_range']:.3g}) — variability needs a small eta or averaging: "
        + ("**holds**." if noisy else "**does not hold**."),
        f"* K = n is batch gradient descent and K = 1 is SGD, the running-average and momentum "
        f"identities hold to {max(errors):.2g} (float64 rounding): **holds**.",
    ])


def _plot(curves, sequence, mean, moving, path, n, epochs):
    title = (f"Logistic regression on {n} points: batch vs mini-batch vs SGD; running "
             "averages")
    with slide(path, 1, 2, title=title) as axes:
        ax = axes[0][0]
        for k, (label, (x, losses)) in enumerate(curves.items()):
            ax.plot(x, losses, color=f"C{k}", marker="o" if x[1] >= 1 else None,
                    markersize=4, linewidth=1.0 if "SGD" in label else 1.8, label=label)
        ax.set_xlabel("epochs (examples seen / n)")
        ax.set_ylabel("training loss on all points")
        ax.set_yscale("log")
        ax.set_title(f"(a) the same {epochs} epochs of examples")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2)
        ax = axes[0][1]
        t = np.arange(1, len(sequence) + 1)
        ax.plot(t, sequence, ".", color="0.6", label="a_t (noisy, mean 1)")
        ax.plot(t, mean, color="C0", label="gamma_t = (t-1)/t: plain mean")
        ax.plot(t, moving, color="C1", label="gamma = 0.9 (A_0 = 0)")
        ax.plot(t, moving / (1 - 0.9 ** t), "--", color="C2", label="gamma = 0.9, / (1 - 0.9^t)")
        ax.set_xlabel("t")
        ax.set_ylabel("A_t")
        ax.set_title("(b) running averages")
        legend_outside(ax)
    return path
