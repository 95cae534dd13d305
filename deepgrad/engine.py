"""The autodiff engine: Function (a primitive and its graph node), backward, grad, vjp.

A `Function` is one differentiable primitive. Its instance is the graph node (the "context"):
`forward(ctx, *arrays, **options)` computes the value with NumPy and saves what the rules need,
`backward(ctx, grad_out)` returns the vector-Jacobian product for each input, and
`jvp(ctx, *input_dots)` returns the Jacobian-vector product (forward mode, see forward.py).

Conventions every Function follows:
  * backward returns one array per input (or a bare array for one input); None where
    `ctx.needs_input_grad[i]` is False. The engine undoes broadcasting (`unbroadcast`) and casts
    to the input's dtype, so rules may return gradients of the broadcast shape.
  * no array passed to or returned by a rule is modified in place: the engine accumulates
    out of place, so rules may return `grad_out` itself or views of it.
"""

from __future__ import annotations

import heapq
import itertools
import weakref

import numpy as np

from deepgrad import _state
from deepgrad.tensor import Tensor, as_tensor


class RemovableHandle:
    """Returned by hook registrations; `remove()` detaches the hook."""

    def __init__(self, container, item):
        self._container = weakref.ref(container) if hasattr(container, "__weakref__") else None
        self._strong = None if self._container else container
        self._item = item

    def remove(self):
        container = self._container() if self._container else self._strong
        if container is not None and self._item in container:
            container.remove(self._item)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class _HookList(list):
    """A list that can be weakly referenced by RemovableHandle."""


# Every recorded node takes the next number. A node is always newer than the nodes that made
# its inputs, so handling the newest pending node first is a topological order (backward).
_sequence = itertools.count()


def unbroadcast(grad: np.ndarray, shape: tuple) -> np.ndarray:
    """Sum `grad` over the axes NumPy broadcasting added or stretched, giving `shape`."""
    if grad.shape == shape:
        return grad
    extra = grad.ndim - len(shape)
    if extra:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad.reshape(shape)


class Function:
    """Base class of differentiable primitives; an instance is one node of the graph."""

    #: the symbol shown in evaluation traces; defaults to the lower-case class name
    symbol: str | None = None
    # per-node state; class-level defaults keep Function.apply short on the hot path
    saved = ()
    versions = None  # the input versions at forward, when backward reads saved arrays
    out_hooks = None
    out_ref = None
    retain = False
    freed = False

    # --- rules (overridden by each primitive) ---------------------------------------------
    def forward(ctx, *arrays, **options):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(ctx, grad_out):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__} has no backward rule")

    def jvp(ctx, *input_dots):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(ctx).__name__} has no forward-mode (jvp) rule")

    # --- context helpers ----------------------------------------------------------------------
    def save(ctx, *arrays):
        """Keep arrays the rules need. Inputs and the output saved here are version-checked."""
        ctx.saved = arrays

    # --- application ----------------------------------------------------------------------------
    @classmethod
    def apply(cls, *inputs, **options):
        """Run forward on Tensors (Python scalars and arrays are wrapped) and record the node."""
        for x in inputs:
            if not isinstance(x, Tensor):
                inputs = tuple(as_tensor(x) for x in inputs)
                break
        ctx = object.__new__(cls)
        try:
            out = ctx.forward(*[x.data for x in inputs], **options)
        except (ValueError, IndexError, TypeError, ArithmeticError, RuntimeError) as error:
            explained = _with_context(cls, error, inputs)
            if explained is error:
                raise
            raise explained from error
        if not isinstance(out, np.ndarray):
            out = np.asarray(out)
        result = Tensor.__new__(Tensor)
        result.data = out
        result.grad = None
        result._version = 0
        result._hooks = None
        result._tangent = None
        needs = tuple([x.requires_grad for x in inputs]) if _state.grad_enabled else ()
        if True in needs:
            result.requires_grad = True
            result._node = ctx
            ctx.sequence = next(_sequence)
            ctx.inputs = inputs
            ctx.needs_input_grad = needs
            if ctx.saved:  # backward will read arrays: catch in-place changes to them
                ctx.versions = [x._version for x in inputs]
                ctx.out_ref = weakref.ref(result)
        else:
            result.requires_grad = False
            result._node = None
        if _state.forward_level:
            dots = [x._tangent for x in inputs]
            if any(d is not None for d in dots):
                dots = [np.zeros_like(x.data) if d is None else d for x, d in zip(inputs, dots)]
                tangent = ctx.jvp(*dots)
                result._tangent = np.asarray(tangent, dtype=out.dtype).reshape(out.shape)
        if _state.tracer is not None:
            _state.tracer.record(ctx, inputs, result, options)
        return result

    def _check_versions(ctx, out_tensor):
        """Raise if a tensor whose array backward reads was changed in place since forward.

        Forward only notes the input versions (cheap, once per node); which saved array belongs
        to which tensor is worked out only when a version has changed."""
        for x, version in zip(ctx.inputs, ctx.versions):
            if x._version != version:
                break
        else:
            if out_tensor is None or out_tensor._version == 0:
                return  # the common case: nothing changed
        changed = [(x, v) for x, v in zip(ctx.inputs, ctx.versions) if x._version != v]
        if out_tensor is not None and out_tensor._version != 0:
            changed.append((out_tensor, 0))
        saved = [a for a in ctx.saved if isinstance(a, np.ndarray)]
        for tensor, version in changed:
            data = tensor.data
            if any(a is data or a.base is data for a in saved):
                raise RuntimeError(
                    f"{type(ctx).__name__}: a tensor of shape {tensor.shape} that backward "
                    f"needs was modified in place after it was used (version {version} -> "
                    f"{tensor._version}); compute the gradient before changing it, or work "
                    "on a copy (.detach() then modify)")

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _with_context(cls, error, inputs):
    """`error` with the op name and the input shapes added, of the same type (or itself when
    it already names the op or its type cannot be rebuilt from a message). The caller chains
    the original (`raise ... from error`), so the failing line of the rule stays visible."""
    name = cls.__name__.lower()
    if str(error).startswith(name + ":"):
        return error
    shapes = ", ".join(str(x.shape) for x in inputs)
    try:
        return type(error)(f"{name}: {error} (input shapes: {shapes})")
    except Exception:  # an exception class whose constructor takes other arguments
        return error


