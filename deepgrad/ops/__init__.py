"""Functional interface to the primitives: argument checking and scalar wrapping live here.

Every function takes Tensors (Python numbers and arrays are accepted where a tensor is
expected) and returns a Tensor recorded in the autodiff graph.
"""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from deepgrad.ops import activation as _a
from deepgrad.ops import elementwise as _e
from deepgrad.ops import linalg as _l
from deepgrad.ops import shape as _s
from deepgrad.ops.indexing import (chunk, flip, gather, index_select, masked_fill, repeat,
                                   roll, scatter, scatter_add, split, take_along_dim, tril,
                                   triu)
from deepgrad.ops.promote import DEFAULT_FLOAT, is_number, result_type
from deepgrad.ops.reduce import normalize_axis
from deepgrad.ops.reductions import (ValuesIndices, all, amax, amin, any, argmax, argmin,
                                     argsort, cumprod, cumsum, logsumexp, max, mean, min, norm,
                                     prod, resolve_dim, sort, std, sum, topk, var)
from deepgrad.tensor import Tensor, as_tensor

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "remainder", "floor_divide", "matmul", "mm",
    "bmm", "einsum", "linear", "linear_relu", "exp", "log", "sqrt", "abs", "sin", "cos", "tanh",
    "sigmoid", "erf", "relu", "clip", "clamp", "maximum", "minimum", "where", "floor", "ceil",
    "round", "trunc", "sign", "isnan", "isinf", "isfinite",
    "sum", "mean", "max", "min", "amax", "amin", "argmax", "argmin", "var", "std", "prod",
    "any", "all", "logsumexp", "norm", "cumsum", "cumprod", "sort", "argsort", "topk",
    "reshape", "transpose", "permute", "flatten", "squeeze", "unsqueeze", "broadcast_to",
    "pad", "concatenate", "stack", "getitem", "cast", "normalize_axis", "gather", "scatter",
    "scatter_add", "index_select", "masked_fill", "split", "chunk", "flip", "roll", "repeat",
    "tril", "triu", "take_along_dim", "result_type", "ValuesIndices", "clone", "softmax",
    "log_softmax",
]


def _pair(a, b):
    """Both operands as Tensors of the dtype PyTorch's promotion rules give (see promote.py):
    float32 ** int64 -> float32, int + 1.5 -> float32, int32 + 5 -> int32."""
    if type(a) is Tensor and type(b) is Tensor and a.data.dtype is b.data.dtype:
        return a, b  # the common case, kept cheap
    if isinstance(a, Tensor) and a.data.dtype.kind == "f" and is_number(b) \
            and not isinstance(b, complex):
        return a, Tensor._wrap(np.asarray(b, dtype=a.data.dtype))
    dtype = result_type(a, b)
    return _to(a, dtype), _to(b, dtype)


def _to(x, dtype):
    """x (a Tensor, array or number) as a Tensor of `dtype`; float casts are differentiable."""
    if not isinstance(x, Tensor):
        return Tensor._wrap(np.asarray(x.data if isinstance(x, Tensor) else x, dtype=dtype)) \
            if is_number(x) else _to(as_tensor(x), dtype)
    if x.data.dtype == dtype:
        return x
    if x.data.dtype.kind == "f" and dtype.kind == "f":
        return _e.Cast.apply(x, dtype=dtype)
    return Tensor._wrap(x.data.astype(dtype))


def _floating(x):
    """x itself if floating point, else x in the default float dtype (float32)."""
    if not isinstance(x, Tensor):
        x = as_tensor(x)
    return x if x.data.dtype.kind == "f" else Tensor._wrap(x.data.astype(DEFAULT_FLOAT))


# --- arithmetic -------------------------------------------------------------------------------
def add(a, b):
    return _e.Add.apply(*_pair(a, b))


def sub(a, b):
    return _e.Sub.apply(*_pair(a, b))


def mul(a, b):
    return _e.Mul.apply(*_pair(a, b))


def div(a, b, *, rounding_mode=None):
    """a / b (true division: integers divide in float32, as PyTorch); rounding_mode="floor"
    or "trunc" rounds the quotient."""
    a, b = _pair(a, b)
    if rounding_mode == "floor":
        return floor_divide(a, b)
    if rounding_mode == "trunc":
        return trunc(_e.Div.apply(_floating(a), _floating(b))) if a.data.dtype.kind == "f" \
            else Tensor._wrap(np.trunc(a.data / b.data).astype(a.data.dtype))
    if rounding_mode is not None:
        raise ValueError(f"div: rounding_mode must be None, 'floor' or 'trunc', got "
                         f"{rounding_mode!r}")
    if a.data.dtype.kind != "f":
        a, b = _floating(a), _floating(b)
    return _e.Div.apply(a, b)


