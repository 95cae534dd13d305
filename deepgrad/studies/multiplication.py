"""multiplication — four hidden units multiply two numbers (Lin and Tegmark 2016).

math-eng-dl-ch4-mlp.txt, "Continuous multiplication gate": "A neural network with only four
hidden units can model multiplication of two numbers arbitrarily well", with
mu = 1 / (4 lambda^2 f''(0)), y_hat -> x1 x2 when lambda -> 0. The gate is

    y_hat = mu [f(lambda (x1 + x2)) + f(-lambda (x1 + x2)) - f(lambda (x1 - x2))
                - f(-lambda (x1 - x2))],

since f(a) + f(-a) = 2 f(0) + f''(0) a^2 + O(a^4) and (x1 + x2)^2 - (x1 - x2)^2 = 4 x1 x2. The
study builds it as an ordinary deepgrad network, Linear(2, 4) -> activation -> Linear(4, 1)
with the weights set by hand, for softplus (f''(0) = 1/4) and GELU (f''(0) = 2 phi(0) =
0.798), and measures the largest error on a 101 x 101 grid of [-1, 1]^2 against lambda: it
falls like lambda^2 until, for very small lambda, float64 rounding in the four nearly
cancelling terms (amplified by mu ~ 1/lambda^2) takes over. tanh and the logistic sigmoid have
f''(0) = 0, so for them the construction does not exist.

Then a 2 -> 4 softplus -> 1 network is *trained* (full-batch Adam on 1,000 random points,
float64, best of three initializations) to learn the product from data.

Last, the notes' parameter counts ("Regression example", "Why Neural network ?") are computed
and the 40-hidden-unit network is built to count its parameters.
"""

from __future__ import annotations

import math
import os

import numpy as np

from deepgrad import nn, no_grad, optim
from deepgrad.nn import functional as F
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._slides import claim_table, slide_figure
from deepgrad.tensor import Tensor

NAME = "multiplication"
SOURCE = "math-eng-dl-ch4-mlp.txt"
SECOND_DERIVATIVE_AT_0 = {"softplus": 0.25, "gelu": 2.0 / math.sqrt(2.0 * math.pi)}
ACTIVATIONS = {"softplus": nn.Softplus, "gelu": nn.GELU}
LAMBDAS = np.logspace(-5, 0.5, 23)


def gate(activation: str, lam: float):
    """The hand-set 2 -> 4 -> 1 network computing x1 x2 approximately."""
    mu = 1.0 / (4.0 * lam ** 2 * SECOND_DERIVATIVE_AT_0[activation])
    net = nn.Sequential(nn.Linear(2, 4, bias=False, dtype="float64"), ACTIVATIONS[activation](),
                        nn.Linear(4, 1, bias=False, dtype="float64"))
    net[0].weight.data[...] = lam * np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], np.float64)
    net[2].weight.data[...] = mu * np.array([[1, 1, -1, -1]], np.float64)
    return net


def grid_points(n: int = 101):
    a, b = np.meshgrid(np.linspace(-1, 1, n), np.linspace(-1, 1, n))
    return np.stack([a.ravel(), b.ravel()], axis=1)


def max_error(net, points) -> float:
    with no_grad():
        out = net(Tensor(points)).data[:, 0]
    return float(np.max(np.abs(out - points[:, 0] * points[:, 1])))


