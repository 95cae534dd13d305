"""Parameter initializers. Each fills a tensor in place (and returns it); the random ones draw
from an explicit generator (`generator=`: a numpy Generator or an int seed; None means
deepgrad's default generator, reset by `deepgrad.manual_seed`).

Variance-preserving schemes, for a weight of shape (out, in, *kernel) with
fan_in = in * prod(kernel) and fan_out = out * prod(kernel):

    xavier (Glorot & Bengio 2010)   Var W = gain^2 * 2 / (fan_in + fan_out)
    lecun  (LeCun et al. 1998)      Var W = 1 / fan_in          (Caffe's "xavier"; SELU nets)
    kaiming (He et al. 2015)        Var W = gain^2 / fan      (gain^2 = 2 for ReLU: 2 / fan_in)

A uniform U(-l, l) has variance l^2 / 3, so the uniform variants use l = sqrt(3) * std.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import numbers

import numpy as np

from deepgrad._state import no_grad
from deepgrad.random import get_generator
from deepgrad.tensor import Tensor, as_tensor

__all__ = [
    "empty", "zeros_", "ones_", "constant_", "normal_", "uniform_", "xavier_normal_",
    "xavier_uniform_", "lecun_normal_", "kaiming_normal_", "kaiming_uniform_", "orthogonal_",
    "lsuv_", "calculate_gain",
]


_BUDGETS = contextvars.ContextVar("deepgrad_parameter_budgets", default=())


@contextlib.contextmanager
def parameter_budget(elements: int, describe):
    """While active, `empty` refuses parameters beyond `elements` in total, before allocating
    them (a config's dry build, or a model rebuilt from a checkpoint, which may need no more
    than the checkpoint stores). `describe(shape, size)` gives the error message. Budgets
    nest: every active one is charged."""
    token = _BUDGETS.set(_BUDGETS.get() + ([int(elements), describe],))
    try:
        yield
    finally:
        _BUDGETS.reset(token)


def empty(shape, dtype="float32") -> np.ndarray:
    """Uninitialized storage for a new parameter (always overwritten by an initializer)."""
    budgets = _BUDGETS.get()
    if budgets:
        shape = tuple(int(d) for d in np.atleast_1d(shape)) if np.ndim(shape) else (int(shape),)
        size = math.prod(shape)
        for remaining, describe in budgets:
            if size > remaining:
                raise ValueError(describe(shape, size))
        for budget in budgets:
            budget[0] -= size
    return np.zeros(shape, dtype=dtype)


def _fill(tensor: Tensor, values) -> Tensor:
    tensor.data[...] = values
    tensor._bump()
    return tensor


def _check_number(value, op, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{op}: {name} must be a real number, got {type(value).__name__} "
                        f"{value!r}")
    return float(value)


def zeros_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 0)


def ones_(tensor: Tensor) -> Tensor:
    return _fill(tensor, 1)


def constant_(tensor: Tensor, val: float) -> Tensor:
    return _fill(tensor, _check_number(val, "constant_", "val"))


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill with samples from U(a, b)."""
    if a > b:
        raise ValueError(f"uniform_: lower bound a={a} is greater than upper bound b={b}")
    return _fill(tensor, get_generator(generator).uniform(a, b, size=tensor.shape))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill with samples from N(mean, std^2)."""
    if std < 0:
        raise ValueError(f"normal_: std must be non-negative, got std={std}")
    return _fill(tensor, get_generator(generator).normal(mean, std, size=tensor.shape))


# --- fans and gains --------------------------------------------------------------------------
def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight (out, in, *kernel): (in * k, out * k), k = prod(kernel).

    Linear (out, in) gives (in, out); Conv2d (out, in, kh, kw) gives (in kh kw, out kh kw).
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions "
                         f"(out, in, *kernel), got shape {shape}")
    receptive_field = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * receptive_field, shape[0] * receptive_field


def _fan(tensor, mode, op):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    raise ValueError(f"{op}: mode must be 'fan_in' or 'fan_out', got {mode!r}")


_UNIT_GAIN = ("linear", "identity", "sigmoid", "conv1d", "conv2d", "conv3d",
              "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The factor by which an initializer's std is multiplied so that activations keep their
    scale through `nonlinearity` (PyTorch's values):

        linear, conv*, sigmoid: 1    tanh: 5/3    relu: sqrt 2
        leaky_relu: sqrt(2 / (1 + a^2)), a = param (default 0.01)    selu: 3/4
    """
    if nonlinearity in _UNIT_GAIN:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else _check_number(param, "calculate_gain", "param")
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if nonlinearity == "selu":
        return 0.75
    known = ", ".join(_UNIT_GAIN[:3] + ("tanh", "relu", "leaky_relu", "selu"))
    raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r} (known: {known})")


