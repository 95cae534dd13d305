"""deepgrad.io: safe checkpoints (safetensors + JSON metadata) and ONNX export.

This layer imports only deepgrad's bottom layer and deepgrad.nn; safetensors and onnx are
imported when a function that needs them is called.
"""

from deepgrad.io.checkpoint import (Checkpoint, CheckpointError, building_from,
                                    load_checkpoint, restore, restore_generator,
                                    save_checkpoint)
from deepgrad.io.serialization import load, save


def export_onnx(*args, **kwargs):
    """See `deepgrad.io.onnx.export_onnx` (imported lazily: onnx is an optional dependency)."""
    from deepgrad.io.onnx import export_onnx as _export

    return _export(*args, **kwargs)


__all__ = ["Checkpoint", "CheckpointError", "save_checkpoint", "load_checkpoint", "restore",
           "building_from", "restore_generator", "export_onnx", "save", "load"]