def train_gate(seed: int, steps: int):
    """Best of three 2 -> 4 softplus -> 1 networks fitted to x1 x2 on 1,000 random points;
    returns (net, training losses, test RMSE)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (1000, 2))
    x_test = rng.uniform(-1, 1, (2000, 2))
    y, y_test = x[:, :1] * x[:, 1:], x_test[:, :1] * x_test[:, 1:]
    best = None
    for restart in range(3):
        net = nn.Sequential(nn.Linear(2, 4, generator=seed + 10 * restart), nn.Softplus(),
                            nn.Linear(4, 1, generator=seed + 10 * restart + 1)).double()
        optimizer = optim.Adam(net.parameters(), lr=0.02)
        losses = []
        for _ in range(steps):
            loss = F.mse_loss(net(Tensor(x)), Tensor(y))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(float(loss.data))
        with no_grad():
            test_rmse = float(np.sqrt(np.mean((net(Tensor(x_test)).data - y_test) ** 2)))
        if best is None or test_rmse < best[2]:
            best = (net, losses, test_rmse)
    return best


def parameter_counts():
    """The notes' counts for x in R^1000 (rows: model, parameters, the notes' figure)."""
    d = 1000
    pairs = d * (d + 1) // 2                      # x_i x_j with i <= j
    units_all = 4 * pairs
    ten = nn.Sequential(nn.Linear(d, 40, bias=False), nn.Softplus(),
                        nn.Linear(40, 1, bias=False))
    # the notes' "1000^1000 / 1000!" for a degree-1000 polynomial, as a power of ten
    log10_poly = d * math.log10(d) - math.lgamma(d + 1) / math.log(10)
    return [
        ("quadratic regression, all x_i x_j", pairs, "~ 1000 x 1000 / 2 = 500,000"),
        ("network for all products (4 units each)", d * units_all + units_all,
         "4 x 500,000 = 2e6 hidden units, 1000 x 2e6 + 2e6 ~ 2 billion"),
        ("quadratic regression, 10 relevant products", pairs, "still ~ 500,000"),
        ("network for 10 products (built: num_parameters)", ten.num_parameters(),
         "1000 x 40 + 40 = 40,040"),
        ("linear regression on all degree-1000 monomials", f"10^{log10_poly:.1f}",
         "~ 1000^1000 / 1000!"),
    ]


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    points = grid_points(41 if quick else 101)
    errors = {a: [max_error(gate(a, float(lam)), points) for lam in LAMBDAS]
              for a in ACTIVATIONS}
    net, losses, test_rmse = train_gate(seed, 800 if quick else 5000)
    counts = parameter_counts()
    numbers = {"lambdas": LAMBDAS.tolist(), "max_error": errors, "trained_test_rmse": test_rmse,
               "trained_final_loss": losses[-1], "parameter_counts": {r[0]: r[1] for r in counts}}
    # slope of log error vs log lambda where the O(lambda^2) term dominates
    fit_range = (LAMBDAS >= 1e-2) & (LAMBDAS <= 1e-1)
    slopes = {a: float(np.polyfit(np.log10(LAMBDAS[fit_range]),
                                  np.log10(np.asarray(e)[fit_range]), 1)[0])
              for a, e in errors.items()}
    best = {a: (float(LAMBDAS[int(np.argmin(e))]), float(min(e))) for a, e in errors.items()}
    numbers["slope"], numbers["best"] = slopes, best
    figures = _figures(out_dir, errors, net, losses, test_rmse)
    claims = [
        ("With mu = 1/(4 lambda^2 f''(0)), y_hat -> x1 x2 when lambda -> 0",
         f"{SOURCE}, Continuous multiplication gate",
         "; ".join(f"{a}: max error ~ lambda^{slopes[a]:.2f}, smallest {best[a][1]:.1e} at "
                   f"lambda = {best[a][0]:.1e}" for a in ACTIVATIONS)
         + " (below that lambda, float64 cancellation grows as 1/lambda^2)",
         all(1.8 < s < 2.2 for s in slopes.values()) and
         all(b[1] < 1e-5 for b in best.values())),
        ("A neural network with only four hidden units can model multiplication of two numbers",
         f"{SOURCE}, Continuous multiplication gate",
         f"a trained 2-4-1 softplus net: test RMSE {test_rmse:.2g} (x1 x2 has RMS 0.33)",
         test_rmse < 0.05),
        ("for 10 products with NN -> 4 x 10 hidden units -> 40,040 parameters",
         f"{SOURCE}, Why Neural network ?",
         f"built Linear(1000, 40) -> Softplus -> Linear(40, 1) without biases: "
         f"{counts[3][1]:,} parameters", counts[3][1] == 40_040),
    ]
    rows = [[lam] + [errors[a][k] for a in ACTIVATIONS] for k, lam in enumerate(LAMBDAS)]
    sections = [
        ("Claims", claim_table(claims)),
        ("Largest error on the grid vs lambda",
         markdown_table(["lambda"] + [f"max error ({a})" for a in ACTIVATIONS], rows, 3)),
        ("Parameter counts for x in R^1000",
         markdown_table(["model", "parameters (computed)", "the notes"],
                        [[a, f"{b:,}" if isinstance(b, int) else b, c] for a, b, c in counts])),
    ]
    return finish(NAME, out_dir, quick, "The continuous multiplication gate",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, errors, net, losses, test_rmse):
    path = os.path.join(out_dir, "multiplication.png")
    with slide_figure(path, 1, 3, "x1 x2 from four hidden units: the hand-set gate and a "
                      "trained 2-4-1 softplus network", panel_size=(4.8, 3.9)) as axes:
        ax = axes[0]
        for a, e in errors.items():
            ax.loglog(LAMBDAS, e, "o-", markersize=4, label=f"gate with {a}")
        ax.loglog(LAMBDAS, 0.5 * LAMBDAS ** 2, "k--", linewidth=1, label="slope 2")
        ax.set(xlabel="$\\lambda$", ylabel="max |$\\hat y$ - $x_1 x_2$| on [-1, 1]$^2$",
               title="hand-set gate, $\\mu = 1/(4\\lambda^2 f''(0))$")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False, ncol=1)
        a, b = np.meshgrid(np.linspace(-1, 1, 81), np.linspace(-1, 1, 81))
        with no_grad():
            out = net(Tensor(np.stack([a.ravel(), b.ravel()], 1))).data.reshape(a.shape)
        image = axes[1].contourf(a, b, out - a * b, levels=21, cmap="RdBu_r")
        axes[1].figure.colorbar(image, ax=axes[1], label="$\\hat y - x_1 x_2$")
        axes[1].set(xlabel="$x_1$", ylabel="$x_2$", aspect="equal",
                    title=f"trained network's error (test RMSE {test_rmse:.2g})")
        axes[2].semilogy(np.arange(1, len(losses) + 1), losses)
        axes[2].set(xlabel="Adam step", ylabel="training mean squared error",
                    title="training the 2-4-1 network")
    return [path]
