"""weight-decay — the (1 - 2 lambda eta) shrinkage, L1 / L2 / elastic net, and input noise as L2.

mit6036-ch7-neural-networks.txt, 7.8.1 "Methods related to ridge regression": gradient descent
on J(W) = sum_i L(NN(x_i; W), y_i) + lambda ||W||^2 takes the step

    W_t = W_{t-1} (1 - 2 lambda eta) - eta grad_W L(W_{t-1}),

"first decaying W_{t-1} by a factor of (1 - 2 lambda eta) and then taking a gradient step", and
"the same effect can be achieved by perturbing the x values of the training data by adding a
small amount of zero-mean normally distributed noise before each gradient computation".
math-eng-dl-ch4-mlp.txt, "Overfitting: Regularization": Lasso (L1), Ridge (L2) and elastic net.

1. Step by step: a 5 -> 16 tanh -> 1 network (float64) trained by full-batch SGD (eta = 0.001)
   on the sum of squared errors over 40 points + lambda sum W^2 (lambda = 0.01; deepgrad's
   `l2_penalty`, no 1/2; biases not penalized). Every step is
   checked against the formula with the data gradient computed separately; the same run with
   `SGD(weight_decay=2 lambda)` instead of the penalty gives the same weights; with the data
   term removed (eta = 0.05, lambda = 0.5 and 2) the weights shrink as (1 - 2 lambda eta)^t.
2. L1 vs L2 vs elastic net: a 30 -> 16 tanh -> 1 network on 100 points whose target depends on
   5 of the 30 inputs, full-batch SGD on the mean squared error + penalty (lambda = 0.01,
   elastic net with l1_ratio 0.5); histograms of the first layer's 480 weights, and sparsity =
   share of weights with |w| < 1e-3 (L1's subgradient steps leave weights hovering within
   eta lambda of 0 rather than exactly at 0).
3. Input noise vs L2: for a linear model, E over noise n ~ N(0, s^2 I) of (w.(x + n) + b - y)^2
   equals (w.x + b - y)^2 + s^2 ||w||^2, so training on noisy inputs minimizes the mean squared
   error + s^2 ||w||^2 (Bishop 1995). A linear model with a GaussianNoise(s) input layer is
   trained by SGD (each step sees 20 noisy copies of the 50 points; the last half of the
   iterates is averaged) and compared with the closed-form ridge solution for lambda = s^2.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import nn, no_grad, optim
from deepgrad.nn import functional as F
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._slides import claim_table, legend_outside, slide_figure
from deepgrad.tensor import Tensor

NAME = "weight-decay"
MIT = "mit6036-ch7-neural-networks.txt, 7.8.1 Methods related to ridge regression"
ENG = "math-eng-dl-ch4-mlp.txt, Overfitting: Regularization"
ETA, SHRINK_LAMBDAS = 0.05, (0.5, 2.0)
DATA_ETA = 1e-3   # with the summed loss of 40 points
PENALTIES = {"none": None, "L2": "l2", "L1": "l1", "elastic net": "elastic"}
NOISE_STDS = (0.0, 0.3, 0.6, 1.0)


def mlp(inputs, seed):
    return nn.Sequential(nn.Linear(inputs, 16, generator=seed), nn.Tanh(),
                         nn.Linear(16, 1, generator=seed + 1)).double()


def weights(net):
    return [net[0].weight, net[2].weight]


def shrinkage(seed: int, steps: int, lam: float = 0.01):
    """Part 1: the largest deviation of an SGD step from the formula, the largest difference
    between the penalty run and the weight_decay run, and the data-free decay."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((40, 5))
    y = np.sin(x[:, :1]) + 0.1 * rng.standard_normal((40, 1))
    xt, yt = Tensor(x), Tensor(y)
    penalized, decayed = mlp(5, seed), mlp(5, seed)
    eta = DATA_ETA
    opt_p = optim.SGD(penalized.parameters(), lr=eta)
    opt_d = optim.SGD([{"params": weights(decayed), "weight_decay": 2 * lam},
                       {"params": [decayed[0].bias, decayed[2].bias]}], lr=eta)
    formula_error, decay_vs_penalty, norms = 0.0, 0.0, []
    for _ in range(steps):
        before = [w.data.copy() for w in weights(penalized)]
        data_loss = F.mse_loss(penalized(xt), yt, reduction="sum")
        opt_p.zero_grad()
        data_loss.backward()
        data_grads = [w.grad.data.copy() for w in weights(penalized)]
        opt_p.zero_grad()
        (F.mse_loss(penalized(xt), yt, reduction="sum") + lam * F.l2_penalty(
            weights(penalized))).backward()
        opt_p.step()
        for w, w0, g in zip(weights(penalized), before, data_grads):
            expected = w0 * (1 - 2 * lam * eta) - eta * g
            formula_error = max(formula_error, float(np.max(np.abs(w.data - expected))))
        loss_d = F.mse_loss(decayed(xt), yt, reduction="sum")
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        decay_vs_penalty = max(decay_vs_penalty, max(
            float(np.max(np.abs(a.data - b.data)))
            for a, b in zip(penalized.parameters(), decayed.parameters())))
        norms.append(float(np.sqrt(sum(np.sum(w.data ** 2) for w in weights(penalized)))))
    pure = {}
    for pure_lam in SHRINK_LAMBDAS:
        net = mlp(5, seed)
        optimizer = optim.SGD(weights(net), lr=ETA)
        start = float(np.sqrt(sum(np.sum(w.data ** 2) for w in weights(net))))
        trace = [start]
        for _ in range(40):
            optimizer.zero_grad()
            (pure_lam * F.l2_penalty(weights(net))).backward()
            optimizer.step()
            trace.append(float(np.sqrt(sum(np.sum(w.data ** 2) for w in weights(net)))))
        predicted = start * (1 - 2 * pure_lam * ETA) ** np.arange(41)
        pure[pure_lam] = (np.array(trace), predicted)
    return formula_error, decay_vs_penalty, pure


