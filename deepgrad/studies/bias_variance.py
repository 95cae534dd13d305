"""bias-variance — the decomposition of the expected test error over models of growing capacity.

math-eng-dl-ch4-mlp.txt, "Reminder of Bias-variance decomposition": for y = f(x) + eps,

    E_*[E_D[(y_hat - y)^2]] = E_*[E_D[(y_hat - E_D[y_hat])^2]] + E_*[(E_D[y_hat] - f)^2] + sigma^2
                              (variance)                      (bias^2)                (noise)

Bias: the model cannot represent the true model (low complexity); variance: sensitivity to the
training data (high complexity). The models are 1 -> H tanh -> 1 networks, H = 1..32, fitted
by full-batch Adam (lr 0.01, 3000 steps, float64, mean squared error) to N = 20 points of
f(x) = sin(pi x), x uniform in [-1, 1], noise std 0.3, evaluated at 60 test inputs in
[-0.9, 0.9].

* Exact: E_D over many independent training sets drawn from the process; the expected test MSE
  is also measured directly on fresh noisy targets, to check that the three terms add up.
* Bootstrap (what one can do with a single data set, "Bagging, Bootstrap aggregating"): B
  resamples with replacement of one training set stand in for new training sets; the spread of
  their fits estimates the variance and their mean the bias (f is known here). Averaged over
  several base training sets.
* All the networks of one H are trained at once as a stack of independent networks
  (deepgrad/studies/_parallel.py).
* The notes' practice ("Practice to track Biases and Variance"): training error vs test error;
  bias goes with the training error, variance with the gap between test and training error.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._parallel import ParallelMLP, fit_parallel, predict_parallel
from deepgrad.studies._slides import claim_table, legend_outside, slide_figure

NAME = "bias-variance"
HIDDEN = (1, 2, 4, 8, 16, 32)
N, NOISE, LR = 20, 0.3, 0.01
SOURCE = "math-eng-dl-ch4-mlp.txt"
X_TEST = np.linspace(-0.9, 0.9, 60)


def truth(x):
    return np.sin(np.pi * x)


def sample(rng, sets: int):
    """`sets` training sets: x uniform in [-1, 1], t = f(x) + noise; shapes (sets, N, 1)."""
    x = rng.uniform(-1.0, 1.0, (sets, N, 1))
    return x, truth(x) + NOISE * rng.standard_normal((sets, N, 1))


def decompose(predictions):
    """(bias^2, variance) averaged over the test inputs; predictions: (sets, test inputs)."""
    mean = predictions.mean(axis=0)
    return (float(np.mean((mean - truth(X_TEST)) ** 2)),
            float(np.mean(predictions.var(axis=0))))


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    sets, bases, resamples, steps = (20, 2, 10, 1000) if quick else (100, 4, 25, 3000)
    x, t = sample(rng, sets)
    picks = rng.integers(0, N, (bases, resamples, N))
    x_boot = np.concatenate([x[b][picks[b]] for b in range(bases)])
    t_boot = np.concatenate([t[b][picks[b]] for b in range(bases)])
    exact, direct, train_mse, boot = {}, {}, {}, {}
    for h in HIDDEN:
        model = ParallelMLP(sets + bases * resamples, (1, h, 1), generator=seed + h)
        fitted = fit_parallel(model, np.concatenate([x, x_boot]), np.concatenate([t, t_boot]),
                              np.ones((sets + bases * resamples, N)), steps, lr=LR)
        predictions = predict_parallel(model, X_TEST[:, None])
        exact[h] = decompose(predictions[:sets])
        noisy = truth(X_TEST) + NOISE * rng.standard_normal((50, sets, len(X_TEST)))
        direct[h] = float(np.mean((predictions[:sets] - noisy) ** 2))  # 50 targets per input
        train_mse[h] = float(np.mean(fitted[:sets]))
        per_base = predictions[sets:].reshape(bases, resamples, -1)
        boot[h] = tuple(np.mean([decompose(p) for p in per_base], axis=0).tolist())
    total = {h: exact[h][0] + exact[h][1] + NOISE ** 2 for h in HIDDEN}
    best = min(HIDDEN, key=total.get)
    boot_best = min(HIDDEN, key=lambda h: boot[h][0] + boot[h][1])
    small, big = HIDDEN[0], HIDDEN[-1]
    numbers = {"bias2": {h: exact[h][0] for h in HIDDEN},
               "variance": {h: exact[h][1] for h in HIDDEN},
               "sum": total, "direct_test_mse": direct, "train_mse": train_mse,
               "bootstrap_bias2": {h: boot[h][0] for h in HIDDEN},
               "bootstrap_variance": {h: boot[h][1] for h in HIDDEN}, "best_hidden": best,
               "bootstrap_best_hidden": boot_best}
    figures = _figures(out_dir, numbers, sets, bases, resamples)
    worst_gap = max(abs(direct[h] / total[h] - 1) for h in HIDDEN)
    ratios = {h: boot[h][1] / exact[h][1] for h in HIDDEN}
    claims = [
        ("Expected MSE = variance + bias^2 + irreducible error",
         f"{SOURCE}, Reminder of Bias-variance decomposition",
         f"sum of the three terms vs the test MSE measured on fresh noisy targets: largest "
         f"relative difference {100 * worst_gap:.1f}% over H", worst_gap < 0.05),
        ("Bias: low model complexity; Variance: high model complexity (the U curve)",
         f"{SOURCE}, Reminder of Bias-variance decomposition",
         f"bias^2 {exact[small][0]:.4f} (H = {small}) -> {exact[best][0]:.4f} (H = {best}); "
         f"variance {exact[small][1]:.4f} -> {exact[big][1]:.4f} (H = {big}); expected test "
         f"MSE {total[small]:.4f} -> {total[best]:.4f} (lowest, H = {best}) -> "
         f"{total[big]:.4f}",
         small < best < big and exact[small][0] > exact[best][0]
         and exact[big][1] > exact[best][1]),
        ("Bootstrap your training data to mimic different dataset",
         f"{SOURCE}, Bagging, Bootstrap aggregating",
         "bootstrap variance / exact variance: " + ", ".join(
             f"H = {h}: {r:.2f}" for h, r in ratios.items())
         + f"; the bootstrap's best H = {boot_best}, the exact one H = {best}",
         all(0.5 < r < 2 for r in ratios.values())),
        ("Bias is related to training error; variance to the difference between test error "
         "and training error", f"{SOURCE}, Practice to track Biases and Variance",
         f"train MSE {train_mse[small]:.4f} (H = {small}) -> {train_mse[big]:.4f} "
         f"(H = {big}); test - train gap {direct[small] - train_mse[small]:.4f} -> "
         f"{direct[big] - train_mse[big]:.4f}",
         train_mse[small] > train_mse[big]
         and direct[big] - train_mse[big] > direct[small] - train_mse[small]),
    ]
    rows = [[h, exact[h][0], exact[h][1], total[h], direct[h], boot[h][0], boot[h][1],
             train_mse[h]] for h in HIDDEN]
    sections = [
        ("Claims", claim_table(claims)),
        (f"Decomposition ({sets} training sets of N = {N}, {steps} Adam steps; bootstrap: "
         f"{resamples} resamples of each of {bases} training sets)",
         markdown_table(["H", "bias^2", "variance", "bias^2 + var + sigma^2",
                         "test MSE (direct)", "bootstrap bias^2", "bootstrap variance",
                         "train MSE"], rows)),
    ]
    return finish(NAME, out_dir, quick, "Bias-variance decomposition",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, n, sets, bases, resamples):
    path = os.path.join(out_dir, "bias_variance.png")
    units = list(HIDDEN)

    def series(key):
        return [n[key][h] for h in HIDDEN]

    with slide_figure(path, 1, 2, f"1-H-1 tanh networks fitted to N = {N} points of "
                      "sin($\\pi$x) + noise (std 0.3)", panel_size=(5.0, 4.0)) as axes:
        ax = axes[0]
        ax.plot(units, series("bias2"), "o-", label="bias$^2$")
        ax.plot(units, series("variance"), "s-", label="variance")
        ax.plot(units, series("sum"), "k^-", label="bias$^2$ + variance + $\\sigma^2$")
        ax.plot(units, series("bootstrap_bias2"), "o--", color="tab:blue", alpha=0.6,
                label="bias$^2$ (bootstrap)")
        ax.plot(units, series("bootstrap_variance"), "s--", color="tab:orange", alpha=0.6,
                label="variance (bootstrap)")
        ax.axhline(NOISE ** 2, color="0.5", linestyle=":", label="$\\sigma^2$ (noise)")
        ax.set(xlabel="hidden units H (capacity)", ylabel="error (mean over test inputs)",
               xscale="log", title=f"exact over {sets} training sets; dashed: bootstrap")
        ax.set_xticks(units)
        ax.set_xticklabels([str(h) for h in units])
        legend_outside(ax, "below", ncol=2)
        ax = axes[1]
        ax.plot(units, series("train_mse"), "o-", label="training MSE")
        ax.plot(units, series("direct_test_mse"), "s-", label="test MSE")
        ax.set(xlabel="hidden units H (capacity)", ylabel="mean squared error", xscale="log",
               title="tracking training vs test error")
        ax.set_xticks(units)
        ax.set_xticklabels([str(h) for h in units])
        legend_outside(ax, "below", ncol=2)
    return [path]
