"""Reductions over axes. The gradient is broadcast back over the reduced axes.

Ties in max/min: the gradient is split equally among all elements equal to the extreme value
(as PyTorch's amax/amin), so it is the same whichever element an implementation picks first.
"""

from __future__ import annotations

import numpy as np

from deepgrad.engine import Function


class DimensionError(IndexError, ValueError):
    """A dim out of range: an IndexError as in PyTorch, and a ValueError as in NumPy."""


def normalize_axis(axis, ndim, op):
    """Axis argument as a sorted tuple of non-negative ints (None means all axes).

    A 0-d tensor accepts dim 0 and -1 (as PyTorch) and has no axis to reduce: ()."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    span = max(ndim, 1)
    out = []
    for a in axes:
        if isinstance(a, bool) or not isinstance(a, (int, np.integer)):
            raise TypeError(f"{op}: dim must be an int or a tuple of ints, got {axis!r}")
        if not -span <= a < span:
            raise DimensionError(f"{op}: dim {a} is out of range for a tensor with {ndim} "
                                 f"dimension{'s' if ndim != 1 else ''} (expected a dim in "
                                 f"[{-span}, {span - 1}])")
        out.append(int(a) % span)
    if len(set(out)) != len(out):
        raise ValueError(f"{op}: dim {axis} repeats a dimension")
    return tuple(sorted(out)) if ndim else ()


def _expand(grad, in_shape, axes, keepdims):
    """Reshape a reduced gradient so that it broadcasts against the input."""
    if not keepdims:
        shape = list(in_shape)
        for a in axes:
            shape[a] = 1
        grad = grad.reshape(shape)
    return grad


def _squeeze(y, in_shape, axes, keepdims):
    """y computed with keepdims=True, without the reduced axes unless `keepdims`."""
    return y if keepdims else y.reshape([n for i, n in enumerate(in_shape) if i not in axes])


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
        if ctx.n == 0:  # 0 / 0: nan, as PyTorch and NumPy (without NumPy's warning)
            shape = [1 if i in ctx.axes else n for i, n in enumerate(x.shape)]
            return _squeeze(np.full(shape, np.nan, dtype=x.dtype), x.shape, ctx.axes, keepdims)
        return x.mean(axis=ctx.axes, keepdims=keepdims)

    def backward(ctx, grad_out):
        if ctx.n == 0:  # no elements, nothing to differentiate
            return np.zeros(ctx.in_shape, dtype=grad_out.dtype)
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
        return _squeeze(y, x.shape, ctx.axes, keepdims)

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


class Prod(Function):
    """y = prod_i x_i over `axis`;  dy/dx_i = prod_{j != i} x_j  (exact where some x_j = 0)"""

    def forward(ctx, x, axis, keepdims):
        ctx.axes = normalize_axis(axis, x.ndim, "prod")
        ctx.keepdims = keepdims
        ctx.save(x)
        return np.prod(x, axis=ctx.axes, keepdims=keepdims)

    def _others(ctx):
        """prod_{j != i} x_j for every i: products of the elements before and after i."""
        (x,) = ctx.saved
        axes = ctx.axes
        rest = [a for a in range(x.ndim) if a not in axes]
        moved = np.transpose(x, rest + list(axes))
        flat = moved.reshape(moved.shape[:len(rest)] + (-1,))
        ones = np.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        before = np.cumprod(np.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (before * after).reshape(moved.shape)
        return np.transpose(others, np.argsort(rest + list(axes)))

    def backward(ctx, grad_out):
        (x,) = ctx.saved
        return _expand(grad_out, x.shape, ctx.axes, ctx.keepdims) * ctx._others()

    def jvp(ctx, x_dot):
        return np.sum(x_dot * ctx._others(), axis=ctx.axes, keepdims=ctx.keepdims)


class LogSumExp(Function):
    """y = m + ln sum_i e^(x_i - m), m = max_i x_i, over `axis`;  dy/dx_i = e^(x_i - y)"""

    def forward(ctx, x, axis, keepdims):
        ctx.axes = normalize_axis(axis, x.ndim, "logsumexp")
        ctx.keepdims = keepdims
        m = np.max(x, axis=ctx.axes, keepdims=True) if x.size else np.zeros((), x.dtype)
        m = np.where(np.isfinite(m), m, 0).astype(x.dtype, copy=False)
        with np.errstate(divide="ignore"):  # ln 0 = -inf for an empty or all -inf slice
            y = m + np.log(np.sum(np.exp(x - m), axis=ctx.axes, keepdims=True))
        ctx.save(x, y)
        return _squeeze(y, x.shape, ctx.axes, keepdims)

    def _softmax(ctx):
        x, y = ctx.saved
        return np.exp(x - y)

    def backward(ctx, grad_out):
        x, _ = ctx.saved
        return _expand(grad_out, x.shape, ctx.axes, ctx.keepdims) * ctx._softmax()

    def jvp(ctx, x_dot):
        return np.sum(x_dot * ctx._softmax(), axis=ctx.axes, keepdims=ctx.keepdims)


class Norm2(Function):
    """y = sqrt(sum_i x_i^2) over `axis`;  dy/dx_i = x_i / y  (0 where y = 0, as PyTorch)"""

    def forward(ctx, x, axis, keepdims):
        ctx.axes = normalize_axis(axis, x.ndim, "norm")
        ctx.keepdims = keepdims
        y = np.sqrt(np.sum(x * x, axis=ctx.axes, keepdims=True))
        ctx.save(x, y)
        return _squeeze(y, x.shape, ctx.axes, keepdims)

    def _direction(ctx):
        x, y = ctx.saved
        return x / np.where(y == 0, 1, y)

    def backward(ctx, grad_out):
        x, _ = ctx.saved
        return _expand(grad_out, x.shape, ctx.axes, ctx.keepdims) * ctx._direction()

    def jvp(ctx, x_dot):
        return np.sum(x_dot * ctx._direction(), axis=ctx.axes, keepdims=ctx.keepdims)
