"""deepgrad.nn: modules (layers, activations, losses), functional math, initializers."""

from deepgrad.nn import functional, init
from deepgrad.nn.linear import Flatten, Identity, Linear
from deepgrad.nn.module import Module, ModuleList, Parameter, Sequential

__all__ = [
    "functional", "init", "Module", "Parameter", "Sequential", "ModuleList", "Linear",
    "Identity", "Flatten",
]
