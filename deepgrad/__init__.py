"""deepgrad: a transparent deep-learning library on NumPy.

The top-level names follow PyTorch's, so `import deepgrad as torch` runs PyTorch course code
(see docs/pytorch.md for what is covered and the deliberate differences).
"""

import numpy as _np

# tensor first: it completes the bottom layer (Tensor, then ops, then autograd)
from deepgrad.tensor import Tensor, tensor  # isort: skip
from deepgrad import autograd, ops
from deepgrad._state import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from deepgrad.devices import cuda, device
from deepgrad.factories import (arange, as_tensor, empty, empty_like, eye, from_numpy, full,
                                full_like, linspace, logspace, ones, ones_like, rand, rand_like,
                                randint, randn, randn_like, randperm, zeros, zeros_like)
from deepgrad.ops import (abs, add, all, amax, amin, any, argmax, argmin, argsort, bmm,
                          broadcast_to, cat, ceil, chunk, clamp, clip, clone, concatenate, cos,
                          cumprod, cumsum, div, einsum, erf, exp, flatten, flip, floor,
                          floor_divide, gather, index_select, isfinite, isinf, isnan, log,
                          log_softmax, logsumexp, masked_fill, matmul, max, maximum, mean, min,
                          minimum, mm, mul, neg, norm, permute, pow, prod, relu, remainder,
                          reshape, result_type, roll, round, scatter, scatter_add, sigmoid, sign,
                          sin, softmax, sort, split, sqrt, squeeze, stack, std, sub, sum,
                          take_along_dim, tanh, topk, transpose, tril, triu, trunc, unsqueeze,
                          var, where)
from deepgrad.random import default_generator, manual_seed

# the library layers above the core, reachable as deepgrad.nn, deepgrad.optim, deepgrad.data
from deepgrad import data, nn, optim  # isort: skip
from deepgrad.io.serialization import load, save  # isort: skip

__version__ = "0.1.0"

# the application layer, imported on first use (`deepgrad.fit(model, data)`, `deepgrad.Run`)
_LAZY = {"fit": "deepgrad.training", "Trainer": "deepgrad.training", "Run": "deepgrad.runner",
         "registry": "deepgrad.registry"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        return module if module.__name__.endswith(name) else getattr(module, name)
    raise AttributeError(f"module 'deepgrad' has no attribute {name!r}")


# dtypes by PyTorch's names (NumPy dtypes: `x.dtype == deepgrad.float32` works either way)
float32 = float = _np.dtype(_np.float32)
float64 = double = _np.dtype(_np.float64)
int64 = long = _np.dtype(_np.int64)
int32 = int = _np.dtype(_np.int32)
int16 = short = _np.dtype(_np.int16)
int8 = _np.dtype(_np.int8)
uint8 = _np.dtype(_np.uint8)
bool = _np.dtype(_np.bool_)


def get_default_dtype():
    """float32, the dtype of tensors made from Python floats (fixed in deepgrad)."""
    return float32


def is_tensor(obj) -> "bool":
    return isinstance(obj, Tensor)


def numel(x) -> "int":
    return x.data.size


def is_floating_point(x) -> "bool":
    return x.data.dtype.kind == "f"


__all__ = [
    "Tensor", "tensor", "autograd", "ops", "nn", "optim", "data", "no_grad", "enable_grad",
    "set_grad_enabled", "is_grad_enabled", "manual_seed", "default_generator",
    "device", "cuda", "save", "load", "get_default_dtype", "is_tensor", "numel",
    "is_floating_point",
    # factories
    "zeros", "ones", "full", "empty", "eye", "arange", "linspace", "logspace", "randn", "rand",
    "randint", "randperm", "zeros_like", "ones_like", "full_like", "empty_like", "rand_like",
    "randn_like", "from_numpy", "as_tensor",
    # functions
    "abs", "add", "all", "amax", "amin", "any", "argmax", "argmin", "argsort", "bmm",
    "broadcast_to", "cat", "ceil", "chunk", "clamp", "clip", "clone", "concatenate", "cos",
    "cumprod", "cumsum", "div", "einsum", "erf", "exp", "flatten", "flip", "floor",
    "floor_divide", "gather", "index_select", "isfinite", "isinf", "isnan", "log",
    "log_softmax", "logsumexp", "masked_fill", "matmul", "max", "maximum", "mean", "min",
    "minimum", "mm", "mul", "neg", "norm", "permute", "pow", "prod", "relu", "remainder",
    "reshape", "result_type", "roll", "round", "scatter", "scatter_add", "sigmoid", "sign",
    "sin", "softmax", "sort", "split", "sqrt", "squeeze", "stack", "std", "sub", "sum",
    "take_along_dim", "tanh", "topk", "transpose", "tril", "triu", "trunc", "unsqueeze", "var",
    "where",
    # dtypes (the aliases float, double, long, int, short and bool stay out of __all__: a
    # star import must not shadow Python's float, int and bool)
    "float32", "float64", "int64", "int32", "int16", "int8", "uint8",
    # the application layer (imported on first use)
    "fit", "Trainer", "Run",
]
