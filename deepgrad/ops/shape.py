"""Shape primitives: they move elements around, so their rules move gradients back.

Indexing with integer arrays may pick an element several times; its gradient then accumulates
(np.add.at), never overwrites.
"""

from __future__ import annotations

import numpy as np

from deepgrad.engine import Function


class Reshape(Function):
    """y = x viewed with another shape;  the gradient is reshaped back"""

    def forward(ctx, x, shape):
        ctx.in_shape = x.shape
        try:
            y = x.reshape(shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} "
                             f"({x.size} elements) into shape {tuple(shape)}") from None
        ctx.out_shape = y.shape
        return y

    def backward(ctx, grad_out):
        return grad_out.reshape(ctx.in_shape)

    def jvp(ctx, x_dot):
        return x_dot.reshape(ctx.out_shape)


class Permute(Function):
    """y = x with axes reordered;  the gradient gets the inverse permutation"""

    def forward(ctx, x, axes):
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"permute: axes {tuple(axes)} are not a permutation of the "
                             f"{x.ndim} dimensions of shape {x.shape}")
        ctx.axes = tuple(axes)
        return np.transpose(x, ctx.axes)

    def backward(ctx, grad_out):
        return np.transpose(grad_out, np.argsort(ctx.axes))

    def jvp(ctx, x_dot):
        return np.transpose(x_dot, ctx.axes)


class BroadcastTo(Function):
    """y = x repeated along broadcast axes;  the gradient is summed over them"""

    def forward(ctx, x, shape):
        ctx.out_shape = tuple(shape)
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"broadcast_to: cannot broadcast shape {x.shape} to "
                             f"{tuple(shape)}") from None

    def backward(ctx, grad_out):
        return grad_out  # the engine's unbroadcast sums it back to the input shape

    def jvp(ctx, x_dot):
        return np.broadcast_to(x_dot, ctx.out_shape)


class Pad(Function):
    """y = x surrounded by a constant;  the gradient is the inner block"""

    def forward(ctx, x, pad_width, value):
        ctx.inner = tuple(slice(before, before + n) for (before, _), n in zip(pad_width, x.shape))
        y = np.pad(x, pad_width, mode="constant", constant_values=value)
        ctx.out_shape = y.shape
        return y

    def backward(ctx, grad_out):
        return grad_out[ctx.inner]

    def jvp(ctx, x_dot):
        out = np.zeros(ctx.out_shape, dtype=x_dot.dtype)
        out[ctx.inner] = x_dot
        return out


class Concatenate(Function):
    """y = [x_1, x_2, ...] joined along `axis`;  each input gets its slice of the gradient"""

    def forward(ctx, *xs, axis):
        ctx.axis = axis
        ctx.bounds = np.cumsum([0] + [x.shape[axis] for x in xs])
        return np.concatenate(xs, axis=axis)

    def _pieces(ctx, array):
        index = [slice(None)] * array.ndim
        pieces = []
        for start, stop in zip(ctx.bounds[:-1], ctx.bounds[1:]):
            index[ctx.axis] = slice(start, stop)
            pieces.append(array[tuple(index)])
        return tuple(pieces)

    def backward(ctx, grad_out):
        return ctx._pieces(grad_out)

    def jvp(ctx, *x_dots):
        return np.concatenate(x_dots, axis=ctx.axis)


class Stack(Function):
    """y = [x_1, x_2, ...] stacked on a new `axis`;  each input gets its slice"""

    def forward(ctx, *xs, axis):
        ctx.axis = axis
        return np.stack(xs, axis=axis)

    def backward(ctx, grad_out):
        return tuple(np.moveaxis(grad_out, ctx.axis, 0))

    def jvp(ctx, *x_dots):
        return np.stack(x_dots, axis=ctx.axis)


def _is_basic(index):
    """True for indices made of ints, slices, None and Ellipsis (no element repeats)."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, (int, np.integer, slice, type(None), type(Ellipsis))) for p in parts)


class GetItem(Function):
    """y = x[index];  the gradient is scattered back (accumulating repeated indices)"""

    symbol = "[]"

    def forward(ctx, x, index):
        ctx.index, ctx.in_shape = index, x.shape
        ctx.basic = _is_basic(index)
        try:
            return x[index]
        except IndexError as error:
            raise IndexError(f"getitem: {error} (indexing a tensor of shape {x.shape})") from None

    def backward(ctx, grad_out):
        grad = np.zeros(ctx.in_shape, dtype=grad_out.dtype)
        if ctx.basic:
            grad[ctx.index] = grad_out
        else:
            np.add.at(grad, ctx.index, grad_out)
        return grad

    def jvp(ctx, x_dot):
        return x_dot[ctx.index]


def pad_indices(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """The source index of each position of an axis of length n padded by `before` and `after`
    (non-negative) in `mode`: "reflect" (mirror, edge not repeated), "replicate" (edge value)
    or "circular" (wrap around)."""
    i = np.arange(-before, n + after)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    if n == 1:
        return np.zeros_like(i)
    period = 2 * (n - 1)
    m = np.abs(i) % period
    return np.where(m < n, m, period - m)
