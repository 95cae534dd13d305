"""input-normalization — unnormalized inputs stretch the cost and slow gradient descent.

Linear least squares J(w) = |X w - y|^2 / (2n) on n = 500 points with two features on very
different scales, x_1 ~ N(0, 1) and x_2 ~ N(0, 10^2), targets y = 3 x_1 + 0.2 x_2 + noise
(std 0.5), no bias. J's Hessian is X^T X / n, about diag(1, 100): its contour lines are
ellipses 10 times longer than wide and gradient descent, whose rate must stay below
2 / lambda_max, crawls along the long axis. Standardizing each feature (x_j - mu_j) / sigma_j
(mu_j, sigma_j from the training data, math-eng-dl-ch4-mlp.txt "Batch Normalization
Normalizing inputs to speed up learning") makes the Hessian about the identity and the
contours circles.

Both problems start at w = (-2, -2) and take gradient descent steps with lr = 1 / lambda_max
of their own Hessian (the fastest stable rate for the steep direction). Measured: the condition
number lambda_max / lambda_min, the steps until J - J* < 1e-6 (J_0 - J*), and the paths on the
contours (equal axes).
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import optim
from deepgrad.data import Standardize
from deepgrad.nn import Parameter
from deepgrad.studies._common import finish, loss_value, markdown_table
from deepgrad.studies._figures import legend_outside, slide
from deepgrad.tensor import Tensor

NAME = "input-normalization"
N, STEPS, TOLERANCE = 500, 3000, 1e-6
START = (-2.0, -2.0)


def make_data(seed):
    rng = np.random.default_rng(seed)
    x = np.stack([rng.normal(0, 1, N), rng.normal(0, 10, N)], axis=1)
    y = x @ np.array([3.0, 0.2]) + rng.normal(0, 0.5, N)
    return x, y


def cost(w, x, y):
    residual = x @ w - y
    return (residual * residual).mean() * 0.5


def descend(x, y, steps=STEPS):
    """Gradient descent from START with lr = 1 / lambda_max; returns the path, the excess
    costs J - J*, the Hessian's eigenvalues and the minimizer."""
    hessian = x.T @ x / len(x)
    eigenvalues = np.linalg.eigvalsh(hessian)
    w_star = np.linalg.solve(x.T @ x, x.T @ y)
    j_star = 0.5 * np.mean((x @ w_star - y) ** 2)
    w = Parameter(np.array(START))
    optimizer = optim.SGD([w], lr=1.0 / eigenvalues[-1])
    xt, yt = Tensor(x), Tensor(y)
    path, excess = [w.data.copy()], []
    for _ in range(steps):
        loss = cost(w, xt, yt)
        excess.append(loss_value(loss) - j_star)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        path.append(w.data.copy())
    return np.array(path), np.array(excess), eigenvalues, w_star


def steps_to_tolerance(excess):
    below = np.nonzero(excess < TOLERANCE * excess[0])[0]
    return int(below[0]) if len(below) else None


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    x, y = make_data(seed)
    problems = {"raw inputs": x, "standardized inputs": Standardize().fit(x).transform(x)}
    numbers, rows, results = {}, [], {}
    for label, inputs in problems.items():
        path, excess, eigenvalues, w_star = descend(inputs, y)
        steps = steps_to_tolerance(excess)
        numbers[label] = {"condition_number": float(eigenvalues[-1] / eigenvalues[0]),
                          "eigenvalues": eigenvalues.tolist(), "steps": steps,
                          "w_star": w_star.tolist()}
        results[label] = (inputs, path, excess, w_star)
        rows.append([label, eigenvalues[0], eigenvalues[-1],
                     eigenvalues[-1] / eigenvalues[0], 1 / eigenvalues[-1],
                     steps if steps is not None else f"> {STEPS}"])
    raw, standard = numbers["raw inputs"], numbers["standardized inputs"]
    numbers["slowdown"] = (raw["steps"] or STEPS) / max(standard["steps"] or STEPS, 1)
    figures = [_plot_contours(results, y, os.path.join(out_dir, "input_norm_contours.png")),
               _plot_convergence(results, os.path.join(out_dir, "input_norm_convergence.png"))]
    table = markdown_table(["inputs", "lambda_min", "lambda_max", "condition number",
                            "lr = 1/lambda_max", "steps to J - J* < 1e-6 (J_0 - J*)"], rows)
    sections = [("The notes' claims", CLAIMS), ("Gradient descent on the two problems", table),
                ("What deepgrad measured", _verdict(numbers))]
    return finish(NAME, out_dir, quick, "Why normalize the inputs", __doc__.split("\n\n", 1)[1],
                  sections, figures, numbers)


