"""Checkpoints: exact round trips, atomic writes, and refusal of bad or hostile files."""

import json
import os
import pickle

import numpy as np
import pytest

import deepgrad as dg
from deepgrad import nn, optim
from deepgrad.io import checkpoint as ckpt
from deepgrad.io import (CheckpointError, load_checkpoint, restore, restore_generator,
                         save_checkpoint)


def _trained(seed=0):
    """A small model, Adam and StepLR after three steps (so every slot is non-trivial)."""
    model = nn.Sequential(nn.Linear(3, 4, generator=seed), nn.BatchNorm1d(4),
                          nn.Linear(4, 2, generator=seed + 1))
    opt = optim.Adam(model.parameters(), lr=0.01, amsgrad=True)
    sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    x = dg.tensor(np.random.default_rng(seed).normal(size=(8, 3)).astype(np.float32))
    for _ in range(3):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        opt.step()
        sched.step()
    return model, opt, sched


def _assert_same_state(a, b):
    assert a.keys() == b.keys()
    for key in a:
        if isinstance(a[key], dict):
            _assert_same_state(a[key], b[key])
        elif isinstance(a[key], np.ndarray):
            assert b[key].dtype == a[key].dtype and np.array_equal(a[key], b[key]), key
        else:
            assert a[key] == b[key], key


def test_model_optimizer_scheduler_rng_round_trip(tmp_path):
    model, opt, sched = _trained()
    data_rng = np.random.default_rng(123)
    data_rng.random(5)                           # a PCG64 state with 128-bit integers
    mt = np.random.Generator(np.random.MT19937(7))  # a state holding an ndarray key
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model, opt, sched, rng_states={"data": data_rng, "mt": mt},
                    epoch=3, step=12, config={"name": "x", "lr": 1e-3},
                    metrics={"loss": [1.5, 0.25], "best": float("inf")},
                    metadata={"note": "hello", "shape": (2, 3)})
    ck = load_checkpoint(path)
    assert (ck.epoch, ck.step) == (3, 12)
    assert ck.config == {"name": "x", "lr": 1e-3}
    assert ck.metrics == {"loss": [1.5, 0.25], "best": float("inf")}
    assert ck.metadata == {"note": "hello", "shape": (2, 3)}
    # big integers of the PCG64 state survive the JSON round trip
    state = data_rng.bit_generator.state
    assert ck.rng_states["data"] == state
    assert state["state"]["state"] > 2 ** 64
    fresh = restore_generator(np.random.default_rng(0), ck.rng_states["data"])
    np.testing.assert_array_equal(fresh.random(4), data_rng.random(4))
    mt_fresh = restore_generator(np.random.Generator(np.random.MT19937(0)), ck.rng_states["mt"])
    np.testing.assert_array_equal(mt_fresh.integers(0, 2 ** 31, 5), mt.integers(0, 2 ** 31, 5))

    model2, opt2, sched2 = _trained(seed=5)  # different weights and slots
    restore(ck, model2, opt2, sched2)
    _assert_same_state(model.state_dict(), model2.state_dict())
    _assert_same_state(opt.state_dict(), opt2.state_dict())
    assert sched2.state_dict() == sched.state_dict()
    assert opt2.param_groups[0]["lr"] == opt.param_groups[0]["lr"] == 0.005
    # the optimizer state keys are ints again, the betas a list as state_dict() gives them
    assert sorted(ck.optimizer_state["state"]) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize("name, make", [
    ("fortran", lambda: np.asfortranarray(np.arange(12.0).reshape(3, 4))),
    ("transposed", lambda: np.arange(24, dtype=np.float32).reshape(2, 3, 4).transpose(2, 0, 1)),
    ("negative_strides", lambda: np.arange(10, dtype=np.int64)[::-2]),
    ("strided_2d", lambda: np.arange(36, dtype=np.int32).reshape(6, 6)[::2, 1::3]),
    ("zero_d", lambda: np.array(3.25, dtype=np.float64)),
    ("zero_size", lambda: np.zeros((0, 5), dtype=np.float32)),
    ("bool", lambda: np.array([[True, False], [False, True]]).T),
    ("uint8", lambda: np.arange(7, dtype=np.uint8)[::-1]),
    ("float16", lambda: np.linspace(0, 1, 5).astype(np.float16)),
    ("big_endian", lambda: np.arange(4, dtype=">f8")),
])
def test_every_layout_round_trips_exactly(tmp_path, name, make):
    array = make()
    save_checkpoint(tmp_path / "a.safetensors", tensors={name: array},
                    metadata={"inner": {"slot": array}})
    ck = load_checkpoint(tmp_path / "a.safetensors")
    for loaded in (ck.tensors[name], ck.metadata["inner"]["slot"]):
        assert loaded.shape == array.shape
        assert loaded.dtype == array.dtype.newbyteorder("=")
        assert np.array_equal(loaded, array)
        assert loaded.flags.writeable


