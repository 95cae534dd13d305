"""TensorBoard event files of scalars, written directly (no tensorboardX, no protobuf package).

An event file is a sequence of TFRecords, each

    uint64 length | uint32 masked CRC-32C of the length | data | uint32 masked CRC-32C of data

(little-endian; masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 mod 2^32), whose data is a
serialized `Event` protocol buffer. The writer emits the two messages TensorBoard needs for
scalar curves, encoded by hand:

    Event   {1: wall_time (double), 2: step (int64), 3: file_version (string),
             5: summary (Summary)}
    Summary {1: value (repeated Value)}      Value {1: tag (string), 2: simple_value (float)}

Writing scalars this way keeps `import tensorboardX` (which imports PyTorch when it is
installed, seconds per process) out of training. The files are read back by TensorBoard's own
reader in tests/io/test_tfevents.py.
"""

from __future__ import annotations

import os
import socket
import struct
import time

_CRC_TABLE = []
for _byte in range(256):
    _crc = _byte
    for _ in range(8):
        _crc = (_crc >> 1) ^ 0x82F63B78 if _crc & 1 else _crc >> 1   # Castagnoli, reflected
    _CRC_TABLE.append(_crc)


def crc32c(data: bytes) -> int:
    """CRC-32C (Castagnoli) of `data`: crc32c(b"123456789") == 0xE3069283."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc = _CRC_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data: bytes) -> bytes:
    """One TFRecord around `data`."""
    length = struct.pack("<Q", len(data))
    return (length + struct.pack("<I", _masked_crc(length)) + data
            + struct.pack("<I", _masked_crc(data)))


def _varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1                      # int64 fields: two's complement
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _field_bytes(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def event(wall_time: float, step: int = 0, file_version: "str | None" = None,
          scalars: "dict | None" = None) -> bytes:
    """A serialized Event with a file version or a summary of scalar values."""
    out = _varint(1 << 3 | 1) + struct.pack("<d", wall_time) + _varint(2 << 3) + _varint(step)
    if file_version is not None:
        out += _field_bytes(3, file_version.encode("utf-8"))
    if scalars:
        values = b"".join(
            _field_bytes(1, _field_bytes(1, str(tag).encode("utf-8"))
                         + _varint(2 << 3 | 5) + struct.pack("<f", float(value)))
            for tag, value in scalars.items())
        out += _field_bytes(5, values)
    return out


class EventWriter:
    """Append scalar events to a new event file in `log_dir` (created if needed).

        writer = EventWriter("runs/x/tb")
        writer.add_scalars({"loss": 0.5, "val_loss": 0.6}, step=1)
        writer.close()
    """

    def __init__(self, log_dir):
        self.log_dir = os.fspath(log_dir)
        os.makedirs(self.log_dir, exist_ok=True)
        name = (f"events.out.tfevents.{int(time.time()):010d}.{socket.gethostname()}."
                f"{os.getpid()}")
        self.path = os.path.join(self.log_dir, name)
        self._file = open(self.path, "ab")
        self._file.write(record(event(time.time(), file_version="brain.Event:2")))
        self.flush()

    def add_scalars(self, scalars: dict, step: int) -> None:
        self._file.write(record(event(time.time(), int(step), scalars=scalars)))

    def add_scalar(self, tag: str, value: float, step: int) -> None:
        self.add_scalars({tag: value}, step)

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
