"""Shared test setup: PyTorch, the oracle of many tests, is gated per test, never per module.

`from torch_gate import torch` gives a stand-in that imports PyTorch on first use; a test that
touches it is skipped when PyTorch is missing, and every other test of the module still runs.
DEEPGRAD_TEST_HIDE_TORCH=1 makes PyTorch unimportable, to check exactly that (make test-notorch).
"""

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

if os.environ.get("DEEPGRAD_TEST_HIDE_TORCH") == "1":
    class _HideTorch:
        """A meta-path finder that makes `import torch` fail, as on a machine without it."""

        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch."):
                raise ModuleNotFoundError(f"{name} is hidden by DEEPGRAD_TEST_HIDE_TORCH=1",
                                          name=name)
            return None

    sys.meta_path.insert(0, _HideTorch())
