"""nn.fuse(model): run each Conv2d followed by a tiling MaxPool2d as one primitive.

Fusing is an explicit opt-in because the fused primitive (ops/conv_pool.py) orders the
convolution's output positions for the pooling, so its weight and bias gradients are sums
taken in another order than the separate primitives' and round differently: a trained model
ends slightly elsewhere (LeNet on Fashion-MNIST, 6 epochs: 91.15% fused, 91.37% separate).
A model that is not fused never changes its numbers, whatever watches it; a fused one
refuses forward hooks on its fused modules (the convolution's own output is never computed),
instead of silently running another computation. `nn.unfuse(model)` undoes it.

Linear followed by ReLU needs no opt-in: its fused primitive (ops.linear_relu) gives the
separate primitives' numbers bit for bit (tested), so nn.Sequential always uses it and a hook
on either module simply runs them separately, with the same numbers.

Which pairs: consecutive children of every nn.Sequential, and the pairs a module lists in
`fusable_pairs()` (LeNet: conv1 + pool1, conv2 + pool2).
"""

from __future__ import annotations

from deepgrad.nn.conv import Conv2d
from deepgrad.nn.module import Module, Sequential
from deepgrad.nn.pooling import MaxPool2d

__all__ = ["fuse", "unfuse", "fused_pairs"]

_PARTNER = "_fused_partner"  # attribute on both modules of a fused pair: the other one


def _candidate_pairs(model: Module):
    for module in model.modules():
        if isinstance(module, Sequential):
            children = list(module)
            yield from zip(children[:-1], children[1:])
        elif hasattr(module, "fusable_pairs"):
            yield from module.fusable_pairs()


def _fusable(first, second) -> bool:
    return (type(first) is Conv2d and type(second) is MaxPool2d
            and second.stride == second.kernel_size and second.padding == (0, 0))


def fuse(model: Module) -> Module:
    """Mark every fusable Conv2d + MaxPool2d pair of `model` to run as one primitive
    (in place); returns `model`. Refuses modules that have hooks (they would be skipped)."""
    for first, second in _candidate_pairs(model):
        if not _fusable(first, second) or fused_partner(first) is second:
            continue
        for module in (first, second):
            if module._forward_hooks or module._forward_pre_hooks:
                raise RuntimeError(f"nn.fuse: {module!r} has forward hooks; a fused pair "
                                   "never calls them. Remove the hooks first (or do not fuse)")
            if fused_partner(module) is not None:
                raise RuntimeError(f"nn.fuse: {module!r} is already fused with another module")
        object.__setattr__(first, _PARTNER, second)
        object.__setattr__(second, _PARTNER, first)
    return model


def unfuse(model: Module) -> Module:
    """Undo `fuse`: every pair runs as two primitives again (in place); returns `model`."""
    for module in model.modules():
        module.__dict__.pop(_PARTNER, None)
    return model


def fused_partner(module: Module):
    """The module `module` is fused with by `fuse`, or None."""
    return module.__dict__.get(_PARTNER)


def fused_pairs(model: Module) -> list:
    """The (Conv2d, MaxPool2d) pairs of `model` that run fused."""
    return [(m, fused_partner(m)) for m in model.modules()
            if isinstance(m, Conv2d) and fused_partner(m) is not None]
