"""Small models and data shared by the training tests."""

import numpy as np
import pytest

from deepgrad import nn, optim
from deepgrad.data import DataLoader, TensorDataset
from deepgrad.training import Callback, Trainer


def make_mlp(sizes=(4, 16, 3), generator=0, dropout=0.0):
    gen = np.random.default_rng(generator) if isinstance(generator, int) else generator
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, generator=gen))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
            if dropout:
                layers.append(nn.Dropout(dropout, generator=gen))
    return nn.Sequential(*layers)


def blobs(n=120, features=4, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    centers = rng.normal(0, 3, size=(classes, features))
    x = (centers[y] + rng.normal(size=(n, features))).astype(np.float32)
    return x, y.astype(np.int64)


class ScriptedLogs(Callback):
    """Overwrites logs[key] at each epoch end with a scripted value and snapshots the weights
    (placed before the callback under test, which then sees the scripted curve)."""

    def __init__(self, values, key="val_loss"):
        self.values, self.key, self.snapshots = list(values), key, []

    def on_epoch_end(self, epoch, logs=None):
        logs[self.key] = self.values[epoch]
        self.snapshots.append(self.model.state_dict())


@pytest.fixture
def small_problem():
    x, y = blobs()
    model = make_mlp()
    trainer = Trainer(model, "cross_entropy", optim.SGD(model.parameters(), lr=0.05))
    loader = DataLoader(TensorDataset(x, y), batch_size=16, shuffle=True, generator=1)
    return trainer, loader, x, y
