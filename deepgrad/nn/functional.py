"""The math of the layers, as functions of Tensors (`import deepgrad.nn.functional as F`).

Composites are built from the primitives of `deepgrad.ops`, so they are correct in both
autodiff modes; fused primitives live in `deepgrad.ops` where speed or stability needs them.
"""

from __future__ import annotations

from deepgrad.ops import flatten, linear

__all__ = ["linear", "flatten"]