def penalty_term(kind, net, lam):
    if kind is None:
        return None
    if kind == "elastic":
        return lam * F.elastic_net(weights(net), l1_ratio=0.5)
    return lam * (F.l1_penalty if kind == "l1" else F.l2_penalty)(weights(net))


def sparsity_runs(seed: int, steps: int, lam: float = 0.01):
    """Part 2: {name: (first-layer weights, sparsity, irrelevant-input sparsity, test MSE)}."""
    rng = np.random.default_rng(seed + 1)
    w_true = np.zeros((30, 1))
    w_true[:5, 0] = rng.uniform(1, 2, 5) * rng.choice([-1, 1], 5)
    x, x_test = rng.standard_normal((100, 30)), rng.standard_normal((1000, 30))
    y = np.tanh(x @ w_true / 3) + 0.05 * rng.standard_normal((100, 1))
    y_test = np.tanh(x_test @ w_true / 3)
    out = {}
    for name, kind in PENALTIES.items():
        net = mlp(30, seed)
        optimizer = optim.SGD(net.parameters(), lr=0.1)
        for step in range(steps):
            loss = F.mse_loss(net(Tensor(x)), Tensor(y))
            extra = penalty_term(kind, net, lam)
            if extra is not None:
                loss = loss + extra
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        w = net[0].weight.data.copy()                       # (16, 30)
        with no_grad():
            test_mse = float(np.mean((net(Tensor(x_test)).data - y_test) ** 2))
        out[name] = (w, float(np.mean(np.abs(w) < 1e-3)),
                     float(np.mean(np.abs(w[:, 5:]) < 1e-3)), test_mse)
    return out