CLAIMS = """
math-eng-dl-ch4-mlp.txt, "Why normalized the inputs data": "If inputs x_1 and x_2 are not
normalized -> cost function considered as *unnormalized* -> slower convergence" (the slides'
elongated "Unnormalized" vs round "Normalized" contours).
"""


def _verdict(n):
    raw, standard = n["raw inputs"], n["standardized inputs"]
    return (f"* Condition number {raw['condition_number']:.3g} raw vs "
            f"{standard['condition_number']:.3g} standardized; gradient descent needs "
            f"{raw['steps']} vs {standard['steps']} steps to the same relative accuracy "
            f"({n['slowdown']:.3g}x slower on raw inputs: with lr = 1/lambda_max the error "
            f"along the flat direction shrinks by 1 - 1/kappa = "
            f"{1 - 1 / raw['condition_number']:.3f} per step, vs "
            f"{abs(1 - 1 / standard['condition_number']):.3f} standardized) — slower "
            "convergence without normalization: " + ("**holds**." if n["slowdown"] > 5 else "**does not hold**."))


def _plot_contours(results, y, path):
    title = "Cost contours and gradient-descent paths (lr = 1/lambda_max), equal axes"
    with slide(path, 1, 2, title=title) as axes:
        for col, (label, (inputs, points, _, w_star)) in enumerate(results.items()):
            ax = axes[0][col]
            low = np.minimum(points.min(axis=0), w_star) - 0.5
            high = np.maximum(points.max(axis=0), w_star) + 0.5
            span = max(high - low)
            centre = (low + high) / 2
            grid = np.linspace(-span / 2, span / 2, 200)
            w1, w2 = np.meshgrid(centre[0] + grid, centre[1] + grid)
            weights = np.stack([w1.ravel(), w2.ravel()], axis=1)
            costs = 0.5 * np.mean((weights @ inputs.T - y) ** 2, axis=1).reshape(w1.shape)
            levels = np.geomspace(costs.min() + 1e-3, costs.max(), 14)
            ax.contour(w1, w2, costs, levels=levels, colors="0.6", linewidths=0.8)
            shown = points[:60]
            ax.plot(shown[:, 0], shown[:, 1], "o-", color="C3", markersize=3,
                    label="first 60 steps")
            ax.plot(*w_star, "k*", markersize=12, label="minimum w*")
            ax.set_aspect("equal")
            ax.set_xlabel("w1 (weight of x1)")
            ax.set_ylabel("w2 (weight of x2)")
            ax.set_title(label)
        legend_outside(axes[0][1])
    return path


def _plot_convergence(results, path):
    title = "Least squares with two features: excess cost per gradient-descent step"
    with slide(path, title=title) as axes:
        ax = axes[0][0]
        for k, (label, (_, _, excess, _)) in enumerate(results.items()):
            ax.semilogy(np.maximum(excess, 1e-300), color=f"C{k}", label=label)
        ax.axhline(TOLERANCE * results["raw inputs"][2][0], color="0.5", linestyle=":",
                   label="tolerance 1e-6 (J_0 - J*)")
        ax.set_xlabel("gradient-descent step")
        ax.set_ylabel("J(w) - J(w*)")
        ax.set_xscale("symlog", linthresh=10)
        legend_outside(ax)
    return path