def remainder(a, b):
    """a % b with the sign of b (Python's and PyTorch's convention)."""
    return _e.Remainder.apply(*_pair(a, b))


def floor_divide(a, b):
    """a // b = floor(a / b); piecewise constant, so its gradient is 0."""
    a, b = _pair(a, b)
    if a.data.dtype.kind != "f":
        if np.any(b.data == 0):
            raise ZeroDivisionError("floor_divide: integer division by zero")
        return Tensor._wrap(np.floor_divide(a.data, b.data))
    return _e.Piecewise.apply(a, b, fn=np.floor_divide)


def neg(x):
    return _e.Neg.apply(x)


def pow(base, exponent):
    """base ** exponent; a constant Python exponent uses the cheaper rule p x^(p-1).

    The gradient with respect to the base at base = 0 follows PyTorch: p x^(p-1) (0 for p > 1,
    inf for p < 1); with respect to the exponent it is y ln(base), taken as 0 where base <= 0.
    """
    if isinstance(exponent, numbers.Real) and not isinstance(exponent, bool) \
            and isinstance(base, Tensor):
        if base.data.dtype.kind != "f" and not isinstance(exponent, numbers.Integral):
            base = _floating(base)
        return _e.PowScalar.apply(base, p=exponent)
    return _e.Pow.apply(*_pair(base, exponent))


def matmul(a, b):
    return _l.MatMul.apply(*_pair(a, b))


def mm(a, b):
    """Matrix product of two 2-D tensors."""
    if a.ndim != 2 or b.ndim != 2:
        raise RuntimeError(f"mm: both operands must be 2-D matrices, got shapes {a.shape} and "
                           f"{b.shape}")
    return matmul(a, b)


def bmm(a, b):
    """Batched matrix product of (B, n, k) and (B, k, m) tensors."""
    if a.ndim != 3 or b.ndim != 3 or a.shape[0] != b.shape[0]:
        raise RuntimeError(f"bmm: both operands must be 3-D with the same batch size, got "
                           f"shapes {a.shape} and {b.shape}")
    return matmul(a, b)


def einsum(equation, *operands):
    """Einstein summation, e.g. einsum("bij,bjk->bik", a, b). Letters only; "..." is not
    supported, nor a letter repeated within one operand (a diagonal)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    equation = equation.replace(" ", "")
    if "..." in equation:
        raise ValueError(f"einsum: '...' is not supported in {equation!r}; name every "
                         "dimension with a letter")
    inputs, arrow, output = equation.partition("->")
    inputs = inputs.split(",")
    if not arrow:  # implicit output: the letters used once, in alphabetical order
        letters = "".join(inputs)
        output = "".join(sorted(c for c in set(letters) if letters.count(c) == 1))
    tensors = [as_tensor(x) for x in operands]
    if len(inputs) != len(tensors):
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operands, got "
                         f"{len(tensors)}")
    for spec, t in zip(inputs, tensors):
        if len(spec) != t.ndim or len(set(spec)) != len(spec):
            raise ValueError(f"einsum: operand {spec!r} of {equation!r} must name each of the "
                             f"{t.ndim} dimensions of shape {t.shape} with its own letter")
    dtype = result_type(*tensors)
    return _l.Einsum.apply(*(_to(t, dtype) for t in tensors), inputs=tuple(inputs),
                           output=output)


def linear(x, weight, bias=None):
    """y = x W^T + b (one fused primitive: the core of nn.Linear)."""
    if bias is None:
        return _l.Linear.apply(x, weight)
    return _l.Linear.apply(x, weight, bias)


def linear_relu(x, weight, bias=None):
    """relu(x W^T + b) as one fused primitive (nn.Sequential uses it for Linear + ReLU)."""
    if bias is None:
        return _l.LinearReLU.apply(x, weight)
    return _l.LinearReLU.apply(x, weight, bias)


# --- elementwise functions ----------------------------------------------------------------
def exp(x):
    return _e.Exp.apply(x if x.data.dtype.kind == "f" else _floating(x))


def log(x):
    return _e.Log.apply(x if x.data.dtype.kind == "f" else _floating(x))


def sqrt(x):
    return _e.Sqrt.apply(x if x.data.dtype.kind == "f" else _floating(x))


def abs(x):
    return _e.Abs.apply(x)


def sin(x):
    return _e.Sin.apply(x if x.data.dtype.kind == "f" else _floating(x))


def cos(x):
    return _e.Cos.apply(x if x.data.dtype.kind == "f" else _floating(x))


def tanh(x):
    return _e.Tanh.apply(x if x.data.dtype.kind == "f" else _floating(x))


def sigmoid(x):
    return _e.Sigmoid.apply(x if x.data.dtype.kind == "f" else _floating(x))


def erf(x):
    return _e.Erf.apply(x if x.data.dtype.kind == "f" else _floating(x))


def relu(x):
    return _e.Relu.apply(x)


def clip(x, min=None, max=None):
    """Clamp to [min, max] (either may be None)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clip: min={min} is greater than max={max}")
    return _e.Clip.apply(x, lo=min, hi=max)


