"""y <- y + a x in one pass (BLAS axpy), from the BLAS library NumPy itself loaded.

NumPy has no fused multiply-add for arrays: `y -= lr * g` reads g, writes a temporary, then
reads y and the temporary and writes y (five array passes). BLAS's axpy reads x and y and
writes y (three), and OpenBLAS splits long vectors over its threads. The optimizer step of
the 784-256-256-10 MLP benchmark takes 240-260 us instead of 390-415 us (docs/benchmarks.md).

NumPy does not export its BLAS, so the library is found among the shared objects already
mapped into this process (Linux: /proc/self/maps), and the kernel is used only after it gave
NumPy's numbers on a small self-test. Anywhere else, or with the speed tricks off
(DEEPGRAD_FAST=0, ops/fast.py), `axpy` computes the same update with NumPy. The two differ only in rounding
(axpy may use one fused multiply-add); each is deterministic on a given machine.
"""

from __future__ import annotations

import ctypes
import os
import platform

import numpy as np

from deepgrad.ops import fast

# (single, double) symbol names, most specific first: NumPy's wheels bundle OpenBLAS with a
# "scipy_" prefix and 64-bit integers; system OpenBLAS/BLIS/MKL export the plain CBLAS names.
_SYMBOLS = (("scipy_cblas_saxpy64_", "scipy_cblas_daxpy64_"),
            ("cblas_saxpy64_", "cblas_daxpy64_"),
            ("cblas_saxpy", "cblas_daxpy"))
# Integers are passed as 64-bit: on x86-64 and AArch64 they travel in registers, so a kernel
# built with 32-bit integers reads the low half, which is the same number while it is < 2**31.
# Other calling conventions are not assumed: there NumPy does the update.
_MACHINES = ("x86_64", "amd64", "aarch64", "arm64")
_CHUNK = 2**31 - 1
# below this many elements the ctypes call costs more than the passes it saves
MIN_SIZE = 4096

_kernels = None  # {np.dtype: ctypes function} once looked up; {} when unavailable
_source = "not looked up yet"


def _mapped_blas_libraries():
    """Paths of the loaded shared objects whose file name mentions BLAS, in load order."""
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            lines = maps.read().splitlines()
    except OSError:
        return []
    paths = []
    for line in lines:
        fields = line.split(maxsplit=5)  # address, perms, offset, device, inode, path
        path = fields[5].strip() if len(fields) == 6 else ""
        name = os.path.basename(path).lower()
        if "blas" in name and ".so" in name and path not in paths:
            paths.append(path)
    return paths


def _bind(function, ctype):
    function.argtypes = [ctypes.c_int64, ctype, ctypes.c_void_p, ctypes.c_int64,
                         ctypes.c_void_p, ctypes.c_int64]
    function.restype = None
    return function


def _passes_self_test(kernels):
    """The kernels give NumPy's y + a x (to rounding) on a vector longer than any unrolling."""
    for dtype, kernel in kernels.items():
        x = np.linspace(-3.0, 5.0, 203).astype(dtype)
        y = np.linspace(2.0, -7.0, 203).astype(dtype)
        expected = y + dtype.type(-0.375) * x
        scale = np.abs(y) + np.abs(dtype.type(0.375) * x)  # rounding is relative to these
        kernel(x.size, -0.375, x.ctypes.data, 1, y.ctypes.data, 1)
        if not np.all(np.abs(y - expected) <= 2 * np.finfo(dtype).eps * scale):
            return False
    return True


def _look_up():
    global _kernels, _source
    _kernels, _source = {}, "NumPy (no BLAS axpy found in this process)"
    if platform.machine().lower() not in _MACHINES:
        _source = f"NumPy (calling convention of {platform.machine()!r} not assumed)"
        return
    for path in _mapped_blas_libraries():
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for single, double in _SYMBOLS:
            if hasattr(library, single) and hasattr(library, double):
                kernels = {np.dtype(np.float32): _bind(getattr(library, single), ctypes.c_float),
                           np.dtype(np.float64): _bind(getattr(library, double),
                                                       ctypes.c_double)}
                if _passes_self_test(kernels):
                    _kernels, _source = kernels, f"{single} from {path}"
                    return


def source() -> str:
    """Which kernel `axpy` uses: the BLAS symbol and library, or NumPy and why."""
    if not fast.enabled():
        return "NumPy (DEEPGRAD_FAST=0: speed tricks off)"
    if _kernels is None:
        _look_up()
    return _source


def _address(array: np.ndarray) -> int:
    """Where a C-contiguous array's data starts (through the buffer protocol: 3x cheaper than
    `array.ctypes.data`, which builds a helper object on every access)."""
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(array))
    except TypeError:  # a read-only buffer
        return array.ctypes.data


def axpy(alpha: float, x: np.ndarray, y: np.ndarray) -> None:
    """y += alpha * x, in place (y and x of one shape and float dtype, not overlapping)."""
    kernels = _kernels
    if kernels is None:
        _look_up()
        kernels = _kernels
    kernel = kernels.get(y.dtype) if y.size >= MIN_SIZE and fast.enabled() else None
    if (kernel is not None and x.dtype == y.dtype and x.shape == y.shape
            and x.flags.c_contiguous and y.flags.c_contiguous and y.flags.writeable):
        x_address, y_address, size = _address(x), _address(y), y.size
        if x_address + y.nbytes <= y_address or y_address + y.nbytes <= x_address:
            alpha, step = float(alpha), x.itemsize * _CHUNK
            for start in range(0, size, _CHUNK):
                offset = step * (start // _CHUNK)
                kernel(min(_CHUNK, size - start), alpha, x_address + offset, 1,
                       y_address + offset, 1)
            return
    y += alpha * x if alpha != 1 else x  # NumPy, for everything the kernel cannot take
