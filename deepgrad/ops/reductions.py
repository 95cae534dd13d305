"""Reductions, scans and sorting with PyTorch's signatures (`dim=`, `keepdim=`).

NumPy's `axis=` / `keepdims=` are accepted as aliases. As in PyTorch:
  * `max(x, dim)` / `min(x, dim)` return `(values, indices)`; the gradient of the values goes to
    the element at the index. `max(x)` (all elements) is a tensor whose gradient is split
    equally among ties (as `amax`).
  * `var` / `std` are unbiased by default (`correction=1`); `unbiased=False` or
    `correction=0` give the population estimate.
  * `any` / `all` return boolean tensors; `argmax` returns an int64 tensor.
"""

from __future__ import annotations

import builtins
from collections import namedtuple

import numpy as np

from deepgrad.ops import elementwise as _e
from deepgrad.ops import index as _i
from deepgrad.ops import reduce as _r
from deepgrad.ops import shape as _s
from deepgrad.ops.promote import DEFAULT_FLOAT
from deepgrad.ops.reduce import normalize_axis
from deepgrad.tensor import Tensor

#: what `max(x, dim)`, `min(x, dim)`, `sort` and `topk` return: a named pair, as PyTorch's
#: `torch.return_types` (so `values, indices = x.max(1)` and `x.max(1).indices` both work)
ValuesIndices = namedtuple("ValuesIndices", ["values", "indices"])


def resolve_dim(dim, axis, op):
    """`dim`, or NumPy's `axis` alias (giving both, differently, is an error)."""
    if axis is None:
        return dim
    if dim is not None and dim != axis:
        raise TypeError(f"{op}: got dim={dim!r} and axis={axis!r}; axis is NumPy's name for "
                        "dim, pass only one")
    return axis


def resolve_keepdim(keepdim, keepdims):
    return bool(keepdim) if keepdims is None else bool(keepdims)


def _float(x):
    return x if x.data.dtype.kind == "f" else Tensor._wrap(x.data.astype(DEFAULT_FLOAT))