def noise_vs_ridge(seed: int, steps: int):
    """Part 3: {s: (weights learnt with input noise s, ridge weights for lambda = s^2)}."""
    rng = np.random.default_rng(seed + 2)
    mixing = rng.standard_normal((8, 8)) / np.sqrt(8)
    x = rng.standard_normal((50, 8)) @ mixing + 0.5 * rng.standard_normal((50, 8))
    y = x @ rng.standard_normal((8, 1)) + 0.5 * rng.standard_normal((50, 1))
    x_c, y_c = x - x.mean(axis=0), y - y.mean()
    copies = 20
    out = {}
    for std in NOISE_STDS:
        ridge = np.linalg.solve(x_c.T @ x_c / len(x) + std ** 2 * np.eye(8),
                                x_c.T @ y_c / len(x))
        net = nn.Sequential(nn.GaussianNoise(std, generator=seed + 3),
                            nn.Linear(8, 1, generator=seed)).double()
        optimizer = optim.SGD(net.parameters(), lr=0.1)
        xt, yt = Tensor(np.tile(x, (copies, 1))), Tensor(np.tile(y, (copies, 1)))
        average, count = np.zeros((1, 8)), 0
        for step in range(steps):
            loss = F.mse_loss(net(xt), yt)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            if step >= steps // 2:
                average += net[1].weight.data
                count += 1
        out[std] = ((average / count).ravel(), ridge.ravel())
    return out


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    formula_error, decay_vs_penalty, pure = shrinkage(seed, 50 if quick else 300)
    sparse = sparsity_runs(seed, 500 if quick else 6000)
    noise = noise_vs_ridge(seed, 400 if quick else 6000)
    pure_error = max(float(np.max(np.abs(a - b) / b)) for a, b in pure.values())
    ols = noise[0.0][1]
    noise_rel = {s: float(np.linalg.norm(a - b) / np.linalg.norm(ols - b))
                 for s, (a, b) in noise.items() if s > 0}
    numbers = {"formula_error": formula_error, "decay_vs_penalty": decay_vs_penalty,
               "pure_decay_relative_error": pure_error,
               "sparsity": {k: v[1] for k, v in sparse.items()},
               "irrelevant_sparsity": {k: v[2] for k, v in sparse.items()},
               "test_mse": {k: v[3] for k, v in sparse.items()},
               "noise_vs_ridge": noise_rel,
               "noise_norms": {s: float(np.linalg.norm(a)) for s, (a, _) in noise.items()},
               "ridge_norms": {s: float(np.linalg.norm(b)) for s, (_, b) in noise.items()}}
    figures = _figures(out_dir, pure, sparse, noise)
    sp = numbers["sparsity"]
    claims = [
        ("W_t = W_{t-1}(1 - 2 lambda eta) - eta grad L: first decaying W_{t-1}, then a "
         "gradient step", MIT,
         f"largest deviation of a deepgrad SGD step from the formula {formula_error:.1e}; "
         f"penalty run vs SGD(weight_decay = 2 lambda) {decay_vs_penalty:.1e}; data-free "
         f"decay vs (1 - 2 lambda eta)^t: relative error {pure_error:.1e}",
         formula_error < 1e-12 and decay_vs_penalty < 1e-12 and pure_error < 1e-12),
        ("Lasso penalty: L1 norm; Ridge penalty: L2 norm; elastic net: combine L1 and L2",
         ENG, f"share of first-layer weights with |w| < 1e-3: none {sp['none']:.2f}, L2 "
         f"{sp['L2']:.2f}, L1 {sp['L1']:.2f}, elastic net {sp['elastic net']:.2f}",
         sp["L1"] > 0.5 and sp["elastic net"] > sp["L2"] and sp["L1"] > sp["L2"]),
        ("the same effect can be achieved by perturbing the x values ... with zero-mean "
         "normally distributed noise", MIT,
         "||w_noise - w_ridge|| / ||w_ols - w_ridge|| for lambda = s^2: " + ", ".join(
             f"s = {s}: {r:.3f}" for s, r in noise_rel.items()),
         all(r < 0.1 for r in noise_rel.values())),
    ]
    sparse_rows = [[k, v[1], v[2], v[3], float(np.abs(v[0]).max())] for k, v in sparse.items()]
    noise_rows = [[s, s ** 2, numbers["noise_norms"][s], numbers["ridge_norms"][s],
                   noise_rel.get(s, 0.0)] for s in NOISE_STDS]
    sections = [
        ("Claims", claim_table(claims)),
        ("L1 / L2 / elastic net (lambda = 0.01 on the mean squared error)",
         markdown_table(["penalty", "sparsity (abs w < 1e-3)", "sparsity, 25 irrelevant inputs",
                         "test MSE", "largest abs w"], sparse_rows)),
        ("Input noise of std s vs ridge with lambda = s^2",
         markdown_table(["s", "lambda = s^2", "norm of w, noise", "norm of w, ridge",
                         "distance to ridge / distance OLS-ridge"], noise_rows)),
    ]
    return finish(NAME, out_dir, quick, "Weight decay, L1 / L2 / elastic net, input noise",
                  __doc__.split("\n\n", 1)[1], sections, figures, numbers)


def _figures(out_dir, pure, sparse, noise):
    shrink = os.path.join(out_dir, "weight_decay_shrinkage.png")
    with slide_figure(shrink, 1, 2, "the decay factor of L2 regularization, and input noise as "
                      "an L2 penalty",
                      panel_size=(5.0, 3.9)) as axes:
        ax = axes[0]
        for lam, (trace, predicted) in pure.items():
            ax.semilogy(trace, "o", markersize=4, label=f"deepgrad SGD, $\\lambda$ = {lam}")
            ax.semilogy(predicted, "-", label=f"$(1 - 2\\lambda\\eta)^t$, $\\lambda$ = {lam}")
        ax.set(xlabel="step t", ylabel="||W_t|| (data term removed)",
               title=f"pure decay, $\\eta$ = {ETA}: $W_t = (1 - 2\\lambda\\eta) W_{{t-1}}$")
        legend_outside(ax, "below", ncol=2)
        ax = axes[1]
        stds = list(noise)
        ax.plot([s ** 2 for s in stds], [np.linalg.norm(noise[s][1]) for s in stds], "-",
                label="ridge, $\\lambda = s^2$ (closed form)")
        ax.plot([s ** 2 for s in stds], [np.linalg.norm(noise[s][0]) for s in stds], "o",
                markersize=8, label="SGD on inputs + N(0, $s^2$) noise")
        ax.set(xlabel="$s^2$ (input noise variance) = $\\lambda$", ylabel="||w||",
               title="input noise acts as an L2 penalty (linear model)")
        legend_outside(ax, "below", ncol=1)
    hist = os.path.join(out_dir, "weight_decay_histograms.png")
    with slide_figure(hist, 1, len(sparse), "first-layer weights of a 30-16-1 tanh network "
                      "(5 relevant inputs), penalty weight $\\lambda$ = 0.01",
                      panel_size=(3.4, 3.3)) as axes:
        edges = np.linspace(-0.6, 0.6, 61)
        for ax, (name, (w, share, _, _)) in zip(axes, sparse.items()):
            ax.hist(np.clip(w.ravel(), -0.6, 0.6), bins=edges, color="tab:blue")
            ax.set(xlabel="weight value", ylabel="count", yscale="log",
                   title=f"{name}: {100 * share:.0f}% |w| < 1e-3")
    return [shrink, hist]
