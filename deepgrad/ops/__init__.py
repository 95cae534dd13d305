"""Functional interface to the primitives: argument checking and scalar wrapping live here.

Every function takes Tensors (Python numbers and arrays are accepted where a tensor is
expected) and returns a Tensor recorded in the autodiff graph.
"""

from __future__ import annotations

import builtins
import numbers

import numpy as np

from deepgrad.ops import elementwise as _e
from deepgrad.ops import linalg as _l
from deepgrad.ops import reduce as _r
from deepgrad.ops import shape as _s
from deepgrad.ops.reduce import normalize_axis
from deepgrad.tensor import Tensor, as_tensor

__all__ = [
    "add", "sub", "mul", "div", "pow", "neg", "matmul", "linear", "linear_relu", "exp", "log",
    "sqrt", "abs", "sin", "cos", "tanh", "sigmoid", "erf", "relu", "clip", "maximum", "minimum",
    "where",
    "sum", "mean", "max", "min", "var", "reshape", "transpose", "permute", "flatten", "squeeze",
    "unsqueeze", "broadcast_to", "pad", "concatenate", "stack", "getitem", "cast",
    "normalize_axis",
]


def _pair(a, b):
    """Both operands as Tensors; a Python scalar takes the dtype of the other operand."""
    if not isinstance(a, Tensor):
        b = as_tensor(b)
        return as_tensor(a, like=b), b
    return a, as_tensor(b, like=a)


# --- arithmetic -------------------------------------------------------------------------------
def add(a, b):
    return _e.Add.apply(*_pair(a, b))


def sub(a, b):
    return _e.Sub.apply(*_pair(a, b))


def mul(a, b):
    return _e.Mul.apply(*_pair(a, b))


def div(a, b):
    return _e.Div.apply(*_pair(a, b))


def neg(x):
    return _e.Neg.apply(x)


def pow(base, exponent):
    """base ** exponent; a constant Python exponent uses the cheaper rule p x^(p-1)."""
    if isinstance(exponent, numbers.Real) and not isinstance(exponent, bool) \
            and isinstance(base, Tensor):
        return _e.PowScalar.apply(base, p=exponent)
    return _e.Pow.apply(*_pair(base, exponent))


def matmul(a, b):
    return _l.MatMul.apply(*_pair(a, b))


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
    return _e.Exp.apply(x)


def log(x):
    return _e.Log.apply(x)


def sqrt(x):
    return _e.Sqrt.apply(x)


def abs(x):
    return _e.Abs.apply(x)


def sin(x):
    return _e.Sin.apply(x)


def cos(x):
    return _e.Cos.apply(x)


def tanh(x):
    return _e.Tanh.apply(x)


def sigmoid(x):
    return _e.Sigmoid.apply(x)


def erf(x):
    return _e.Erf.apply(x)


def relu(x):
    return _e.Relu.apply(x)


def clip(x, min=None, max=None):
    """Clamp to [min, max] (either may be None)."""
    if min is None and max is None:
        raise ValueError("clip: at least one of min and max must be given")
    if min is not None and max is not None and min > max:
        raise ValueError(f"clip: min={min} is greater than max={max}")
    return _e.Clip.apply(x, lo=min, hi=max)


def maximum(a, b):
    return _e.Maximum.apply(*_pair(a, b))


def minimum(a, b):
    return _e.Minimum.apply(*_pair(a, b))


def where(condition, a, b):
    """Elementwise `a if condition else b`; the condition is not differentiated."""
    condition = condition.data if isinstance(condition, Tensor) else np.asarray(condition)
    if condition.dtype != bool:
        raise TypeError(f"where: condition must be boolean, got dtype {condition.dtype}")
    return _e.Where.apply(*_pair(a, b), condition=condition)


def cast(x, dtype):
    dtype = np.dtype(dtype)
    if x.dtype.kind == "f" and dtype.kind == "f":
        return _e.Cast.apply(x, dtype=dtype)
    if x.requires_grad:
        raise TypeError(f"cast: converting a tensor that requires grad from {x.dtype} to "
                        f"{dtype} is not differentiable")
    return Tensor._wrap(x.data.astype(dtype))


# --- reductions ----------------------------------------------------------------------------
def sum(x, axis=None, keepdims=False):
    return _r.Sum.apply(x, axis=axis, keepdims=keepdims)


def mean(x, axis=None, keepdims=False):
    return _r.Mean.apply(x, axis=axis, keepdims=keepdims)


def max(x, axis=None, keepdims=False):
    return _r.Max.apply(x, axis=axis, keepdims=keepdims)


def min(x, axis=None, keepdims=False):
    return _r.Min.apply(x, axis=axis, keepdims=keepdims)


def var(x, axis=None, keepdims=False, ddof=0):
    """Variance; ddof=0 is the biased (population) estimate, ddof=1 the unbiased one."""
    return _r.Var.apply(x, axis=axis, keepdims=keepdims, ddof=ddof)


# --- shape ---------------------------------------------------------------------------------
def reshape(x, shape):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    return _s.Reshape.apply(x, shape=shape)


def permute(x, axes):
    return _s.Permute.apply(x, axes=tuple(axes))


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
    axes = normalize_axis(axis, x.ndim, "squeeze")
    for a in axes:
        if x.shape[a] != 1:
            raise ValueError(f"squeeze: dimension {a} has size {x.shape[a]}, not 1 "
                             f"(shape {x.shape})")
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


def concatenate(tensors, axis=0):
    tensors = _tensor_list(tensors, "concatenate")
    first = tensors[0]
    axis = normalize_axis(axis, first.ndim, "concatenate")[0]
    for i, t in enumerate(tensors):
        if t.ndim != first.ndim or any(a != b for k, (a, b) in enumerate(zip(t.shape, first.shape))
                                       if k != axis):
            raise ValueError(f"concatenate: tensor {i} has shape {t.shape}, which does not "
                             f"match shape {first.shape} outside axis {axis}")
    return _s.Concatenate.apply(*tensors, axis=axis)


def stack(tensors, axis=0):
    tensors = _tensor_list(tensors, "stack")
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


def getitem(x, index):
    return _s.GetItem.apply(x, index=_plain_index(index))


cat = concatenate
