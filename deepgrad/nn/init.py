"""Parameter initializers. Each fills a tensor in place from an explicit numpy Generator."""

from __future__ import annotations

import numpy as np

from deepgrad.random import get_generator
from deepgrad.tensor import Tensor


def empty(shape, dtype="float32") -> np.ndarray:
    """Uninitialized storage for a new parameter (always overwritten by an initializer)."""
    return np.zeros(shape, dtype=dtype)


def _fill(tensor: Tensor, values) -> Tensor:
    tensor.data[...] = values
    tensor._bump()
    return tensor


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with samples from U(a, b)."""
    if a > b:
        raise ValueError(f"uniform_: lower bound a={a} is greater than upper bound b={b}")
    return _fill(tensor, get_generator(generator).uniform(a, b, size=tensor.shape))
