"""`deepgrad.autograd.Function`: user-defined differentiable functions, written two ways.

PyTorch's way, on Tensors (static methods and a context object)::

    class LegendrePolynomial3(deepgrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return 0.5 * (5 * x ** 3 - 3 * x)

        @staticmethod
        def backward(ctx, grad_output):
            (x,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * x ** 2 - 1)

    y = LegendrePolynomial3.apply(x)

forward runs without recording a graph and returns a Tensor (or a tuple of Tensors); backward
gets one gradient per output and returns one per forward argument (None for arguments that
are not tensors or need no gradient); `ctx.needs_input_grad` says which are needed. An optional
`@staticmethod jvp(ctx, *input_tangents)` gives forward mode.

deepgrad's own primitive protocol (instance methods on NumPy arrays, `ctx.save(...)`, `jvp`;
see deepgrad/engine.py) keeps working for subclasses whose forward is not a static method.
"""

from __future__ import annotations

import numpy as np

from deepgrad import _state, engine, ops
from deepgrad.tensor import Tensor

_NOT_A_TENSOR = Tensor._wrap(np.zeros(()))  # the graph input standing for a non-tensor arg


class Function(engine.Function):
    """Base class of user-defined functions (PyTorch's static-method style or deepgrad's
    NumPy primitive protocol; see the module docstring)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        forward = cls.__dict__.get("forward")
        if isinstance(forward, staticmethod):
            _adapt(cls, forward.__func__)

    # --- PyTorch's context methods ------------------------------------------------------
    def save_for_backward(ctx, *tensors):
        """Keep tensors for backward; changing one in place before backward is an error."""
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{type(ctx).__name__}.save_for_backward: expected Tensors "
                                f"(or None), got {type(t).__name__}; keep other values as "
                                "attributes of ctx (ctx.value = ...)")
        ctx._saved_tensors = tensors
        ctx._saved_versions = [None if t is None else t._version for t in tensors]

    @property
    def saved_tensors(ctx):
        tensors = getattr(ctx, "_saved_tensors", ())
        for t, version in zip(tensors, ctx._saved_versions):
            if t is not None and t._version != version:
                raise RuntimeError(
                    f"{type(ctx).__name__}: a tensor of shape {t.shape} saved for backward was "
                    f"modified in place after it was saved (version {version} -> "
                    f"{t._version}); change a copy instead (.clone())")
        return tensors

    def mark_non_differentiable(ctx, *tensors):
        """Outputs that get no gradient (e.g. indices); they are returned detached."""
        ctx._non_differentiable = {id(t) for t in tensors}

    def set_materialize_grads(ctx, value: bool):
        """Accepted for compatibility: gradients of unused outputs are always zeros here."""


def _adapt(cls, forward):
    backward = cls.__dict__.get("backward")
    if not isinstance(backward, (staticmethod, type(None))):
        raise TypeError(f"{cls.__name__}: forward is a @staticmethod (PyTorch's style), so "
                        "backward must be one too: @staticmethod def backward(ctx, *grads)")
    jvp = cls.__dict__.get("jvp")
    cls._tensor_forward = staticmethod(forward)
    if backward is not None:
        cls._tensor_backward = staticmethod(backward.__func__)
    if isinstance(jvp, staticmethod):
        cls._tensor_jvp = staticmethod(jvp.__func__)
    cls.apply = classmethod(_apply)
    cls.backward = _backward
    cls.jvp = _jvp


def _apply(cls, *args, **kwargs):
    ctx = object.__new__(cls)
    ctx.needs_input_grad = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
    with _state.no_grad():
        out = cls._tensor_forward(ctx, *args, **kwargs)
    single = not isinstance(out, tuple)
    outputs = (out,) if single else out
    for i, t in enumerate(outputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a Tensor or a tuple of "
                            f"Tensors, got {type(t).__name__} at position {i}")
    skip = getattr(ctx, "_non_differentiable", set())
    ctx._outputs = [(t.shape, t.data.dtype, id(t) not in skip and t.data.dtype.kind == "f")
                    for t in outputs]
    record = _state.grad_enabled and True in ctx.needs_input_grad
    if not record or not any(d for _, _, d in ctx._outputs):
        return out
    ctx.inputs = tuple(a if isinstance(a, Tensor) else _NOT_A_TENSOR for a in args)
    ctx.sequence = next(engine._sequence)
    differentiable = [t for t, (_, _, d) in zip(outputs, ctx._outputs) if d]
    dtype = differentiable[0].data.dtype
    if any(t.data.dtype != dtype for t in differentiable):
        raise TypeError(f"{cls.__name__}: the floating-point outputs of forward must share one "
                        f"dtype, got {[str(t.data.dtype) for t in differentiable]}")
    # one graph node: its value is the differentiable outputs, flattened and joined
    joined = Tensor._wrap(np.concatenate([t.data.reshape(-1) for t in differentiable]))
    joined.requires_grad, joined._node = True, ctx
    if _state.forward_level:
        _push_tangent(ctx, args, joined)
    results, start = [], 0
    for t, (shape, _, diff) in zip(outputs, ctx._outputs):
        if not diff:
            results.append(t.detach())
            continue
        size = int(np.prod(shape))
        piece = ops.getitem(joined, slice(start, start + size))
        results.append(ops.reshape(piece, shape))
        start += size
    return results[0] if single else tuple(results)


def _split(ctx, flat):
    """Per-output gradient Tensors from the gradient of the joined value."""
    grads, start = [], 0
    for shape, dtype, diff in ctx._outputs:
        if not diff:
            grads.append(Tensor._wrap(np.zeros(shape, dtype=flat.dtype)))
            continue
        size = int(np.prod(shape))
        grads.append(Tensor._wrap(flat[start:start + size].reshape(shape)))
        start += size
    return grads


def _backward(ctx, grad_out):
    cls = type(ctx)
    if not hasattr(cls, "_tensor_backward"):
        raise NotImplementedError(f"{cls.__name__} defines no backward")
    with _state.no_grad():
        grads = cls._tensor_backward(ctx, *_split(ctx, grad_out))
    grads = grads if isinstance(grads, tuple) else (grads,)
    extra = grads[len(ctx.inputs):]
    if len(grads) < len(ctx.inputs) or any(g is not None for g in extra):
        raise RuntimeError(f"{cls.__name__}.backward returned {len(grads)} gradient(s), but "
                           f"forward took {len(ctx.inputs)} argument(s); return one per "
                           "argument (None where there is no gradient)")
    return tuple(None if g is None else np.asarray(g.data if isinstance(g, Tensor) else g)
                 for g in grads[:len(ctx.inputs)])


def _jvp(ctx, *input_dots):
    cls = type(ctx)
    if not hasattr(cls, "_tensor_jvp"):
        raise NotImplementedError(f"{cls.__name__} defines no jvp (forward mode); add "
                                  "@staticmethod def jvp(ctx, *input_tangents)")
    with _state.no_grad():
        dots = cls._tensor_jvp(ctx, *(None if d is None else Tensor._wrap(d)
                                      for d in input_dots))
    dots = dots if isinstance(dots, tuple) else (dots,)
    return np.concatenate([np.asarray(d.data if isinstance(d, Tensor) else d).reshape(-1)
                           for d, (_, _, diff) in zip(dots, ctx._outputs) if diff])


def _push_tangent(ctx, args, joined):
    dots = [a._tangent if isinstance(a, Tensor) else None for a in args]
    if all(d is None for d in dots):
        return
    dots = [np.zeros_like(a.data) if d is None and isinstance(a, Tensor) else d
            for a, d in zip(args, dots)]
    joined._tangent = np.asarray(ctx.jvp(*dots), dtype=joined.data.dtype)
