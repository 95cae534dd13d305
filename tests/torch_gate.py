"""PyTorch for the tests that compare with it, gated per test.

    from torch_gate import torch

    TF = torch.nn.functional          # fine at module level, with or without PyTorch

    def test_something():
        expected = torch.tanh(torch.tensor(x))   # skips this test only, if torch is missing

With PyTorch installed, `torch` is the real module. Without it, attribute chains give stand-ins
that skip the test that calls them, so every test that does not need PyTorch (the float64
gradchecks, the forward/reverse checks) still runs. Calling one outside a test (at import)
is a collection error, so no module can be skipped whole by accident.
"""

import pytest

_module = []  # [torch] once imported, [None] when it is not installed


def _torch():
    if not _module:
        try:
            import torch
        except ImportError:
            torch = None
        _module.append(torch)
    return _module[0]


class _LazyTorch:
    """`torch` or, when PyTorch is missing, a stand-in for `torch.<path>` that skips on call."""

    def __init__(self, path="torch"):
        self._path = path

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        module = _torch()
        if module is None:
            return _LazyTorch(f"{self._path}.{name}")
        return getattr(module, name)

    def __call__(self, *args, **kwargs):
        pytest.skip(f"needs PyTorch ({self._path}); torch is not installed")

    def __repr__(self):
        return f"<{self._path}: PyTorch is not installed>"


def available() -> bool:
    return _torch() is not None


torch = _LazyTorch()
