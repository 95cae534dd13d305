"""Indexing and rearranging with PyTorch's signatures: gather, scatter, index_select,
masked_fill, split, chunk, flip, roll, repeat, tril, triu.

Most are compositions of the primitives (getitem, where, reshape, broadcast_to), so their
gradients come for free; gather, scatter and roll are primitives of their own (ops/index.py).
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad.ops import elementwise as _e
from deepgrad.ops import index as _i
from deepgrad.ops import shape as _s
from deepgrad.ops.reduce import normalize_axis
from deepgrad.tensor import Tensor, as_tensor


def _dim(dim, x, op):
    (axis,) = normalize_axis(dim, x.ndim, op) or (0,)
    return axis


def _index_array(index, op):
    array = index.data if isinstance(index, Tensor) else np.asarray(index)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got dtype {array.dtype}")
    return array


def gather(x, dim, index):
    """y[i][j] = x[index[i][j]][j] (dim 0) or x[i][index[i][j]] (dim 1), and so on."""
    index = _index_array(index, "gather")
    if x.ndim == 0:
        x = _s.Reshape.apply(x, shape=(1,))
        return _s.Reshape.apply(_i.Gather.apply(x, index=index.reshape(-1), axis=0),
                                shape=index.shape)
    return _i.Gather.apply(x, index=index, axis=_dim(dim, x, "gather"))


def _scatter_source(x, src, op):
    if isinstance(src, numbers.Number):
        return Tensor._wrap(np.asarray(src, dtype=x.data.dtype))
    src = as_tensor(src)
    if src.data.dtype != x.data.dtype:
        raise TypeError(f"{op}: src has dtype {src.data.dtype} but the tensor has dtype "
                        f"{x.data.dtype}; they must match (as in PyTorch)")
    return src


def scatter(x, dim, index, src=None, *, value=None):
    """A copy of x with src (a tensor, or a number `value`) written at `index` along dim."""
    src = value if src is None else src
    index = _index_array(index, "scatter")
    return _i.Scatter.apply(x, _scatter_source(x, src, "scatter"), index=index,
                            axis=_dim(dim, x, "scatter"))


def scatter_add(x, dim, index, src):
    """A copy of x with src added at `index` along dim (repeated indices accumulate)."""
    index = _index_array(index, "scatter_add")
    return _i.ScatterAdd.apply(x, _scatter_source(x, src, "scatter_add"), index=index,
                               axis=_dim(dim, x, "scatter_add"))


def index_select(x, dim, index):
    """The slices of x at positions `index` (1-D) along dim."""
    index = _index_array(index, "index_select")
    if index.ndim > 1:
        raise IndexError(f"index_select: index must be 0-d or 1-D, got shape {index.shape}")
    axis = _dim(dim, x, "index_select")
    if x.ndim == 0:
        return _s.GetItem.apply(_s.Reshape.apply(x, shape=(1,)), index=index.reshape(-1))
    return _s.GetItem.apply(x, index=(slice(None),) * axis + (index.reshape(-1),))


def masked_fill(x, mask, value):
    """x with `value` where the boolean mask (broadcast to x's shape) is True."""
    mask = mask.data if isinstance(mask, Tensor) else np.asarray(mask)
    if mask.dtype != bool:
        raise TypeError(f"masked_fill: mask must be boolean, got dtype {mask.dtype}")
    if isinstance(value, Tensor):
        fill = value if value.data.dtype == x.data.dtype else \
            Tensor._wrap(value.data.astype(x.data.dtype))
    else:
        fill = Tensor._wrap(np.asarray(value, dtype=x.data.dtype))
    try:
        np.broadcast_shapes(mask.shape, x.shape)
    except ValueError:
        raise RuntimeError(f"masked_fill: a mask of shape {mask.shape} does not broadcast to "
                           f"the tensor's shape {x.shape}") from None
    if np.broadcast_shapes(mask.shape, x.shape) != x.shape:
        raise RuntimeError(f"masked_fill: the mask of shape {mask.shape} would enlarge the "
                           f"tensor of shape {x.shape}")
    return _e.Where.apply(fill, x, condition=mask)


def split(x, split_size_or_sections, dim=0):
    """Pieces of size `split_size` (the last may be smaller), or of the listed sizes."""
    axis = _dim(dim, x, "split")
    size = x.shape[axis]
    if isinstance(split_size_or_sections, (int, np.integer)):
        step = int(split_size_or_sections)
        if step <= 0:
            raise ValueError(f"split: split_size must be positive, got {step}")
        sizes = [min(step, size - start) for start in range(0, size, step)] or [0]
    else:
        sizes = [int(n) for n in split_size_or_sections]
        if sum(sizes) != size:
            raise RuntimeError(f"split: sizes {sizes} add up to {sum(sizes)}, but dim {dim} "
                               f"has size {size}")
    pieces, start = [], 0
    for n in sizes:
        index = (slice(None),) * axis + (slice(start, start + n),)
        pieces.append(_s.GetItem.apply(x, index=index))
        start += n
    return tuple(pieces)


def chunk(x, chunks, dim=0):
    """At most `chunks` pieces of equal size ceil(size / chunks) (the last may be smaller)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    size = x.shape[_dim(dim, x, "chunk")]
    return split(x, max(-(-size // chunks), 1), dim)


def flip(x, dims):
    """x reversed along each of `dims`."""
    axes = normalize_axis(dims, x.ndim, "flip")
    index = tuple(slice(None, None, -1) if d in axes else slice(None) for d in range(x.ndim))
    return _s.GetItem.apply(x, index=index)


def roll(x, shifts, dims=None):
    """x shifted cyclically by `shifts` along `dims` (of the flattened tensor when None)."""
    if dims is None:
        return _i.Roll.apply(x, shifts=int(shifts), axis=None)
    axes = (dims,) if isinstance(dims, (int, np.integer)) else tuple(dims)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if len(axes) != len(shifts):
        raise RuntimeError(f"roll: shifts {shifts} and dims {axes} must have the same length")
    axes = tuple(_dim(a, x, "roll") for a in axes)
    return _i.Roll.apply(x, shifts=shifts, axis=axes)


def repeat(x, *sizes):
    """x tiled `sizes[d]` times along each dim (leading sizes add new dims), as Tensor.repeat."""
    if len(sizes) == 1 and isinstance(sizes[0], (tuple, list)):
        sizes = tuple(sizes[0])
    if len(sizes) < x.ndim:
        raise RuntimeError(f"repeat: got {len(sizes)} repeat counts for a tensor with "
                           f"{x.ndim} dimensions; give at least one per dimension")
    shape = (1,) * (len(sizes) - x.ndim) + tuple(x.shape)
    # (r0, n0, r1, n1, ...) from (1, n0, 1, n1, ...), then merge each pair
    interleaved = [v for n in shape for v in (1, n)]
    spread = [v for r, n in zip(sizes, shape) for v in (r, n)]
    y = _s.Reshape.apply(x, shape=tuple(interleaved))
    y = _s.BroadcastTo.apply(y, shape=tuple(spread))
    return _s.Reshape.apply(y, shape=tuple(r * n for r, n in zip(sizes, shape)))


def _triangle(x, diagonal, keep, op):
    if x.ndim < 2:
        raise RuntimeError(f"{op}: needs a tensor with at least 2 dimensions, got shape "
                           f"{x.shape}")
    rows, cols = x.shape[-2:]
    mask = keep(np.ones((rows, cols), dtype=bool), diagonal)
    zero = Tensor._wrap(np.zeros((), dtype=x.data.dtype))
    return _e.Where.apply(x, zero, condition=mask)


def tril(x, diagonal=0):
    """The lower triangle (on and below `diagonal`) of the last two dims; zeros elsewhere."""
    return _triangle(x, diagonal, np.tril, "tril")


def triu(x, diagonal=0):
    """The upper triangle (on and above `diagonal`) of the last two dims; zeros elsewhere."""
    return _triangle(x, diagonal, np.triu, "triu")


def take_along_dim(x, indices, dim=None):
    """gather with broadcasting of the index, as torch.take_along_dim."""
    index = _index_array(indices, "take_along_dim")
    if dim is None:
        return gather(_s.Reshape.apply(x, shape=(-1,)), 0, index.reshape(-1))
    axis = _dim(dim, x, "take_along_dim")
    shape = list(np.broadcast_shapes(
        tuple(n for d, n in enumerate(x.shape) if d != axis),
        tuple(n for d, n in enumerate(index.shape) if d != axis)))
    x_shape, i_shape = list(shape), list(shape)
    x_shape.insert(axis, x.shape[axis])
    i_shape.insert(axis, index.shape[axis])
    x = _s.BroadcastTo.apply(x, shape=tuple(x_shape)) if tuple(x_shape) != x.shape else x
    return _i.Gather.apply(x, index=np.broadcast_to(index, i_shape), axis=axis)
