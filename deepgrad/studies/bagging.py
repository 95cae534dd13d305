"""bagging — the variance of an averaged prediction against the notes' formula.

math-eng-dl-ch4-mlp.txt, "Ensemble Methods: principle": for B identically distributed
predictions with variance sigma^2 and pairwise correlation rho,

    Var[(1/B) sum_i y_hat_i] = (1 - rho) sigma^2 / B + rho sigma^2,

"Model averaging does not affect bias but reduces variance"; "Bagging, Bootstrap aggregating":
train each model on a resample (with replacement) of the one training set and average them.

Setup: R independent training sets of N = 30 points of sin(pi x) + noise (std 0.3), x uniform
in [-1, 1]. On each, M members 1 -> 32 tanh -> 1 (full-batch Adam, lr 0.01, float64), each on
its own bootstrap resample (`deepgrad.data.bootstrap_indices`) and initialization. At 40 test
inputs the member predictions y_hat[r, m](x) give sigma^2 (variance of one member over training
sets, resamples and initializations) and rho (correlation of two members trained on the same
set), pooled over the test inputs, measured on the first M/2 members of each set. The variance
of the average of B of the *other* M/2 members (disjoint groups of B) over training sets is then
compared with the formula for B = 1, 2, 4, ... M/2.
Members share their training set, so rho > 0 and bagging cannot remove the rho sigma^2 part.
All R x M networks are trained at once as a stack (deepgrad/studies/_parallel.py).
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad.data import bootstrap_indices
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._parallel import ParallelMLP, fit_parallel, predict_parallel
from deepgrad.studies._slides import claim_table, legend_outside, slide_figure

NAME = "bagging"
N, NOISE, HIDDEN, LR = 30, 0.3, 32, 0.01
X_TEST = np.linspace(-0.9, 0.9, 40)
SOURCE = "math-eng-dl-ch4-mlp.txt"


def truth(x):
    return np.sin(np.pi * x)


def variance_terms(pred):
    """(sigma^2, rho) pooled over test inputs from predictions of shape (R, M, inputs)."""
    centered = pred - pred.mean(axis=(0, 1))
    sigma2 = np.mean(centered ** 2, axis=(0, 1))
    members = pred.shape[1]
    sums = centered.sum(axis=1)
    pair_cov = np.mean((sums ** 2 - np.sum(centered ** 2, axis=1)) /
                       (members * (members - 1)), axis=0)
    return float(np.mean(sigma2)), float(np.mean(pair_cov) / np.mean(sigma2))


def bagged_variance(pred, size: int) -> float:
    """Variance over training sets of the mean of `size` members (disjoint groups), pooled
    over the groups and the test inputs."""
    sets, members, _ = pred.shape
    groups = pred[:, :members // size * size].reshape(sets, members // size, size, -1)
    bagged = groups.mean(axis=2)                       # (R, groups, inputs)
    return float(np.mean((bagged - pred.mean(axis=(0, 1))) ** 2))


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    sets, members, steps = (12, 8, 400) if quick else (60, 16, 3000)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (sets, N, 1))
    t = truth(x) + NOISE * rng.standard_normal((sets, N, 1))
    counts = np.zeros((sets * members, N))
    for k in range(sets * members):
        np.add.at(counts[k], bootstrap_indices(N, generator=rng), 1.0)
    model = ParallelMLP(sets * members, (1, HIDDEN, 1), generator=seed + 1)
    fit_parallel(model, np.repeat(x, members, axis=0), np.repeat(t, members, axis=0), counts,
                 steps, lr=LR)
    pred = predict_parallel(model, X_TEST[:, None]).reshape(sets, members, -1)
    # sigma^2 and rho from the first half of each set's members, the averages from the other
    # half: with the same members both sides would agree by algebra at B = 1 and B = all
    half = members // 2
    sigma2, rho = variance_terms(pred[:, :half])
    sizes = [b for b in (1, 2, 4, 8) if b <= half]
    measured = {b: bagged_variance(pred[:, half:], b) for b in sizes}
    formula = {b: (1 - rho) * sigma2 / b + rho * sigma2 for b in sizes}
    single_bias2 = float(np.mean((pred.mean(axis=(0, 1)) - truth(X_TEST)) ** 2))
    full = pred.mean(axis=1)
    bagged_bias2 = float(np.mean((full.mean(axis=0) - truth(X_TEST)) ** 2))
    single_mse = float(np.mean((pred - truth(X_TEST)) ** 2))
    bagged_mse = float(np.mean((full - truth(X_TEST)) ** 2))
    ratios = {b: measured[b] / formula[b] for b in sizes}
    numbers = {"sigma2": sigma2, "rho": rho, "measured": measured, "formula": formula,
               "ratio": ratios, "single_bias2": single_bias2, "bagged_bias2": bagged_bias2,
               "single_mse": single_mse, "bagged_mse": bagged_mse, "sets": sets,
               "members": members}
    figures = _figures(out_dir, x, t, pred, measured, formula, sigma2, rho, sets, members)
    claims = [
        ("Var[(1/B) sum y_hat_i] = (1 - rho) sigma^2 / B + rho sigma^2",
         f"{SOURCE}, Ensemble Methods: principle",
         f"sigma^2 = {sigma2:.4f}, rho = {rho:.3f}; measured / formula: " + ", ".join(
             f"B = {b}: {r:.3f}" for b, r in ratios.items()),
         all(abs(r - 1) < 0.2 for r in ratios.values())),
        ("Model averaging does not affect bias but reduces variance",
         f"{SOURCE}, Ensemble Methods: principle",
         f"bias^2 {single_bias2:.4f} (one member) vs {bagged_bias2:.4f} (bag of {members}); "
         f"variance {measured[1]:.4f} -> {measured[sizes[-1]]:.4f}; squared error to f "
         f"{single_mse:.4f} -> {bagged_mse:.4f}",
         abs(bagged_bias2 - single_bias2) < 1e-9 and measured[sizes[-1]] < measured[1]),
    ]
    rows = [[b, measured[b], formula[b], ratios[b]] for b in sizes]
    sections = [
        ("Claims", claim_table(claims)),
        (f"Variance of the average of B members ({sets} training sets x {members} bootstrap "
         f"members, {steps} Adam steps)",
         markdown_table(["B", "measured variance", "(1 - rho) sigma^2 / B + rho sigma^2",
                         "measured / formula"], rows)),
    ]
    return finish(NAME, out_dir, quick, "Bagging: variance of the average vs B",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, x, t, pred, measured, formula, sigma2, rho, sets, members):
    path = os.path.join(out_dir, "bagging.png")
    sizes = list(measured)
    grid = np.linspace(1, sizes[-1], 100)
    with slide_figure(path, 1, 2, f"bagging 1-{HIDDEN}-1 tanh networks on N = {N} noisy "
                      f"points of sin($\\pi$x); {sets} training sets x {members} members",
                      panel_size=(5.0, 4.0)) as axes:
        ax = axes[0]
        ax.plot(sizes, [measured[b] for b in sizes], "o", markersize=8, label="measured")
        ax.plot(grid, (1 - rho) * sigma2 / grid + rho * sigma2, "-",
                label="$(1-\\rho)\\sigma^2/B + \\rho\\sigma^2$")
        ax.axhline(rho * sigma2, color="0.5", linestyle=":", label="$\\rho\\sigma^2$ (B $\\to$"
                                                                   " $\\infty$)")
        ax.set(xlabel="members averaged B", ylabel="variance of the average",
               title=f"$\\sigma^2$ = {sigma2:.3f}, $\\rho$ = {rho:.2f} (measured)",
               ylim=(0, 1.1 * measured[1]))
        legend_outside(ax, "below", ncol=2)
        ax = axes[1]
        for m in range(members):
            ax.plot(X_TEST, pred[0, m], color="tab:orange", alpha=0.35, linewidth=1,
                    label="members" if m == 0 else None)
        ax.plot(X_TEST, pred[0].mean(axis=0), color="tab:red", linewidth=2.5,
                label="bagged average")
        ax.plot(X_TEST, truth(X_TEST), "k--", label="sin($\\pi$x)")
        ax.plot(x[0, :, 0], t[0, :, 0], "o", color="tab:blue", markersize=4,
                label="training set 0")
        ax.set(xlabel="x", ylabel="prediction", title="one training set, its members")
        legend_outside(ax, "below", ncol=2)
    return [path]