# --- variance-preserving initializers ------------------------------------------------------
def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """U(-l, l), l = gain * sqrt(6 / (fan_in + fan_out))  (variance gain^2 2/(fan_in+fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    limit = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -limit, limit, generator=generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """N(0, std^2), std = gain * sqrt(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator=generator)


def lecun_normal_(tensor: Tensor, generator=None) -> Tensor:
    """N(0, 1 / fan_in): keeps the variance of a linear map's output equal to its input's.
    With SELU it makes the network self-normalizing (Klambauer et al. 2017)."""
    fan_in, _ = _calculate_fan_in_and_fan_out(tensor)
    return normal_(tensor, 0.0, 1.0 / math.sqrt(fan_in), generator=generator)


def _kaiming_std(tensor, a, mode, nonlinearity, op):
    gain = calculate_gain(nonlinearity, a)
    return gain / math.sqrt(_fan(tensor, mode, op))


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """N(0, std^2), std = gain / sqrt(fan), gain = calculate_gain(nonlinearity, a). The
    defaults (leaky_relu with a = 0, i.e. ReLU) give Var W = 2 / fan_in (He et al. 2015)."""
    std = _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_normal_")
    return normal_(tensor, 0.0, std, generator=generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None) -> Tensor:
    """U(-l, l), l = sqrt(3) gain / sqrt(fan): the same variance as kaiming_normal_.
    (Linear's default, U(-1/sqrt(in), 1/sqrt(in)), is this with a = sqrt(5).)"""
    limit = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity, "kaiming_uniform_")
    return uniform_(tensor, -limit, limit, generator=generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """A (semi-)orthogonal matrix times gain (Saxe et al. 2014): the weight is viewed as
    (rows, cols) = (out, in * prod(kernel)); rows <= cols gives W W^T = gain^2 I, otherwise
    W^T W = gain^2 I.

    Q of the QR factorization of a Gaussian matrix, with each column's sign flipped to make
    diag(R) positive, which makes Q uniformly (Haar) distributed.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with at least 2 dimensions, got shape "
                         f"{tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor.size // rows
    gaussian = get_generator(generator).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(gaussian)
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    if rows < cols:
        q = q.T
    return _fill(tensor, (gain * q).reshape(tensor.shape))


# --- data-dependent initialization -------------------------------------------------------------
def _is_lsuv_layer(module) -> bool:
    """Linear and convolution layers (matched by class name, so that init.py needs no import of
    the layer modules): they own a weight of 2 or more dimensions."""
    names = [cls.__name__ for cls in type(module).__mro__]
    weight = module._parameters.get("weight")
    return (weight is not None and weight.ndim >= 2
            and any(n == "Linear" or n.startswith("Conv") for n in names))


def _forward_order(model, batch, layers):
    """The (name, layer) pairs in the order the forward pass first calls them."""
    order, handles = [], []
    for name, layer in layers:
        def record(module, inputs, output, name=name):
            if all(module is not seen for _, seen in order):
                order.append((name, module))
        handles.append(layer.register_forward_hook(record))
    try:
        with no_grad():
            model(batch)
    finally:
        for handle in handles:
            handle.remove()
    return order


def lsuv_(model, batch, tol: float = 0.1, max_iter: int = 10, generator=None):
    """Layer-sequential unit-variance initialization (Mishkin & Matas 2015, "All you need is a
    good init", Algorithm 1):

    1. every Linear/Conv weight gets orthogonal_ and its bias zeros;
    2. layer by layer, in forward order: run `batch` through the model, read the variance v of
       the layer's output (a forward hook), and rescale its weight W <- W / sqrt(v) until
       |v - 1| < tol or max_iter passes were made.

    Later layers do not change earlier outputs, so at the end every layer's output variance on
    the batch is 1 within tol (the model's train/eval mode is left as it is).
    Returns the model.
    """
    rng = get_generator(generator)
    batch = as_tensor(batch)
    layers = [(name, m) for name, m in model.named_modules() if _is_lsuv_layer(m)]
    if not layers:
        raise ValueError(f"lsuv_: {type(model).__name__} has no Linear or Conv layer to "
                         "initialize")
    for _, layer in layers:
        orthogonal_(layer.weight, generator=rng)
        if layer._parameters.get("bias") is not None:
            zeros_(layer.bias)
    for name, layer in _forward_order(model, batch, layers):
        seen = {}

        def measure(module, inputs, output):
            seen["var"] = float(output.var(correction=0).item())
        handle = layer.register_forward_hook(measure)
        try:
            for _ in range(max_iter):
                with no_grad():
                    model(batch)
                var = seen["var"]
                if abs(var - 1.0) < tol:
                    break
                if not (math.isfinite(var) and var > 0):
                    raise ValueError(f"lsuv_: the output of layer '{name}' has variance {var} "
                                     "on the batch, so it cannot be rescaled to 1")
                _fill(layer.weight, layer.weight.data / math.sqrt(var))
        finally:
            handle.remove()
    return model
