"""Process-wide switches of the autodiff engine: grad mode, forward-mode depth, the tracer."""

from __future__ import annotations

import functools

grad_enabled = True
forward_level = 0  # > 0 while deepgrad.autograd.jvp is pushing tangents
tracer = None  # a deepgrad.trace.Tracer while deepgrad.autograd.trace is recording


class _GradMode:
    """Context manager and decorator that sets grad mode and restores it on exit."""

    enabled = True

    def __enter__(self):
        global grad_enabled
        self._previous = grad_enabled
        grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        global grad_enabled
        grad_enabled = self._previous
        return False

    def __call__(self, function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with type(self)():
                return function(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Disable graph recording: `with deepgrad.no_grad(): ...` or `@deepgrad.no_grad()`."""

    enabled = False


class enable_grad(_GradMode):
    """Re-enable graph recording inside a no_grad block."""

    enabled = True


class set_grad_enabled(_GradMode):
    """`with set_grad_enabled(flag):` records the graph only when flag is true."""

    def __init__(self, mode: bool):
        self.enabled = bool(mode)

    def __call__(self, function):
        mode = self.enabled

        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            with set_grad_enabled(mode):
                return function(*args, **kwargs)

        return wrapper


def is_grad_enabled() -> bool:
    return grad_enabled
