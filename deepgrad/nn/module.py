"""Module, Parameter and the containers.

A Module holds state (parameters, buffers, sub-modules) and delegates math to
`deepgrad.nn.functional`. Parameters and sub-modules are registered by attribute assignment and
found by walking attributes in assignment order, so `named_parameters()` gives stable dotted
names ("layers.0.weight") shared by state dicts, checkpoints, optimizers and diagnostics.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from deepgrad.engine import RemovableHandle, _HookList
from deepgrad.tensor import Tensor
from deepgrad.registry import register


class Parameter(Tensor):
    """A Tensor that is a learnable parameter of a Module (requires_grad=True by default)."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True, dtype=None):
        super().__init__(data, dtype=dtype, requires_grad=requires_grad)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of layers and models: override `forward`, call the module to run it."""

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", _HookList())
        object.__setattr__(self, "_forward_pre_hooks", _HookList())
        object.__setattr__(self, "training", True)

    # --- registration by attribute ---------------------------------------------------------
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before "
                               "assigning attributes")
        for table in (self._parameters, self._buffers, self._modules):
            table.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        elif name in self.__dict__.get("_buffer_names", ()):
            self._buffers[name] = value
        else:
            object.__setattr__(self, name, value)
            return
        self.__dict__.pop(name, None)

    def __getattr__(self, name):
        for table in ("_parameters", "_buffers", "_modules"):
            entries = self.__dict__.get(table)
            if entries is not None and name in entries:
                return entries[name]
        raise AttributeError(f"'{type(self).__name__}' has no attribute '{name}'")

    def __delattr__(self, name):
        for table in (self._parameters, self._buffers, self._modules):
            if name in table:
                del table[name]
                return
        object.__delattr__(self, name)

    def register_buffer(self, name: str, value) -> None:
        """State that is saved in state_dict but not trained (e.g. batch-norm running mean)."""
        if "_buffer_names" not in self.__dict__:
            object.__setattr__(self, "_buffer_names", set())
        self._buffer_names.add(name)
        if value is not None and not isinstance(value, Tensor):
            value = Tensor(value)
        setattr(self, name, value)

    def register_parameter(self, name: str, value: Parameter | None) -> None:
        if value is None:
            object.__setattr__(self, name, None)
        else:
            setattr(self, name, value)

    def add_module(self, name: str, module: "Module") -> None:
        setattr(self, name, module)

    # --- running -------------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        for hook in self._forward_pre_hooks:
            replaced = hook(self, args)
            if replaced is not None:
                args = replaced if isinstance(replaced, tuple) else (replaced,)
        output = self.forward(*args, **kwargs)
        for hook in self._forward_hooks:
            replaced = hook(self, args, output)
            if replaced is not None:
                output = replaced
        return output

    def _fuses_with(self, following: "Module") -> bool:
        """True when Sequential may run this module and `following` as one primitive, through
        `_fused_forward(following, x)`: Linear + ReLU (bit-identical numbers, so hooks simply
        turn it off) and pairs fused explicitly by nn.fuse (see deepgrad/nn/fusion.py)."""
        return False

    def _check_hookable(self) -> None:
        partner = self.__dict__.get("_fused_partner")
        if partner is not None:
            raise RuntimeError(f"{self!r} runs fused with {partner!r} (nn.fuse), so its hooks "
                               "would never be called; nn.unfuse(model) first (the separate "
                               "primitives round differently, see docs/conv.md)")

    def register_forward_hook(self, hook) -> RemovableHandle:
        """hook(module, inputs, output) runs after forward; a returned value replaces output."""
        self._check_hookable()
        self._forward_hooks.append(hook)
        return RemovableHandle(self._forward_hooks, hook)

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """hook(module, inputs) runs before forward; a returned value replaces the inputs."""
        self._check_hookable()
        self._forward_pre_hooks.append(hook)
        return RemovableHandle(self._forward_pre_hooks, hook)

    # --- traversal ----------------------------------------------------------------------------
    def named_modules(self, prefix: str = "", memo=None):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """(dotted name, Parameter) pairs; a parameter shared by two modules appears once."""
        seen = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{module_name}.{name}" if module_name else name), p

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = ""):
        for module_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{module_name}.{name}" if module_name else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def num_parameters(self, trainable_only: bool = False) -> int:
        return int(sum(p.size for p in self.parameters()
                       if p.requires_grad or not trainable_only))

    # --- modes and gradients ------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> "Module":
        return self.train(False)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients: `p.grad = None`, or with set_to_none=False zeros in the same
        `.grad` tensor (a fresh array, so no other tensor sharing the old one changes)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data = np.zeros_like(p.data)
                p.grad._bump()

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def apply(self, fn) -> "Module":
        """Call fn(module) on every sub-module (children first) and on self."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def to(self, dtype) -> "Module":
        """Convert floating parameters and buffers to `dtype` (e.g. np.float64 for gradcheck)."""
        dtype = np.dtype(dtype)
        for t in list(self.parameters()) + list(self.buffers()):
            if t.data.dtype.kind == "f":
                t.data = t.data.astype(dtype)
                t.grad = None
                t._bump()
        return self

    def double(self) -> "Module":
        return self.to(np.float64)

    def float(self) -> "Module":
        return self.to(np.float32)

    # --- state ----------------------------------------------------------------------------------
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """Copies of every parameter and buffer as NumPy arrays, by dotted name."""
        state = OrderedDict()
        for name, p in self.named_parameters():
            state[name] = p.data.copy()
        for name, b in self.named_buffers():
            state[name] = np.array(b.data, copy=True)
        return state

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values into the existing parameters and buffers (in place, keeping identity).

        With strict=True, missing keys, unexpected keys and shape mismatches are all reported
        in one error, by name. Returns (missing_keys, unexpected_keys).
        """
        own = OrderedDict(list(self.named_parameters()) + list(self.named_buffers()))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                shape = tuple(np.shape(value.data if isinstance(value, Tensor) else value))
                if shape != target.shape:
                    mismatched.append(f"{key}: checkpoint has shape {shape}, model has "
                                      f"{target.shape}")
        problems = []
        if missing and strict:
            problems.append("missing keys: " + ", ".join(missing))
        if unexpected and strict:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if mismatched:
            problems.append("shape mismatches: " + "; ".join(mismatched))
        if problems:
            raise ValueError(f"load_state_dict into {type(self).__name__}: "
                             + " | ".join(problems))
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                array = value.data if isinstance(value, Tensor) else np.asarray(value)
                if target.data.dtype.kind == "f":
                    target.data[...] = array
                else:
                    target.data = np.array(array, dtype=target.data.dtype, copy=True)
                target._bump()
        return missing, unexpected

    # --- printing -------------------------------------------------------------------------------
    def extra_repr(self) -> str:
        return ""

    def summary(self, input_size=None, dtype=None):
        """A Keras-like table: layer, output shape (from a forward pass on zeros of
        `input_size`, batch dimension included), parameter count, trainable; and totals.
        See deepgrad/nn/summary.py."""
        from deepgrad.nn.summary import summarize  # nn.summary imports this module

        return summarize(self, input_size, dtype)

    def _repr_html_(self):
        return self.summary()._repr_html_()

    def __repr__(self):
        children = [f"({name}): " + repr(child).replace("\n", "\n  ")
                    for name, child in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        return head + "\n  " + "\n  ".join(children) + "\n)"


@register("layer")
class Sequential(Module):
    """Modules applied one after another: Sequential(Linear(784, 256), ReLU(), ...)."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, module in modules[0].items():
                self.add_module(str(name), _check_module(module, name, "Sequential"))
        else:
            for i, module in enumerate(modules):
                self.add_module(str(i), _check_module(module, i, "Sequential"))

    def forward(self, x):
        modules = tuple(self._modules.values())
        i, count = 0, len(modules)
        while i < count:
            module = modules[i]
            if i + 1 < count and module._fuses_with(modules[i + 1]):
                x = module._fused_forward(modules[i + 1], x)  # e.g. Linear + ReLU
                i += 2
            else:
                x = module(x)
                i += 1
        return x

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*items[index])
        return items[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module: Module) -> "Sequential":
        self.add_module(str(len(self._modules)), _check_module(module, len(self), "Sequential"))
        return self


