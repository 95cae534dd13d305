"""Optional dependencies: imported on first use, with a message naming the extra to install.

The core of deepgrad needs only NumPy. Plots, checkpoints, configs, TensorBoard and ONNX need
packages of the `cli` extra; a core-only install that reaches one of them gets an error that
says what to install instead of a bare ModuleNotFoundError.
"""

from __future__ import annotations

import importlib

# module -> (PyPI package, deepgrad extra)
EXTRAS = {
    "matplotlib": ("matplotlib", "cli"),
    "yaml": ("PyYAML", "cli"),
    "safetensors": ("safetensors", "cli"),
    "tensorboardX": ("tensorboardX", "cli"),
    "onnx": ("onnx", "cli"),
}


def require(module: str, purpose: str):
    """Import `module` (e.g. "matplotlib.pyplot") or raise ModuleNotFoundError saying which
    deepgrad extra provides it and what needed it."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as error:
        top = module.split(".")[0]
        if error.name is None or error.name.split(".")[0] != top:
            raise  # the package is there but something it imports is missing: keep that error
        package, extra = EXTRAS.get(top, (top, "cli"))
        raise ModuleNotFoundError(
            f"{purpose} needs {package}, which is not installed. Install deepgrad with its "
            f"'{extra}' extra:  pip install 'deepgrad[{extra}]'  (or pip install {package})",
            name=error.name) from error
