"""Tensor: a NumPy array with a gradient, a place in the autodiff graph and an optional tangent.

Operators and methods delegate to `deepgrad.ops`, where each primitive keeps its forward,
backward and jvp rules together. `tensor.py` and `ops/` form the bottom layer of deepgrad:
`ops` needs the Tensor type and Tensor's operators need `ops`, so `ops` is imported at the end
of this module, once `Tensor` exists.
"""

from __future__ import annotations

import numbers
import weakref

import numpy as np

from deepgrad import _state

_FLOAT_KINDS = "f"


def _default_dtype(array: np.ndarray, data) -> np.dtype:
    # Python floats and lists of floats become float32 (as in PyTorch); NumPy float arrays keep
    # their precision; float16 is promoted because NumPy's float16 math is slow and imprecise.
    if array.dtype.kind == "f":
        if isinstance(data, np.ndarray) or isinstance(data, np.floating):
            return np.dtype(np.float32) if array.dtype == np.float16 else array.dtype
        return np.dtype(np.float32)
    if array.dtype.kind in "iu":
        return np.dtype(np.int64) if array.dtype.kind == "i" or array.dtype.itemsize < 8 \
            else array.dtype
    return array.dtype


class Tensor:
    """An n-dimensional array that records the operations applied to it for autodiff.

    Attributes:
        data: the value, a `numpy.ndarray`.
        grad: after `backward()`, a Tensor holding d(output)/d(self) for leaf tensors (and for
            non-leaf tensors on which `retain_grad()` was called); otherwise None.
        requires_grad: whether operations on this tensor are recorded for differentiation.
    """

    __slots__ = ("data", "grad", "requires_grad", "_node", "_version", "_hooks", "_tangent",
                 "__weakref__")
    __array_priority__ = 1000  # so that ndarray + Tensor calls Tensor.__radd__

    def __init__(self, data, dtype=None, requires_grad=False, device=None):
        if device is not None:
            devices.check_device(device, "tensor")
        if isinstance(data, Tensor):
            data = data.data
        if dtype is not None:
            dtype = np.dtype(dtype)
        try:
            array = np.array(data, dtype=dtype, copy=True)
        except (TypeError, ValueError) as error:
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}: "
                            f"{error}") from None
        if array.dtype.kind not in "biuf":
            raise TypeError(f"tensor: data must be real numbers (float, int or bool), got "
                            f"{type(data).__name__} of dtype {array.dtype}"
                            + ("; take x.real or abs(x) first" if array.dtype.kind == "c"
                               else ""))
        if dtype is None:
            wanted = _default_dtype(array, data)
            if wanted != array.dtype:
                array = array.astype(wanted)
        self.data = array
        self.grad = None
        self._node = None
        self._version = 0
        self._hooks = None
        self._tangent = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _wrap(cls, array: np.ndarray) -> "Tensor":
        """A leaf around `array` without copying or checking (internal fast path)."""
        t = cls.__new__(cls)
        t.data = array
        t.grad = None
        t.requires_grad = False
        t._node = None
        t._version = 0
        t._hooks = None
        t._tangent = None
        return t

    # --- basic properties -----------------------------------------------------------------
    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> "_Size":
        """The number of elements, as NumPy's `a.size`; also callable as PyTorch's `size()`
        (the shape) and `size(d)` (one dimension)."""
        return _Size(self.data.size, self.data.shape)

    @property
    def is_leaf(self) -> bool:
        return self._node is None

    @property
    def grad_fn(self):
        return self._node

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def numpy(self) -> np.ndarray:
        """The underlying array (shared, not copied; use .copy() on it to keep a snapshot)."""
        return self.data

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a tensor with one element can be converted to a "
                             f"Python number, got shape {self.shape}")
        return self.data.item()

    def tolist(self):
        return self.data.tolist()

    def __array__(self, dtype=None, copy=None):
        if dtype is not None and dtype != self.data.dtype:
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with shape {self.shape} is ambiguous; "
                             "use .any() or .all()")
        return bool(self.data.item())

    def __repr__(self):
        body = np.array2string(self.data, precision=4, separator=", ", prefix="tensor(")
        extras = []
        if self.data.dtype not in (np.float32, np.int64, np.bool_):
            extras.append(f"dtype={self.data.dtype}")
        if self._node is not None:
            extras.append(f"grad_fn=<{type(self._node).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def _repr_html_(self):  # notebooks: shape, dtype, autograd state, value preview
        from deepgrad.display import tensor_html

        return tensor_html(self)

    # --- autodiff -------------------------------------------------------------------------
    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"requires_grad: only floating-point tensors can require "
                            f"gradients, got dtype {self.data.dtype} (labels and indices are "
                            "never differentiated)")
        if not requires_grad and self._node is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def detach(self) -> "Tensor":
        """A new leaf sharing this tensor's data, cut off from the graph."""
        return Tensor._wrap(self.data)

    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Accumulate the gradient of this tensor into the `.grad` of every leaf it depends on.

        Args:
            gradient: d(L)/d(self) for a non-scalar tensor (the v of the vector-Jacobian
                product); omitted for a scalar, where it is 1.
            retain_graph: keep the graph so that backward can run through it again.
        """
        engine.backward(self, gradient, retain_graph)

    def retain_grad(self) -> None:
        """Keep `.grad` for this non-leaf tensor after backward (leaves always keep it)."""
        if self._node is not None:
            self._node.retain = True
            self._node.out_ref = weakref.ref(self)
        elif not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad")

    def register_hook(self, hook):
        """Call `hook(grad)` when this tensor's gradient is computed; a returned tensor
        replaces the gradient. Returns a handle whose `remove()` detaches the hook."""
        from deepgrad.engine import RemovableHandle, _HookList

        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does "
                               "not require grad")
        if self._node is not None:
            if self._node.out_hooks is None:
                self._node.out_hooks = _HookList()
            hooks = self._node.out_hooks
        else:
            if self._hooks is None:
                self._hooks = _HookList()
            hooks = self._hooks
        hooks.append(hook)
        return RemovableHandle(hooks, hook)

    # --- in-place (non-differentiable) updates ---------------------------------------------
    def _check_inplace(self, op: str):
        if _state.grad_enabled and self.requires_grad:
            kind = "a leaf" if self._node is None else "a tensor in the graph"
            raise RuntimeError(
                f"{op}: in-place change of {kind} that requires grad is not differentiable; "
                "do it under deepgrad.no_grad() (e.g. a parameter update) or use the "
                "out-of-place operation")

    def _bump(self):
        self._version += 1

    def _inplace(self, op, fn, other=None):
        self._check_inplace(op)
        value = other.data if isinstance(other, Tensor) else other
        fn(self.data, value)
        self._version += 1
        return self

    def add_(self, other, alpha=1.0):
        if alpha != 1.0:
            other = (other.data if isinstance(other, Tensor) else np.asarray(other)) * alpha
        return self._inplace("add_", lambda a, b: np.add(a, b, out=a, casting="unsafe"), other)

    def sub_(self, other):
        return self._inplace("sub_", lambda a, b: np.subtract(a, b, out=a, casting="unsafe"),
                             other)

    def mul_(self, other):
        return self._inplace("mul_", lambda a, b: np.multiply(a, b, out=a, casting="unsafe"),
                             other)

    def div_(self, other):
        return self._inplace("div_", lambda a, b: np.divide(a, b, out=a, casting="unsafe"),
                             other)

    def clamp_(self, min=None, max=None):
        return self._inplace("clamp_", lambda a, _: np.clip(a, min, max, out=a))

    clip_ = clamp_

    def zero_(self):
        return self._inplace("zero_", lambda a, _: a.fill(0))

    def fill_(self, value):
        return self._inplace("fill_", lambda a, v: a.fill(v), value)

    def copy_(self, source):
        source = source.data if isinstance(source, Tensor) else np.asarray(source)
        if source.shape != self.shape:
            try:
                np.broadcast_to(source, self.shape)
            except ValueError:
                raise ValueError(f"copy_: source of shape {source.shape} does not fit a "
                                 f"tensor of shape {self.shape}") from None
        return self._inplace("copy_", lambda a, b: np.copyto(a, b, casting="unsafe"), source)

    def __setitem__(self, index, value):
        if isinstance(index, Tensor):
            index = index.data
        if _state.grad_enabled and isinstance(value, Tensor) and value.requires_grad:
            raise RuntimeError("__setitem__: assigning a tensor that requires grad into another "
                               "tensor is not differentiable; build the result with "
                               "deepgrad.where, concatenate or stack instead")
        self._inplace("__setitem__", lambda a, v: a.__setitem__(index, v), value)

    def _iop(self, other, name, out_of_place):
        tracked = _state.grad_enabled and (
            self.requires_grad or (isinstance(other, Tensor) and other.requires_grad))
        if tracked:
            # x += y on a differentiable tensor records a new node and rebinds the name.
            return out_of_place(self, other)
        value = other.data if isinstance(other, Tensor) else other
        result_dtype = np.result_type(self.data, value)
        if not np.can_cast(result_dtype, self.data.dtype, "same_kind"):
            return out_of_place(self, other)
        getattr(np, name)(self.data, value, out=self.data, casting="same_kind")
        self._version += 1
        return self

    def __iadd__(self, other):
        return self._iop(other, "add", ops.add)

    def __isub__(self, other):
        return self._iop(other, "subtract", ops.sub)

    def __imul__(self, other):
        return self._iop(other, "multiply", ops.mul)

    def __itruediv__(self, other):
        return self._iop(other, "divide", ops.div)

    # --- operators (differentiable) ---------------------------------------------------------
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __rpow__(self, base):
        return ops.pow(base, self)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return ops.abs(self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    # comparisons: boolean tensors, never differentiable
    def _compare(self, other, fn):
        other = other.data if isinstance(other, Tensor) else other
        return Tensor._wrap(fn(self.data, other))

    def __lt__(self, other):
        return self._compare(other, np.less)

    def __le__(self, other):
        return self._compare(other, np.less_equal)

    def __gt__(self, other):
        return self._compare(other, np.greater)

    def __ge__(self, other):
        return self._compare(other, np.greater_equal)

    def __eq__(self, other):
        return self._compare(other, np.equal)

    def __ne__(self, other):
        return self._compare(other, np.not_equal)

    __hash__ = object.__hash__

    # --- methods (differentiable) -----------------------------------------------------------
    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def sin(self):
        return ops.sin(self)

    def cos(self):
        return ops.cos(self)

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def erf(self):
        return ops.erf(self)

    def relu(self):
        return ops.relu(self)

    def clip(self, min=None, max=None):
        return ops.clip(self, min, max)

    clamp = clip

    def maximum(self, other):
        return ops.maximum(self, other)

    def minimum(self, other):
        return ops.minimum(self, other)

    # reductions: PyTorch's signatures (dim=, keepdim=; NumPy's axis=, keepdims= as aliases)
    def sum(self, *args, **kwargs):
        return ops.sum(self, *args, **kwargs)

    def mean(self, *args, **kwargs):
        return ops.mean(self, *args, **kwargs)

    def max(self, *args, **kwargs):
        """max(): the largest element; max(dim): (values, indices); max(other): maximum."""
        return ops.max(self, *args, **kwargs)

    def min(self, *args, **kwargs):
        """min(): the smallest element; min(dim): (values, indices); min(other): minimum."""
        return ops.min(self, *args, **kwargs)

    def amax(self, *args, **kwargs):
        return ops.amax(self, *args, **kwargs)

    def amin(self, *args, **kwargs):
        return ops.amin(self, *args, **kwargs)

    def var(self, *args, **kwargs):
        """Unbiased (correction=1) by default, as PyTorch; correction=0 for the biased one."""
        return ops.var(self, *args, **kwargs)

    def std(self, *args, **kwargs):
        """Unbiased (correction=1) by default, as PyTorch; correction=0 for the biased one."""
        return ops.std(self, *args, **kwargs)

    def prod(self, *args, **kwargs):
        return ops.prod(self, *args, **kwargs)

    def logsumexp(self, *args, **kwargs):
        return ops.logsumexp(self, *args, **kwargs)

    def norm(self, *args, **kwargs):
        return ops.norm(self, *args, **kwargs)

    def argmax(self, *args, **kwargs):
        return ops.argmax(self, *args, **kwargs)

    def argmin(self, *args, **kwargs):
        return ops.argmin(self, *args, **kwargs)

    def any(self, *args, **kwargs):
        """A boolean tensor (use bool(x.any()) or `if x.any():` for a Python bool)."""
        return ops.any(self, *args, **kwargs)

    def all(self, *args, **kwargs):
        return ops.all(self, *args, **kwargs)

    def cumsum(self, dim, **kwargs):
        return ops.cumsum(self, dim, **kwargs)

    def cumprod(self, dim, **kwargs):
        return ops.cumprod(self, dim, **kwargs)

    def sort(self, dim=-1, descending=False, stable=False):
        return ops.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return ops.argsort(self, dim, descending, stable)

    def topk(self, k, dim=-1, largest=True, sorted=True):
        return ops.topk(self, k, dim, largest, sorted)

    def reshape(self, *shape):
        return ops.reshape(self, _shape_arg(shape))

    view = reshape

    def transpose(self, *axes):
        return ops.transpose(self, *axes)

    def permute(self, *axes):
        return ops.permute(self, _shape_arg(axes))

    @property
    def T(self):
        return ops.permute(self, tuple(range(self.ndim))[::-1])

    def flatten(self, start_dim=0, end_dim=-1):
        return ops.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None, *, axis=None):
        return ops.squeeze(self, dim if axis is None else axis)

    def unsqueeze(self, dim=None, *, axis=None):
        return ops.unsqueeze(self, dim if axis is None else axis)

    def broadcast_to(self, shape):
        return ops.broadcast_to(self, shape)

    expand = broadcast_to

    def expand_as(self, other):
        return ops.broadcast_to(self, other.shape)

    def view_as(self, other):
        return ops.reshape(self, other.shape)

    def reshape_as(self, other):
        return ops.reshape(self, other.shape)

    def t(self):
        """The transpose of a tensor with at most 2 dimensions."""
        if self.ndim > 2:
            raise RuntimeError(f"t: expects a tensor with at most 2 dimensions, got shape "
                               f"{self.shape}; use transpose(dim0, dim1) or mT")
        return ops.permute(self, tuple(range(self.ndim))[::-1])

    @property
    def mT(self):
        """The transpose of the last two dimensions (a batch of matrices)."""
        return ops.transpose(self, -2, -1)

    def gather(self, dim, index):
        return ops.gather(self, dim, index)

    def scatter(self, dim, index, src=None, *, value=None):
        return ops.scatter(self, dim, index, src, value=value)

    def scatter_add(self, dim, index, src):
        return ops.scatter_add(self, dim, index, src)

    def index_select(self, dim, index):
        return ops.index_select(self, dim, index)

    def masked_fill(self, mask, value):
        return ops.masked_fill(self, mask, value)

    def split(self, split_size, dim=0):
        return ops.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return ops.chunk(self, chunks, dim)

    def flip(self, *dims):
        return ops.flip(self, _shape_arg(dims))

    def roll(self, shifts, dims=None):
        return ops.roll(self, shifts, dims)

    def repeat(self, *sizes):
        return ops.repeat(self, *sizes)

    def tril(self, diagonal=0):
        return ops.tril(self, diagonal)

    def triu(self, diagonal=0):
        return ops.triu(self, diagonal)

    def astype(self, dtype):
        """A copy converted to `dtype` (differentiable between float types)."""
        return ops.cast(self, dtype)

    def float(self):
        return ops.cast(self, np.float32)

    def double(self):
        return ops.cast(self, np.float64)

    def long(self):
        return ops.cast(self, np.int64)

    def int(self):
        return ops.cast(self, np.int32)

    def bool(self):
        return ops.cast(self, np.bool_)

    def type(self, dtype=None):
        """With no argument, the type name ("deepgrad.FloatTensor"); else a converted copy."""
        if dtype is None:
            return "deepgrad." + _TYPE_NAMES.get(self.data.dtype.name, "Tensor")
        return ops.cast(self, dtype)

    def type_as(self, other):
        return ops.cast(self, other.dtype)

    def to(self, *args, dtype=None, device=None, copy=False, non_blocking=False):
        """to(dtype), to(device), to(other tensor), to(device, dtype): a converted tensor
        (this one when nothing changes and copy=False). Only the CPU exists here."""
        for arg in args:
            if isinstance(arg, Tensor):
                dtype = arg.dtype
            elif isinstance(arg, (str, devices.device)):
                device = arg
            else:
                dtype = arg
        devices.check_device(device, "to")
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            return ops.cast(self, dtype)
        return ops.clone(self) if copy else self

    def cpu(self):
        return self

    def cuda(self, *args, **kwargs):
        devices.check_device("cuda", "cuda")

    @property
    def device(self):
        return devices.CPU

    @property
    def is_cuda(self):
        return False

    def clone(self):
        """A copy that stays in the graph (its gradient flows back to this tensor)."""
        return ops.clone(self)

    def contiguous(self):
        return self

    def numel(self):
        return self.data.size

    def dim(self):
        return self.data.ndim

    ndimension = dim

    def nelement(self):
        return self.data.size

    def element_size(self):
        return self.data.itemsize

    def __reversed__(self):
        return ops.flip(self, 0)

    def __iter__(self):
        if self.data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.data.shape[0]))

    # arithmetic methods, as the operators (PyTorch's names)
    def add(self, other, *, alpha=1):
        return ops.add(self, other if alpha == 1 else other * alpha)

    def sub(self, other, *, alpha=1):
        return ops.sub(self, other if alpha == 1 else other * alpha)

    def mul(self, other):
        return ops.mul(self, other)

    def div(self, other, *, rounding_mode=None):
        return ops.div(self, other, rounding_mode=rounding_mode)

    multiply, divide, subtract, true_divide = mul, div, sub, div

    def pow(self, exponent):
        return ops.pow(self, exponent)

    def matmul(self, other):
        return ops.matmul(self, other)

    def mm(self, other):
        return ops.mm(self, other)

    def bmm(self, other):
        return ops.bmm(self, other)

    def neg(self):
        return ops.neg(self)

    negative = neg

    def remainder(self, other):
        return ops.remainder(self, other)

    def floor_divide(self, other):
        return ops.floor_divide(self, other)

    def square(self):
        return ops.mul(self, self)

    def rsqrt(self):
        return ops.div(1.0, ops.sqrt(self))

    def reciprocal(self):
        return ops.div(1.0, self)

    def floor(self):
        return ops.floor(self)

    def ceil(self):
        return ops.ceil(self)

    def round(self, decimals=0):
        return ops.round(self, decimals)

    def trunc(self):
        return ops.trunc(self)

    def sign(self):
        return ops.sign(self)

    def isnan(self):
        return ops.isnan(self)

    def isinf(self):
        return ops.isinf(self)

    def isfinite(self):
        return ops.isfinite(self)

    def softmax(self, dim):
        return ops.softmax(self, dim)

    def log_softmax(self, dim):
        return ops.log_softmax(self, dim)

    def where(self, condition, other):
        return ops.where(condition, self, other)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def logical_not(self):
        return Tensor._wrap(np.logical_not(self.data))

    def __invert__(self):
        if self.data.dtype.kind not in "biu":
            raise TypeError(f"~ (bitwise not) needs a boolean or integer tensor, got dtype "
                            f"{self.data.dtype}")
        return Tensor._wrap(np.invert(self.data))

    def __and__(self, other):
        return Tensor._wrap(np.bitwise_and(self.data, _plain(other)))

    def __or__(self, other):
        return Tensor._wrap(np.bitwise_or(self.data, _plain(other)))

    def __xor__(self, other):
        return Tensor._wrap(np.bitwise_xor(self.data, _plain(other)))

    def __floordiv__(self, other):
        return ops.floor_divide(self, other)

    def __rfloordiv__(self, other):
        return ops.floor_divide(other, self)

    def __mod__(self, other):
        return ops.remainder(self, other)

    def __rmod__(self, other):
        return ops.remainder(other, self)


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "int64": "LongTensor",
               "int32": "IntTensor", "bool": "BoolTensor", "uint8": "ByteTensor",
               "int16": "ShortTensor", "int8": "CharTensor"}


def _plain(value):
    return value.data if isinstance(value, Tensor) else value


class _Size(int):
    """An element count (an int) that, called, gives the shape: x.size() or x.size(d)."""

    def __new__(cls, count, shape):
        self = super().__new__(cls, count)
        self.shape = shape
        return self

    def __call__(self, dim=None):
        if dim is None:
            return self.shape
        ndim = len(self.shape)
        if not -max(ndim, 1) <= dim < max(ndim, 1) or not ndim:
            raise IndexError(f"size: dim {dim} is out of range for a tensor with {ndim} "
                             "dimensions")
        return self.shape[dim]


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def as_tensor(value, like: Tensor | None = None) -> Tensor:
    """`value` as a Tensor: Tensors pass through; scalars take the dtype of `like` if float."""
    if isinstance(value, Tensor):
        return value
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        if like is not None and like.data.dtype.kind == "f":
            return Tensor._wrap(np.asarray(value, dtype=like.data.dtype))
        if isinstance(value, numbers.Integral):
            return Tensor._wrap(np.asarray(value, dtype=np.int64))
        return Tensor._wrap(np.asarray(value, dtype=np.float32))
    if isinstance(value, (np.ndarray, np.generic, list, tuple, bool)):
        return Tensor(value)
    raise TypeError(f"expected a Tensor, a number or an array, got {type(value).__name__}")


def tensor(data, dtype=None, requires_grad=False, device=None) -> Tensor:
    """Create a tensor (copying `data`). Floats default to float32; NumPy float64 stays float64.

    Integer tensors (labels, indices) cannot require grad.
    """
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, device=device)


from deepgrad import devices, engine, ops  # noqa: E402  (see the module docstring)
