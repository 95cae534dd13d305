"""deepgrad: a transparent deep-learning library on NumPy."""

# tensor first: it completes the bottom layer (Tensor, then ops, then autograd)
from deepgrad.tensor import Tensor, tensor  # isort: skip
from deepgrad import autograd, ops
from deepgrad._state import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from deepgrad.factories import (arange, full, ones, ones_like, rand, randn, zeros,
                                zeros_like)
from deepgrad.ops import (abs, cat, clip, concatenate, cos, erf, exp, log, matmul, maximum,
                          minimum, relu, sigmoid, sin, sqrt, stack, tanh, where)
from deepgrad.random import default_generator, manual_seed

# the library layers above the core, reachable as deepgrad.nn, deepgrad.optim, deepgrad.data
from deepgrad import data, nn, optim  # isort: skip
from deepgrad.io.serialization import load, save  # isort: skip

__version__ = "0.1.0"

float32 = "float32"
float64 = "float64"
int64 = "int64"

__all__ = [
    "Tensor", "tensor", "autograd", "ops", "nn", "optim", "data", "no_grad", "enable_grad",
    "set_grad_enabled",
    "is_grad_enabled", "manual_seed", "default_generator", "zeros", "ones", "full", "arange",
    "randn", "rand", "zeros_like", "ones_like", "abs", "cat", "clip", "concatenate", "cos",
    "erf", "exp", "log", "matmul", "maximum", "minimum", "relu", "sigmoid", "sin", "sqrt",
    "stack", "tanh", "where", "save", "load",
]
