import gzip

import numpy as np
import pytest

from deepgrad.data import IDXFormatError, read_idx, write_idx


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32,
                                   np.float64])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip(tmp_path, dtype, suffix):
    rng = np.random.default_rng(0)
    array = (rng.normal(size=(3, 4, 5)) * 50).astype(dtype)
    path = tmp_path / f"a-idx3{suffix}"
    write_idx(path, array)
    back = read_idx(path)
    assert back.dtype == np.dtype(dtype) and back.dtype.isnative
    np.testing.assert_array_equal(back, array)


def test_known_bytes_big_endian(tmp_path):
    # magic 0x00000C02: int32, 2 dims; dims 2 x 3 big-endian; then 6 big-endian int32 values
    payload = bytes([0, 0, 0x0C, 2, 0, 0, 0, 2, 0, 0, 0, 3])
    payload += np.array([1, -2, 3, 256, 65536, -1], dtype=">i4").tobytes()
    path = tmp_path / "ints.idx"
    path.write_bytes(payload)
    np.testing.assert_array_equal(read_idx(path), [[1, -2, 3], [256, 65536, -1]])
    # a gzip'ed file is recognised by its magic bytes, whatever its name
    gz = tmp_path / "ints-no-suffix"
    gz.write_bytes(gzip.compress(payload))
    np.testing.assert_array_equal(read_idx(gz), [[1, -2, 3], [256, 65536, -1]])


def _labels_file(tmp_path, body: bytes, name="labels-idx1-ubyte"):
    path = tmp_path / name
    path.write_bytes(body)
    return path


def test_wrong_magic_number_names_file(tmp_path):
    path = _labels_file(tmp_path, bytes([1, 2, 8, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(IDXFormatError, match=rf"{path}.*magic number 0x01020801"):
        read_idx(path)


def test_unknown_type_code(tmp_path):
    path = _labels_file(tmp_path, bytes([0, 0, 0x0A, 1, 0, 0, 0, 1, 7]))
    with pytest.raises(IDXFormatError, match=rf"{path} has unknown type code 0x0A"):
        read_idx(path)


def test_truncated_payload(tmp_path):
    path = _labels_file(tmp_path, bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2, 3]))
    with pytest.raises(IDXFormatError, match=rf"{path} is truncated.*needs 5 payload bytes, "
                                             r"found 3"):
        read_idx(path)


def test_truncated_header(tmp_path):
    with pytest.raises(IDXFormatError, match="truncated: 2 bytes"):
        read_idx(_labels_file(tmp_path, bytes([0, 0])))
    with pytest.raises(IDXFormatError, match="truncated inside its header"):
        read_idx(_labels_file(tmp_path, bytes([0, 0, 8, 3, 0, 0, 0, 1]), "h2"))


def test_trailing_bytes(tmp_path):
    path = _labels_file(tmp_path, bytes([0, 0, 8, 1, 0, 0, 0, 2, 1, 2, 3]))
    with pytest.raises(IDXFormatError, match="trailing bytes after the 2 payload bytes"):
        read_idx(path)


def test_huge_declared_size_does_not_allocate(tmp_path):
    # 2^32-1 x 2^32-1 x 255 bytes declared, 4 present: must fail fast, not run out of memory
    body = bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 2 + bytes([0, 0, 0, 255]) + b"abcd"
    with pytest.raises(IDXFormatError, match="truncated.*found 4"):
        read_idx(_labels_file(tmp_path, body))


def test_truncated_gzip_stream(tmp_path):
    data = gzip.compress(bytes([0, 0, 8, 1, 0, 0, 39, 16]) + bytes(10000))
    path = tmp_path / "cut.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IDXFormatError, match=rf"{path}.*(damaged gzip|truncated)"):
        read_idx(path)


def test_missing_file():
    with pytest.raises(FileNotFoundError):
        read_idx("/nonexistent/file-idx1-ubyte")


def test_write_rejects_unsupported_dtype(tmp_path):
    with pytest.raises(ValueError, match="cannot store dtype int64"):
        write_idx(tmp_path / "x", np.zeros(3, dtype=np.int64))
