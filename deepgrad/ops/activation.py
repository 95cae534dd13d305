"""Fused activation primitives: each one exists for speed (one node instead of four or five) or
for numerical stability (softmax, log-softmax, softplus, Soboleva's tanh). Each is tested
against the same function composed of smaller primitives in tests/nn/test_activation.py.

Conventions at kinks (the same as PyTorch): leaky_relu'(0) = negative_slope, elu'(0) = alpha,
step'(x) = 0 everywhere (the Dirac spike at 0 is not represented), softplus is linear (slope 1)
where beta x > threshold.
"""

from __future__ import annotations

import numpy as np

from deepgrad.engine import Function


class Step(Function):
    """y = 1 if x >= 0 else 0;  dy/dx = 0  (the derivative is zero wherever it exists)"""

    symbol = "step"

    def forward(ctx, x):
        return (x >= 0).astype(x.dtype)

    def backward(ctx, grad_out):
        return np.zeros_like(grad_out)

    def jvp(ctx, x_dot):
        return np.zeros_like(x_dot)


class LeakyRelu(Function):
    """y = x if x > 0 else s x;  dy/dx = 1 if x > 0 else s   (s = negative_slope)"""

    symbol = "leaky_relu"

    def forward(ctx, x, negative_slope):
        ctx.slope = negative_slope
        ctx.save(x)
        return np.where(x > 0, x, x * negative_slope)

    def _derivative(ctx):
        (x,) = ctx.saved
        return np.where(x > 0, 1, ctx.slope).astype(x.dtype, copy=False)

    def backward(ctx, grad_out):
        return grad_out * ctx._derivative()

    def jvp(ctx, x_dot):
        return x_dot * ctx._derivative()


class Elu(Function):
    """y = x if x > 0 else alpha (e^x - 1);  dy/dx = 1 if x > 0 else y + alpha (= alpha e^x)"""

    symbol = "elu"

    def forward(ctx, x, alpha):
        # expm1 of min(x, 0) only: the unused branch never overflows for large positive x
        y = np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0)))
        ctx.alpha = alpha
        ctx.save(x, y)
        return y

    def _derivative(ctx):
        x, y = ctx.saved
        return np.where(x > 0, 1, y + ctx.alpha).astype(x.dtype, copy=False)

    def backward(ctx, grad_out):
        return grad_out * ctx._derivative()

    def jvp(ctx, x_dot):
        return x_dot * ctx._derivative()


class Softplus(Function):
    """y = ln(1 + e^(beta x)) / beta  (y = x where beta x > threshold);
    dy/dx = sigmoid(beta x)  (1 where beta x > threshold)"""

    symbol = "softplus"

    def forward(ctx, x, beta, threshold):
        z = x * beta
        # max(z, 0) + ln(1 + e^-|z|) exponentiates only non-positive numbers: no overflow
        e = np.exp(-np.abs(z))
        smooth = (np.maximum(z, 0) + np.log1p(e)) / beta
        linear = z > threshold
        ctx.save(np.where(linear, 1, np.where(z >= 0, 1 / (1 + e), e / (1 + e))))
        return np.where(linear, x, smooth).astype(x.dtype, copy=False)

    def backward(ctx, grad_out):
        (slope,) = ctx.saved
        return grad_out * slope

    def jvp(ctx, x_dot):
        (slope,) = ctx.saved
        return x_dot * slope


class SobolevaTanh(Function):
    """y = (e^(a x) - e^(-b x)) / (e^(c x) + e^(-d x));
    dy/dx = (a e^(a x) + b e^(-b x) - y (c e^(c x) - d e^(-d x))) / (e^(c x) + e^(-d x))

    Every exponential is divided by e^m, m = max(c x, -d x): the denominator lies in [1, 2]
    and nothing overflows unless the function itself does (a > c or b > d).
    """

    symbol = "soboleva_tanh"

    def forward(ctx, x, a, b, c, d):
        m = np.maximum(c * x, -d * x)
        with np.errstate(over="ignore"):  # only where y itself is infinite (a > c or b > d)
            p, q = np.exp(a * x - m), np.exp(-b * x - m)
        r, s = np.exp(c * x - m), np.exp(-d * x - m)
        y = (p - q) / (r + s)
        ctx.save(y, a * p + b * q, c * r - d * s, r + s)
        return y

    def _derivative(ctx):
        y, numerator_slope, denominator_slope, denominator = ctx.saved
        return (numerator_slope - y * denominator_slope) / denominator

    def backward(ctx, grad_out):
        return grad_out * ctx._derivative()

    def jvp(ctx, x_dot):
        return x_dot * ctx._derivative()


def shifted_exp(x, axis):
    """z = x - max(x), e^z and sum(e^z) along `axis`, the stable start of every softmax:
    each exponent is <= 0, so exp never overflows, and the sum is >= 1, so its log is finite
    even for logits of +-1e4."""
    z = x - x.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return z, e, e.sum(axis=axis, keepdims=True)


class Softmax(Function):
    """y_i = e^(x_i - max x) / sum_j e^(x_j - max x) along `axis`;
    dx = y (dy - sum(dy y)),  y_dot = y (x_dot - sum(x_dot y))"""

    symbol = "softmax"

    def forward(ctx, x, axis):
        _, e, total = shifted_exp(x, axis)
        y = e / total
        ctx.axis = axis
        ctx.save(y)
        return y

    def _apply_jacobian(ctx, v):  # the Jacobian diag(y) - y y^T is symmetric
        (y,) = ctx.saved
        return y * (v - (v * y).sum(axis=ctx.axis, keepdims=True))

    def backward(ctx, grad_out):
        return ctx._apply_jacobian(grad_out)

    def jvp(ctx, x_dot):
        return ctx._apply_jacobian(x_dot)


class LogSoftmax(Function):
    """y = x - max x - ln(sum_j e^(x_j - max x)) along `axis`;  with p = softmax(x):
    dx = dy - p sum(dy),  y_dot = x_dot - sum(p x_dot)"""

    symbol = "log_softmax"

    def forward(ctx, x, axis):
        z, e, total = shifted_exp(x, axis)
        ctx.axis = axis
        ctx.save(e / total)
        return z - np.log(total)

    def backward(ctx, grad_out):
        (p,) = ctx.saved
        return grad_out - p * grad_out.sum(axis=ctx.axis, keepdims=True)

    def jvp(ctx, x_dot):
        (p,) = ctx.saved
        return x_dot - (p * x_dot).sum(axis=ctx.axis, keepdims=True)


class Dropout(Function):
    """y = x m / (1 - p),  m_i ~ Bernoulli(1 - p) drawn from `generator`;  dy/dx = m / (1 - p)"""

    symbol = "dropout"

    def forward(ctx, x, p, generator):
        keep = generator.random(x.shape) >= p
        scale = np.asarray(1.0 / (1.0 - p), dtype=x.dtype)
        mask = keep * scale
        ctx.save(mask)
        return x * mask

    def backward(ctx, grad_out):
        (mask,) = ctx.saved
        return grad_out * mask

    def jvp(ctx, x_dot):
        (mask,) = ctx.saved
        return x_dot * mask
