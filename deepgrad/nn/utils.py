"""Gradient clipping: rescale (by the global norm) or clamp (by value) the gradients in place.

"In place" means the parameters' `.grad` are *replaced* by new Tensors: deepgrad never writes
into a gradient array, because the autodiff engine may share one array between gradients.
Gradients are plain (non-differentiable) state, so this module works on their NumPy arrays.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from deepgrad.tensor import Tensor


def _parameter_list(parameters, owner: str) -> list:
    if isinstance(parameters, Tensor):
        return [parameters]
    try:
        params = list(parameters)
    except TypeError:
        raise TypeError(f"{owner}: parameters must be a Tensor or an iterable of Tensors, got "
                        f"{type(parameters).__name__}") from None
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{owner}: parameters[{i}] is a {type(p).__name__}, not a Tensor")
    return params


def _check_number(owner: str, name: str, value, allow_inf: bool = False) -> float:
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = value >= 0 and (allow_inf or math.isfinite(value))
    if not ok:
        raise ValueError(f"{owner}: {name} must be a number >= 0, got {name}={value!r}")
    return value


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=True) -> float:
    """Scale all gradients together so that their global norm is at most `max_norm`.

    ::

        total = || (||g_1||_p, ||g_2||_p, ...) ||_p      (= the p-norm of all grads concatenated)
        g_i  <- g_i * min(1, max_norm / (total + 1e-6))

    The 1e-6 (as in PyTorch) keeps the division finite for zero gradients. Parameters whose
    grad is None are skipped. The direction of the full gradient is kept, only its length
    changes.

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. `model.parameters()`).
        max_norm: the largest allowed norm (>= 0).
        norm_type: p >= 1 (or float("inf") for the largest absolute value).
        error_if_nonfinite: raise if the total norm is NaN or infinite (default True, unlike
            PyTorch whose default is False); with False such gradients are scaled anyway.

    Returns:
        The total norm of the gradients *before* clipping, as a Python float.
    """
    owner = "clip_grad_norm_"
    params = _parameter_list(parameters, owner)
    max_norm = _check_number(owner, "max_norm", max_norm)
    norm_type = _check_number(owner, "norm_type", norm_type, allow_inf=True)
    if norm_type < 1:
        raise ValueError(f"{owner}: norm_type must be >= 1 or inf, got norm_type={norm_type}")
    with_grad = [p for p in params if p.grad is not None]
    if not with_grad:
        return 0.0
    # accumulate in float64: one global norm, the same whatever the parameters' dtypes
    norms = np.array([np.linalg.norm(p.grad.data.astype(np.float64, copy=False).ravel(),
                                     ord=norm_type) for p in with_grad])
    total = float(np.linalg.norm(norms, ord=norm_type))
    if not math.isfinite(total):
        if error_if_nonfinite:
            bad = [f"parameters[{i}] (shape {p.shape})" for i, p in enumerate(params)
                   if p.grad is not None and not np.all(np.isfinite(p.grad.data))]
            raise RuntimeError(
                f"{owner}: the total gradient norm (norm_type={norm_type}) is {total}, so it "
                f"cannot be clipped; non-finite gradients in {', '.join(bad)}. Lower the "
                "learning rate or check the loss for overflow; error_if_nonfinite=False "
                "scales them anyway")
    scale = max_norm / (total + 1e-6)  # with error_if_nonfinite=False: 0 (inf) or NaN (NaN)
    if scale < 1 or not math.isfinite(scale):
        for p in with_grad:
            grad = p.grad.data
            p.grad = Tensor._wrap((grad * scale).astype(grad.dtype, copy=False))
    return total


def clip_grad_value_(parameters, clip_value) -> None:
    """Clamp every gradient entry to [-clip_value, clip_value] (grads that are None skipped).

    Unlike norm clipping this changes the direction of the gradient.
    """
    owner = "clip_grad_value_"
    params = _parameter_list(parameters, owner)
    clip_value = _check_number(owner, "clip_value", clip_value)
    for p in params:
        if p.grad is not None:
            p.grad = Tensor._wrap(np.clip(p.grad.data, -clip_value, clip_value))
