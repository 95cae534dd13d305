"""Where PyTorch code used to get a silently different answer, deepgrad now gives PyTorch's:
0-d leaf gradients, max/min(dim), unbiased var/std, any/all, dtype promotion, // and %."""

import numpy as np
import pytest

import deepgrad as dg
from torch_gate import torch  # gated per test: tests without PyTorch still run


# --- 0-d leaves ---------------------------------------------------------------------------
def test_gradient_of_a_0d_leaf_is_a_0d_ndarray():
    a = dg.tensor(2.0, requires_grad=True)
    (a * a * 3.0).backward()
    assert type(a.grad.data) is np.ndarray and a.grad.shape == ()
    assert np.asarray(a.grad) == 12.0  # used to raise: __array__ returned a NumPy scalar
    assert a.grad.item() == 12.0
    b = dg.tensor(1.5, requires_grad=True)
    assert type(dg.autograd.grad(b * b, b)[0].data) is np.ndarray


@pytest.mark.parametrize("make", [
    lambda x: x.argmax(), lambda x: x.argmin(), lambda x: x.sum(), lambda x: x.mean(),
    lambda x: x.max(), lambda x: x.var(), lambda x: x.prod(), lambda x: x.any(),
    lambda x: x.all(), lambda x: x.norm(), lambda x: x.logsumexp(0)])
def test_full_reductions_hold_ndarrays(make):
    y = make(dg.tensor([[1.0, 3.0, 2.0]]).reshape(3))
    assert type(y.data) is np.ndarray and type(y.numpy()) is np.ndarray and y.shape == ()


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_updates_a_scalar_parameter_as_pytorch(nesterov):
    def run(lib):
        w = lib.nn.Parameter(lib.tensor(1.0))
        opt = lib.optim.SGD([w], lr=0.01, momentum=0.9, nesterov=nesterov)
        for _ in range(5):
            opt.zero_grad()
            (w * w).backward()
            opt.step()
        return w.item()

    ours = run(dg)
    assert ours == pytest.approx(run(torch), rel=1e-6)
    assert ours != pytest.approx(1 - 0.09, abs=1e-3)  # not a momentum-less trajectory


# --- max / min over a dim -------------------------------------------------------------------
def test_max_over_a_dim_returns_values_and_indices_as_pytorch():
    x = np.array([[1.0, 5.0, 5.0], [7.0, -1.0, 7.0]], dtype=np.float32)
    for op in ("max", "min"):
        for keepdim in (False, True):
            ours = getattr(dg.tensor(x, requires_grad=True), op)(1, keepdim=keepdim)
            theirs = getattr(torch.tensor(x), op)(1, keepdim=keepdim)
            np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())
            np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
            values, indices = ours  # unpacks as a pair
            assert indices.dtype == np.int64
    _, predicted = dg.tensor(x).max(1)  # the classic accuracy idiom
    np.testing.assert_array_equal(predicted.numpy(), [1, 0])


def test_max_over_a_dim_sends_the_gradient_to_the_index_as_pytorch():
    x = np.array([[1.0, 5.0, 5.0], [7.0, -1.0, 7.0]])
    ours = dg.tensor(x, requires_grad=True)
    theirs = torch.tensor(x, requires_grad=True)
    (ours.max(dim=1).values * dg.tensor([1.0, 2.0], dtype="float64")).sum().backward()
    (theirs.max(dim=1).values * torch.tensor([1.0, 2.0], dtype=torch.float64)).sum().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    # the full reduction splits the gradient among ties (as torch.max(x) and amax)
    ours.grad, theirs.grad = None, None
    ours.max().backward()
    theirs.max().backward()
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())


def test_max_with_a_tensor_argument_is_the_elementwise_maximum():
    a, b = dg.tensor([1.0, 4.0]), dg.tensor([3.0, 2.0])
    np.testing.assert_array_equal(dg.max(a, b).numpy(), [3.0, 4.0])
    np.testing.assert_array_equal(a.min(b).numpy(), [1.0, 2.0])


# --- var / std ------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [{}, {"dim": 1}, {"dim": 0, "keepdim": True},
                                    {"unbiased": False}, {"correction": 0, "dim": 1},
                                    {"correction": 2}, {"unbiased": True, "dim": (0, 1)}])
def test_var_and_std_default_to_the_unbiased_estimate_as_pytorch(kwargs):
    x = np.random.default_rng(0).standard_normal((4, 5))
    for op in ("var", "std"):
        ours = getattr(dg.tensor(x), op)(**kwargs).numpy()
        theirs = getattr(torch.tensor(x), op)(**kwargs).numpy()
        np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_var_positional_unbiased_flag_and_numpy_ddof():
    x = dg.tensor([1.0, 2.0, 4.0])
    assert x.var(False).item() == pytest.approx(np.var([1, 2, 4]))
    assert x.var(ddof=0).item() == pytest.approx(np.var([1, 2, 4]))
    assert x.var().item() == pytest.approx(np.var([1, 2, 4], ddof=1))
    with pytest.raises(TypeError, match="only one of unbiased=, correction= and ddof="):
        x.var(unbiased=True, correction=0)


