"""Many small independent networks trained at once: the studies that need hundreds of fits
(cross-validation, bootstrap bias-variance, bagging) stack them along a leading axis.

`ParallelMLP(S, sizes)` holds S networks sizes[0] -> sizes[1] -> ... -> sizes[-1] as weight
stacks of shape (S, fan_in, fan_out); one batched matmul evaluates all of them. Each network
s sees only its own rows of the loss

    L = sum_s  sum_i c_si (f_s(x_i) - y_i)^2 / sum_i c_si

(c_si: how often sample i is in network s's training set — 0/1 for splits, counts for a
bootstrap resample), so its gradient is that of its own mean squared error. Adam's update is
elementwise, hence training the stack is the same computation as training the S networks one
after another (tests/studies/test_parallel_mlp.py checks this against nn.Sequential to 1e-10).
"""

from __future__ import annotations

import math

import numpy as np

from deepgrad import no_grad, optim
from deepgrad.nn import Module, Parameter
from deepgrad.nn import functional as F
from deepgrad.tensor import Tensor

ACTIVATIONS = {"tanh": F.tanh, "relu": F.relu, "softplus": F.softplus}


class ParallelMLP(Module):
    """S independent fully connected networks with `activation` between layers and a linear
    output; weights and biases drawn like nn.Linear's, U(-1/sqrt(fan_in), 1/sqrt(fan_in)).

    `hidden_units` (S integers, optional) keeps only the first hidden_units[s] units of the
    first hidden layer of network s (the others are multiplied by 0, get zero gradients and
    never move), so networks of different widths train in one stack.

    Shape: input (S, N, sizes[0]) or (N, sizes[0]) (shared by all), output (S, N, sizes[-1]).
    """

    def __init__(self, n_models: int, sizes, activation: str = "tanh", generator=None,
                 hidden_units=None):
        super().__init__()
        if activation not in ACTIVATIONS:
            raise ValueError(f"ParallelMLP: activation must be one of {sorted(ACTIVATIONS)}, "
                             f"got {activation!r}")
        rng = np.random.default_rng(generator)
        self.n_models, self.sizes, self.activation = n_models, tuple(sizes), activation
        self.n_layers = len(sizes) - 1
        self.unit_mask = None
        if hidden_units is not None:
            units = np.asarray(hidden_units).reshape(n_models, 1, 1)
            self.unit_mask = Tensor((np.arange(sizes[1]) < units).astype(np.float64))
        for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            bound = 1.0 / math.sqrt(fan_in)
            setattr(self, f"weight{k}", Parameter(
                rng.uniform(-bound, bound, (n_models, fan_in, fan_out))))
            setattr(self, f"bias{k}", Parameter(
                rng.uniform(-bound, bound, (n_models, 1, fan_out))))

    def layer(self, k: int):
        return getattr(self, f"weight{k}"), getattr(self, f"bias{k}")

    def forward(self, x):
        for k in range(self.n_layers):
            weight, bias = self.layer(k)
            x = x @ weight + bias
            if k < self.n_layers - 1:
                x = ACTIVATIONS[self.activation](x)
                if k == 0 and self.unit_mask is not None:
                    x = x * self.unit_mask
        return x

    def extra_repr(self) -> str:
        return f"{self.n_models} x {' -> '.join(map(str, self.sizes))}, {self.activation}"


def fit_parallel(model, x, y, counts, steps: int, lr: float = 0.01, l2: float = 0.0):
    """Full-batch Adam on each network's weighted mean squared error (+ l2 * sum of its squared
    weights); x (N, d) or (S, N, d), y (N, 1) or (S, N, 1), counts (S, N). Returns the final
    per-network training MSE, shape (S,)."""
    counts = np.asarray(counts, dtype=np.float64)
    weights = Tensor(counts[..., None] / counts.sum(axis=1)[:, None, None])
    xt, yt = Tensor(np.asarray(x, np.float64)), Tensor(np.asarray(y, np.float64))
    optimizer = optim.Adam(model.parameters(), lr=lr)
    params = [model.layer(k)[0] for k in range(model.n_layers)]
    for _ in range(steps):
        loss = (weights * (model(xt) - yt) ** 2).sum()
        if l2:
            loss = loss + l2 * F.l2_penalty(params)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with no_grad():
        per_sample = (model(xt).data - yt.data) ** 2
    return np.sum(weights.data * per_sample, axis=(1, 2))


def predict_parallel(model, x) -> np.ndarray:
    """Each network's prediction on the shared inputs x (N, d): shape (S, N)."""
    with no_grad():
        return model(Tensor(np.asarray(x, np.float64))).data[..., 0]
