"""Vector similarity and attention, as torch.nn.functional: normalize, cosine_similarity,
scaled_dot_product_attention. Compositions of primitives (correct in both autodiff modes)."""

from __future__ import annotations

import math

import numpy as np

from deepgrad import ops
from deepgrad.ops import activation as _a
from deepgrad.random import get_generator
from deepgrad.tensor import Tensor, as_tensor

__all__ = ["normalize", "cosine_similarity", "scaled_dot_product_attention"]


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """x / max(||x||_p, eps) along `dim`."""
    x = as_tensor(input)
    return x / ops.clip(ops.norm(x, p, dim, keepdim=True), min=eps)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    """sum(x1 x2) / sqrt(max(||x1||^2 ||x2||^2, eps^2)) along `dim` (PyTorch 2's formula)."""
    x1, x2 = as_tensor(x1), as_tensor(x2)
    dot = ops.sum(x1 * x2, dim)
    squares = ops.sum(x1 * x1, dim) * ops.sum(x2 * x2, dim)
    return dot / ops.sqrt(ops.clip(squares, min=eps * eps))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, generator=None):
    """softmax(Q K^T * scale + mask) V with scale = 1/sqrt(E) by default.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev).
    attn_mask: boolean (True = may attend) or additive float, broadcastable to (..., L, S).
    is_causal: position i attends to positions <= i (cannot be combined with attn_mask).
    """
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {query.shape}, key {key.shape} "
                         f"and value {value.shape} must be (..., L, E), (..., S, E), "
                         "(..., S, Ev)")
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    scores = ops.matmul(query, ops.transpose(key, -2, -1)) * scale
    length, source = scores.shape[-2:]
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: pass attn_mask or is_causal, "
                             "not both")
        attn_mask = np.tril(np.ones((length, source), dtype=bool))
    if attn_mask is not None:
        mask = attn_mask.data if isinstance(attn_mask, Tensor) else np.asarray(attn_mask)
        if mask.dtype == bool:
            scores = ops.masked_fill(scores, ~np.broadcast_to(mask, scores.shape),
                                     float("-inf"))
        else:
            scores = scores + Tensor._wrap(mask.astype(scores.dtype, copy=False))
    weights = ops.softmax(scores, -1)
    if dropout_p > 0.0:
        weights = _a.Dropout.apply(weights, p=dropout_p, generator=get_generator(generator))
    return ops.matmul(weights, value)
