"""backprop-examples — the notes' worked backpropagation examples, as tables.

Each example computes the gradients twice, in float64: with the formulas the notes derive by
hand (written out in NumPy below) and with deepgrad's reverse mode on the forward computation,
and prints both with their largest difference.

1. A ReLU layer with squared loss (backprop-tensor-derivatives-and-init.txt, "Backpropagation
   for a neural network layer"): h = ReLU(W x + b), l = |h - z|^2; dl/dh = 2 (h - z),
   dl/da = I(a > 0) * dl/dh, dl/dW = dl/da x^T, dl/db = dl/da, dl/dx = W^T dl/da.
2. Least squares (same notes, "Multivariate chain rule example"): e = |y - W x|^2 / 2,
   grad_W e = -(y - W x) x^T, and the minimizer over N examples, W = Y X^T (X X^T)^-1.
3. The "simple example in action" (math-eng-dl-ch4-mlp.txt): 3 inputs, 4 ReLU units, an
   identity output, J = (y_hat - y)^2 / 2; delta2 = y_hat - y, delta1 = (W2^T delta2) *
   1{z1 >= 0}, dJ/dW2 = delta2 a1^T, dJ/db2 = delta2, dJ/dW1 = delta1 x^T, dJ/db1 = delta1.
4. Batch-norm backward (dd2424-l4-k-layer-networks.txt, "Gradient Computations for a BN
   layer"; cis680-improving-learning.txt, "Batch Normalization"): dJ/dv_b, dJ/dmu_b and
   dJ/ds_i from dJ/ds_hat for a batch of n = 5 score vectors of dimension 3, plus dJ/dgamma and
   dJ/dbeta; against deepgrad's fused BatchNorm and its composed version.
5. Layer-norm backward (dd2424, "Layer Normalization"): the same three-term formula with the
   statistics taken per example over its d = 4 entries, against deepgrad's layer_norm.
"""

from __future__ import annotations

import os

import numpy as np

from deepgrad import ops
from deepgrad.nn import Parameter
from deepgrad.nn import functional as F
from deepgrad.studies._common import finish, markdown_table
from deepgrad.studies._figures import slide
from deepgrad.tensor import Tensor

NAME = "backprop-examples"
EPSILON = 1e-5


def _show(values):
    array = np.atleast_1d(np.asarray(values, dtype=np.float64)) + 0.0  # no "-0"
    flat = ", ".join(f"{v:.4g}" for v in array.ravel()[:6])
    return f"[{flat}{', ...' if array.size > 6 else ''}] {tuple(array.shape)}"


def relu_layer(rng):
    W, b = rng.normal(size=(2, 3)), rng.normal(size=2)
    x, z = rng.normal(size=3), rng.normal(size=2)
    Wt, bt, xt = Parameter(W), Parameter(b), Parameter(x)
    h = ops.relu(ops.matmul(Wt, xt) + bt)
    ((h - Tensor(z)) ** 2).sum().backward()
    a = W @ x + b
    dl_dh = 2 * (np.maximum(a, 0) - z)
    dl_da = (a > 0) * dl_dh
    return [("dl/dW = dl/da x^T", np.outer(dl_da, x), Wt.grad.data),
            ("dl/db = I(a > 0) * dl/dh", dl_da, bt.grad.data),
            ("dl/dx = W^T dl/da", W.T @ dl_da, xt.grad.data)]


def least_squares(rng):
    W, x, y = rng.normal(size=(2, 3)), rng.normal(size=3), rng.normal(size=2)
    Wt = Parameter(W)
    residual = Tensor(y) - ops.matmul(Wt, Tensor(x))
    ((residual ** 2).sum() * 0.5).backward()
    X, Y = rng.normal(size=(3, 20)), rng.normal(size=(2, 20))
    fitted = Parameter(Y @ X.T @ np.linalg.inv(X @ X.T))
    loss = ((Tensor(Y) - ops.matmul(fitted, Tensor(X))) ** 2).sum() * 0.5
    loss.backward()
    return [("grad_W e = -(y - W x) x^T", -np.outer(y - W @ x, x), Wt.grad.data),
            ("gradient at W = Y X^T (X X^T)^-1 (20 examples)", np.zeros((2, 3)),
             fitted.grad.data)]


