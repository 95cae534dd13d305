"""deepgrad.ops.blas: the one-pass y += a x kernel, its lookup, self-test and NumPy fallback."""

import os
import subprocess
import sys

import numpy as np
import pytest

from deepgrad.ops import blas

HAVE_KERNEL = blas.source().startswith(("cblas", "scipy_cblas"))
needs_kernel = pytest.mark.skipif(not HAVE_KERNEL, reason=f"no BLAS axpy: {blas.source()}")


def _operands(size, dtype, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(size).astype(dtype), rng.standard_normal(size).astype(dtype)


def _close_to_numpy(y, y0, alpha, x):
    """y equals y0 + alpha x up to one rounding of each operand (a fused multiply-add may
    round once where NumPy rounds twice)."""
    expected = y0 + x.dtype.type(alpha) * x
    bound = 2 * np.finfo(x.dtype).eps * (np.abs(y0) + np.abs(x.dtype.type(alpha) * x))
    assert np.all(np.abs(y - expected) <= bound), np.abs(y - expected).max()


def test_numpy_wheel_kernel_is_found_on_linux():
    # NumPy's wheels bundle OpenBLAS; on Linux it is mapped into the process, so deepgrad
    # finds it (where this does not hold, the fallback tests below still run)
    bundled = [p for p in blas._mapped_blas_libraries() if "numpy.libs" in p]
    if not (sys.platform.startswith("linux") and bundled):
        pytest.skip("no bundled OpenBLAS mapped in this process")
    assert blas.source() == f"scipy_cblas_saxpy64_ from {bundled[0]}"


@needs_kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [blas.MIN_SIZE, 5001, 200_704])
def test_kernel_matches_numpy(dtype, size):
    x, y = _operands(size, dtype)
    y0 = y.copy()
    blas.axpy(-0.01, x, y)
    _close_to_numpy(y, y0, -0.01, x)
    assert not np.array_equal(y, y0)  # the update happened in place


@needs_kernel
def test_kernel_takes_matrices_and_numpy_scalars():
    x, y = _operands(300 * 40, np.float32, seed=1)
    x, y = x.reshape(300, 40), y.reshape(300, 40)
    y0 = y.copy()
    blas.axpy(np.float32(0.5), x, y)
    _close_to_numpy(y, y0, 0.5, x)


@needs_kernel
def test_long_vectors_are_cut_into_chunks_without_gaps(monkeypatch):
    # a 32-bit BLAS takes at most 2**31 - 1 elements per call: check the cutting on a small
    # chunk size, where the offsets of every piece matter
    monkeypatch.setattr(blas, "_CHUNK", 1000)
    x, y = _operands(4500, np.float64, seed=2)
    y0 = y.copy()
    blas.axpy(2.0, x, y)
    _close_to_numpy(y, y0, 2.0, x)


@pytest.mark.parametrize("case", ["strided", "overlap", "mixed dtype", "small", "int"])
def test_fallback_gives_numpy_bits(case):
    """Arrays the kernel cannot take are updated by NumPy, with NumPy's exact numbers."""
    x, y = _operands(2 * blas.MIN_SIZE, np.float32, seed=3)
    if case == "strided":
        x, y = x[::2], y[::2]
    elif case == "overlap":
        x = y[1:]
        y = y[:-1]
    elif case == "mixed dtype":
        x = x.astype(np.float64)
    elif case == "small":
        x, y = x[:10], y[:10]
    elif case == "int":
        x, y = np.arange(6000), np.arange(6000)
    expected = y.copy()
    expected += 0.25 * x if case != "int" else 1 * x
    blas.axpy(0.25 if case != "int" else 1, x, y)
    np.testing.assert_array_equal(y, expected)


def test_read_only_target_is_refused():
    x, y = _operands(blas.MIN_SIZE, np.float32)
    y.flags.writeable = False
    with pytest.raises(ValueError, match="read-only"):
        blas.axpy(1.0, x, y)


def test_switch_off_with_environment_variable():
    code = ("import numpy as np; from deepgrad.ops import blas; print(blas.source()); "
            "x = np.linspace(0, 1, 9000, dtype=np.float32); y = np.ones(9000, np.float32); "
            "e = y.copy(); e -= np.float32(0.3) * x; blas.axpy(-0.3, x, y); "
            "print(np.array_equal(y, e))")
    env = dict(os.environ, DEEPGRAD_FAST="0")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True).stdout.split("\n")
    assert out[:2] == ["NumPy (DEEPGRAD_FAST=0: speed tricks off)", "True"]


def test_a_kernel_failing_the_self_test_is_not_used(monkeypatch):
    calls = []

    def wrong(n, alpha, x, incx, y, incy):  # a kernel that ignores alpha
        calls.append(n)
        xs = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_float * n).from_address(x))
        ys = np.ctypeslib.as_array((np.ctypeslib.ctypes.c_float * n).from_address(y))
        ys += xs

    assert not blas._passes_self_test({np.dtype(np.float32): wrong})
    assert calls == [203]


def test_other_calling_conventions_use_numpy(monkeypatch):
    monkeypatch.setattr(blas.platform, "machine", lambda: "i686")
    monkeypatch.setattr(blas, "_kernels", None)
    assert blas.source() == "NumPy (calling convention of 'i686' not assumed)"
    x, y = _operands(blas.MIN_SIZE, np.float32)
    expected = y.copy()
    expected += np.float32(-0.5) * x
    blas.axpy(-0.5, x, y)
    np.testing.assert_array_equal(y, expected)
    monkeypatch.undo()
    blas._look_up()  # leave the process with its real kernel


@needs_kernel
def test_read_only_source_goes_through_the_kernel_too():
    x, y = _operands(blas.MIN_SIZE + 3, np.float32, seed=4)
    x.flags.writeable = False
    y0 = y.copy()
    blas.axpy(-1.5, x, y)
    _close_to_numpy(y, y0, -1.5, x)
