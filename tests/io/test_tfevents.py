"""TensorBoard event files written by deepgrad.io.tfevents, read back by TensorBoard."""

import struct
import subprocess
import sys

import numpy as np
import pytest

from deepgrad.io import tfevents


def test_crc32c_and_record_framing():
    assert tfevents.crc32c(b"123456789") == 0xE3069283          # the standard check value
    assert tfevents.crc32c(b"") == 0
    data = b"hello"
    framed = tfevents.record(data)
    assert struct.unpack("<Q", framed[:8])[0] == 5 and framed[12:17] == data
    assert len(framed) == 8 + 4 + 5 + 4


def test_scalars_read_back_by_tensorboard(tmp_path):
    reader = pytest.importorskip("tensorboard.backend.event_processing.event_file_loader")
    writer = tfevents.EventWriter(tmp_path)
    writer.add_scalars({"loss": 0.5, "val/accuracy": 0.25}, step=1)
    writer.add_scalar("loss", -1e30, step=2 ** 40)
    writer.close()
    events = list(reader.LegacyEventFileLoader(writer.path).Load())
    assert events[0].file_version == "brain.Event:2"
    values = [(e.step, v.tag, v.simple_value) for e in events[1:] for v in e.summary.value]
    assert values == [(1, "loss", 0.5), (1, "val/accuracy", 0.25),
                      (2 ** 40, "loss", np.float32(-1e30))]
    assert all(abs(e.wall_time - events[0].wall_time) < 60 for e in events)


def test_training_imports_neither_tensorboardx_nor_torch():
    code = ("import sys, deepgrad.runner, deepgrad.cli, deepgrad.io.tfevents; "
            "print(sorted(m for m in ('torch', 'tensorboardX') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip() == "[]", out.stderr