# --- any / all ------------------------------------------------------------------------------
def test_any_and_all_return_boolean_tensors_and_take_dim():
    x = np.array([[0, 1, 0], [0, 0, 0]])
    for op in ("any", "all"):
        for kwargs in ({}, {"dim": 1}, {"dim": 0, "keepdim": True}):
            ours = getattr(dg.tensor(x), op)(**kwargs)
            theirs = getattr(torch.tensor(x), op)(**kwargs)
            assert isinstance(ours, dg.Tensor) and ours.dtype == np.bool_
            np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert bool(dg.tensor(x).any()) and not dg.tensor(x).all()


# --- dtype promotion ------------------------------------------------------------------------
PROMOTION = [
    ("float32 ** int64 tensor", lambda t: t.tensor([[1.5], [2.0]]) ** t.tensor([1, 2, 3])),
    ("int / int", lambda t: t.tensor([1, 2, 3]) / t.tensor([2, 2, 2])),
    ("int / python int", lambda t: t.tensor([1, 2, 3]) / 2),
    ("maximum(int, 1.2)", lambda t: t.maximum(t.tensor([1, 2]), t.tensor(1.2))),
    ("int * 1.2", lambda t: t.tensor([1, 2]) * 1.2),
    ("0.7 ** int", lambda t: 0.7 ** t.tensor([1, 2, 3])),
    ("int ** 2", lambda t: t.tensor([1, 2, 3]) ** 2),
    ("int ** -1.0", lambda t: t.tensor([1, 2, 4]) ** -1.0),
    ("2 ** int", lambda t: 2 ** t.tensor([1, 2, 3])),
    ("int32 + 5", lambda t: t.tensor([1, 2], dtype=t.int32) + 5),
    ("int32 + int64 0-d", lambda t: t.tensor([1, 2], dtype=t.int32) + t.tensor(7)),
    ("int32 + float64 0-d", lambda t: t.tensor([1, 2], dtype=t.int32) + t.tensor(1.5,
                                                                              dtype=t.float64)),
    ("float32 + float64 0-d", lambda t: t.ones(2) + t.tensor(1.0, dtype=t.float64)),
    ("float64 + float32 0-d", lambda t: t.ones(2, dtype=t.float64) + t.tensor(1.0)),
    ("float32 + float64", lambda t: t.ones(2) + t.ones(2, dtype=t.float64)),
    ("bool + bool", lambda t: t.tensor([True, False]) + True),
    ("bool + int", lambda t: t.tensor([True, False]) + 1),
    ("bool * 2.5", lambda t: t.tensor([True, False]) * 2.5),
    ("sum of bool", lambda t: t.tensor([True, True, False]).sum()),
    ("exp of int", lambda t: t.exp(t.tensor([0, 1]))),
    ("sqrt of int", lambda t: t.sqrt(t.tensor([4, 9]))),
    ("where(int, float)", lambda t: t.where(t.tensor([True, False]), t.tensor([1, 2]),
                                            t.tensor([0.5, 0.5]))),
    ("cat int and float", lambda t: t.cat([t.tensor([1, 2]), t.tensor([0.5])])),
    ("float // float", lambda t: t.tensor([5.5, -3.5]) // 2),
    ("int // int", lambda t: t.tensor([5, -3]) // 2),
    ("int // negative", lambda t: t.tensor([5, -3]) // t.tensor([-2, 2])),
    ("float % float", lambda t: t.tensor([5.5, -3.5]) % 2),
    ("int % int", lambda t: t.tensor([5, -3]) % 3),
    ("int % negative", lambda t: t.tensor([5, -3]) % t.tensor([-3, -2])),
    ("7 % float", lambda t: 7 % t.tensor([2.5, 4.0])),
    ("div floor", lambda t: t.div(t.tensor([7.0, -7.0]), 2, rounding_mode="floor")),
    ("div trunc", lambda t: t.div(t.tensor([7.0, -7.0]), 2, rounding_mode="trunc")),
    ("int div trunc", lambda t: t.div(t.tensor([7, -7]), 2, rounding_mode="trunc")),
]


@pytest.mark.parametrize("name,fn", PROMOTION, ids=[row[0] for row in PROMOTION])
def test_result_dtype_and_values_follow_pytorch(name, fn):
    ours, theirs = fn(dg), fn(torch)
    assert ours.dtype == np.dtype(str(theirs.dtype).replace("torch.", "")), name
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)


def test_remainder_and_floor_divide_gradients_as_pytorch():
    a_np, b_np = np.array([5.5, -3.5, 2.25]), np.array([2.0, 2.0, -1.5])
    a, b = dg.tensor(a_np, requires_grad=True), dg.tensor(b_np, requires_grad=True)
    at, bt = torch.tensor(a_np, requires_grad=True), torch.tensor(b_np, requires_grad=True)
    (a % b).sum().backward()
    (at % bt).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), at.grad.numpy())
    np.testing.assert_array_equal(b.grad.numpy(), bt.grad.numpy())
    a.grad = None
    (a // 2.0).sum().backward()  # piecewise constant: zero gradient (PyTorch raises here)
    np.testing.assert_array_equal(a.grad.numpy(), 0.0)