def sum(x, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """sum over `dim` (all dims when None)."""
    if dtype is not None:
        x = _cast(x, dtype)
    return _r.Sum.apply(x, axis=resolve_dim(dim, axis, "sum"),
                        keepdims=resolve_keepdim(keepdim, keepdims))


def mean(x, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    """mean over `dim`; integer and boolean tensors average in float32. An empty slice gives
    nan, as in PyTorch."""
    x = _float(x) if dtype is None else _cast(x, dtype)
    return _r.Mean.apply(x, axis=resolve_dim(dim, axis, "mean"),
                         keepdims=resolve_keepdim(keepdim, keepdims))


def amax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The largest value over `dim` (ties share the gradient equally)."""
    return _r.Max.apply(x, axis=resolve_dim(dim, axis, "amax"),
                        keepdims=resolve_keepdim(keepdim, keepdims))


def amin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The smallest value over `dim` (ties share the gradient equally)."""
    return _r.Min.apply(x, axis=resolve_dim(dim, axis, "amin"),
                        keepdims=resolve_keepdim(keepdim, keepdims))


def _extreme(x, dim, keepdim, op, other_fn, full_fn, arg_fn):
    if isinstance(dim, Tensor):  # max(a, b): the elementwise maximum, as torch.max(a, b)
        return other_fn(x, dim)
    if dim is None:
        return full_fn(x, None, keepdim)
    if not isinstance(dim, (int, np.integer)):
        raise TypeError(f"{op}: dim must be an int (one dimension), got {dim!r}; use "
                        f"a{op}(x, dim=(...)) to reduce several dimensions")
    (axis,) = normalize_axis(dim, x.ndim, op) or (None,)
    if x.data.size == 0:
        raise IndexError(f"{op}: cannot take the {op} of an empty dimension (shape {x.shape})")
    if axis is None:  # a 0-d tensor: the value itself, index 0
        return ValuesIndices(x, Tensor._wrap(np.zeros((), np.int64)))
    index = np.expand_dims(arg_fn(x.data, axis=axis), axis)
    values = _i.Gather.apply(x, index=index, axis=axis)
    if not keepdim:
        index = np.squeeze(index, axis)
        values = _s.Reshape.apply(values, shape=index.shape)
    return ValuesIndices(values, Tensor._wrap(index))


def max(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """max(x): the largest element; max(x, dim): (values, indices) along dim;
    max(x, other): the elementwise maximum."""
    return _extreme(x, resolve_dim(dim, axis, "max"), resolve_keepdim(keepdim, keepdims), "max",
                    lambda a, b: _e.Maximum.apply(a, b), amax, np.argmax)


def min(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """min(x): the smallest element; min(x, dim): (values, indices) along dim;
    min(x, other): the elementwise minimum."""
    return _extreme(x, resolve_dim(dim, axis, "min"), resolve_keepdim(keepdim, keepdims), "min",
                    lambda a, b: _e.Minimum.apply(a, b), amin, np.argmin)


def _arg(x, dim, keepdim, fn, op):
    if dim is None:
        result = np.asarray(fn(x.data.reshape(-1)), dtype=np.int64)
        return Tensor._wrap(result.reshape((1,) * x.ndim) if keepdim else result)
    (axis,) = normalize_axis(dim, x.ndim, op) or (None,)
    if axis is None:
        return Tensor._wrap(np.zeros((), np.int64))
    return Tensor._wrap(np.asarray(fn(x.data, axis=axis, keepdims=keepdim), dtype=np.int64))


def argmax(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the largest element (of the flattened tensor when dim is None), int64."""
    return _arg(x, resolve_dim(dim, axis, "argmax"), resolve_keepdim(keepdim, keepdims),
                np.argmax, "argmax")


def argmin(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the smallest element (of the flattened tensor when dim is None), int64."""
    return _arg(x, resolve_dim(dim, axis, "argmin"), resolve_keepdim(keepdim, keepdims),
                np.argmin, "argmin")


def _correction(unbiased, correction, ddof, op):
    given = [v for v in (unbiased, correction, ddof) if v is not None]
    if len(given) > 1:
        raise TypeError(f"{op}: pass only one of unbiased=, correction= and ddof= (got "
                        f"unbiased={unbiased!r}, correction={correction!r}, ddof={ddof!r})")
    if unbiased is not None:
        return 1 if unbiased else 0
    value = correction if correction is not None else (1 if ddof is None else ddof)
    return value


def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Variance sum (x - mean)^2 / (n - correction) over `dim`. The default correction=1 is the
    unbiased (sample) estimate, as PyTorch; correction=0 (or unbiased=False) the population
    variance. NumPy's ddof= is the same number as correction=."""
    if isinstance(dim, bool):  # var(x, False): PyTorch's positional unbiased
        dim, unbiased = None, dim
    return _r.Var.apply(_float(x), axis=resolve_dim(dim, axis, "var"),
                        keepdims=resolve_keepdim(keepdim, keepdims),
                        ddof=_correction(unbiased, correction, ddof, "var"))


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None, axis=None,
        keepdims=None, ddof=None):
    """Standard deviation sqrt(var), unbiased by default as PyTorch (see `var`)."""
    return _e.Sqrt.apply(var(x, dim, unbiased, keepdim, correction=correction, axis=axis,
                             keepdims=keepdims, ddof=ddof))


def prod(x, dim=None, keepdim=False, *, dtype=None, axis=None, keepdims=None):
    if dtype is not None:
        x = _cast(x, dtype)
    return _r.Prod.apply(x, axis=resolve_dim(dim, axis, "prod"),
                         keepdims=resolve_keepdim(keepdim, keepdims))


def _boolean(x, dim, keepdim, fn, op):
    axes = normalize_axis(dim, x.ndim, op)
    return Tensor._wrap(np.asarray(fn(x.data, axis=axes, keepdims=keepdim)))


def any(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """True where any element along `dim` is non-zero: a boolean tensor (not a Python bool)."""
    return _boolean(x, resolve_dim(dim, axis, "any"), resolve_keepdim(keepdim, keepdims),
                    np.any, "any")


def all(x, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """True where every element along `dim` is non-zero: a boolean tensor."""
    return _boolean(x, resolve_dim(dim, axis, "all"), resolve_keepdim(keepdim, keepdims),
                    np.all, "all")


def logsumexp(x, dim, keepdim=False, *, axis=None, keepdims=None):
    """ln sum exp(x) over `dim`, without overflow."""
    return _r.LogSumExp.apply(_float(x), axis=resolve_dim(dim, axis, "logsumexp"),
                              keepdims=resolve_keepdim(keepdim, keepdims))


def norm(x, p="fro", dim=None, keepdim=False, *, axis=None, keepdims=None):
    """The p-norm over `dim` (all elements when None): p = 2 or "fro" (Euclidean, gradient 0 at
    the zero vector as PyTorch), 1, inf, -inf, or any other positive number."""
    dim, keepdim = resolve_dim(dim, axis, "norm"), resolve_keepdim(keepdim, keepdims)
    x = _float(x)
    if p in ("fro", 2, 2.0):
        return _r.Norm2.apply(x, axis=dim, keepdims=keepdim)
    magnitude = _e.Abs.apply(x)
    if p == float("inf"):
        return amax(magnitude, dim, keepdim)
    if p == float("-inf"):
        return amin(magnitude, dim, keepdim)
    if p == 1:
        return _r.Sum.apply(magnitude, axis=dim, keepdims=keepdim)
    if isinstance(p, (int, float)) and not isinstance(p, bool) and p > 0:
        total = _r.Sum.apply(_e.PowScalar.apply(magnitude, p=p), axis=dim, keepdims=keepdim)
        return _e.PowScalar.apply(total, p=1.0 / p)
    raise ValueError(f"norm: p must be 'fro', a positive number, inf or -inf, got {p!r}")


def cumsum(x, dim, *, axis=None):
    """Running sum along `dim`."""
    (axis,) = normalize_axis(resolve_dim(dim, axis, "cumsum"), x.ndim, "cumsum") or (None,)
    return x if axis is None else _i.CumSum.apply(x, axis=axis)


def cumprod(x, dim, *, axis=None):
    """Running product along `dim` (gradient exact where elements are zero)."""
    (axis,) = normalize_axis(resolve_dim(dim, axis, "cumprod"), x.ndim, "cumprod") or (None,)
    return x if axis is None else _i.CumProd.apply(x, axis=axis)


def sort(x, dim=None, descending=False, stable=False, *, axis=None):
    """(values, indices) sorted along `dim` (default: the last; ties keep their order)."""
    dim = resolve_dim(dim, axis, "sort")
    (axis,) = normalize_axis(-1 if dim is None else dim, x.ndim, "sort") or (None,)
    if axis is None:
        return ValuesIndices(x, Tensor._wrap(np.zeros((), np.int64)))
    keys = -x.data if descending and x.data.dtype.kind != "b" else x.data
    index = np.argsort(keys, axis=axis, kind="stable")
    if descending and x.data.dtype.kind == "b":
        index = np.argsort(~keys, axis=axis, kind="stable")
    return ValuesIndices(_i.Gather.apply(x, index=index, axis=axis), Tensor._wrap(index))


def argsort(x, dim=-1, descending=False, stable=False):
    return sort(x, dim, descending, stable).indices


def topk(x, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the k largest (or smallest) elements along `dim`."""
    (axis,) = normalize_axis(dim, x.ndim, "topk") or (None,)
    size = 1 if axis is None else x.shape[axis]
    if not 0 <= k <= size:
        raise IndexError(f"topk: k={k} is out of range for dimension {dim} of size {size} "
                         f"(shape {x.shape})")
    values, indices = sort(x, dim, descending=largest)
    if axis is None:
        return ValuesIndices(values, indices)
    keep = (builtins.slice(None),) * axis + (builtins.slice(0, k),)
    index = indices.data[keep]
    return ValuesIndices(_i.Gather.apply(x, index=index, axis=axis), Tensor._wrap(index))


def _cast(x, dtype):
    dtype = np.dtype(dtype)
    if x.data.dtype == dtype:
        return x
    if x.data.dtype.kind == "f" and dtype.kind == "f":
        return _e.Cast.apply(x, dtype=dtype)
    return Tensor._wrap(x.data.astype(dtype))
