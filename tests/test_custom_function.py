"""PyTorch-style custom functions: static forward/backward on Tensors with a context object."""

import numpy as np
import pytest

import deepgrad as dg
from deepgrad.autograd import Function, gradcheck, jacobian
from torch_gate import torch  # gated per test: tests without PyTorch still run


class ScaledCube(Function):
    """y = k x^3 with a non-tensor argument k."""

    @staticmethod
    def forward(ctx, x, k):
        ctx.save_for_backward(x)
        ctx.k = k
        return k * x ** 3

    @staticmethod
    def backward(ctx, grad_output):
        (x,) = ctx.saved_tensors
        assert ctx.needs_input_grad == (True, False)
        return grad_output * 3 * ctx.k * x ** 2, None

    @staticmethod
    def jvp(ctx, x_dot, k_dot):
        (x,) = ctx.saved_tensors
        return x_dot * 3 * ctx.k * x ** 2


class SumAndProduct(Function):
    """Two outputs, a + b and a * b, and a non-differentiable third (the argmax of a)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        index = a.argmax()
        ctx.mark_non_differentiable(index)
        return a + b, a * b, index

    @staticmethod
    def backward(ctx, grad_sum, grad_product, grad_index):
        a, b = ctx.saved_tensors
        return grad_sum + grad_product * b, grad_sum + grad_product * a


def test_gradcheck_and_forward_mode_of_a_custom_function():
    x = dg.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    assert gradcheck(lambda t: ScaledCube.apply(t, 2.5), [x])
    forward = jacobian(lambda t: ScaledCube.apply(t, 2.5), x, mode="forward").numpy()
    np.testing.assert_allclose(forward, np.diag(7.5 * x.numpy() ** 2), rtol=1e-12)


def test_several_outputs_get_their_own_gradients():
    a = dg.tensor([1.0, 3.0, 2.0], dtype="float64", requires_grad=True)
    b = dg.tensor([0.5, -1.0, 4.0], dtype="float64", requires_grad=True)
    total, product, index = SumAndProduct.apply(a, b)
    assert index.item() == 1 and not index.requires_grad
    (total.sum() + (product * 2).sum()).backward()
    np.testing.assert_allclose(a.grad.numpy(), 1 + 2 * b.numpy())
    np.testing.assert_allclose(b.grad.numpy(), 1 + 2 * a.numpy())
    assert gradcheck(lambda p, q: SumAndProduct.apply(p, q)[1], [a.detach().requires_grad_(),
                                                                 b.detach().requires_grad_()])


def test_matches_pytorch_on_the_same_function():
    x_np = np.array([0.3, -1.2, 2.0], dtype=np.float32)

    def run(lib):
        class Cube(lib.autograd.Function):
            @staticmethod
            def forward(ctx, x):
                ctx.save_for_backward(x)
                return x ** 3

            @staticmethod
            def backward(ctx, grad_output):
                (x,) = ctx.saved_tensors
                return 3 * x ** 2 * grad_output

        x = lib.tensor(x_np, requires_grad=True)
        y = Cube.apply(x * 2)
        y.sum().backward()
        return y.detach().numpy(), x.grad.numpy()

    for ours, theirs in zip(run(dg), run(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


def test_errors_of_custom_functions():
    x = dg.tensor([1.0, 2.0], requires_grad=True)
    y = ScaledCube.apply(x, 2.0)
    with dg.no_grad():
        x.mul_(2)  # changes a tensor saved for backward
    with pytest.raises(RuntimeError, match="modified in place after it was saved"):
        y.sum().backward()

    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad_output):
            return grad_output

    a, b = dg.ones(2, requires_grad=True), dg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="returned 1 gradient\\(s\\), but forward took 2"):
        TooFew.apply(a, b).sum().backward()

    class NotATensor(Function):
        @staticmethod
        def forward(ctx, a):
            return 3.0

    with pytest.raises(TypeError, match="must return a Tensor"):
        NotATensor.apply(a)
    assert not ScaledCube.apply(dg.ones(2), 1.0).requires_grad  # no input needs a gradient
