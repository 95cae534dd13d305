"""One training step (forward, backward, SGD update) of a 784-256-256-10 ReLU MLP at batch 128
in float32: deepgrad vs hand-written NumPy vs PyTorch, measured in the same run."""

from __future__ import annotations

import numpy as np

import deepgrad as dg
from deepgrad import nn
from deepgrad.nn import functional as F
import statistics

from timing import import_torch, paired_ratios, report, sample_rounds

SIZES = (784, 256, 256, 10)
BATCH = 128
LR = 0.01


def _data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=BATCH)
    return x, y


def _weights(seed=1):
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(n_in)
        params.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, (n_out,)).astype(np.float32))
    return params


def deepgrad_step():
    x, y = _data()
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 10))
    for p, w in zip(model.parameters(), _weights()):
        p.data[...] = w
    optimizer = dg.optim.SGD(model.parameters(), lr=LR)
    xt, yt = dg.tensor(x), dg.tensor(y)

    def step():
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        optimizer.step()
        return loss

    return step, model


def numpy_step():
    x, y = _data()
    params = _weights()
    onehot = np.eye(SIZES[-1], dtype=np.float32)[y]

    def step():
        w1, b1, w2, b2, w3, b3 = params
        h1 = np.maximum(x @ w1.T + b1, 0)
        h2 = np.maximum(h1 @ w2.T + b2, 0)
        z = h2 @ w3.T + b3
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        p = e / e.sum(axis=1, keepdims=True)
        loss = -np.mean(np.log(p[np.arange(BATCH), y]))
        dz = (p - onehot) / BATCH
        gw3, gb3 = dz.T @ h2, dz.sum(0)
        dh2 = (dz @ w3) * (h2 > 0)
        gw2, gb2 = dh2.T @ h1, dh2.sum(0)
        dh1 = (dh2 @ w2) * (h1 > 0)
        gw1, gb1 = dh1.T @ x, dh1.sum(0)
        for w, g in zip(params, (gw1, gb1, gw2, gb2, gw3, gb3)):
            w -= LR * g
        return loss

    return step


def torch_step(torch):
    x, y = _data()
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 256), torch.nn.ReLU(),
                                torch.nn.Linear(256, 10))
    with torch.no_grad():
        for p, w in zip(model.parameters(), _weights()):
            p.copy_(torch.from_numpy(w))
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(xt), yt)
        loss.backward()
        optimizer.step()
        return loss

    return step


def check_same_trajectory(torch):
    """The three implementations compute the same losses for 5 steps (a sanity check)."""
    ours, _ = deepgrad_step()
    mine = numpy_step()
    a = [float(ours().item()) for _ in range(5)]
    b = [float(mine()) for _ in range(5)]
    np.testing.assert_allclose(a, b, rtol=1e-4)
    if torch is not None:
        theirs = torch_step(torch)
        c = [float(theirs().item()) for _ in range(5)]
        np.testing.assert_allclose(a, c, rtol=1e-4)


def main():
    torch = import_torch()
    check_same_trajectory(torch)
    step, _ = deepgrad_step()
    functions = {"numpy (hand-written)": numpy_step(), "deepgrad": step}
    if torch is not None:
        functions["pytorch"] = torch_step(torch)
    samples = sample_rounds(functions, rounds=18, number=30)
    rows = [(name, statistics.median(values)) for name, values in samples.items()]
    numbers = report("MLP 784-256-256-10, batch 128, one SGD step (float32)", rows,
                     baseline="numpy (hand-written)")
    numbers["ratio_numpy"] = paired_ratios(samples, "deepgrad", "numpy (hand-written)")
    print(f"  deepgrad / numpy, median of 18 paired rounds: {numbers['ratio_numpy']:.2f}x")
    if torch is not None:
        numbers["ratio_torch"] = paired_ratios(samples, "deepgrad", "pytorch")
        print(f"  deepgrad / pytorch, median of 18 paired rounds: {numbers['ratio_torch']:.2f}x")
    return numbers


if __name__ == "__main__":
    main()