def _apply_hooks(hooks, grad):
    for hook in list(hooks):
        replaced = hook(Tensor._wrap(grad))
        if replaced is not None:
            grad = replaced.data if isinstance(replaced, Tensor) else np.asarray(replaced)
    return grad


def _array(grad):
    """`grad` as an ndarray: NumPy turns 0-d results into scalars, which a .grad never holds."""
    return grad if type(grad) is np.ndarray else np.asarray(grad)


def _accumulate_leaf(leaf, grad):
    if leaf._hooks:
        grad = _apply_hooks(leaf._hooks, grad)
        if grad.dtype != leaf.data.dtype:  # a hook may return another dtype
            grad = grad.astype(leaf.data.dtype)
    if leaf.grad is None:
        leaf.grad = Tensor._wrap(_array(grad))
    else:
        leaf.grad = Tensor._wrap(_array(leaf.grad.data + grad))


def run_backward(roots, grads, retain_graph=False, inputs=None):
    """Propagate `grads` from `roots` to the leaves.

    With `inputs=None` gradients accumulate into every leaf's `.grad`. With a list of tensors,
    nothing is written to `.grad`; the gradients of those tensors are returned instead.
    """
    captured = None
    if inputs is not None:
        captured = {id(t): None for t in inputs}
        # a captured non-leaf is found through its node
        captured_nodes = {t._node: t for t in inputs if t._node is not None}
    # node -> the sum of the gradients its output received so far; `newest` holds the nodes
    # with a gradient as (-sequence, node), so it pops them newest first (consumers before
    # producers) without a graph traversal beforehand, and a chain of any length is a loop
    pending, newest = {}, []
    for root, grad in zip(roots, grads):
        if root._node is None:
            if captured is not None:
                if id(root) in captured:
                    captured[id(root)] = grad
            else:
                _accumulate_leaf(root, grad)
            continue
        node = root._node
        if node in pending:
            pending[node] = pending[node] + grad
        else:
            pending[node] = grad
            heapq.heappush(newest, (-node.sequence, node))
    while newest:
        node = heapq.heappop(newest)[1]
        grad = pending.pop(node)
        if node.freed:
            raise RuntimeError(
                f"backward: the graph through {type(node).__name__} was already freed by an "
                "earlier backward(); pass retain_graph=True to the first backward() if you need "
                "to differentiate the same graph twice")
        out_tensor = node.out_ref() if node.out_ref is not None else None
        if node.versions is not None:
            node._check_versions(out_tensor)
        if node.out_hooks:
            grad = _apply_hooks(node.out_hooks, grad)
        if captured is not None and node in captured_nodes:
            captured[id(captured_nodes[node])] = grad
        elif node.retain and out_tensor is not None and captured is None:
            out_tensor.grad = Tensor._wrap(_array(
                grad if out_tensor.grad is None else out_tensor.grad.data + grad))
        in_grads = node.backward(grad)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for x, g, need in zip(node.inputs, in_grads, node.needs_input_grad):
            if g is None or not need:
                continue
            data = x.data
            if g.shape != data.shape:
                g = unbroadcast(g, data.shape)
            if g.dtype != data.dtype:
                g = g.astype(data.dtype)
            producer = x._node
            if producer is not None:
                if producer in pending:
                    pending[producer] = pending[producer] + g
                else:
                    pending[producer] = g
                    heapq.heappush(newest, (-producer.sequence, producer))
            elif captured is not None:
                if id(x) in captured:
                    previous = captured[id(x)]
                    captured[id(x)] = g if previous is None else previous + g
            elif x.grad is None and not x._hooks:
                x.grad = Tensor._wrap(_array(g))  # the common case of _accumulate_leaf, inline
            else:
                _accumulate_leaf(x, g)
        if not retain_graph:
            node.freed = True
            node.saved = ()
    if captured is not None:
        return [captured[id(t)] for t in inputs]
    return None


