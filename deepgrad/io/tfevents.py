"""TensorBoard event files of scalars, written directly (no tensorboardX, no protobuf package).

An event file is a sequence of TFRecords, each

    uint64 length | uint32 masked CRC-32C of the length | data | uint32 masked CRC-32C of data

(little-endian; masked(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 mod 2^32), whose data is a
serialized `Event` protocol buffer. The writer emits the two messages TensorBoard needs for
scalar curves, encoded by hand:

    Event   {1: wall_time (double), 2: step (int64), 3: file_version (string),
             5: summary (Summary)}
    Summary {1: value (repeated Value)}      Value {1: tag (string), 2: simple_value (float)}

Histograms (`HistogramProto` in Value field 5) and the hparams plugin's summaries (Value
field 9, a `Tensor` of dtype string plus `SummaryMetadata` naming the plugin and holding its
`HParamsPluginData`: the experiment, one session's hyperparameters, the session's end) are
encoded the same way, so the run's hyperparameters appear in TensorBoard's HPARAMS tab.

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


def _double(number: int, value: float) -> bytes:
    return _varint(number << 3 | 1) + struct.pack("<d", float(value))


def _packed_doubles(number: int, values) -> bytes:
    return _field_bytes(number, b"".join(struct.pack("<d", float(v)) for v in values))


def _string(number: int, text: str) -> bytes:
    return _field_bytes(number, str(text).encode("utf-8"))


def histogram_value(tag: str, values) -> bytes:
    """A Summary.Value holding the HistogramProto of `values` (30 equal-width buckets)."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64).ravel()
    values = values[np.isfinite(values)]
    if values.size == 0:
        values = np.zeros(1)
    low, high = float(values.min()), float(values.max())
    counts, edges = np.histogram(values, bins=30, range=(low, high if high > low else low + 1))
    proto = (_double(1, low) + _double(2, high) + _double(3, values.size)
             + _double(4, values.sum()) + _double(5, np.dot(values, values))
             + _packed_doubles(6, edges[1:]) + _packed_doubles(7, counts))
    return _field_bytes(1, _string(1, tag) + _field_bytes(5, proto))


def _proto_value(value) -> bytes:
    """google.protobuf.Value: bool (4), number (2) or string (3)."""
    if isinstance(value, bool):
        return _varint(4 << 3) + _varint(int(value))
    if isinstance(value, (int, float)):
        return _double(2, value)
    return _string(3, value)


def _hparams_value(tag: str, plugin_data: bytes) -> bytes:
    """A Summary.Value of the hparams plugin: an empty string tensor plus the plugin data."""
    tensor = _varint(1 << 3) + _varint(7)                          # TensorProto{dtype: STRING}
    metadata = _field_bytes(1, _string(1, "hparams") + _field_bytes(2, plugin_data))
    return _field_bytes(1, _string(1, tag) + _field_bytes(9, metadata) + _field_bytes(8, tensor))


def hparams_values(hparams: dict, metrics) -> list:
    """The experiment (hyperparameter names, metric names: a tag or (run subdirectory, tag))
    and this session's start (its values), as two hparams-plugin Summary.Values."""
    infos = b"".join(_field_bytes(4, _string(1, name)) for name in hparams)
    for metric in metrics:                  # "tag", or (group, tag): the run subdirectory
        group, tag = metric if isinstance(metric, tuple) else ("", metric)
        name = (_string(1, group) if group else b"") + _string(2, tag)
        infos += _field_bytes(5, _field_bytes(1, name))
    experiment = _varint(1 << 3) + _varint(0) + _field_bytes(2, infos)    # version 0
    entries = b"".join(_field_bytes(1, _string(1, name) + _field_bytes(2, _proto_value(value)))
                       for name, value in hparams.items())
    start = _field_bytes(3, entries)                                # session_start_info
    return [_hparams_value("_hparams_/experiment", experiment),
            _hparams_value("_hparams_/session_start_info", start)]


def hparams_end_value(status: int = 1) -> bytes:
    """The session's end (status 1: success), as an hparams-plugin Summary.Value."""
    return _hparams_value("_hparams_/session_end_info", _field_bytes(4, _varint(1 << 3)
                                                                     + _varint(status)))


def event(wall_time: float, step: int = 0, file_version: "str | None" = None,
          scalars: "dict | None" = None, values=()) -> bytes:
    """A serialized Event with a file version, or a summary of scalar values and other
    encoded Summary.Values (histograms, hparams)."""
    out = _varint(1 << 3 | 1) + struct.pack("<d", wall_time) + _varint(2 << 3) + _varint(step)
    if file_version is not None:
        out += _field_bytes(3, file_version.encode("utf-8"))
    encoded = b"".join(
        _field_bytes(1, _field_bytes(1, str(tag).encode("utf-8"))
                     + _varint(2 << 3 | 5) + struct.pack("<f", float(value)))
        for tag, value in (scalars or {}).items()) + b"".join(values)
    if encoded:
        out += _field_bytes(5, encoded)
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

    def add_histograms(self, arrays: dict, step: int) -> None:
        """One histogram per tag: {tag: array}."""
        values = [histogram_value(tag, array) for tag, array in arrays.items()]
        self._file.write(record(event(time.time(), int(step), values=values)))

    def add_hparams(self, hparams: dict, metrics) -> None:
        """The run's hyperparameters (name -> number, string or bool) and the metric tags the
        HPARAMS tab shows beside them."""
        self._file.write(record(event(time.time(), 0, values=hparams_values(hparams, metrics))))

    def end_hparams(self, step: int = 0) -> None:
        self._file.write(record(event(time.time(), int(step), values=[hparams_end_value()])))

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()
