"""Start every rank from the same state: rank 0's parameters, buffers and optimizer state.

Arrays travel fused, one flat buffer per dtype; structure (names, shapes, hyperparameters)
travels as JSON. Before anything is overwritten every rank checks that its model has the same
entries and shapes as rank 0's, and all ranks raise together if one differs.
"""

from __future__ import annotations

import numpy as np

from deepgrad.distributed import comm

__all__ = ["broadcast_parameters", "broadcast_optimizer_state", "broadcast_arrays"]


def broadcast_arrays(arrays, root: int = 0) -> list:
    """The root's arrays on every rank, in place where possible; returns the list of arrays.

    Every rank passes arrays of the same shapes and dtypes, in the same order. Arrays of one
    dtype travel in one message.
    """
    arrays = list(arrays)
    if comm.world_size() == 1:
        return arrays
    by_dtype: dict = {}
    for index, array in enumerate(arrays):
        by_dtype.setdefault(np.dtype(array.dtype).str, []).append(index)
    for dtype in sorted(by_dtype):
        indices = by_dtype[dtype]
        flat = np.concatenate([np.ravel(arrays[i]) for i in indices]) if indices else None
        comm.broadcast_(flat, root)
        offset = 0
        for i in indices:
            size = arrays[i].size
            arrays[i][...] = flat[offset:offset + size].reshape(arrays[i].shape)
            offset += size
    return arrays


def _agree(layout: dict, what: str) -> None:
    """Raise on every rank if this rank's layout (JSON) differs from rank 0's."""
    reference = comm.broadcast_json(layout)
    problem = ""
    if layout != reference:
        mine, theirs = set(layout), set(reference)
        if mine != theirs:
            problem = (f"entries only on rank {comm.rank()}: {sorted(mine - theirs)[:5]}, "
                       f"only on rank 0: {sorted(theirs - mine)[:5]}")
        else:
            name = next(k for k in layout if layout[k] != reference[k])
            problem = f"{name} is {layout[name]} here but {reference[name]} on rank 0"
    failed = comm.allreduce(np.array([1.0 if problem else 0.0]), "max")[0] > 0
    if failed:
        detail = f": {problem}" if problem else " (see the message of the other rank)"
        raise ValueError(f"{what}: rank {comm.rank()} of {comm.world_size()} does not match "
                         f"rank 0{detail}; every rank must build the same model")


def broadcast_parameters(model, root: int = 0) -> None:
    """Copy rank `root`'s parameters and buffers (running statistics) into every rank's model.

    Call it once after building the model (and after loading a checkpoint) so that all ranks
    start from identical weights. A no-op in a world of one.
    """
    if comm.world_size() == 1:
        return
    tensors = list(model.named_parameters()) + [(name, buffer) for name, buffer
                                                in model.named_buffers() if buffer is not None]
    _agree({name: [list(t.shape), str(t.dtype)] for name, t in tensors},
           "broadcast_parameters")
    broadcast_arrays([t.data for _, t in tensors], root)
    for _, t in tensors:
        t._bump()


def _split_arrays(value, arrays: list):
    """JSON skeleton of `value` with each ndarray replaced by {"__array__": index}."""
    if isinstance(value, np.ndarray):
        arrays.append(value)
        return {"__array__": len(arrays) - 1, "shape": list(value.shape),
                "dtype": value.dtype.str}
    if isinstance(value, dict):
        return {str(key): _split_arrays(item, arrays) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split_arrays(item, arrays) for item in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _join_arrays(value, arrays: list):
    if isinstance(value, dict):
        if "__array__" in value:
            return arrays[value["__array__"]]
        return {key: _join_arrays(item, arrays) for key, item in value.items()}
    if isinstance(value, list):
        return [_join_arrays(item, arrays) for item in value]
    return value


def broadcast_optimizer_state(optimizer, root: int = 0) -> None:
    """Load rank `root`'s optimizer state (slots, step counts, hyperparameters) on every rank.

    Call it after `broadcast_parameters` (and after resuming) so that momentum buffers and
    moment estimates agree everywhere. A no-op in a world of one.
    """
    if comm.world_size() == 1:
        return
    arrays: list = []
    skeleton = comm.broadcast_json(_split_arrays(optimizer.state_dict(), arrays), root)
    if comm.rank() != root:
        arrays = []
        _collect_empty(skeleton, arrays)
    broadcast_arrays(arrays, root)
    if comm.rank() != root:
        optimizer.load_state_dict(_join_arrays(skeleton, arrays))


def _collect_empty(skeleton, arrays: list) -> None:
    """Allocate, in index order, the arrays the skeleton refers to."""
    found = {}

    def walk(value):
        if isinstance(value, dict):
            if "__array__" in value:
                found[value["__array__"]] = np.empty(value["shape"], np.dtype(value["dtype"]))
            else:
                for item in value.values():
                    walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(skeleton)
    arrays.extend(found[i] for i in range(len(found)))
