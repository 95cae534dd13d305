"""The one switch for the speed tricks (deepgrad.ops.fast, DEEPGRAD_FAST=0): the plain path and
the fast path run the same models and agree within a documented bound (docs/conv.md)."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn, optim
from deepgrad.models import VGG, LeNet
from deepgrad.nn import functional as F
from deepgrad.ops import blas, fast, workspace


def _train(make, dtype, fuse, steps):
    model = make().to(dtype)
    if fuse:
        nn.fuse(model)
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    rng = np.random.default_rng(0)
    losses = []
    for _ in range(steps):
        x = dg.tensor(rng.random((16, 1, 28, 28)).astype(dtype))
        labels = dg.tensor(rng.integers(0, 10, 16))
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x), labels)
        loss.backward()
        losses.append(loss.item())
        if not losses[1:]:  # the first step's gradients: later ones also carry the drift
            grads = [p.grad.data.copy() for p in model.parameters()]
        optimizer.step()
    return losses, grads, [p.data.copy() for p in model.parameters()]


def _relative(a, b):
    """max |a - b| / max |b| in units of the dtype's machine epsilon."""
    return np.abs(a - b).max() / np.abs(b).max() / np.finfo(b.dtype).eps


MODELS = {"lenet": lambda: LeNet(generator=0), "vgg": lambda: VGG(widths=(4, 8), generator=0)}


@pytest.mark.parametrize("name,fuse", [("lenet", False), ("lenet", True), ("vgg", False)])
@pytest.mark.parametrize("dtype,steps,bound", [("float64", 3, 128), ("float32", 1, 128)])
def test_plain_and_fast_paths_agree_within_the_documented_bound(name, fuse, dtype, steps,
                                                                bound):
    # The bound (docs/conv.md): per parameter, the gradient after one step and (float64) the
    # parameters after three momentum steps differ by at most 128 eps of their largest
    # element: the tricks only reorder sums. (In float32, over several steps, a ReLU or max
    # pooling decision near a tie may flip and trajectories part, as any reordering does.)
    assert fast.enabled()
    fast_run = _train(MODELS[name], dtype, fuse, steps)
    with fast.disabled():
        assert not fast.enabled() and blas.source().startswith("NumPy (DEEPGRAD_FAST=0")
        plain_run = _train(MODELS[name], dtype, fuse, steps)
    assert fast.enabled()
    np.testing.assert_allclose(fast_run[0], plain_run[0], rtol=16 * np.finfo(dtype).eps)
    for fast_grad, plain_grad in zip(fast_run[1], plain_run[1]):
        assert _relative(fast_grad, plain_grad) <= bound
    for fast_param, plain_param in zip(fast_run[2], plain_run[2]):
        assert _relative(fast_param, plain_param) <= bound


def test_plain_path_uses_fresh_memory_and_separate_primitives():
    x = dg.tensor(np.random.default_rng(0).random((2, 1, 28, 28)).astype(np.float32))
    model = nn.fuse(LeNet(generator=0))
    with fast.disabled():
        a = workspace.scratch("test.fast", (4,), np.float32)
        b = workspace.scratch("test.fast", (4,), np.float32)
        assert not np.shares_memory(a, b)
        assert workspace.constant(("test.fast",), lambda: np.ones(2)) is not \
            workspace.constant(("test.fast",), lambda: np.ones(2))
        h = model.features(x)
        assert type(h._node).__name__ == "MaxPool2d"  # the fused pair runs as two primitives
        conv = model.conv1(x)
        assert conv.data.flags.c_contiguous  # no layout contract: plain C-order arrays
    assert type(model.features(x)._node).__name__ == "Conv2dMaxPool2d"
    workspace.release()