def run_pair(first: Module, second: Module, x):
    """second(first(x)), run as one fused primitive when the two allow it (as in Sequential)."""
    if first._fuses_with(second):
        return first._fused_forward(second, x)
    return second(first(x))


class ModuleList(Module):
    """A list of modules whose parameters are registered ("layers.0.weight")."""

    def __init__(self, modules=()):
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> "ModuleList":
        self.add_module(str(len(self._modules)), _check_module(module, len(self), "ModuleList"))
        return self

    def extend(self, modules) -> "ModuleList":
        for module in modules:
            self.append(module)
        return self

    def __getitem__(self, index):
        items = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(items[index])
        return items[index]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())


def _check_module(module, name, container):
    if not isinstance(module, Module):
        raise TypeError(f"{container}: entry {name} must be a Module, got "
                        f"{type(module).__name__}")
    return module


class ModuleDict(Module):
    """A dict of modules whose parameters are registered by key ("blocks.encoder.weight")."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key):
        return self._modules[key]

    def __setitem__(self, key, module):
        self.add_module(str(key), _check_module(module, key, "ModuleDict"))

    def __delitem__(self, key):
        del self._modules[key]

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules)

    def __contains__(self, key):
        return key in self._modules

    def keys(self):
        return self._modules.keys()

    def values(self):
        return self._modules.values()

    def items(self):
        return self._modules.items()

    def update(self, modules):
        items = modules.items() if hasattr(modules, "items") else modules
        for key, module in items:
            self[key] = module

    def pop(self, key):
        return self._modules.pop(key)


class ParameterList(Module):
    """A list of Parameters, registered as "0", "1", ... (tensors given are made Parameters)."""

    def __init__(self, values=()):
        super().__init__()
        for value in values:
            self.append(value)

    def append(self, value) -> "ParameterList":
        if not isinstance(value, Parameter):
            value = Parameter(value)
        setattr(self, str(len(self._parameters)), value)
        return self

    def extend(self, values) -> "ParameterList":
        for value in values:
            self.append(value)
        return self

    def __getitem__(self, index):
        return list(self._parameters.values())[index]

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())