clamp = clip


def _piecewise(x, fn):
    return _e.Piecewise.apply(x, fn=fn) if x.data.dtype.kind == "f" else \
        Tensor._wrap(np.asarray(fn(x.data)))


def floor(x):
    return _piecewise(x, np.floor)


def ceil(x):
    return _piecewise(x, np.ceil)


def round(x, decimals=0):
    """Round half to even (as PyTorch and NumPy), to `decimals` places."""
    return _piecewise(x, np.round if decimals == 0 else lambda a: np.round(a, decimals))


def trunc(x):
    return _piecewise(x, np.trunc)


def sign(x):
    return _piecewise(x, np.sign)


def isnan(x):
    return Tensor._wrap(np.isnan(x.data))


def isinf(x):
    return Tensor._wrap(np.isinf(x.data))


def isfinite(x):
    return Tensor._wrap(np.isfinite(x.data))


def maximum(a, b):
    return _e.Maximum.apply(*_pair(a, b))


def minimum(a, b):
    return _e.Minimum.apply(*_pair(a, b))


def where(condition, a=None, b=None):
    """Elementwise `a if condition else b`; the condition is not differentiated. With only a
    condition, the indices where it is true (as torch.where(condition))."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if a is None and b is None:
        return tuple(Tensor._wrap(i) for i in np.nonzero(condition))
    if condition.dtype != bool:
        raise TypeError(f"where: condition must be boolean, got dtype {condition.dtype}")
    return _e.Where.apply(*_pair(a, b), condition=condition)


def _last(dim):
    return -1 if dim is None else dim


def clone(x):
    """A copy in the graph (the gradient flows back unchanged)."""
    if x.data.dtype.kind == "f":
        return _e.Cast.apply(x, dtype=x.data.dtype)
    return Tensor._wrap(x.data.copy())


def softmax(x, dim=None, *, axis=None):
    """y_i = e^(x_i) / sum_j e^(x_j) along `dim` (computed with the maximum subtracted)."""
    x = _floating(x)
    dim = normalize_axis(_last(resolve_dim(dim, axis, "softmax")), x.ndim, "softmax")
    return _a.Softmax.apply(x, axis=dim[0]) if dim else x * 0.0 + 1.0


def log_softmax(x, dim=None, *, axis=None):
    """y = x - max x - ln(sum_j e^(x_j - max x)) along `dim`: finite for any finite logits."""
    x = _floating(x)
    dim = normalize_axis(_last(resolve_dim(dim, axis, "log_softmax")), x.ndim, "log_softmax")
    return _a.LogSoftmax.apply(x, axis=dim[0]) if dim else x - x


def cast(x, dtype):
    dtype = np.dtype(dtype)
    if x.dtype.kind == "f" and dtype.kind == "f":
        return _e.Cast.apply(x, dtype=dtype)
    if x.requires_grad:
        raise TypeError(f"cast: converting a tensor that requires grad from {x.dtype} to "
                        f"{dtype} is not differentiable")
    return Tensor._wrap(x.data.astype(dtype))


# --- shape ---------------------------------------------------------------------------------
def reshape(x, shape):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _s.Reshape.apply(x, shape=shape)


def permute(x, axes):
    """x with its dimensions reordered; negative dims count from the end."""
    axes = tuple(axes)
    if builtins.all(isinstance(a, (int, np.integer)) and -x.ndim <= a < x.ndim for a in axes):
        axes = tuple(int(a) % x.ndim if x.ndim else 0 for a in axes)
    return _s.Permute.apply(x, axes=axes)


def transpose(x, *axes):
    """With no axes, reverse them; with two, swap those two; with all, permute."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if not axes:
        return permute(x, tuple(range(x.ndim))[::-1])
    if len(axes) == 2:
        order = list(range(x.ndim))
        i, j = (normalize_axis(a, x.ndim, "transpose")[0] for a in axes)
        order[i], order[j] = order[j], order[i]
        return permute(x, order)
    return permute(x, axes)


