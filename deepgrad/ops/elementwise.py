"""Elementwise primitives. Each class: formula in the docstring, then forward, backward, jvp.

Conventions at kinks and ties (the same in every rule, and the same as PyTorch):
  relu'(0) = 0,  |x|'(0) = 0,  clip passes the gradient where min <= x <= max (inclusive),
  maximum/minimum split the gradient equally between the two inputs where they are equal.
"""

from __future__ import annotations

import numpy as np

from deepgrad.engine import Function
from deepgrad.ops.special import erf as _erf

_TWO_OVER_SQRT_PI = 2.0 / np.sqrt(np.pi)


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1"""

    symbol = "+"

    def forward(ctx, a, b):
        return a + b

    def backward(ctx, grad_out):
        return grad_out, grad_out

    def jvp(ctx, a_dot, b_dot):
        return a_dot + b_dot


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1"""

    symbol = "-"

    def forward(ctx, a, b):
        return a - b

    def backward(ctx, grad_out):
        return grad_out, (-grad_out if ctx.needs_input_grad[1] else None)

    def jvp(ctx, a_dot, b_dot):
        return a_dot - b_dot


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a"""

    symbol = "*"

    def forward(ctx, a, b):
        ctx.save(a, b)
        return a * b

    def backward(ctx, grad_out):
        a, b = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        return (grad_out * b if need_a else None), (grad_out * a if need_b else None)

    def jvp(ctx, a_dot, b_dot):
        a, b = ctx.saved
        return a_dot * b + a * b_dot


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b^2 = -y/b"""

    symbol = "/"

    def forward(ctx, a, b):
        y = a / b
        ctx.save(b, y)
        return y

    def backward(ctx, grad_out):
        b, y = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_out / b if need_a else None
        return grad_a, (-grad_out * y / b if need_b else None)

    def jvp(ctx, a_dot, b_dot):
        b, y = ctx.saved
        return (a_dot - y * b_dot) / b


class Neg(Function):
    """y = -x;  dy/dx = -1"""

    symbol = "neg"

    def forward(ctx, x):
        return -x

    def backward(ctx, grad_out):
        return -grad_out

    def jvp(ctx, x_dot):
        return -x_dot


class PowScalar(Function):
    """y = x^p for a constant p;  dy/dx = p x^(p-1)"""

    symbol = "pow"

    def forward(ctx, x, p):
        ctx.p = p
        ctx.save(x)
        with np.errstate(divide="ignore"):  # 0 ** -1 = inf, as PyTorch
            return x ** p

    def _derivative(ctx):
        (x,) = ctx.saved
        p = ctx.p
        if p == 2:
            return 2 * x
        if p == 0:  # x^0 = 1 everywhere, also at x = 0 (as PyTorch)
            return np.zeros_like(x)
        with np.errstate(divide="ignore", invalid="ignore"):  # inf/nan at 0, as PyTorch
            return p * x ** (p - 1)

    def backward(ctx, grad_out):
        return grad_out * ctx._derivative()

    def jvp(ctx, x_dot):
        return x_dot * ctx._derivative()


class Pow(Function):
    """y = a^b for tensors;  dy/da = b a^(b-1),  dy/db = y ln(a)  (taken as 0 where a = 0)"""

    symbol = "pow"

    def forward(ctx, a, b):
        y = a ** b
        ctx.save(a, b, y)
        return y

    def _log_a(ctx):
        a, _, _ = ctx.saved
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(a > 0, np.log(np.where(a > 0, a, 1)), 0)

    def backward(ctx, grad_out):
        a, b, y = ctx.saved
        need_a, need_b = ctx.needs_input_grad
        grad_a = grad_out * b * a ** (b - 1) if need_a else None
        grad_b = grad_out * y * ctx._log_a() if need_b else None
        return grad_a, grad_b

    def jvp(ctx, a_dot, b_dot):
        a, b, y = ctx.saved
        return a_dot * b * a ** (b - 1) + b_dot * y * ctx._log_a()