def simple_example(rng):
    x, y = rng.normal(size=3), float(rng.normal())
    W1, b1 = rng.normal(size=(4, 3)), rng.normal(size=4)
    W2, b2 = rng.normal(size=(1, 4)), rng.normal(size=1)
    p = [Parameter(v) for v in (W1, b1, W2, b2)]
    a1t = ops.relu(ops.matmul(p[0], Tensor(x)) + p[1])
    y_hat_t = ops.matmul(p[2], a1t) + p[3]
    (((y_hat_t - y) ** 2).sum() * 0.5).backward()
    z1 = W1 @ x + b1
    a1 = np.maximum(z1, 0)
    delta2 = (W2 @ a1 + b2) - y
    delta1 = (W2.T @ delta2) * (z1 >= 0)
    return [("dJ/dW2 = delta2 a1^T", np.outer(delta2, a1), p[2].grad.data),
            ("dJ/db2 = delta2", delta2, p[3].grad.data),
            ("dJ/dW1 = delta1 x^T", np.outer(delta1, x), p[0].grad.data),
            ("dJ/db1 = delta1", delta1, p[1].grad.data)]


def normalization_backward(s, g):
    """The notes' three-term backward of s_hat = (s - mu) / sqrt(v + eps), statistics over
    axis 0 of `s`, given g = dJ/ds_hat: returns dJ/dv, dJ/dmu and dJ/ds."""
    n = len(s)
    mu, v = s.mean(axis=0), s.var(axis=0)
    dv = -0.5 * np.sum(g * (s - mu), axis=0) * (v + EPSILON) ** -1.5
    dmu = -np.sum(g, axis=0) / np.sqrt(v + EPSILON)  # + dv * dv/dmu, which is 0
    ds = g / np.sqrt(v + EPSILON) + dv * 2 * (s - mu) / n + dmu / n
    return dv, dmu, ds


def batch_norm(rng):
    s, gamma, beta = rng.normal(2.0, 3.0, (5, 3)), rng.normal(size=3), rng.normal(size=3)
    upstream = rng.normal(size=(5, 3))  # dJ/dy
    rows = []
    for label, apply in (("fused", lambda x, w, b: F.batch_norm(x, None, None, w, b,
                                                                training=True, eps=EPSILON)),
                         ("composed", lambda x, w, b: F.batch_norm_composed(x, w, b,
                                                                           eps=EPSILON))):
        st, wt, bt = Parameter(s), Parameter(gamma), Parameter(beta)
        (apply(st, wt, bt) * Tensor(upstream)).sum().backward()
        s_hat = (s - s.mean(axis=0)) / np.sqrt(s.var(axis=0) + EPSILON)
        _, _, ds = normalization_backward(s, upstream * gamma)
        rows += [(f"dJ/ds_i ({label} BatchNorm)", ds, st.grad.data),
                 (f"dJ/dgamma = sum dJ/dy_i s_hat_i ({label})", np.sum(upstream * s_hat, 0),
                  wt.grad.data),
                 (f"dJ/dbeta = sum dJ/dy_i ({label})", upstream.sum(axis=0), bt.grad.data)]
    dv, dmu, _ = normalization_backward(s, upstream * gamma)
    return rows, dv, dmu


def layer_norm(rng):
    s, gamma, beta = rng.normal(1.0, 2.0, (3, 4)), rng.normal(size=4), rng.normal(size=4)
    upstream = rng.normal(size=(3, 4))
    st, wt, bt = Parameter(s), Parameter(gamma), Parameter(beta)
    (F.layer_norm(st, 4, wt, bt, eps=EPSILON) * Tensor(upstream)).sum().backward()
    _, _, ds = normalization_backward(s.T, (upstream * gamma).T)  # per example: transpose
    s_hat = (s - s.mean(axis=1, keepdims=True)) / np.sqrt(s.var(axis=1, keepdims=True)
                                                          + EPSILON)
    return [("dJ/ds_i (LayerNorm, statistics per example)", ds.T, st.grad.data),
            ("dJ/dgamma (LayerNorm)", np.sum(upstream * s_hat, 0), wt.grad.data),
            ("dJ/dbeta (LayerNorm)", upstream.sum(axis=0), bt.grad.data)]


