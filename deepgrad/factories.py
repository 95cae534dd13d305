"""Tensor factories with PyTorch's signatures: zeros, ones, full, empty, eye, arange, linspace,
logspace, randn, rand, randint, randperm, the *_like forms, from_numpy and as_tensor.

Every factory takes `dtype=`, `device=` (only "cpu" exists) and `requires_grad=`. Floating
factories default to float32, as PyTorch's default dtype. Random ones draw from `generator`
(a numpy.random.Generator or an int seed; default: deepgrad's seeded generator).
"""

from __future__ import annotations

import numbers

import numpy as np

from deepgrad.devices import check_device
from deepgrad.random import get_generator
from deepgrad.tensor import Tensor

_FLOAT = np.float32


def _shape(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    for n in shape:
        if isinstance(n, bool) or not isinstance(n, (numbers.Integral, np.integer)) or n < 0:
            raise TypeError(f"expected a size made of non-negative ints, got {tuple(shape)}")
    return tuple(int(n) for n in shape)


def _make(array, requires_grad, device=None, op="tensor"):
    check_device(device, op)
    t = Tensor._wrap(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _make(np.zeros(_shape(size), dtype=dtype or _FLOAT), requires_grad, device, "zeros")


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _make(np.ones(_shape(size), dtype=dtype or _FLOAT), requires_grad, device, "ones")


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uninitialized in PyTorch; zeros here (NumPy's empty would expose stale memory)."""
    return _make(np.zeros(_shape(size), dtype=dtype or _FLOAT), requires_grad, device, "empty")


def _fill_dtype(fill_value):
    if isinstance(fill_value, (bool, np.bool_)):
        return np.bool_
    return np.int64 if isinstance(fill_value, numbers.Integral) else _FLOAT


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of `size` filled with `fill_value` (int64 for an int, float32 for a float)."""
    size = (size,) if isinstance(size, numbers.Integral) else tuple(size)
    dtype = dtype or _fill_dtype(fill_value)
    return _make(np.full(_shape(size), fill_value, dtype=dtype), requires_grad, device, "full")


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _make(np.eye(n, n if m is None else m, dtype=dtype or _FLOAT), requires_grad,
                 device, "eye")


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """start, start + step, ... below end; int64 for int arguments, else float32."""
    values = np.arange(start, end, step) if end is not None else np.arange(start)
    if dtype is None:
        dtype = _FLOAT if values.dtype.kind == "f" else np.int64
    return _make(values.astype(dtype), requires_grad, device, "arange")


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    """`steps` evenly spaced values from start to end (both included)."""
    if not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"linspace: steps must be a non-negative int, got {steps!r}")
    values = np.linspace(float(start), float(end), int(steps))
    return _make(values.astype(dtype or _FLOAT), requires_grad, device, "linspace")


def logspace(start, end, steps, base=10.0, dtype=None, device=None,
             requires_grad=False) -> Tensor:
    """base ** linspace(start, end, steps)."""
    values = np.logspace(float(start), float(end), int(steps), base=base)
    return _make(values.astype(dtype or _FLOAT), requires_grad, device, "logspace")


def randn(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal samples drawn from `generator` (default: deepgrad's seeded one)."""
    rng = get_generator(generator)
    values = rng.standard_normal(_shape(size)).astype(dtype or _FLOAT)
    return _make(values, requires_grad, device, "randn")


def rand(*size, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform samples on [0, 1) drawn from `generator`."""
    rng = get_generator(generator)
    return _make(rng.random(_shape(size)).astype(dtype or _FLOAT), requires_grad, device, "rand")


def randint(*args, size=None, generator=None, dtype=None, device=None,
            requires_grad=False) -> Tensor:
    """randint(high, size) or randint(low, high, size): integers in [low, high), int64."""
    if size is None:
        args, size = args[:-1], args[-1]
    low, high = (0, args[0]) if len(args) == 1 else args
    if high <= low:
        raise ValueError(f"randint: high={high} must be greater than low={low}")
    values = get_generator(generator).integers(low, high, size=_shape((size,)))
    return _make(values.astype(dtype or np.int64), requires_grad, device, "randint")


def randperm(n, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A random permutation of 0 .. n-1 (int64)."""
    values = get_generator(generator).permutation(int(n)).astype(dtype or np.int64)
    return _make(values, requires_grad, device, "randperm")


def _like(t, fill, dtype, device, requires_grad, op):
    array = t.data if isinstance(t, Tensor) else np.asarray(t)
    return _make(fill(array.shape, dtype or array.dtype), requires_grad, device, op)


def zeros_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(t, np.zeros, dtype, device, requires_grad, "zeros_like")


def ones_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(t, np.ones, dtype, device, requires_grad, "ones_like")


def empty_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(t, np.zeros, dtype, device, requires_grad, "empty_like")


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return _like(t, lambda shape, d: np.full(shape, fill_value, dtype=d), dtype, device,
                 requires_grad, "full_like")


def rand_like(t, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return rand(*t.shape, generator=generator, dtype=dtype or t.dtype, device=device,
                requires_grad=requires_grad)


def randn_like(t, generator=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    return randn(*t.shape, generator=generator, dtype=dtype or t.dtype, device=device,
                 requires_grad=requires_grad)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with `array` (changes to one show in the other), as PyTorch."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    if array.dtype == object:
        raise TypeError("from_numpy: arrays of Python objects cannot become tensors")
    return Tensor._wrap(array)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """`data` as a tensor, sharing memory when it already is a tensor or an ndarray of the
    requested dtype; otherwise a converted copy (as torch.as_tensor)."""
    check_device(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None or np.dtype(dtype) == data.dtype else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or np.dtype(dtype) == data.dtype) \
            and data.dtype != object:
        return Tensor._wrap(data)
    return Tensor(data, dtype=dtype)