def _as_grad_array(tensor, gradient, where):
    if gradient is None:
        if tensor.data.size != 1:
            raise RuntimeError(
                f"{where}: the output has shape {tensor.shape}, so a gradient must be given: "
                f"pass gradient= an array of shape {tensor.shape} (the vector v of the "
                "vector-Jacobian product), or reduce the output to a scalar first, e.g. "
                "y.sum().backward()")
        data = tensor.data
        return np.array(1, dtype=data.dtype).reshape(data.shape)  # C calls, unlike np.ones
    array = gradient.data if isinstance(gradient, Tensor) else np.asarray(gradient)
    if array.shape != tensor.shape:
        raise ValueError(f"{where}: gradient has shape {array.shape} but the output has shape "
                         f"{tensor.shape}; they must match")
    return np.array(array, dtype=tensor.dtype, copy=True)


def backward(tensor, gradient=None, retain_graph=False):
    """Accumulate d(tensor)/d(leaf) (times `gradient`) into every leaf's `.grad`."""
    if not tensor.requires_grad:
        raise RuntimeError(
            f"backward: this tensor of shape {tensor.shape} does not require grad: none of the "
            "inputs it was computed from has requires_grad=True (or it was computed under "
            "no_grad())")
    run_backward([tensor], [_as_grad_array(tensor, gradient, "backward")], retain_graph)


def grad(outputs, inputs, grad_outputs=None, retain_graph=False, allow_unused=False):
    """Gradients of `outputs` with respect to `inputs`, returned (not accumulated in `.grad`).

    Returns a tuple of Tensors, one per input. An input the outputs do not depend on raises an
    error unless `allow_unused=True` (then its entry is None).
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None:
        grad_outputs = [None] * len(outputs)
    elif isinstance(grad_outputs, (Tensor, np.ndarray)):
        grad_outputs = [grad_outputs]
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise ValueError(f"grad: inputs[{i}] must be a Tensor with requires_grad=True")
    arrays = [_as_grad_array(y, v, "grad") for y, v in zip(outputs, grad_outputs)]
    results = run_backward(outputs, arrays, retain_graph, inputs=inputs)
    out = []
    for i, (x, g) in enumerate(zip(inputs, results)):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: inputs[{i}] (shape {x.shape}) was not used to compute "
                               "the outputs; pass allow_unused=True to get None for it")
        out.append(None if g is None else Tensor._wrap(_array(g)))
    return tuple(out)


def vjp(f, *primals, v=None):
    """Return (f(*primals), vjp_fn) where vjp_fn(v) gives v^T J for each primal."""
    leaves = [as_tensor(p).detach().requires_grad_(True) for p in primals]
    with _state.enable_grad():
        out = f(*leaves)

    def vjp_fn(cotangent):
        return grad(out, leaves, cotangent, retain_graph=True, allow_unused=True)

    if v is not None:
        return out, vjp_fn(v)
    return out, vjp_fn


no_grad = _state.no_grad
enable_grad = _state.enable_grad
set_grad_enabled = _state.set_grad_enabled
is_grad_enabled = _state.is_grad_enabled
