"""Hostile checkpoints: every command refuses every file of the corpus (hostile.py) quickly,
in little memory, naming the file and the problem, executing nothing; and the digest covers
the tensor table, with an optional key for tamper evidence."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from hostile import (HERE, MARKER_NAME, ROOT, SPIRALS, build_corpus, edit_header, pack, sign,
                     split)

from deepgrad.io import CheckpointError, load_checkpoint, save_checkpoint

CLASS_PREFIX = re.compile(r"deepgrad: error: [A-Za-z]*(Error|Exception|Warning): ")


def _corpus_report(good_checkpoint, work):
    """Run the whole corpus through every command in a fresh process (its peak memory is
    the peak of every refusal)."""
    env = dict(os.environ, PYTHONPATH=ROOT, OPENBLAS_NUM_THREADS="1")
    result = subprocess.run([sys.executable, os.path.join(HERE, "hostile.py"),
                             good_checkpoint, str(work), SPIRALS],
                            capture_output=True, text=True, env=env, timeout=300, cwd=work)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


def test_every_command_refuses_every_hostile_file(good_checkpoint, tmp_path):
    report = _corpus_report(good_checkpoint, tmp_path)
    runs = report["runs"]
    cases = {run["case"] for run in runs}
    assert len(cases) >= 60
    failures = []
    for run in runs:
        err = run["stderr"]
        problems = [why for why, bad in (
            ("exit code", run["code"] != 1),
            ("not one paragraph", not err.startswith("deepgrad: error: ")),
            ("file not named", run["named"] not in err),
            ("problem not named", not re.search(run["problem"], err)),
            ("traceback", "Traceback" in err),
            ("class name", CLASS_PREFIX.search(err) is not None),
            ("slow", run["seconds"] >= 1.0)) if bad]
        if problems:
            failures.append(f"{run['case']} / {run['command']}: {problems}: {err[:300]}")
    assert not failures, "\n".join(failures)
    assert report["max_rss_mb"] < 200
    assert not (tmp_path / "corpus" / MARKER_NAME).exists()


def test_the_corpus_is_made_at_test_time_and_holds_every_kind(good_checkpoint, tmp_path):
    cases = build_corpus(good_checkpoint, str(tmp_path))
    names = {case.name for case in cases}
    for kind in ("fifo", "symlink_dev_zero", "sparse_tail_2gib", "directory", "pickle_protocol_5",
                 "torch_zip", "numpy_npy", "hdf5", "offsets_swapped", "f32_relabelled_i32",
                 "truncated_half", "trailing_byte", "config_huge_layer", "epoch_10_30"):
        assert kind in names
    assert os.stat(tmp_path / "sparse_tail_2gib.safetensors").st_size > 2 << 30


# --- the digest covers the tensor table ------------------------------------------------------
def _two_same_shape_tensors_checkpoint(path):
    from deepgrad import nn

    model = nn.Sequential(nn.Linear(4, 4, generator=0), nn.Tanh(), nn.Linear(4, 4, generator=1))
    save_checkpoint(path, model)
    return model


def test_swapped_offsets_and_relabelled_dtypes_are_detected(tmp_path):
    """Both loaded silently when only the document and the payload were hashed."""
    good = tmp_path / "good.safetensors"
    _two_same_shape_tensors_checkpoint(good)
    data = good.read_bytes()

    def swap(header):
        a, b = header["model/0.weight"], header["model/2.weight"]
        a["data_offsets"], b["data_offsets"] = b["data_offsets"], a["data_offsets"]

    for name, change in (("swapped", swap),
                         ("relabelled", lambda h: h["model/0.weight"].update(dtype="I32"))):
        bad = tmp_path / f"{name}.safetensors"
        bad.write_bytes(edit_header(data, change))
        with pytest.raises(CheckpointError, match="SHA-256 mismatch") as info:
            load_checkpoint(bad)
        assert str(bad) in str(info.value)


def test_a_relabelled_dtype_that_was_re_signed_is_refused_by_restore(tmp_path):
    from deepgrad.io import restore

    good = tmp_path / "good.safetensors"
    model = _two_same_shape_tensors_checkpoint(good)
    bad = tmp_path / "relabelled.safetensors"
    bad.write_bytes(edit_header(good.read_bytes(),
                                lambda h: h["model/0.weight"].update(dtype="I32"), resign=True))
    with pytest.raises(CheckpointError, match=r"0.weight: the checkpoint holds int32, the model "
                                              r"float32"):
        restore(load_checkpoint(bad), model)


def test_the_digest_is_the_documented_one(tmp_path):
    """Recomputed by hand (hostile.sign) from the format description, it matches."""
    path = tmp_path / "c.safetensors"
    _two_same_shape_tensors_checkpoint(path)
    header, payload = split(path.read_bytes())
    stored = header["__metadata__"]["digest"]
    assert stored.startswith("sha256:")
    assert sign(header, payload)["__metadata__"]["digest"] == stored


def test_format_1_checkpoints_are_still_read(tmp_path):
    import hashlib

    path = tmp_path / "v2.safetensors"
    _two_same_shape_tensors_checkpoint(path)
    header, payload = split(path.read_bytes())
    doc = json.loads(header["__metadata__"]["deepgrad"])
    doc["format_version"] = 1
    text = json.dumps(doc)
    meta = header["__metadata__"]
    del meta["digest"]
    meta["deepgrad"], meta["sha256"] = text, hashlib.sha256(text.encode() + payload).hexdigest()
    old = tmp_path / "v1.safetensors"
    old.write_bytes(pack(header, payload))
    new, legacy = load_checkpoint(path), load_checkpoint(old)
    assert legacy.format_version == 1
    for key, value in new.model_state.items():
        np.testing.assert_array_equal(legacy.model_state[key], value)


# --- keyed HMAC ---------------------------------------------------------------------------------
def test_a_keyed_checkpoint_detects_a_forger_without_the_key(tmp_path, monkeypatch):
    path = tmp_path / "signed.safetensors"
    monkeypatch.setenv("DEEPGRAD_CHECKPOINT_KEY", "correct horse battery staple")
    _two_same_shape_tensors_checkpoint(path)
    header, _ = split(path.read_bytes())
    assert header["__metadata__"]["digest"].startswith("hmac-sha256:")
    assert load_checkpoint(path).model_state["0.weight"].shape == (4, 4)

    def swap(h):
        a, b = h["model/0.weight"], h["model/2.weight"]
        a["data_offsets"], b["data_offsets"] = b["data_offsets"], a["data_offsets"]

    forged_unkeyed = tmp_path / "forged_unkeyed.safetensors"
    forged_unkeyed.write_bytes(edit_header(path.read_bytes(), swap, resign=True))
    with pytest.raises(CheckpointError, match="not signed with a key"):
        load_checkpoint(forged_unkeyed)
    forged_keyed = tmp_path / "forged_keyed.safetensors"
    header, payload = split(path.read_bytes())
    swap(header)
    forged_keyed.write_bytes(pack(sign(header, payload, key=b"a guess"), payload))
    with pytest.raises(CheckpointError, match="HMAC mismatch"):
        load_checkpoint(forged_keyed)
    with pytest.raises(CheckpointError, match="HMAC mismatch"):
        load_checkpoint(path, key="another key")
    monkeypatch.delenv("DEEPGRAD_CHECKPOINT_KEY")
    with pytest.raises(CheckpointError, match="signed with a key .*set DEEPGRAD_CHECKPOINT_KEY"):
        load_checkpoint(path)
    assert load_checkpoint(path, key="correct horse battery staple").epoch is None


def test_an_unsigned_checkpoint_is_refused_when_a_key_is_set(tmp_path):
    path = tmp_path / "plain.safetensors"
    _two_same_shape_tensors_checkpoint(path)
    with pytest.raises(CheckpointError, match="not signed with a key"):
        load_checkpoint(path, key=b"k")


# --- reading only what is declared --------------------------------------------------------------
def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    with pytest.raises(CheckpointError, match="named pipe"):
        load_checkpoint(fifo)


def test_the_size_limit_is_checked_before_reading(tmp_path, monkeypatch):
    path = tmp_path / "c.safetensors"
    _two_same_shape_tensors_checkpoint(path)
    monkeypatch.setenv("DEEPGRAD_MAX_CHECKPOINT_BYTES", "100")
    with pytest.raises(CheckpointError, match=r"more than the limit of 100 .*"
                                              "DEEPGRAD_MAX_CHECKPOINT_BYTES"):
        load_checkpoint(path)
    assert load_checkpoint(path, max_bytes=10 ** 6).model_state


def test_loaded_arrays_are_writable_and_independent(tmp_path):
    path = tmp_path / "c.safetensors"
    model = _two_same_shape_tensors_checkpoint(path)
    state = load_checkpoint(path).model_state
    state["0.weight"][...] = 0
    assert np.count_nonzero(state["2.weight"]) > 0
    np.testing.assert_array_equal(state["2.weight"], model.state_dict()["2.weight"])
