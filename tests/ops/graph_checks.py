"""Checks shared by the convolution tests: buffers reused between calls must never mix up two
graphs, and an input changed in place before backward must be caught. `conv_pool(x, w)` is a
convolution followed by 2x2 max pooling (the separate primitives or the fused one). Also the
random inputs of one case of their tables."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd import gradcheck


def conv_inputs(case, dtype, seed=0):
    """x, weight and bias (or None) for a case (n, c, h, w, out_channels, (kh, kw), stride,
    padding, dilation, bias, ...) of the convolution tests' tables."""
    n, c, h, w, o, (kh, kw), _, _, _, bias = case[:10]
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c, h, w)).astype(dtype)
    weight = rng.standard_normal((o, c, kh, kw)).astype(dtype)
    b = rng.standard_normal(o).astype(dtype) if bias else None
    return x, weight, b


def check_two_graphs_stay_exact(conv_pool):
    # two forward passes before one backward (gradient accumulation) and a retained graph
    # differentiated twice must give the same gradients as one combined backward
    rng = np.random.default_rng(7)
    w = dg.tensor(rng.standard_normal((3, 2, 3, 3)), requires_grad=True)
    xa, xb = (dg.tensor(rng.standard_normal((2, 2, 8, 8)), requires_grad=True)
              for _ in range(2))
    la = conv_pool(xa, w).sum()
    lb = (conv_pool(xb, w) ** 2).sum()
    (la + lb).backward(retain_graph=True)
    first = w.grad.data.copy(), xa.grad.data.copy(), xb.grad.data.copy()
    w.grad = xa.grad = xb.grad = None
    lb.backward(retain_graph=True)
    la.backward()
    np.testing.assert_allclose(w.grad.data, first[0], rtol=1e-12)
    np.testing.assert_array_equal(xa.grad.data, first[1])
    np.testing.assert_array_equal(xb.grad.data, first[2])
    assert gradcheck(lambda a, b, k: conv_pool(a, k).sum() + (conv_pool(b, k) ** 2).sum(),
                     [xa.detach().requires_grad_(), xb.detach().requires_grad_(),
                      w.detach().requires_grad_()])


def check_in_place_change_is_caught(conv_pool):
    # the input is saved for backward (the column matrix is built from it), so it is
    # version-checked
    rng = np.random.default_rng(8)
    x = dg.tensor(rng.standard_normal((1, 1, 6, 6)))
    w = dg.tensor(rng.standard_normal((1, 1, 3, 3)), requires_grad=True)
    y = conv_pool(x, w)
    x.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()