def test_numpy_scalars_tuples_and_int_keys_keep_their_types(tmp_path):
    meta = {"f32": np.float32(0.1), "i64": np.int64(-3), "tup": (1, "a"), 7: "seven"}
    save_checkpoint(tmp_path / "m.safetensors", metadata=meta)
    back = load_checkpoint(tmp_path / "m.safetensors").metadata
    assert type(back["f32"]) is np.float32 and back["f32"] == np.float32(0.1)
    assert type(back["i64"]) is np.int64 and back["i64"] == -3
    assert back["tup"] == (1, "a") and back[7] == "seven"


def test_unsupported_values_are_refused(tmp_path):
    with pytest.raises(CheckpointError, match="dtype object"):
        save_checkpoint(tmp_path / "o.safetensors", tensors={"o": np.array([{}], dtype=object)})
    with pytest.raises(CheckpointError, match="complex"):
        save_checkpoint(tmp_path / "c.safetensors", tensors={"c": np.zeros(2, np.complex64)})
    with pytest.raises(CheckpointError, match="set"):
        save_checkpoint(tmp_path / "s.safetensors", metadata={"s": {1, 2}})
    assert os.listdir(tmp_path) == []


def _files(directory):
    return sorted(os.listdir(directory))


def test_interrupted_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model, opt, sched = _trained()
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model, opt, sched, epoch=1)
    before = path.read_bytes()

    def broken_write(stream, data):
        stream.write(data[: len(data) // 2])
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(ckpt, "_write_all", broken_write)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, model, opt, sched, epoch=2)
    assert path.read_bytes() == before
    assert load_checkpoint(path).epoch == 1
    assert _files(tmp_path) == ["last.safetensors"]  # no temporary file left behind


def test_failure_at_rename_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model, _, _ = _trained()
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model, epoch=1)

    def failing_replace(src, dst):
        raise OSError("power cut (simulated)")

    monkeypatch.setattr(ckpt.os, "replace", failing_replace)
    with pytest.raises(OSError, match="simulated"):
        save_checkpoint(path, model, epoch=2)
    monkeypatch.undo()
    assert load_checkpoint(path).epoch == 1
    assert _files(tmp_path) == ["last.safetensors"]


def test_keep_previous(tmp_path):
    model, _, _ = _trained()
    path = tmp_path / "last.safetensors"
    save_checkpoint(path, model, epoch=1, keep_previous=True)
    save_checkpoint(path, model, epoch=2, keep_previous=True)
    assert _files(tmp_path) == ["last.safetensors", "last.safetensors.prev"]
    assert load_checkpoint(path).epoch == 2
    assert load_checkpoint(str(path) + ".prev").epoch == 1


# --- bad files ------------------------------------------------------------------------------
class _Boom:
    """Unpickling this would create the marker file: loading must never get that far."""

    marker = None

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _good(tmp_path):
    model, opt, sched = _trained()
    path = tmp_path / "good.safetensors"
    save_checkpoint(path, model, opt, sched, epoch=1, config={"model": [{"type": "Linear"}]})
    return path.read_bytes()


def _rewrite_metadata(data: bytes, change) -> bytes:
    """Edit the JSON header (keeping the file otherwise intact)."""
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    change(header)
    raw = json.dumps(header).encode()
    return len(raw).to_bytes(8, "little") + raw + data[8 + n:]


def _flip_payload_byte(data: bytes) -> bytes:
    out = bytearray(data)
    out[-3] ^= 0x01
    return bytes(out)


def _stored_doc(header):
    return json.loads(header["__metadata__"]["deepgrad"])


def _set_doc(header, doc):
    header["__metadata__"]["deepgrad"] = json.dumps(doc)


def _unknown_key(header):
    doc = _stored_doc(header)
    doc["surprise"] = 1
    _set_doc(header, doc)


