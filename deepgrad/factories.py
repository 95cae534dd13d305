"""Tensor factories: zeros, ones, full, arange, randn, rand and the *_like forms."""

from __future__ import annotations

import numpy as np

from deepgrad.random import get_generator
from deepgrad.tensor import Tensor


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _make(array, requires_grad):
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*shape, dtype=np.float32, requires_grad=False) -> Tensor:
    return _make(np.zeros(_shape(shape), dtype=dtype), requires_grad)


def ones(*shape, dtype=np.float32, requires_grad=False) -> Tensor:
    return _make(np.ones(_shape(shape), dtype=dtype), requires_grad)


def full(shape, fill_value, dtype=np.float32, requires_grad=False) -> Tensor:
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    return _make(np.full(shape, fill_value, dtype=dtype), requires_grad)


def arange(start, stop=None, step=1, dtype=None, requires_grad=False) -> Tensor:
    values = np.arange(start, stop, step) if stop is not None else np.arange(start)
    if dtype is None:
        dtype = np.float32 if values.dtype.kind == "f" else np.int64
    return _make(values.astype(dtype), requires_grad)


def randn(*shape, generator=None, dtype=np.float32, requires_grad=False) -> Tensor:
    """Standard normal samples drawn from `generator` (default: deepgrad's seeded one)."""
    rng = get_generator(generator)
    return _make(rng.standard_normal(_shape(shape)).astype(dtype), requires_grad)


def rand(*shape, generator=None, dtype=np.float32, requires_grad=False) -> Tensor:
    """Uniform samples on [0, 1) drawn from `generator`."""
    rng = get_generator(generator)
    return _make(rng.random(_shape(shape)).astype(dtype), requires_grad)


def zeros_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.zeros_like(np.asarray(t), dtype=dtype), requires_grad)


def ones_like(t, dtype=None, requires_grad=False) -> Tensor:
    return _make(np.ones_like(np.asarray(t), dtype=dtype), requires_grad)
