"""The one switch for deepgrad's speed tricks: DEEPGRAD_FAST=0 in the environment turns all of
them off at once, leaving plain NumPy code whose numbers are easy to audit.

The tricks, all inside deepgrad/ops/:

* the one-pass parameter update `y += a x` through BLAS axpy (ops/blas.py);
* reusable scratch buffers and the cache of small constant arrays (ops/workspace.py);
* the layout contracts of the convolution primitives (ops/conv.py): batch-innermost column
  order for narrow feature maps, outputs left in the column layout as views, pooling
  gradients made in the layout of their input, the contiguous window slabs of tiling pools;
* the bias gradient of Linear as a BLAS matrix-vector product (ops/linalg.py);
* the fused Conv2d + MaxPool2d primitive that `nn.fuse(model)` asks for (with the switch off
  the pairs run as the two separate primitives).

With the switch off the results differ from the fast path only by rounding (sums taken in
another order); tests/ops/test_fast.py runs both on the same models and bounds the
difference. `set_enabled(False)` / `with fast.disabled():` switch at run time (tests,
benchmarks); `enabled()` says which path runs.
"""

from __future__ import annotations

import contextlib
import os

_enabled = os.environ.get("DEEPGRAD_FAST", "1").strip() != "0"


def enabled() -> bool:
    """True when the speed tricks are on (the default; DEEPGRAD_FAST=0 turns them off)."""
    return _enabled


def set_enabled(flag: bool) -> None:
    """Turn the speed tricks on or off for the whole process."""
    global _enabled
    _enabled = bool(flag)


@contextlib.contextmanager
def disabled():
    """Run a block on the plain path (restores the previous setting afterwards)."""
    previous = _enabled
    set_enabled(False)
    try:
        yield
    finally:
        set_enabled(previous)
