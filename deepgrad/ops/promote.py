"""Result dtypes of mixed operands, by PyTorch's rules (not NumPy's).

PyTorch ranks dtypes by category, bool < integer < floating, and operands by priority,
dimensioned tensor > 0-d tensor > Python number. Within a priority level dtypes promote as
usual (int32 + int64 -> int64, float32 + float64 -> float64). A lower-priority operand changes
the result only when its category is higher: then the result takes that category, with the
operand's dtype for a 0-d tensor and the default dtype for a Python number (float32 for a
float, int64 for an int). So float32 ** int64 -> float32, int + 1.5 -> float32,
float32 tensor * float64 0-d tensor -> float32, where NumPy would give float64.
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad.tensor import Tensor

DEFAULT_FLOAT = np.dtype(np.float32)
_BOOL, _INT, _FLOAT = np.dtype(bool), np.dtype(np.int64), DEFAULT_FLOAT


def category(dtype: np.dtype) -> int:
    """0 for bool, 1 for integers, 2 for floating point."""
    return 2 if dtype.kind in "fc" else (0 if dtype.kind == "b" else 1)


def promote_types(a: np.dtype, b: np.dtype) -> np.dtype:
    """The smallest dtype of the higher category that holds both (float32 + int64 -> float32)."""
    ca, cb = category(a), category(b)
    if ca != cb:
        return a if ca > cb else b
    return np.promote_types(a, b)


def _scalar_dtype(value) -> np.dtype:
    if isinstance(value, (bool, np.bool_)):
        return _BOOL
    if isinstance(value, numbers.Integral):
        return _INT
    return _FLOAT


def _combine(higher, lower):
    """PyTorch's rule for a higher-priority result `higher` and a lower-priority one."""
    if higher is None:
        return lower
    if lower is None or category(higher) == 2:
        return higher
    if higher == _BOOL or category(lower) == 2:
        return promote_types(higher, lower)
    return higher


def result_type(*operands) -> np.dtype:
    """The dtype PyTorch gives an operation on `operands` (Tensors, arrays or numbers)."""
    levels = [None, None, None]  # dimensioned tensors, 0-d tensors, Python numbers
    for x in operands:
        if isinstance(x, Tensor):
            dtype, level = x.data.dtype, (0 if x.data.ndim else 1)
        elif isinstance(x, np.ndarray):
            dtype, level = x.dtype, (0 if x.ndim else 1)
        else:
            dtype, level = _scalar_dtype(x), 2
        levels[level] = dtype if levels[level] is None else promote_types(levels[level], dtype)
    return _combine(levels[0], _combine(levels[1], levels[2]))


def is_number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, np.ndarray)
