"""polynomial — Bishop's curve fitting: model order, data size and an L2 penalty.

The example of math-eng-dl-ch4-mlp.txt, "Example: curve fitting" (Bishop, Pattern Recognition
and Machine Learning, section 1.1): N = 10 inputs equally spaced in [0, 1], targets
t = sin(2 pi x) + Gaussian noise of std 0.3, and polynomials y(x, w) = sum_j w_j x^j of degree
M = 0..9 fitted by least squares (the minimum of E(w) = 1/2 sum_n (y(x_n, w) - t_n)^2).
Errors are E_RMS = sqrt(2 E(w) / N), on the training points and on 100 test points drawn from
the same process. Then M = 9 with N = 15 and N = 100 points, and M = 9 with the penalty
lambda/2 ||w||^2 (ridge regression, solved as (Phi^T Phi + lambda I) w = Phi^T t), for
ln lambda from -40 to 0.

Every number is the median over several independent draws of the data (3 in quick mode, 50 in
full mode), so the claims are checked over draws, not on one lucky data set; the figures show
the first draw.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._slides import claim_table, legend_outside, rmse, slide_figure

NAME = "polynomial"
NOISE = 0.3
DEGREES = tuple(range(10))
SIZES = (10, 15, 100)
LOG_LAMBDAS = (-40, -30, -25, -20, -18, -15, -10, -5, 0)
SOURCE = "math-eng-dl-ch4-mlp.txt, Example: curve fitting"


def make_data(n: int, rng, spaced: bool = True):
    """n points of t = sin(2 pi x) + N(0, 0.3^2): x equally spaced in [0, 1] (training, as in
    Bishop) or uniform (test)."""
    x = np.linspace(0.0, 1.0, n) if spaced else rng.uniform(0.0, 1.0, n)
    return x, np.sin(2 * np.pi * x) + NOISE * rng.standard_normal(n)


def design(x, degree: int):
    """Phi[n, j] = x_n^j, j = 0..degree."""
    return np.vander(x, degree + 1, increasing=True)


def fit(x, t, degree: int, lam: float = 0.0):
    """Least squares (lam = 0) or ridge weights of a degree-`degree` polynomial."""
    phi = design(x, degree)
    if lam == 0.0:
        return np.linalg.lstsq(phi, t, rcond=None)[0]
    return np.linalg.solve(phi.T @ phi + lam * np.eye(degree + 1), phi.T @ t)


def predict(w, x):
    return design(x, len(w) - 1) @ w


def one_draw(rng):
    """All the errors for one draw of training and test data."""
    x_test, t_test = make_data(100, rng, spaced=False)
    data = {n: make_data(n, rng) for n in SIZES}
    x, t = data[10]
    out = {"train": [], "test": [], "size": {}, "ridge_train": [], "ridge_test": []}
    for degree in DEGREES:
        w = fit(x, t, degree)
        out["train"].append(rmse(predict(w, x), t))
        out["test"].append(rmse(predict(w, x_test), t_test))
    for n in SIZES:
        w = fit(*data[n], 9)
        out["size"][n] = (rmse(predict(w, data[n][0]), data[n][1]),
                          rmse(predict(w, x_test), t_test))
    for log_lam in LOG_LAMBDAS:
        w = fit(x, t, 9, float(np.exp(log_lam)))
        out["ridge_train"].append(rmse(predict(w, x), t))
        out["ridge_test"].append(rmse(predict(w, x_test), t_test))
    out["data"], out["test_data"] = data, (x_test, t_test)
    return out


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    draws = [one_draw(np.random.default_rng([seed, d])) for d in range(3 if quick else 50)]

    def median(key):
        return np.median([d[key] for d in draws], axis=0)

    train, test = median("train"), median("test")
    ridge_train, ridge_test = median("ridge_train"), median("ridge_test")
    size_test = {n: float(np.median([d["size"][n][1] for d in draws])) for n in SIZES}
    per_draw = [{"test_m3": d["test"][3], "test_m9": d["test"][9], "train_m9": d["train"][9],
                 "test_m9_n15": d["size"][15][1], "test_m9_n100": d["size"][100][1],
                 "test_m9_ridge18": d["ridge_test"][LOG_LAMBDAS.index(-18)]} for d in draws]
    numbers = {"train_rmse": train.tolist(), "test_rmse": test.tolist(),
               "m9_test_rmse_by_n": size_test, "ridge_train_rmse": ridge_train.tolist(),
               "ridge_test_rmse": ridge_test.tolist(), "log_lambdas": list(LOG_LAMBDAS),
               "draws": per_draw}
    figures = _figures(out_dir, draws[0], train, test, ridge_train, ridge_test, len(draws))

    def count(pred):
        return f"{sum(pred(d) for d in per_draw)}/{len(per_draw)} draws"

    best_lam = LOG_LAMBDAS[int(np.argmin(ridge_test))]
    claims = [
        ("M = 3 looks good", SOURCE,
         f"median test RMSE {test[3]:.3f} (noise std {NOISE}); lowest over M at M = "
         f"{int(np.argmin(test))}", test[3] < 1.5 * NOISE),
        ("M = 9 overfit", SOURCE,
         f"train RMSE {train[9]:.1e}, test RMSE {test[9]:.3g} > M = 3's in "
         f"{count(lambda d: d['test_m9'] > d['test_m3'])}",
         all(d["test_m9"] > d["test_m3"] for d in per_draw)),
        ("over-fitting becomes less severe as the size of the data set increases", SOURCE,
         "M = 9 test RMSE " + ", ".join(f"N = {n}: {v:.3g}" for n, v in size_test.items()),
         size_test[10] > size_test[15] > size_test[100]),
        ("Regularization: process to improve generalization, restrict the flexibility of the "
         "model to prevent overfitting", "math-eng-dl-ch4-mlp.txt, Overfitting: Regularization",
         f"M = 9, N = 10: median test RMSE {ridge_test[LOG_LAMBDAS.index(-18)]:.3g} at "
         f"ln lambda = -18 vs {test[9]:.3g} without, lower in "
         f"{count(lambda d: d['test_m9_ridge18'] < d['test_m9'])}; best ln lambda {best_lam}",
         sum(d["test_m9_ridge18"] < d["test_m9"] for d in per_draw) >= 0.8 * len(per_draw)),
    ]
    rows = [[m, train[m], test[m]] for m in DEGREES]
    ridge_rows = [[k, a, b] for k, a, b in zip(LOG_LAMBDAS, ridge_train, ridge_test)]
    sections = [
        ("Claims", claim_table(claims)),
        (f"E_RMS vs degree M (N = 10, median of {len(draws)} draws)",
         markdown_table(["M", "train RMSE", "test RMSE"], rows)),
        ("M = 9, N = 10 with the penalty lambda/2 ||w||^2",
         markdown_table(["ln lambda", "train RMSE", "test RMSE"], ridge_rows)),
    ]
    return finish(NAME, out_dir, quick, "Polynomial curve fitting (Bishop)",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, draw, train, test, ridge_train, ridge_test, n_draws):
    grid = np.linspace(0, 1, 400)
    truth = np.sin(2 * np.pi * grid)
    fits = os.path.join(out_dir, "polynomial_fits.png")
    x, t = draw["data"][10]
    panels = [(x, t, m, 0.0, f"M = {m}, N = 10") for m in (0, 1, 3, 9)]
    panels += [(*draw["data"][n], 9, 0.0, f"M = 9, N = {n}") for n in (15, 100)]
    panels += [(x, t, 9, float(np.exp(-18)), "M = 9, N = 10, ln $\\lambda$ = -18"),
               (x, t, 9, 1.0, "M = 9, N = 10, ln $\\lambda$ = 0")]
    with slide_figure(fits, 2, 4, "least-squares polynomials of degree M fitted to "
                      "sin(2$\\pi$x) + noise (std 0.3)", panel_size=(3.3, 2.9)) as axes:
        for ax, (xs, ts, m, lam, title) in zip(axes, panels):
            ax.plot(grid, truth, color="tab:green", label="sin(2$\\pi$x)")
            ax.plot(grid, predict(fit(xs, ts, m, lam), grid), color="tab:red", label="fit")
            ax.plot(xs, ts, "o", color="tab:blue", markersize=4, label="training data")
            ax.set(xlim=(0, 1), ylim=(-1.6, 1.6), xlabel="x", ylabel="t", title=title)
        legend_outside(axes[3])
    curves = os.path.join(out_dir, "polynomial_rmse.png")
    with slide_figure(curves, 1, 2, f"$E_{{RMS}}$, N = 10 training points, 100 test points "
                      f"(median of {n_draws} draws)") as axes:
        axes[0].plot(DEGREES, train, "o-", label="training")
        axes[0].plot(DEGREES, test, "s-", label="test")
        axes[0].set(xlabel="degree M", ylabel="$E_{RMS}$", title="unregularized",
                    ylim=(0, 1.0))
        axes[1].plot(LOG_LAMBDAS, ridge_train, "o-", label="training")
        axes[1].plot(LOG_LAMBDAS, ridge_test, "s-", label="test")
        axes[1].set(xlabel="ln $\\lambda$", ylabel="$E_{RMS}$", title="M = 9 with L2 penalty",
                    ylim=(0, 1.0))
        legend_outside(axes[1])
    return [fits, curves]
