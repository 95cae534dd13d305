"""Automatic differentiation, all in one place for users.

Reverse mode: `Function` (PyTorch's static-method style or deepgrad's NumPy primitive protocol,
custom_function.py), `backward`, `grad`, `vjp` (engine.py).
Forward mode: `jvp`, `jacobian` (forward.py).
Checking and teaching: `gradcheck`, `numerical_jacobian` (gradcheck.py) and `trace` (trace.py).
"""

from deepgrad._state import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from deepgrad.custom_function import Function
from deepgrad.engine import RemovableHandle, backward, grad, unbroadcast, vjp
from deepgrad.forward import jacobian, jvp
from deepgrad.gradcheck import (GradcheckError, dot_product_test, gradcheck,
                                numerical_jacobian)
from deepgrad.trace import Trace, trace

__all__ = [
    "Function", "RemovableHandle", "backward", "grad", "vjp", "unbroadcast", "jvp", "jacobian",
    "gradcheck", "numerical_jacobian", "dot_product_test", "GradcheckError", "trace", "Trace",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
]
