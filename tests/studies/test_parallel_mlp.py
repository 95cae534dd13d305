"""The stacked networks of the studies train exactly like separate nn.Sequential networks."""

import numpy as np
import pytest

from deepgrad import nn, no_grad, optim
from deepgrad.studies._parallel import ParallelMLP, fit_parallel, predict_parallel
from deepgrad.tensor import Tensor


def test_parallel_mlp_matches_separate_networks():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (30, 1))
    y = np.sin(3 * x) + 0.1 * rng.standard_normal((30, 1))
    counts = rng.integers(0, 3, (3, 30))
    model = ParallelMLP(3, (1, 8, 1), generator=1)
    initial = [p.data.copy() for p in model.parameters()]
    mse = fit_parallel(model, x, y, counts, steps=100, lr=0.01)
    stacked = predict_parallel(model, x)
    for s in range(3):
        net = nn.Sequential(nn.Linear(1, 8), nn.Tanh(), nn.Linear(8, 1)).double()
        net[0].weight.data[...] = initial[0][s].T
        net[0].bias.data[...] = initial[1][s, 0]
        net[2].weight.data[...] = initial[2][s].T
        net[2].bias.data[...] = initial[3][s, 0]
        optimizer = optim.Adam(net.parameters(), lr=0.01)
        weights = Tensor(counts[s][:, None] / counts[s].sum())
        for _ in range(100):
            loss = (weights * (net(Tensor(x)) - Tensor(y)) ** 2).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        with no_grad():
            alone = net(Tensor(x)).data[:, 0]
        np.testing.assert_allclose(stacked[s], alone, atol=1e-10)
        expected = np.sum(counts[s] * (alone - y[:, 0]) ** 2) / counts[s].sum()
        assert mse[s] == pytest.approx(expected, rel=1e-8)


def test_parallel_mlp_rejects_unknown_activation():
    with pytest.raises(ValueError, match="ParallelMLP: activation must be one of"):
        ParallelMLP(2, (1, 4, 1), activation="swishy")
