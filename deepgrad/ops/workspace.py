"""Reusable scratch arrays for the large temporaries of the convolution and pooling primitives.

A LeNet step at batch 128 creates about 40 MB of arrays that live only inside one forward or
backward call (column matrices, layout changes, col2im accumulators). Fresh arrays of that
size come from new, untouched pages of memory, and touching each page for the first time
costs a page fault: enough to add about a fifth to the step time (docs/conv.md). A primitive
instead asks for `scratch(name, shape, dtype)` and gets a view of a buffer kept from the
previous call, whose pages are already mapped.

Rules that keep this safe:
  * a scratch array never leaves the call that asked for it: not returned, not saved on the
    context for backward (that is what would break gradient accumulation or retain_graph);
  * two scratch arrays used at the same time have different names;
  * buffers are per thread, so primitives running in several threads never share one.

An array that a primitive saves for backward (the column matrix of the fused convolution +
pooling) comes from `reusable(name, shape, dtype)` instead: a buffer that is handed out again
only once no array refers to it any more, so the next step reuses warm memory while a retained
graph keeps its own.

Small read-only arrays that depend only on a shape and come back every step (a vector of
ones, row offsets) are made once by `constant(key, make)`.

`release()` frees the buffers of the calling thread (they are re-created on demand).

With the speed tricks off (DEEPGRAD_FAST=0, ops/fast.py) every request gets a fresh array
and nothing is cached.
"""

from __future__ import annotations

import math
import sys
import threading

import numpy as np

from deepgrad.ops import fast

_local = threading.local()


def scratch(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array of `shape` and `dtype` for use inside one call."""
    if not fast.enabled():
        return np.empty(shape, dtype)
    buffers = getattr(_local, "buffers", None)
    if buffers is None:
        buffers = _local.buffers = {}
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    raw = buffers.get(name)
    if raw is None or raw.size < nbytes:
        raw = buffers[name] = np.empty(nbytes, dtype=np.uint8)
    return _view(raw, nbytes, dtype, shape)


def reusable(name: str, shape: tuple, dtype) -> np.ndarray:
    """An uninitialised C-contiguous array that may outlive the call (saved for backward),
    in one of the buffers kept under `name` that no array refers to any more; a new buffer
    when all are in use (a retained graph, two graphs alive at once). Reusing the buffer of
    the previous step spares the page faults of fresh memory, as `scratch` does."""
    if not fast.enabled():
        return np.empty(shape, dtype)
    pools = getattr(_local, "pools", None)
    if pools is None:
        pools = _local.pools = {}
    dtype = np.dtype(dtype)
    nbytes = math.prod(shape) * dtype.itemsize
    pool = pools.setdefault(name, [])
    free = None
    for i in range(len(pool)):
        raw = pool[i]
        # referenced only by the pool list and this call: no view of it is alive
        if sys.getrefcount(raw) <= _FREE_REFCOUNT:
            if raw.size >= nbytes:
                return _view(raw, nbytes, dtype, shape)
            free = i if free is None else free
    raw = np.empty(nbytes, dtype=np.uint8)
    if free is not None:
        pool[free] = raw  # grow a free buffer that was too small
    elif len(pool) < _MAX_POOLED:
        pool.append(raw)
    return _view(raw, nbytes, dtype, shape)


def _view(raw, nbytes, dtype, shape):
    """The first nbytes of the byte buffer raw as a C-contiguous array of dtype and shape."""
    return raw[:nbytes].view(dtype).reshape(shape)


# references to a pooled buffer that nothing else holds: the list, the loop variable and
# getrefcount's argument
_FREE_REFCOUNT = 3
_MAX_POOLED = 4


_CONSTANTS = {}  # key -> read-only array, shared by all threads


def constant(key, make) -> np.ndarray:
    """make(), made once per key and kept read-only (the cache is bounded: when it holds more
    than 128 arrays, e.g. after many batch sizes, it starts afresh)."""
    if not fast.enabled():
        return make()
    array = _CONSTANTS.get(key)
    if array is None:
        if len(_CONSTANTS) >= 128:
            _CONSTANTS.clear()
        array = _CONSTANTS[key] = make()
        array.flags.writeable = False
    return array


def release() -> None:
    """Drop the calling thread's scratch buffers."""
    _local.buffers = {}
    _local.pools = {}


def held_bytes() -> int:
    """Bytes held by the calling thread's scratch buffers."""
    pooled = sum(raw.size for pool in getattr(_local, "pools", {}).values() for raw in pool)
    return pooled + sum(raw.size for raw in getattr(_local, "buffers", {}).values())
