"""Padding, one-hot encoding and embedding lookup, as torch.nn.functional.

All three are compositions of the shape primitives (pad, getitem, where), so their gradients
need no rules of their own.
"""

from __future__ import annotations

import numpy as np

from deepgrad import ops
from deepgrad.ops.shape import pad_indices
from deepgrad.tensor import Tensor, as_tensor

__all__ = ["pad", "one_hot", "embedding"]

_MODES = ("constant", "reflect", "replicate", "circular")


def pad(input, pad, mode="constant", value=None):
    """Pad (or, with negative amounts, crop) the last len(pad) // 2 dimensions.

    `pad` lists (before, after) pairs starting from the LAST dimension, as PyTorch:
    (left, right) pads the last dim, (left, right, top, bottom) the last two, and so on.
    Modes: "constant" (`value`, default 0), "reflect" (mirror without repeating the edge;
    pads < the dimension's size), "replicate" (repeat the edge), "circular" (wrap around;
    pads <= the dimension's size).
    """
    x = as_tensor(input)
    pad = tuple(int(p) for p in pad)
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: pad must have an even length of at most 2 x {x.ndim} (the "
                         f"tensor's dimensions, shape {x.shape}), got {pad}")
    if mode not in _MODES:
        raise ValueError(f"pad: mode must be one of {_MODES}, got {mode!r}")
    if mode != "constant" and value not in (None, 0):
        raise ValueError(f"pad: value= is only used by mode='constant', got mode={mode!r}")
    widths = [(0, 0)] * x.ndim
    for k in range(len(pad) // 2):
        widths[x.ndim - 1 - k] = (pad[2 * k], pad[2 * k + 1])
    # crop first (negative amounts), then pad
    crop = tuple(slice(max(-b, 0), n - max(-a, 0)) for (b, a), n in zip(widths, x.shape))
    if any(s.start or s.stop != n for s, n in zip(crop, x.shape)):
        if any(s.stop - s.start < 0 for s in crop):
            raise ValueError(f"pad: negative padding {pad} removes more than the whole of "
                             f"shape {x.shape}")
        x = ops.getitem(x, crop)
    widths = [(max(b, 0), max(a, 0)) for b, a in widths]
    if mode == "constant":
        if any(b or a for b, a in widths):
            x = ops.pad(x, widths, value=0.0 if value is None else value)
        return x
    for axis, (before, after) in enumerate(widths):
        if not (before or after):
            continue
        n = x.shape[axis]
        limit = n - 1 if mode == "reflect" else n
        if max(before, after) > limit or n == 0:
            raise ValueError(f"pad: {mode} padding of ({before}, {after}) needs dimension "
                             f"{axis} (size {n}) to be larger than each amount"
                             f"{'' if mode == 'reflect' else ' or equal'}")
        index = (slice(None),) * axis + (pad_indices(n, before, after, mode),)
        x = ops.getitem(x, index)
    return x


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape (*tensor.shape, num_classes) with a 1 at each class index.
    num_classes=-1 takes the largest index + 1."""
    labels = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got dtype "
                        f"{labels.dtype}")
    if labels.size and labels.min() < 0:
        raise RuntimeError(f"one_hot: class indices must be non-negative, got {labels.min()}")
    largest = int(labels.max()) + 1 if labels.size else 0
    if num_classes == -1:
        num_classes = largest
    if largest > num_classes:
        raise RuntimeError(f"one_hot: class index {largest - 1} is out of range for "
                           f"num_classes={num_classes}")
    return Tensor._wrap((labels[..., None] == np.arange(num_classes)).astype(np.int64))


def embedding(input, weight, padding_idx=None, max_norm=None):
    """Rows of `weight` (num_embeddings, dim) at the indices `input`: (*input.shape, dim).
    The row at `padding_idx` gets no gradient (as PyTorch)."""
    index = input.data if isinstance(input, Tensor) else np.asarray(input)
    if index.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got dtype {index.dtype}")
    rows = weight.shape[0]
    if index.size and (index.min() < -rows or index.max() >= rows):
        raise IndexError(f"embedding: index {index.max() if index.max() >= rows else index.min()}"
                         f" is out of range for {rows} embeddings")
    if max_norm is not None:
        raise NotImplementedError("embedding: max_norm (renormalizing rows in place) is not "
                                  "supported; renormalize the weight explicitly")
    out = ops.getitem(weight, index)
    if padding_idx is not None:
        padding_idx = padding_idx % rows
        mask = (index == padding_idx)[..., None]
        out = ops.where(mask, out.detach(), out)
    return out
