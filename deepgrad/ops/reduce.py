"""Reductions over axes. The gradient is broadcast back over the reduced axes.

Ties in max/min: the gradient is split equally among all elements equal to the extreme value
(as PyTorch's amax/amin), so it is the same whichever element an implementation picks first.
"""

from __future__ import annotations

import numpy as np

from deepgrad.engine import Function


def normalize_axis(axis, ndim, op):
    """Axis argument as a sorted tuple of non-negative ints (None means all axes)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < max(ndim, 1):
            raise ValueError(f"{op}: axis {a} is out of range for a tensor with {ndim} "
                             f"dimension{'s' if ndim != 1 else ''}")
        out.append(int(a) % max(ndim, 1))
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: axis {axis} repeats a dimension")
    return tuple(sorted(out))


def _expand(grad, in_shape, axes, keepdims):
    """Reshape a reduced gradient so that it broadcasts against the input."""
    if not keepdims:
        shape = list(in_shape)
        for a in axes:
            shape[a] = 1
        grad = grad.reshape(shape)
    return grad


def _spread(grad, shape):
    """`grad` repeated over the reduced axes (a fresh array: cheaper than np.broadcast_to)."""
    out = np.empty(shape, dtype=grad.dtype)
    out[...] = grad
    return out


class Sum(Function):
    """y = sum_i x_i over `axis`;  dy/dx_i = 1"""

    def forward(ctx, x, axis, keepdims):
        ctx.axes = normalize_axis(axis, x.ndim, "sum")
        ctx.in_shape, ctx.keepdims = x.shape, keepdims
        return x.sum(axis=ctx.axes, keepdims=keepdims)

    def backward(ctx, grad_out):
        return _spread(_expand(grad_out, ctx.in_shape, ctx.axes, ctx.keepdims), ctx.in_shape)

    def jvp(ctx, x_dot):
        return np.sum(x_dot, axis=ctx.axes, keepdims=ctx.keepdims)


class Mean(Function):
    """y = (1/n) sum_i x_i over `axis`;  dy/dx_i = 1/n"""

    def forward(ctx, x, axis, keepdims):
        ctx.axes = normalize_axis(axis, x.ndim, "mean")
        ctx.in_shape, ctx.keepdims = x.shape, keepdims
        ctx.n = int(np.prod([x.shape[a] for a in ctx.axes])) if ctx.axes else 1
        if ctx.n == 0:
            raise ValueError("mean: cannot average over an empty axis (the result would be NaN)")
        return x.mean(axis=ctx.axes, keepdims=keepdims)

    def backward(ctx, grad_out):
        grad = _expand(grad_out, ctx.in_shape, ctx.axes, ctx.keepdims) / ctx.n
        return _spread(grad, ctx.in_shape)

    def jvp(ctx, x_dot):
        return np.mean(x_dot, axis=ctx.axes, keepdims=ctx.keepdims)


class Max(Function):
    """y = max_i x_i over `axis`;  dy/dx_i = [x_i = y] / (number of maxima)"""

    reduce = staticmethod(np.max)

    def forward(ctx, x, axis, keepdims):
        ctx.axes = normalize_axis(axis, x.ndim, type(ctx).__name__.lower())
        if x.size == 0:
            raise ValueError(f"{type(ctx).__name__.lower()}: the input is empty, there is no "
                             "extreme value")
        ctx.keepdims = keepdims
        y = type(ctx).reduce(x, axis=ctx.axes, keepdims=True)
        ctx.save(x, y)
        return y if keepdims else y.reshape([n for i, n in enumerate(x.shape)
                                             if i not in ctx.axes])

    def _weights(ctx):
        x, y = ctx.saved
        hit = x == y
        return hit / hit.sum(axis=ctx.axes, keepdims=True).astype(x.dtype)

    def backward(ctx, grad_out):
        x, _ = ctx.saved
        return _expand(grad_out, x.shape, ctx.axes, ctx.keepdims) * ctx._weights()

    def jvp(ctx, x_dot):
        return np.sum(x_dot * ctx._weights(), axis=ctx.axes, keepdims=ctx.keepdims)


class Min(Max):
    """y = min_i x_i over `axis`;  dy/dx_i = [x_i = y] / (number of minima)"""

    reduce = staticmethod(np.min)


class Var(Function):
    """y = sum_i (x_i - mean)^2 / (n - ddof);  dy/dx_i = 2 (x_i - mean) / (n - ddof)"""

    def forward(ctx, x, axis, keepdims, ddof):
        ctx.axes = normalize_axis(axis, x.ndim, "var")
        n = int(np.prod([x.shape[a] for a in ctx.axes])) if ctx.axes else 1
        if n - ddof <= 0:
            raise ValueError(f"var: {n} element(s) with ddof={ddof} leaves no degrees of "
                             "freedom (the result would be NaN)")
        ctx.keepdims, ctx.scale = keepdims, 2.0 / (n - ddof)
        centered = x - x.mean(axis=ctx.axes, keepdims=True)
        ctx.save(centered)
        return np.sum(centered * centered, axis=ctx.axes, keepdims=keepdims) / (n - ddof)

    def backward(ctx, grad_out):
        (centered,) = ctx.saved
        grad = _expand(grad_out, centered.shape, ctx.axes, ctx.keepdims)
        return grad * (ctx.scale * centered)

    def jvp(ctx, x_dot):
        (centered,) = ctx.saved
        return np.sum(ctx.scale * centered * x_dot, axis=ctx.axes, keepdims=ctx.keepdims)
