"""`deepgrad.save(obj, path)` and `deepgrad.load(path)`: PyTorch's names, deepgrad's safe format.

    deepgrad.save(model.state_dict(), "model.safetensors")
    model.load_state_dict(deepgrad.load("model.safetensors"))
    deepgrad.save({"epoch": 3, "model": model.state_dict(),
                   "optimizer": optimizer.state_dict()}, "ckpt.safetensors")

The file is a deepgrad checkpoint (safetensors + JSON, see docs/checkpoints.md): arrays go to
the payload, everything else (dicts, lists, tuples, numbers, strings, None) to the JSON
document. Nothing is pickled, so nothing is executed on load. What can be saved: tensors,
NumPy arrays and scalars, and nested containers of them; a Module or an optimizer itself
cannot (PyTorch would pickle it): save their `state_dict()`.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from deepgrad.io.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from deepgrad.tensor import Tensor

_KEY = "deepgrad.save"
_TENSOR = "__deepgrad_tensor__"   # a Tensor is stored as {_TENSOR: array, "requires_grad": b}


def _to_storable(value, where: str):
    if isinstance(value, Tensor):
        return {_TENSOR: np.asarray(value.data), "requires_grad": bool(value.requires_grad)}
    if isinstance(value, dict):
        return {k: _to_storable(v, f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_to_storable(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if isinstance(value, tuple) else items
    if hasattr(value, "state_dict") and callable(value.state_dict):
        raise TypeError(f"deepgrad.save: {where} is a {type(value).__name__}; deepgrad saves "
                        "data, not objects (PyTorch would pickle it, which runs code on "
                        f"load). Save {where}.state_dict() and load it with "
                        "load_state_dict(deepgrad.load(path)).")
    return value


def _from_stored(value):
    if isinstance(value, dict):
        if set(value) == {_TENSOR, "requires_grad"}:
            return Tensor(value[_TENSOR], requires_grad=bool(value["requires_grad"]))
        return {k: _from_stored(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_stored(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_from_stored(v) for v in value)
    return value


def _check_device(map_location) -> None:
    name = getattr(map_location, "type", map_location)
    if map_location is not None and not callable(map_location) and str(name) != "cpu":
        raise ValueError(f"deepgrad.load: map_location={map_location!r}; deepgrad runs on the "
                         "CPU only (use map_location='cpu' or leave it out)")


def save(obj, f) -> str:
    """Write `obj` (a tensor, an array, or nested dicts/lists/tuples of them, numbers and
    strings; typically a `state_dict()`) to the file `f`, atomically; returns the path.

    Raises TypeError for objects that only pickling could store (a Module, an optimizer)."""
    path = os.fspath(f)
    stored = _to_storable(obj, "obj")
    try:
        return save_checkpoint(path, metadata={_KEY: stored})
    except CheckpointError as error:
        raise TypeError(f"deepgrad.save({path!r}): {error}") from error


def load(f, map_location=None, weights_only: bool = True):  # noqa: ARG001 (PyTorch's keyword)
    """Read what `save` wrote. Tensors come back as Tensors (with their requires_grad flag),
    arrays as arrays, dicts, lists and tuples as they were. A run checkpoint (`last.safetensors`
    of a run directory) gives {"model": state dict, "optimizer": ..., "epoch": ...}.

    `map_location` may be None or "cpu"; `weights_only` is accepted for PyTorch code and is
    always true here: files hold data only, never code."""
    _check_device(map_location)
    checkpoint = load_checkpoint(os.fspath(f))
    if _KEY in checkpoint.metadata:
        return _from_stored(checkpoint.metadata[_KEY])
    out = OrderedDict()
    if checkpoint.model_state is not None:
        out["model"] = checkpoint.model_state
    for key in ("optimizer_state", "scheduler_state", "epoch", "step", "metrics", "config"):
        value = getattr(checkpoint, key)
        if value is not None and value != {}:
            out[key.replace("_state", "")] = value
    return out