def run(out_dir, quick: bool = False, seed: int = 0):
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.default_rng(seed)
    examples = {"1. ReLU layer, squared loss": relu_layer(rng),
                "2. Least squares": least_squares(rng),
                "3. Simple example in action (3 inputs, 4 ReLU, 1 output)": simple_example(rng)}
    bn_rows, dv, dmu = batch_norm(rng)
    examples["4. Batch normalization (n = 5, dimension 3)"] = bn_rows
    examples["5. Layer normalization (3 examples, d = 4)"] = layer_norm(rng)
    numbers, sections = {"max_difference": {}}, [("The notes' claims", CLAIMS)]
    for title, rows in examples.items():
        table = []
        for label, formula, autodiff in rows:
            difference = float(np.max(np.abs(np.asarray(formula) - np.asarray(autodiff))))
            numbers["max_difference"][label] = difference
            table.append([label, _show(formula), _show(autodiff), difference])
        sections.append((title, markdown_table(["quantity", "notes' formula",
                                                "deepgrad autodiff", "max |difference|"],
                                               table, digits=3)))
    sections[-2] = (sections[-2][0], sections[-2][1] + "\n\nIntermediate gradients: "
                    f"dJ/dv_b = {_show(dv)}, dJ/dmu_b = {_show(dmu)}.")
    worst = max(numbers["max_difference"].values())
    numbers["worst"] = worst
    sections.append(("What deepgrad measured", (
        f"* Every hand-derived gradient of the notes equals deepgrad's reverse-mode gradient "
        f"to {worst:.2g} (float64 rounding), including the batch-norm and layer-norm "
        "backward formulas for the fused and the composed batch norm: **holds**.")))
    figure = _plot(numbers["max_difference"], os.path.join(out_dir, "backprop_examples.png"))
    return finish(NAME, out_dir, quick, "Worked backpropagation examples",
                  __doc__.split("\n\n", 1)[1], sections, [figure], numbers)


CLAIMS = """
backprop-tensor-derivatives-and-init.txt: for h = ReLU(W x + b) with squared loss,
"dl/dW = dl/dc x^T" ("This intuition turns out to be correct"); for least squares
"grad_W e = -(y - W x) x^T"; math-eng-dl-ch4-mlp.txt, "Algorithm: Back-propagation for
two-layer neural networks"; dd2424-l4-k-layer-networks.txt, "Putting everything together":
dJ/dv_b = -1/2 sum_i dJ/ds_hat_i V_b^(-3/2) diag(s_i - mu_b), dJ/dmu_b = -sum_i dJ/ds_hat_i
V_b^(-1/2), and dJ/ds_i from the three children of s_i.
"""


def _plot(differences, path):
    title = "Hand-derived gradients of the notes vs deepgrad's reverse mode (float64)"
    with slide(path, title=title) as axes:
        ax = axes[0][0]
        labels = list(differences)
        values = [max(differences[k], 1e-20) for k in labels]
        ax.barh(range(len(labels)), values, color="C0")
        ax.set_xscale("log")
        ax.set_xlim(1e-20, 1e-10)
        ax.axvline(np.finfo(np.float64).eps, color="C3", linestyle=":",
                   label="float64 eps = 2.2e-16")
        ax.set_yticks(range(len(labels)), [k.split(" = ")[0] for k in labels], fontsize=10)
        ax.invert_yaxis()
        ax.set_xlabel("max |formula - autodiff| (exact zero drawn at 1e-20)")
        ax.legend(loc="lower right")
    return path

