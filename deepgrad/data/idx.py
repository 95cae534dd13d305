"""The IDX file format of MNIST and Fashion-MNIST, read and written without third-party code.

Layout (all integers big-endian):

    bytes 0-1   0x00 0x00
    byte  2     type code: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64
    byte  3     ndim, the number of dimensions
    then        ndim unsigned 32-bit sizes
    then        prod(sizes) values of the type, in C (row-major) order

Files may be gzip-compressed; compression is recognised by its magic bytes, not by the name.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 24


class IDXFormatError(ValueError):
    """A file is not a valid IDX file (wrong magic number, type code, size or truncated)."""


def _open(path: str):
    with open(path, "rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb")


def read_idx(path) -> np.ndarray:
    """Read an IDX file (optionally gzip-compressed) into an ndarray of native byte order.

    Raises:
        FileNotFoundError: the file does not exist.
        IDXFormatError: wrong magic number, unknown type code, truncated payload or trailing
            bytes; the message names the file.
    """
    path = os.fspath(path)
    try:
        with _open(path) as stream:
            header = stream.read(4)
            if len(header) < 4:
                raise IDXFormatError(f"read_idx: {path} is truncated: {len(header)} bytes, "
                                     "an IDX header needs at least 4")
            if header[0] != 0 or header[1] != 0:
                raise IDXFormatError(f"read_idx: {path} is not an IDX file: magic number "
                                     f"0x{header.hex()} does not start with 0x0000")
            code, ndim = header[2], header[3]
            if code not in IDX_TYPES:
                known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
                raise IDXFormatError(f"read_idx: {path} has unknown type code 0x{code:02X} "
                                     f"(magic number 0x{header.hex()}); known codes: {known}")
            if ndim == 0:
                raise IDXFormatError(f"read_idx: {path} declares 0 dimensions")
            dims_bytes = stream.read(4 * ndim)
            if len(dims_bytes) < 4 * ndim:
                raise IDXFormatError(f"read_idx: {path} is truncated inside its header "
                                     f"({ndim} dimension sizes expected)")
            shape = tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4"))
            dtype = IDX_TYPES[code]
            expected = math.prod(shape) * dtype.itemsize  # Python ints: no overflow
            # read in chunks rather than allocating `expected` bytes up front: a corrupt header
            # can declare terabytes, and memory then stays bounded by the real file size
            payload = bytearray()
            while len(payload) <= expected:
                chunk = stream.read(min(_CHUNK, expected + 1 - len(payload)))
                if not chunk:
                    break
                payload += chunk
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise IDXFormatError(f"read_idx: {path} is a damaged gzip file ({error})") from None
    if len(payload) < expected:
        raise IDXFormatError(f"read_idx: {path} is truncated: shape {shape} of {dtype.name} "
                             f"needs {expected} payload bytes, found {len(payload)}")
    if len(payload) > expected:
        raise IDXFormatError(f"read_idx: {path} has trailing bytes after the {expected} "
                             f"payload bytes of shape {shape}")
    out = np.frombuffer(payload, dtype=dtype).reshape(shape)
    return out.astype(dtype.newbyteorder("="), copy=False)


def write_idx(path, array) -> None:
    """Write `array` as an IDX file; gzip-compressed when `path` ends with '.gz'."""
    path = os.fspath(path)
    array = np.asarray(array)
    codes = {dtype.kind + str(dtype.itemsize): code for code, dtype in IDX_TYPES.items()}
    code = codes.get(array.dtype.kind + str(array.dtype.itemsize))
    if code is None or array.ndim == 0 or array.ndim > 255:
        raise ValueError(f"write_idx: cannot store dtype {array.dtype} with {array.ndim} "
                         "dimensions; IDX holds uint8, int8, int16, int32, float32, float64 "
                         "arrays of 1 to 255 dimensions")
    header = bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "wb") as stream:
        stream.write(header + payload)