def flatten(x, start_dim=0, end_dim=-1):
    """Merge dimensions start_dim..end_dim (inclusive) into one."""
    if x.ndim == 0:
        return reshape(x, (1,))
    start = normalize_axis(start_dim, x.ndim, "flatten")[0]
    end = normalize_axis(end_dim, x.ndim, "flatten")[0]
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    shape = x.shape[:start] + (-1,) + x.shape[end + 1:]
    if x.size == 0:
        merged = int(np.prod(x.shape[start:end + 1]))
        shape = x.shape[:start] + (merged,) + x.shape[end + 1:]
    return reshape(x, shape)


def squeeze(x, axis=None):
    if axis is None:
        return reshape(x, tuple(n for n in x.shape if n != 1))
    # as PyTorch: a dimension whose size is not 1 is left alone (no error)
    axes = [a for a in normalize_axis(axis, x.ndim, "squeeze") if x.shape[a] == 1]
    return reshape(x, tuple(n for i, n in enumerate(x.shape) if i not in axes))


def unsqueeze(x, axis):
    ndim = x.ndim + 1
    if not -ndim <= axis < ndim:
        raise ValueError(f"unsqueeze: axis {axis} is out of range for a result with "
                         f"{ndim} dimensions")
    axis %= ndim
    return reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def broadcast_to(x, shape):
    return _s.BroadcastTo.apply(x, shape=tuple(shape))


def pad(x, pad_width, value=0.0):
    """Constant padding; pad_width is ((before, after), ...) per dimension, as in np.pad."""
    pad_width = tuple((int(p[0]), int(p[1])) for p in pad_width)
    if len(pad_width) != x.ndim:
        raise ValueError(f"pad: pad_width has {len(pad_width)} entries but the tensor has "
                         f"{x.ndim} dimensions (shape {x.shape})")
    if builtins.min([builtins.min(p) for p in pad_width] + [0]) < 0:
        raise ValueError(f"pad: pad widths must be non-negative, got {pad_width}")
    return _s.Pad.apply(x, pad_width=pad_width, value=value)


def _tensor_list(tensors, op):
    tensors = [as_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError(f"{op}: needs at least one tensor")
    return tensors


def concatenate(tensors, dim=None, *, axis=None):
    axis = resolve_dim(dim, axis, "cat") or 0
    tensors = _tensor_list(tensors, "concatenate")
    if len({t.data.dtype for t in tensors}) > 1:
        dtype = result_type(*tensors)
        tensors = [_to(t, dtype) for t in tensors]
    first = tensors[0]
    axis = normalize_axis(axis, first.ndim, "concatenate")[0]
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or builtins.any(a != b for k, (a, b) in enumerate(zip(t.shape, first.shape))
                                       if k != axis):
            raise ValueError(f"concatenate: tensor {i} has shape {t.shape}, which does not "
                             f"match shape {first.shape} outside axis {axis}")
    return _s.Concatenate.apply(*tensors, axis=axis)


def stack(tensors, dim=None, *, axis=None):
    axis = resolve_dim(dim, axis, "stack") or 0
    tensors = _tensor_list(tensors, "stack")
    if len({t.data.dtype for t in tensors}) > 1:
        dtype = result_type(*tensors)
        tensors = [_to(t, dtype) for t in tensors]
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape "
                             f"{tensors[0].shape}; all must be equal")
    axis = normalize_axis(axis, tensors[0].ndim + 1, "stack")[0]
    return _s.Stack.apply(*tensors, axis=axis)


def _plain_index(index):
    if isinstance(index, Tensor):
        return index.data
    if isinstance(index, tuple):
        return tuple(i.data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _is_int(part):
    return isinstance(part, (int, np.integer)) and not isinstance(part, (bool, np.bool_))


def getitem(x, index):
    """x[index] with PyTorch's meaning; where it differs from NumPy's (integers mixed with
    index arrays), the integers select first: x[0, :, [1, 2]] has shape (x.shape[1], 2)."""
    index = _plain_index(index)
    if isinstance(index, tuple) and builtins.any(_is_int(p) for p in index) and builtins.any(
            isinstance(p, (np.ndarray, list)) for p in index):
        first = tuple(p if _is_int(p) or p is None or p is Ellipsis else slice(None)
                      for p in index)
        rest = tuple(slice(None) if p is None else p for p in index if not _is_int(p))
        return getitem(_s.GetItem.apply(x, index=first), rest)
    return _s.GetItem.apply(x, index=index)


cat = concatenate
