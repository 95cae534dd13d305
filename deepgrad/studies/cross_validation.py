"""cross-validation — holdout vs k-fold estimates for choosing the number of hidden units.

math-eng-dl-ch4-mlp.txt, "Overfitting": "Solution to quantify the true generalization error is
to split the data: First version: holdout cross-validation ... Second version: K-fold
cross-validation". The model to select is the number of hidden units H of a 1 -> H tanh -> 1
network fitted (full-batch Adam, lr 0.01, mean squared error, float64) to N = 40 noisy points
of sin(pi x) on [-1, 1] (noise std 0.3).

* Holdout: a random 30 / 10 split; the validation MSE of each H. Repeated over many random
  splits of the *same* 40 points, the estimate and the chosen H jump around.
* 5-fold: every point is validated once; the estimate is the mean of the five fold MSEs
  (shown with their spread, the standard error over folds). Repeated over reshuffles of the
  same points it varies much less.
* Reference: each H trained on all 40 points (5 initializations) and tested on 2,000 fresh
  points of the process.

All networks of one H (every split, fold and reference fit) are trained at once as a stack of
independent networks (deepgrad/studies/_parallel.py), the same computation as training them
one by one.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad.data import KFold, make_regression_1d
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._parallel import ParallelMLP, fit_parallel, predict_parallel
from deepgrad.studies._slides import claim_table, legend_outside, slide_figure

NAME = "cross-validation"
HIDDEN = (1, 2, 3, 5, 10, 30)
N, NOISE, K, LR = 40, 0.3, 5, 0.01
TRUE_FITS = 5  # networks per H trained on all N points (their mean test MSE is the reference)
SOURCE = "math-eng-dl-ch4-mlp.txt, Overfitting"


def held_out_mse(hidden, x, y, masks, steps, seed):
    """Train one 1 -> hidden -> 1 network per row of `masks` (1 = training point), all in one
    stack; returns (each network's MSE on the points it did not train on, the model)."""
    model = ParallelMLP(len(masks), (1, hidden, 1), generator=seed)
    fit_parallel(model, x, y, masks, steps, lr=LR)
    errors = (predict_parallel(model, x) - y[:, 0]) ** 2
    held_out = 1.0 - masks
    return np.sum(errors * held_out, axis=1) / np.maximum(held_out.sum(axis=1), 1), model


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    steps, repeats = (300, 10) if quick else (4000, 40)
    rng = np.random.default_rng(seed)
    x, y = make_regression_1d(N, "sin", noise=NOISE, generator=rng, dtype=np.float64)
    x_test, y_test = make_regression_1d(2000, "sin", noise=NOISE, generator=rng,
                                        dtype=np.float64)
    holdout_masks = np.zeros((repeats, N))
    for r in range(repeats):
        holdout_masks[r, rng.permutation(N)[:N - N // 4]] = 1.0
    kfold_masks = np.ones((repeats * K, N))
    for r in range(repeats):
        folds = KFold(K, shuffle=True, generator=int(rng.integers(2**31))).split(N)
        for f, (_, val_idx) in enumerate(folds):
            kfold_masks[r * K + f, val_idx] = 0.0
    masks = np.concatenate([holdout_masks, kfold_masks, np.ones((TRUE_FITS, N))])
    holdout, kfold, fold_se, true_mse = {}, {}, {}, {}
    for h in HIDDEN:
        mse, model = held_out_mse(h, x, y, masks, steps, seed + h)
        holdout[h] = mse[:repeats]
        per_fold = mse[repeats:repeats * (K + 1)].reshape(repeats, K)
        kfold[h] = per_fold.mean(axis=1)
        fold_se[h] = per_fold.std(axis=1, ddof=1) / np.sqrt(K)
        test_errors = (predict_parallel(model, x_test)[-TRUE_FITS:] - y_test[:, 0]) ** 2
        true_mse[h] = float(np.mean(test_errors))
    holdout_choice = [HIDDEN[int(np.argmin([holdout[h][r] for h in HIDDEN]))]
                      for r in range(repeats)]
    kfold_choice = [HIDDEN[int(np.argmin([kfold[h][r] for h in HIDDEN]))]
                    for r in range(repeats)]
    best_true = HIDDEN[int(np.argmin([true_mse[h] for h in HIDDEN]))]
    sd_ratio = {h: float(np.std(holdout[h], ddof=1) / np.std(kfold[h], ddof=1))
                for h in HIDDEN}
    numbers = {
        "holdout_mean": {h: float(np.mean(holdout[h])) for h in HIDDEN},
        "holdout_std": {h: float(np.std(holdout[h], ddof=1)) for h in HIDDEN},
        "kfold_mean": {h: float(np.mean(kfold[h])) for h in HIDDEN},
        "kfold_std": {h: float(np.std(kfold[h], ddof=1)) for h in HIDDEN},
        "kfold_fold_se": {h: float(np.mean(fold_se[h])) for h in HIDDEN},
        "std_ratio": sd_ratio, "true_mse": true_mse, "best_true": best_true,
        "holdout_choices": holdout_choice, "kfold_choices": kfold_choice, "repeats": repeats,
    }
    figures = _figures(out_dir, holdout, kfold, fold_se, true_mse, holdout_choice,
                       kfold_choice, repeats)

    def distinct(choices):
        return len(set(choices))

    median_ratio = float(np.median(list(sd_ratio.values())))
    claims = [
        ("holdout cross-validation quantifies the generalization error (First version)", SOURCE,
         f"over {repeats} random 30/10 splits of the same data the holdout MSE of H = "
         f"{best_true} has std {numbers['holdout_std'][best_true]:.3g} around "
         f"{numbers['holdout_mean'][best_true]:.3g}; it picks {distinct(holdout_choice)} "
         f"different H", True),
        ("K-fold cross-validation (Second version)", SOURCE,
         f"5-fold estimates vary {median_ratio:.2g}x less (median std ratio over H) across "
         f"reshuffles; they pick {distinct(kfold_choice)} different H; the H with the lowest "
         f"test MSE on fresh data is {best_true}",
         median_ratio > 1.0),
    ]
    rows = [[h, numbers["holdout_mean"][h], numbers["holdout_std"][h], numbers["kfold_mean"][h],
             numbers["kfold_std"][h], numbers["kfold_fold_se"][h], true_mse[h],
             holdout_choice.count(h), kfold_choice.count(h)] for h in HIDDEN]
    sections = [
        ("Claims", claim_table(claims)),
        (f"Estimates of the validation MSE over {repeats} splits / reshuffles",
         markdown_table(["H", "holdout mean", "holdout std", "5-fold mean", "5-fold std",
                         "5-fold SE over folds", "test MSE (fresh data)", "chosen by holdout",
                         "chosen by 5-fold"], rows)),
    ]
    return finish(NAME, out_dir, quick, "Holdout vs k-fold cross-validation",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, holdout, kfold, fold_se, true_mse, holdout_choice, kfold_choice,
             repeats):
    path = os.path.join(out_dir, "cross_validation.png")
    positions = np.arange(len(HIDDEN))
    with slide_figure(path, 1, 3, f"choosing H for 1-H-1 tanh networks on N = {N} noisy "
                      f"points of sin($\\pi$x); {repeats} random splits / reshuffles",
                      panel_size=(4.6, 3.9)) as axes:
        for ax, estimates, name in ((axes[0], holdout, "holdout (30 train / 10 validation)"),
                                    (axes[1], kfold, "5-fold (mean of the 5 folds)")):
            ax.boxplot([estimates[h] for h in HIDDEN], positions=positions, widths=0.5)
            ax.plot(positions, [true_mse[h] for h in HIDDEN], "r*-", markersize=10,
                    label="test MSE on fresh data")
            ax.set_xticks(positions)
            ax.set_xticklabels([str(h) for h in HIDDEN])
            ax.set(xlabel="hidden units H", ylabel="estimated MSE", title=name)
        example = axes[1]
        example.errorbar(positions + 0.3, [kfold[h][0] for h in HIDDEN],
                         yerr=[fold_se[h][0] for h in HIDDEN], fmt="o", color="tab:green",
                         capsize=3, label="one 5-fold run $\\pm$ SE over folds")
        legend_outside(example, "below", ncol=1)
        top = max(np.percentile(np.concatenate([holdout[h], kfold[h]]), 98) for h in HIDDEN)
        for ax in axes[:2]:
            ax.set_ylim(0, 1.1 * top)
        width = 0.38
        axes[2].bar(positions - width / 2, [holdout_choice.count(h) for h in HIDDEN], width,
                    label="holdout")
        axes[2].bar(positions + width / 2, [kfold_choice.count(h) for h in HIDDEN], width,
                    label="5-fold")
        axes[2].set_xticks(positions)
        axes[2].set_xticklabels([str(h) for h in HIDDEN])
        axes[2].set(xlabel="hidden units H", ylabel="times chosen",
                    title="the H each split / reshuffle selects")
        legend_outside(axes[2], "below", ncol=2)
    return [path]
