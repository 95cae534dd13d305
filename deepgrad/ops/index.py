"""Primitives that pick, place, shift and accumulate elements along one axis.

`index` arrays follow PyTorch's gather/scatter convention: the same number of dimensions as the
input, and along every other axis no larger than the input (only the leading part is used).
"""

from __future__ import annotations

import numpy as np

from deepgrad.engine import Function


def along(index: np.ndarray, axis: int) -> tuple:
    """The advanced index that picks x[i, ..., index[i, ..., k, ...], ...] (k on `axis`)."""
    parts = []
    for d, n in enumerate(index.shape):
        if d == axis:
            parts.append(index)
        else:
            shape = [1] * index.ndim
            shape[d] = n
            parts.append(np.arange(n).reshape(shape))
    return tuple(parts)


def check_index(x_shape, index, axis, op):
    """Raise an IndexError naming `op` unless `index` fits an input of shape `x_shape`."""
    if index.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {index.dtype}")
    if index.ndim != len(x_shape) or any(n > m for d, (n, m) in
                                         enumerate(zip(index.shape, x_shape)) if d != axis):
        raise IndexError(f"{op}: index of shape {index.shape} does not fit the input of shape "
                         f"{tuple(x_shape)} along dim {axis} (same number of dimensions, "
                         "no larger on the other dimensions)")
    if index.size and (index.min() < -x_shape[axis] or index.max() >= x_shape[axis]):
        raise IndexError(f"{op}: index values must be in [{-x_shape[axis]}, "
                         f"{x_shape[axis] - 1}] for dim {axis} of shape {tuple(x_shape)}, got "
                         f"values from {index.min()} to {index.max()}")


class Gather(Function):
    """y[..k..] = x[..index[..k..]..] along `axis`;  the gradient is added back at the index"""

    def forward(ctx, x, index, axis):
        check_index(x.shape, index, axis, "gather")
        ctx.where, ctx.in_shape = along(index, axis), x.shape
        return x[ctx.where]

    def backward(ctx, grad_out):
        grad = np.zeros(ctx.in_shape, dtype=grad_out.dtype)
        np.add.at(grad, ctx.where, grad_out)
        return grad

    def jvp(ctx, x_dot):
        return x_dot[ctx.where]


class Scatter(Function):
    """y = x with y[..index[..k..]..] = src[..k..] along `axis` (out of place);
    dy/dx = 1 where not overwritten, dy/dsrc = the gradient at the written place"""

    op_name = "scatter"

    def forward(ctx, x, src, index, axis):
        y = ctx._prepare(x, src, index, axis)
        y[ctx.where] = src[ctx.src_part] if src.ndim else src
        return y

    def _prepare(ctx, x, src, index, axis):
        """Check the index, note where it writes, return the copy of x to write into."""
        check_index(x.shape, index, axis, ctx.op_name)
        ctx.where = along(index, axis)
        ctx.src_part = tuple(slice(0, n) for n in index.shape)
        ctx.src_shape = src.shape
        return x.copy()

    def _src_grad(ctx, grad):
        if not ctx.src_shape:  # one value written at every (distinct) place
            written = np.zeros(grad.shape, dtype=bool)
            written[ctx.where] = True
            return np.sum(grad, where=written)
        out = np.zeros(ctx.src_shape, dtype=grad.dtype)
        out[ctx.src_part] = grad[ctx.where]
        return out

    def backward(ctx, grad_out):
        grad_x = grad_out.copy()
        grad_x[ctx.where] = 0
        return grad_x, ctx._src_grad(grad_out)

    def jvp(ctx, x_dot, src_dot):
        y_dot = np.array(x_dot, copy=True)
        y_dot[ctx.where] = src_dot[ctx.src_part] if src_dot.ndim else src_dot
        return y_dot


class ScatterAdd(Scatter):
    """y = x, then y[..index[..k..]..] += src[..k..] along `axis`;  dy/dx = 1, dy/dsrc = the
    gradient at the place each element was added to"""

    op_name = "scatter_add"

    def forward(ctx, x, src, index, axis):
        y = ctx._prepare(x, src, index, axis)
        np.add.at(y, ctx.where, src[ctx.src_part])
        return y

    def backward(ctx, grad_out):
        return grad_out, ctx._src_grad(grad_out)

    def jvp(ctx, x_dot, src_dot):
        y_dot = np.array(x_dot, copy=True)
        np.add.at(y_dot, ctx.where, src_dot[ctx.src_part])
        return y_dot


class Roll(Function):
    """y = x shifted cyclically by `shifts` along `axis`;  the gradient is shifted back"""

    def forward(ctx, x, shifts, axis):
        ctx.shifts, ctx.axis, ctx.shape = shifts, axis, x.shape
        return np.roll(x, shifts, axis)

    def backward(ctx, grad_out):
        back = -np.asarray(ctx.shifts)
        return np.roll(grad_out, back if back.ndim else int(back), ctx.axis).reshape(ctx.shape)

    def jvp(ctx, x_dot):
        return np.roll(x_dot, ctx.shifts, ctx.axis)


class CumSum(Function):
    """y_k = sum_{i <= k} x_i along `axis`;  dL/dx_i = sum_{k >= i} dL/dy_k"""

    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    def backward(ctx, grad_out):
        flipped = np.flip(grad_out, ctx.axis)
        return np.flip(np.cumsum(flipped, axis=ctx.axis), ctx.axis)

    def jvp(ctx, x_dot):
        return np.cumsum(x_dot, axis=ctx.axis)


class CumProd(Function):
    """y_k = prod_{i <= k} x_i along `axis`;  dy_k/dx_i = prod_{j <= k, j != i} x_j (i <= k)"""

    def forward(ctx, x, axis):
        ctx.axis = axis
        y = np.cumprod(x, axis=axis)
        ctx.save(x, y)
        return y

    def _partials(ctx):
        """J[..., k, i] = dy_k/dx_i along the last two axes (x and y moved to the end)."""
        x, _ = ctx.saved
        x = np.moveaxis(x, ctx.axis, -1)
        n = x.shape[-1]
        jac = np.zeros(x.shape + (n,), dtype=x.dtype)
        for i in range(n):  # columns: drop x_i from each running product that contains it
            others = x.copy()
            others[..., i] = 1
            jac[..., i:, i] = np.cumprod(others, axis=-1)[..., i:]
        return jac

    def _divisible(ctx):
        """True when no |x_i| is so small (0 included) that dividing by it could overflow."""
        x, _ = ctx.saved
        return bool(np.all(np.abs(x) > np.sqrt(np.finfo(x.dtype).tiny)))

    def backward(ctx, grad_out):
        x, y = ctx.saved
        if ctx._divisible():  # sum_{k >= i} g_k y_k / x_i
            flipped = np.flip(grad_out * y, ctx.axis)
            return np.flip(np.cumsum(flipped, axis=ctx.axis), ctx.axis) / x
        g = np.moveaxis(grad_out, ctx.axis, -1)
        return np.moveaxis(np.einsum("...k,...ki->...i", g, ctx._partials()), -1, ctx.axis)

    def jvp(ctx, x_dot):
        x, y = ctx.saved
        if ctx._divisible():  # y_k sum_{i <= k} x_dot_i / x_i
            return y * np.cumsum(x_dot / x, axis=ctx.axis)
        v = np.moveaxis(x_dot, ctx.axis, -1)
        return np.moveaxis(np.einsum("...ki,...i->...k", ctx._partials(), v), -1, ctx.axis)