BAD_FILES = [
    ("empty", lambda good: b"", "truncated or not a checkpoint"),
    ("truncated", lambda good: good[: len(good) // 2], "truncated"),
    ("truncated_header", lambda good: good[:40], "declared header size"),
    ("flipped_byte", _flip_payload_byte, "SHA-256 mismatch"),
    ("huge_header_size", lambda good: (2 ** 40).to_bytes(8, "little") + good[8:],
     "exceeds the limit"),
    ("header_not_json", lambda good: (6).to_bytes(8, "little") + b"{nope}" + good[14:],
     "not valid JSON"),
    ("header_not_object", lambda good: (2).to_bytes(8, "little") + b"[]", "JSON object"),
    ("not_deepgrad", lambda good: _rewrite_metadata(
        good, lambda h: h["__metadata__"].pop("format")), "not a deepgrad checkpoint"),
    ("bad_dtype", lambda good: _rewrite_metadata(
        good, lambda h: h[next(k for k in h if k != "__metadata__")].update(dtype="BF16")),
     "unsupported dtype"),
    ("bad_offsets", lambda good: _rewrite_metadata(
        good, lambda h: h[next(k for k in h if k != "__metadata__")].update(
            data_offsets=[0, 4])), "needs"),
    ("unknown_key", lambda good: _rewrite_metadata(good, _unknown_key),
     r"unknown keys \['surprise'\]"),
    ("npy_object_array", lambda good: _npy_bytes(), "NumPy .npy"),
]


def _npy_bytes():
    import io

    buffer = io.BytesIO()
    np.save(buffer, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize("name, corrupt, message", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_files_raise_checkpoint_error_naming_the_file(tmp_path, name, corrupt, message):
    bad = tmp_path / f"{name}.safetensors"
    bad.write_bytes(corrupt(_good(tmp_path)))
    with pytest.raises(CheckpointError, match=message) as info:
        load_checkpoint(bad)
    assert str(bad) in str(info.value)


def test_unknown_keys_with_a_valid_digest_are_refused(tmp_path):
    # re-sign the edited metadata, as a deliberate forger could: the structure check remains
    good = _good(tmp_path)
    n = int.from_bytes(good[:8], "little")
    header = json.loads(good[8:8 + n])
    doc = _stored_doc(header)
    doc["surprise"] = 1
    text = json.dumps(doc)
    payload = good[8 + n:]
    from deepgrad.io.checkpoint import _digest

    entries = {k: (e["dtype"], e["shape"], e["data_offsets"])
               for k, e in header.items() if k != "__metadata__"}
    header["__metadata__"]["deepgrad"] = text
    header["__metadata__"]["digest"] = "sha256:" + _digest(entries, text, payload,
                                                           None).hexdigest()
    raw = json.dumps(header).encode()
    bad = tmp_path / "forged.safetensors"
    bad.write_bytes(len(raw).to_bytes(8, "little") + raw + payload)
    with pytest.raises(CheckpointError, match=r"unknown keys \['surprise'\]") as info:
        load_checkpoint(bad)
    assert str(bad) in str(info.value)


def test_pickle_payload_is_never_executed(tmp_path):
    marker = tmp_path / "PWNED"
    _Boom.marker = str(marker)
    hostile = tmp_path / "hostile.safetensors"
    hostile.write_bytes(pickle.dumps({"weights": _Boom()}))
    with pytest.raises(CheckpointError, match="pickle") as info:
        load_checkpoint(hostile)
    assert str(hostile) in str(info.value)
    assert not marker.exists()
    # a pickle hidden after a plausible header is not run either
    disguised = tmp_path / "disguised.safetensors"
    header = b'{"__metadata__":{"format":"deepgrad.checkpoint"}}'
    disguised.write_bytes(len(header).to_bytes(8, "little") + header
                          + pickle.dumps(_Boom()))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(disguised)
    assert str(disguised) in str(info.value)
    assert not marker.exists()


def test_restore_reports_mismatches_by_name(tmp_path):
    model, opt, sched = _trained()
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, model, opt, sched)
    ck = load_checkpoint(path)
    other = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with pytest.raises(CheckpointError, match="layer '1' is a BatchNorm1d in the checkpoint "
                                              "but a ReLU"):
        restore(ck, other)
    wider = nn.Sequential(nn.Linear(3, 5), nn.BatchNorm1d(5), nn.Linear(5, 2))
    with pytest.raises(CheckpointError, match=r"0.weight: checkpoint has shape \(4, 3\)"):
        restore(ck, wider)
    sgd = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(CheckpointError, match="saved from a Adam"):
        restore(ck, optimizer=sgd)
    only_model = tmp_path / "m.safetensors"
    save_checkpoint(only_model, model)
    with pytest.raises(CheckpointError, match="holds no optimizer state"):
        restore(load_checkpoint(only_model), optimizer=opt)


def test_stored_config_is_checked_by_the_given_validator(tmp_path):
    model, _, _ = _trained()
    path = tmp_path / "c.safetensors"
    save_checkpoint(path, model, config={"model": [{"type": "Linaer"}]})

    def validator(config):
        raise ValueError("model[0].type: unknown layer type 'Linaer' (did you mean 'Linear'?)")

    with pytest.raises(CheckpointError, match="did you mean 'Linear'") as info:
        load_checkpoint(path, config_validator=validator)
    assert str(path) in str(info.value)