class Exp(Function):
    """y = e^x;  dy/dx = y"""

    def forward(ctx, x):
        y = np.exp(x)
        ctx.save(y)
        return y

    def backward(ctx, grad_out):
        (y,) = ctx.saved
        return grad_out * y

    def jvp(ctx, x_dot):
        (y,) = ctx.saved
        return x_dot * y


class Log(Function):
    """y = ln x;  dy/dx = 1/x"""

    symbol = "ln"

    def forward(ctx, x):
        ctx.save(x)
        return np.log(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return grad_out / x

    def jvp(ctx, x_dot):
        (x,) = ctx.saved
        return x_dot / x


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 y)"""

    def forward(ctx, x):
        y = np.sqrt(x)
        ctx.save(y)
        return y

    def backward(ctx, grad_out):
        (y,) = ctx.saved
        return grad_out / (2 * y)

    def jvp(ctx, x_dot):
        (y,) = ctx.saved
        return x_dot / (2 * y)


class Abs(Function):
    """y = |x|;  dy/dx = sign(x)  (0 at x = 0)"""

    def forward(ctx, x):
        ctx.save(x)
        return np.abs(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return grad_out * np.sign(x)

    def jvp(ctx, x_dot):
        (x,) = ctx.saved
        return x_dot * np.sign(x)


class Sin(Function):
    """y = sin x;  dy/dx = cos x"""

    def forward(ctx, x):
        ctx.save(x)
        return np.sin(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return grad_out * np.cos(x)

    def jvp(ctx, x_dot):
        (x,) = ctx.saved
        return x_dot * np.cos(x)


class Cos(Function):
    """y = cos x;  dy/dx = -sin x"""

    def forward(ctx, x):
        ctx.save(x)
        return np.cos(x)

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return -grad_out * np.sin(x)

    def jvp(ctx, x_dot):
        (x,) = ctx.saved
        return -x_dot * np.sin(x)


class Tanh(Function):
    """y = tanh(x);  dy/dx = 1 - y^2"""

    def forward(ctx, x):
        y = np.tanh(x)
        ctx.save(y)
        return y

    def backward(ctx, grad_out):
        (y,) = ctx.saved
        return grad_out * (1 - y * y)

    def jvp(ctx, x_dot):
        (y,) = ctx.saved
        return x_dot * (1 - y * y)


class Sigmoid(Function):
    """y = 1 / (1 + e^-x);  dy/dx = y (1 - y)"""

    symbol = "σ"

    def forward(ctx, x):
        # exp of a non-positive number only: no overflow for large |x|
        z = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype, copy=False)
        ctx.save(y)
        return y

    def backward(ctx, grad_out):
        (y,) = ctx.saved
        return grad_out * y * (1 - y)

    def jvp(ctx, x_dot):
        (y,) = ctx.saved
        return x_dot * y * (1 - y)


class Erf(Function):
    """y = erf(x);  dy/dx = 2/sqrt(pi) e^(-x^2)"""

    def forward(ctx, x):
        ctx.save(x)
        return _erf(x)

    def _derivative(ctx):
        (x,) = ctx.saved
        with np.errstate(over="ignore"):  # x^2 = inf for |x| > ~1e19 (float32): e^-inf = 0
            return (_TWO_OVER_SQRT_PI * np.exp(-x * x)).astype(x.dtype, copy=False)

    def backward(ctx, grad_out):
        return grad_out * ctx._derivative()

    def jvp(ctx, x_dot):
        return x_dot * ctx._derivative()


class Relu(Function):
    """y = max(x, 0);  dy/dx = 1 if x > 0 else 0"""

    symbol = "relu"

    def forward(ctx, x):
        y = np.maximum(x, 0)
        ctx.save(y)
        return y

    def backward(ctx, grad_out):
        (y,) = ctx.saved
        return grad_out * (y > 0)

    def jvp(ctx, x_dot):
        (y,) = ctx.saved
        return x_dot * (y > 0)


class Clip(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo <= x <= hi, else 0"""

    def forward(ctx, x, lo, hi):
        ctx.save(x)
        ctx.lo, ctx.hi = lo, hi
        return np.clip(x, lo, hi)

    def _mask(ctx):
        (x,) = ctx.saved
        mask = np.ones(x.shape, dtype=bool)
        if ctx.lo is not None:
            mask &= x >= ctx.lo
        if ctx.hi is not None:
            mask &= x <= ctx.hi
        return mask

    def backward(ctx, grad_out):
        return grad_out * ctx._mask()

    def jvp(ctx, x_dot):
        return x_dot * ctx._mask()


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, split equally on ties"""

    def forward(ctx, a, b):
        ctx.save(a, b)
        return np.maximum(a, b)

    def _weights(ctx):
        a, b = ctx.saved
        w = (a > b) + 0.5 * (a == b)
        return w.astype(np.result_type(a, b), copy=False)

    def backward(ctx, grad_out):
        w = ctx._weights()
        return grad_out * w, grad_out * (1 - w)

    def jvp(ctx, a_dot, b_dot):
        w = ctx._weights()
        return a_dot * w + b_dot * (1 - w)


class Minimum(Maximum):
    """y = min(a, b);  the gradient goes to the smaller input, split equally on ties"""

    def forward(ctx, a, b):
        ctx.save(a, b)
        return np.minimum(a, b)

    def _weights(ctx):
        a, b = ctx.saved
        w = (a < b) + 0.5 * (a == b)
        return w.astype(np.result_type(a, b), copy=False)


class Where(Function):
    """y = a where condition else b;  the gradient goes to the chosen input"""

    def forward(ctx, a, b, condition):
        ctx.condition = condition
        return np.where(condition, a, b)

    def backward(ctx, grad_out):
        zero = np.zeros((), dtype=grad_out.dtype)
        c = ctx.condition
        need_a, need_b = ctx.needs_input_grad
        return (np.where(c, grad_out, zero) if need_a else None,
                np.where(c, zero, grad_out) if need_b else None)

    def jvp(ctx, a_dot, b_dot):
        return np.where(ctx.condition, a_dot, b_dot)


class Cast(Function):
    """y = x converted to another float dtype;  dy/dx = 1"""

    def forward(ctx, x, dtype):
        ctx.in_dtype = x.dtype
        return x.astype(dtype)

    def backward(ctx, grad_out):
        return grad_out.astype(ctx.in_dtype)

    def jvp(ctx, x_dot):
        return x_dot


class Remainder(Function):
    """y = a - floor(a / b) b  (the sign of b, as Python's %);  dy/da = 1, dy/db = -floor(a/b)"""

    symbol = "%"

    def forward(ctx, a, b):
        ctx.save(a, b)
        return np.mod(a, b)

    def _quotient(ctx):
        a, b = ctx.saved
        return np.floor_divide(a, b)

    def backward(ctx, grad_out):
        need_a, need_b = ctx.needs_input_grad
        return grad_out if need_a else None, (-grad_out * ctx._quotient() if need_b else None)

    def jvp(ctx, a_dot, b_dot):
        return a_dot - b_dot * ctx._quotient()


class Piecewise(Function):
    """y = f(x) for a piecewise-constant f (floor, ceil, round, trunc, sign, a // b);
    dy/dx = 0 wherever the derivative exists"""

    def forward(ctx, *xs, fn):
        ctx.shapes = [x.shape for x in xs]
        y = fn(*xs)
        ctx.out = (y.shape, y.dtype)
        return y

    def backward(ctx, grad_out):
        zeros = tuple(np.zeros(s, dtype=grad_out.dtype) for s in ctx.shapes)
        return zeros if len(zeros) > 1 else zeros[0]

    def jvp(ctx, *x_dots):
        return np.zeros(*ctx.out)
