"""A training loop in which rank 1 raises an exception at step 20. The other ranks would train
for minutes; the job must end within seconds with a non-zero exit and a message."""

from __future__ import annotations

import numpy as np

import deepgrad
from deepgrad import distributed as dist
from deepgrad import nn, optim
from deepgrad.nn import functional as F
from deepgrad.tensor import Tensor


def main():
    dist.init()
    deepgrad.manual_seed(0)
    model = nn.Sequential(nn.Linear(32, 64), nn.ReLU(), nn.Linear(64, 4))
    optimizer = dist.DistributedOptimizer(optim.SGD(model.parameters(), lr=0.01))
    rng = np.random.default_rng(dist.rank())
    for step in range(1_000_000):
        if dist.rank() == 1 and step == 20:
            print(f"rank 1 fails at step {step}", flush=True)
            raise RuntimeError("simulated failure of rank 1")
        x = Tensor(rng.standard_normal((16, 32)).astype(np.float32))
        optimizer.zero_grad()
        F.cross_entropy(model(x), Tensor(rng.integers(0, 4, 16))).backward()
        optimizer.step()


if __name__ == "__main__":
    main()
